#include "custos/core/config.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
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

bool parse_int(std::string_view text, int32_t min_value, int32_t max_value, int32_t* out) {
  if (text.empty() || text.size() > 4) return false;
  int32_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  if (value < min_value || value > max_value) return false;
  *out = value;
  return true;
}

bool parse_double(std::string_view text, double* out) {
  std::string copy(text);
  if (copy.empty()) return false;
  char* end = nullptr;
  double value = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size() || !std::isfinite(value)) return false;
  *out = value;
  return true;
}

// "+01:00", "-05:30", "Z" or "+00:00".
bool parse_utc_offset(std::string_view text, int32_t* minutes) {
  if (text == "Z") {
    *minutes = 0;
    return true;
  }
  if (text.size() != 6 || (text[0] != '+' && text[0] != '-') || text[3] != ':') return false;
  int32_t hours = 0;
  int32_t mins = 0;
  if (!parse_int(text.substr(1, 2), 0, 14, &hours) || !parse_int(text.substr(4, 2), 0, 59, &mins)) {
    return false;
  }
  *minutes = (hours * 60 + mins) * (text[0] == '-' ? -1 : 1);
  return true;
}

Status parse_site(const std::string& id, const toml::table& table, SiteConfig* site) {
  site->id = id;
  const std::string prefix = "sites." + id + ".";
  bool valid_id = !id.empty() && id.size() <= 128;
  for (char c : id) {
    valid_id &= std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '_' ||
                c == '.' || c == ':' || c == '/' || c == '@';
  }
  if (!valid_id) return invalid_argument("sites: invalid site id '" + id + "'");
  for (const auto& [name, node] : table) {
    std::string key = prefix + std::string(name.str());
    if (name.str() == "locations") {
      const toml::table* locations = node.as_table();
      if (locations == nullptr) {
        return invalid_argument(key + " must be a table of location id = \"zone\"");
      }
      for (const auto& [location, zone_node] : *locations) {
        auto zone = zone_node.value<std::string>();
        if (!zone_node.is_string() || !zone || zone->empty() || location.str().empty()) {
          return invalid_argument(key + "." + std::string(location.str()) +
                                  " must be a non-empty zone name");
        }
        site->locations.emplace_back(std::string(location.str()), *zone);
      }
      continue;
    }
    auto value = node.value<std::string>();
    if (!node.is_string() || !value) return invalid_argument(key + " must be a string");
    std::string_view text = *value;
    if (name.str() == "utc_offset") {
      if (!parse_utc_offset(text, &site->utc_offset_minutes)) {
        return invalid_argument(key + " must look like \"+01:00\", \"-05:30\" or \"Z\"");
      }
    } else if (name.str() == "hours") {
      size_t dash = text.find('-');
      if (dash == std::string_view::npos ||
          !parse_int(text.substr(0, dash), 0, 23, &site->hours_start) ||
          !parse_int(text.substr(dash + 1), 1, 24, &site->hours_end) ||
          site->hours_start == site->hours_end) {
        return invalid_argument(key + " must be \"START-END\" in whole hours, e.g. \"06-22\"");
      }
    } else if (name.str() == "geofence") {
      size_t first = text.find(',');
      size_t second = first == std::string_view::npos ? first : text.find(',', first + 1);
      if (second == std::string_view::npos ||
          !parse_double(text.substr(0, first), &site->latitude) ||
          !parse_double(text.substr(first + 1, second - first - 1), &site->longitude) ||
          !parse_double(text.substr(second + 1), &site->radius_m) || site->latitude < -90 ||
          site->latitude > 90 || site->longitude < -180 || site->longitude > 180 ||
          site->radius_m <= 0) {
        return invalid_argument(key + " must be \"LAT,LON,RADIUS_M\" in degrees and metres");
      }
      site->has_geofence = true;
    } else {
      return invalid_argument("unknown key '" + key + "'");
    }
  }
  return Status::ok();
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
      {"server.max_body_bytes", integer_setter(config.server.max_body_bytes, 1, 64 << 20)},
      {"server.idle_timeout_s", integer_setter(config.server.idle_timeout_s, 1, 86400)},
      {"server.max_connections", integer_setter(config.server.max_connections, 1, 1000000)},
      {"sequencer.max_batch_entries",
       integer_setter(config.sequencer.max_batch_entries, 1, 1 << 24)},
      {"sequencer.max_pending_entries",
       integer_setter(config.sequencer.max_pending_entries, 1, int64_t(1) << 30)},
      {"tls.cert_file", string_setter(config.tls.cert_file)},
      {"tls.key_file", string_setter(config.tls.key_file)},
      {"tls.client_ca_file", string_setter(config.tls.client_ca_file)},
      {"tls.client_auth", string_setter(config.tls.client_auth)},
      {"auth.max_skew_s", integer_setter(config.auth.max_skew_s, 1, 86400)},
      {"auth.nonce_cache_entries",
       integer_setter(config.auth.nonce_cache_entries, 1000, int64_t(1) << 28)},
      {"auth.key_cache_entries", integer_setter(config.auth.key_cache_entries, 0, 1 << 22)},
      {"auth.policy_dir", string_setter(config.auth.policy_dir)},
      {"epcis.max_document_bytes",
       integer_setter(config.epcis.max_document_bytes, 1024, int64_t(64) << 20)},
      {"epcis.max_events", integer_setter(config.epcis.max_events, 1, 1000000)},
      {"epcis.webhook_ca_file", string_setter(config.epcis.webhook_ca_file)},
      {"logging.level", string_setter(config.logging.level)},
      {"logging.format", string_setter(config.logging.format)},
  };

  for (const auto& [section_name, section] : table) {
    std::string section_key(section_name.str());
    const toml::table* section_table = section.as_table();
    if (section_table == nullptr) {
      return invalid_argument(std::string(source) + ": unknown key '" + section_key + "'");
    }
    if (section_key == "sites") {
      for (const auto& [site_name, site_node] : *section_table) {
        const toml::table* site_table = site_node.as_table();
        std::string site_id(site_name.str());
        if (site_table == nullptr) {
          return invalid_argument(std::string(source) + ": sites." + site_id +
                                  " must be a table ([sites." + site_id + "])");
        }
        SiteConfig site;
        CUSTOS_RETURN_IF_ERROR(parse_site(site_id, *site_table, &site).with_context(source));
        config.sites.push_back(std::move(site));
      }
      continue;
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
  CUSTOS_RETURN_IF_ERROR(check_choice(config.tls.client_auth, {"none", "optional", "required"},
                                      "tls.client_auth")
                             .with_context(source));
  if (config.tls.cert_file.empty() != config.tls.key_file.empty()) {
    return invalid_argument(std::string(source) +
                            ": tls.cert_file and tls.key_file must be set together");
  }
  if (config.tls.client_auth != "none" && config.tls.client_ca_file.empty()) {
    return invalid_argument(std::string(source) + ": tls.client_auth = \"" +
                            config.tls.client_auth + "\" needs tls.client_ca_file");
  }
  if (config.tls.client_auth != "none" && config.tls.cert_file.empty()) {
    return invalid_argument(std::string(source) + ": tls.client_auth needs tls.cert_file");
  }
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
