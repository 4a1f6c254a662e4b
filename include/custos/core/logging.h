// custos core: structured logging.
//
// One process-wide logger configured once at start-up by the composition
// root (spdlog underneath). Messages are an event name plus key=value
// fields; with format "json" each line is one JSON object. Thread-safe.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "custos/core/status.h"

namespace custos {

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kOff };

// Sets level ("info", ...) and format ("text" or "json"). Output goes to stderr.
Status configure_logging(std::string_view level, std::string_view format);

using LogField = std::pair<std::string_view, std::string>;

// Logs `event` with fields, e.g. log_event(LogLevel::kInfo, "server.listening",
// {{"address", "127.0.0.1:8080"}}).
void log_event(LogLevel level, std::string_view event, std::initializer_list<LogField> fields = {});

}  // namespace custos
