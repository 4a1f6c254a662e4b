#include "custos/core/config.h"

#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <toml++/toml.h>

namespace custos {
namespace {

using Setter = std::function<Status(const toml::node&, const std::string&)>;

Setter string_setter(std::string& field) {
  return [&field](const toml::node& node, const std::string& key) -> Status {
    auto value = node.value<std::string>();
    if (!node.is_string() || !value) return invalid_argument(key + " must be a string");
    field = *value;
    return Status::ok();
  };
}

template <typename Int>
Setter integer_setter(Int& field, int64_t min_value, int64_t max_value) {
  return [&field, min_value, max_value](const toml::node& node, const std::string& key) -> Status {
    if (!node.is_integer()) return invalid_argument(key + " must be an integer");
    int64_t value = *node.value<int64_t>();
    if (value < min_value || value > max_value) {
      return invalid_argument(key + " must be between " + std::to_string(min_value) + " and " +
                              std::to_string(max_value));
    }
    field = static_cast<Int>(value);
    return Status::ok();
  };
}

Status check_choice(const std::string& value, std::initializer_list<std::string_view> choices,
                    const std::string& key) {
  for (auto choice : choices) {
    if (value == choice) return Status::ok();
  }
  std::string message = key + " must be one of:";
  for (auto choice : choices) {
    message += ' ';
    message += choice;
  }
  return invalid_argument(message);
}

}  // namespace

Result<Config> parse_config(std::string_view toml_text, std::string_view source) {
  toml::table table;
  try {
    table = toml::parse(toml_text, source);
  } catch (const toml::parse_error& error) {
    std::ostringstream message;
    message << source << ":" << error.source().begin.line << ":" << error.source().begin.column
            << ": " << error.description();
    return invalid_argument(message.str());
  }

  Config config;
  const std::map<std::string, Setter> setters = {
      {"storage.data_dir", string_setter(config.storage.data_dir)},
      {"storage.block_cache_mb", integer_setter(config.storage.block_cache_mb, 1, 1 << 20)},
      {"server.listen", string_setter(config.server.listen)},
      {"server.threads", integer_setter(config.server.threads, 1, 256)},
      {"server.max_body_bytes", integer_setter(config.server.max_body_bytes, 1, 61440)},
      {"server.idle_timeout_s", integer_setter(config.server.idle_timeout_s, 1, 86400)},
      {"server.max_connections", integer_setter(config.server.max_connections, 1, 1000000)},
      {"sequencer.max_batch_entries",
       integer_setter(config.sequencer.max_batch_entries, 1, 1 << 24)},
      {"sequencer.max_pending_entries",
       integer_setter(config.sequencer.max_pending_entries, 1, int64_t(1) << 30)},
      {"logging.level", string_setter(config.logging.level)},
      {"logging.format", string_setter(config.logging.format)},
  };

  for (const auto& [section_name, section] : table) {
    std::string section_key(section_name.str());
    const toml::table* section_table = section.as_table();
    if (section_table == nullptr) {
      return invalid_argument(std::string(source) + ": unknown key '" + section_key + "'");
    }
    for (const auto& [name, node] : *section_table) {
      std::string key = section_key + "." + std::string(name.str());
      auto setter = setters.find(key);
      if (setter == setters.end()) {
        return invalid_argument(std::string(source) + ": unknown key '" + key + "'");
      }
      Status status = setter->second(node, key);
      if (!status.is_ok()) return status.with_context(source);
    }
  }
  CUSTOS_RETURN_IF_ERROR(
      check_choice(config.logging.level, {"trace", "debug", "info", "warn", "error", "off"},
                   "logging.level")
          .with_context(source));
  CUSTOS_RETURN_IF_ERROR(
      check_choice(config.logging.format, {"text", "json"}, "logging.format").with_context(source));
  return config;
}

Result<Config> load_config_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return not_found("cannot open config file " + path);
  std::ostringstream text;
  text << file.rdbuf();
  return parse_config(text.str(), path);
}

}  // namespace custos
