#include "custos/core/logging.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>

#include "custos/core/json_writer.h"

namespace custos {
namespace {

std::atomic<bool> g_json_format{false};  // set once at start-up by configure_logging

spdlog::level::level_enum to_spdlog(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace: return spdlog::level::trace;
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
    case LogLevel::kOff: return spdlog::level::off;
  }
  return spdlog::level::info;
}

}  // namespace

Status configure_logging(std::string_view level, std::string_view format) {
  auto parsed = spdlog::level::from_str(std::string(level));
  if (parsed == spdlog::level::off && level != "off") {
    return invalid_argument("unknown log level '" + std::string(level) + "'");
  }
  if (format != "text" && format != "json") {
    return invalid_argument("unknown log format '" + std::string(format) + "'");
  }
  auto logger = spdlog::stderr_logger_mt("custos");
  spdlog::set_default_logger(logger);
  spdlog::set_level(parsed);
  g_json_format = format == "json";
  if (g_json_format) {
    spdlog::set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l",%v})", spdlog::pattern_time_type::utc);
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %l %v", spdlog::pattern_time_type::utc);
  }
  return Status::ok();
}

void log_event(LogLevel level, std::string_view event, std::initializer_list<LogField> fields) {
  auto spd_level = to_spdlog(level);
  if (!spdlog::should_log(spd_level)) return;
  std::string line;
  if (g_json_format) {
    line += "\"event\":";
    append_json_string(line, event);
    for (const auto& [name, value] : fields) {
      line += ',';
      append_json_string(line, name);
      line += ':';
      append_json_string(line, value);
    }
  } else {
    line.append(event);
    for (const auto& [name, value] : fields) {
      line += ' ';
      line.append(name);
      line += '=';
      bool quote = value.find_first_of(" \"=") != std::string::npos || value.empty();
      if (quote) {
        append_json_string(line, value);
      } else {
        line += value;
      }
    }
  }
  spdlog::log(spd_level, "{}", line);
}

}  // namespace custos
