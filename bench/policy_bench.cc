// policy_bench: authorization throughput and latency of custos's Cedar engine
// on a realistic supply-chain workload, and the files that let cedar-wasm run
// exactly the same workload (bench/cedar_bench.js, driven by
// bench/policy_bench.sh).
//
// The workload is deterministic for a seed: ~70 policies (global permit/forbid
// rules over roles, vendor standing, device status and posture, shifts,
// time of day, networks, shipment value and tags, plus three rules per site:
// an operating window, a secure-zone guard and a telemetry network), ~11,000
// entities (regions > sites > zones > docks; devices in zones or at docks;
// shipments at docks or in zones; users in roles and sites; vendors; the
// action groups), and N requests with contexts (hour, day, shift, client ip,
// mfa, and optional fields that the policies test with `has`).
//
//   policy_bench [--seed S] [--requests N] [--rounds R] [--out DIR] [--json]
//
// With --out, writes DIR/policies.cedar (Cedar text, every policy with an
// @id), DIR/entities.json (Cedar entity JSON), DIR/requests.jsonl (one
// {"principal","action","resource","context"} a line) and DIR/decisions.jsonl
// (our answer per request: {"decision","reasons","errors"}, ids sorted).
// Timing: one warm-up pass, R throughput passes over all requests with one
// reused Decision (the median pass is reported), one pass timing every call
// for the latency percentiles, and one pass that also parses each request's
// context JSON (the cost a server pays per request).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "bench_support.h"
#include "custos/core/json_writer.h"
#include "custos/policy/authorizer.h"
#include "custos/policy/entities.h"
#include "custos/policy/parser.h"

namespace {

using custos::JsonWriter;
using custos::policy::Decision;
using custos::policy::EntityStore;
using custos::policy::EntityUid;
using custos::policy::PolicySet;
using custos::policy::Request;
using SteadyClock = std::chrono::steady_clock;

constexpr int kSiteCount = 12;
constexpr int kVendorCount = 200;
constexpr int kUserCount = 3000;
constexpr int kDeviceCount = 4000;
constexpr int kShipmentCount = 3500;
constexpr int kDocksPerSite = 4;

const std::vector<std::string> kRegions = {"amer", "emea", "apac"};
const std::vector<std::string> kZoneKinds = {"cold", "dry", "hazmat", "secure", "yard", "office"};
const std::vector<std::string> kRoles = {"operator", "supervisor",  "security", "auditor",
                                         "admin",    "vendor-tech", "driver",   "contractor"};
const std::vector<std::string> kShifts = {"day", "swing", "night"};
const std::vector<std::string> kDeviceKinds = {"scanner", "gate",    "camera",
                                               "plc",     "tracker", "handheld"};
const std::vector<std::string> kCountries = {"US", "DE", "FR", "JP", "BR", "IN", "XX", "YY"};

struct ActionSpec {
  const char* id;
  const char* group;  // parent action group
  int weight;         // relative frequency in requests
};
const std::vector<ActionSpec> kActions = {
    {"read", "read_only", 30}, {"view_telemetry", "read_only", 8},
    {"scan", "operate", 12},   {"open", "operate", 8},
    {"seal", "operate", 6},    {"move", "operate", 8},
    {"release", "operate", 5}, {"inspect", "read_only", 6},
    {"configure", "admin", 6}, {"reboot", "admin", 4},
    {"approve", "admin", 4},   {"update", "admin", 3},
};

// splitmix64: same sequence on every platform for a seed.
class Prng {
 public:
  explicit Prng(uint64_t seed) : state_(seed ^ 0x243f6a8885a308d3ULL) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return next() % n; }
  int range(int low, int high) { return low + static_cast<int>(below(high - low + 1)); }
  bool chance(int percent) { return below(100) < static_cast<uint64_t>(percent); }
  template <typename T>
  const T& pick(const std::vector<T>& items) {
    return items[below(items.size())];
  }

 private:
  uint64_t state_;
};

std::string padded(int number, int width) {
  std::string digits = std::to_string(number);
  return std::string(digits.size() < static_cast<size_t>(width) ? width - digits.size() : 0, '0') +
         digits;
}

std::string site_id(int site) { return "s" + padded(site, 2); }

struct WorkloadRequest {
  EntityUid principal;
  EntityUid action;
  EntityUid resource;
  std::string context_json;

  std::string to_json_line() const {
    JsonWriter json;
    json.begin_object();
    auto uid = [&json](std::string_view key, const EntityUid& value) {
      json.key(key).begin_object().key("type").string(value.type).key("id").string(value.id);
      json.end_object();
    };
    uid("principal", principal);
    uid("action", action);
    uid("resource", resource);
    json.key("context").raw(context_json);
    json.end_object();
    return json.take();
  }
};

struct Workload {
  std::string policies;       // Cedar text
  std::string entities_json;  // Cedar entity JSON
  std::vector<WorkloadRequest> requests;
  size_t policy_count = 0;
  size_t entity_count = 0;
};

// Builds the supply-chain world, its policies and a request stream.
class WorkloadGenerator {
 public:
  explicit WorkloadGenerator(uint64_t seed) : prng_(seed) {}

  Workload generate(size_t request_count) {
    Workload workload;
    workload.policies = policies(workload.policy_count);
    workload.entities_json = entities(workload.entity_count);
    workload.requests.reserve(request_count);
    for (size_t i = 0; i < request_count; ++i) workload.requests.push_back(request());
    return workload;
  }

 private:
  struct Device {
    std::string id;
    int site;
  };
  struct User {
    std::string id;
    int site;
  };

  // --- policies ---
  std::string policies(size_t& count) {
    std::string text;
    auto add = [&text, &count](std::string_view id, std::string_view body) {
      text += "@id(\"";
      text += id;
      text += "\")\n";
      text += body;
      text += "\n\n";
      ++count;
    };
    // Permits: who may do what, before the guards below.
    add("operator-read-home-site",
        "permit (principal in Role::\"operator\", action in Action::\"read_only\", resource)\n"
        "when { principal has home_site && resource in principal.home_site };");
    add("operator-operate-on-shift",
        "permit (principal in Role::\"operator\", action in Action::\"operate\", resource)\n"
        "when { resource in principal.home_site && principal.shifts.contains(context.shift) &&\n"
        "       context.hour >= 6 && context.hour < 22 };");
    add("supervisor-approve-shipments",
        "permit (principal in Role::\"supervisor\", action == Action::\"approve\", resource is "
        "Shipment)\nwhen { resource in principal.home_site && principal.clearance >= 3 };");
    add("security-inspect-anything",
        "permit (principal in Role::\"security\", action in [Action::\"inspect\", "
        "Action::\"read\"], resource);");
    add("auditor-read-with-mfa",
        "permit (principal in Role::\"auditor\", action in Action::\"read_only\", resource)\n"
        "when { context.mfa };");
    add("auditor-emea-shipments",
        "permit (principal in Role::\"auditor\", action == Action::\"read\", resource is Shipment "
        "in Region::\"emea\");");
    add("admin-device-admin",
        "permit (principal in Role::\"admin\", action in Action::\"admin\", resource is Device)\n"
        "when { context.mfa && context.ip.isInRange(ip(\"10.0.0.0/8\")) };");
    add("vendor-tech-own-devices",
        "permit (principal in Role::\"vendor-tech\", action in [Action::\"configure\", "
        "Action::\"reboot\", Action::\"view_telemetry\"], resource is Device)\n"
        "when { principal has vendor && resource.vendor == principal.vendor &&\n"
        "       resource.status == \"maintenance\" };");
    add("driver-docks",
        "permit (principal in Role::\"driver\", action in [Action::\"open\", Action::\"seal\"], "
        "resource is Dock)\n"
        "when { principal has vendor && principal.vendor.standing == \"good\" && resource.open };");
    add("contractor-own-shipments",
        "permit (principal in Role::\"contractor\", action == Action::\"read\", resource is "
        "Shipment)\nwhen { principal has vendor && resource.carrier == principal.vendor };");
    add("device-scan-shipments",
        "permit (principal is Device, action == Action::\"scan\", resource is Shipment)\n"
        "when { [\"scanner\", \"handheld\"].contains(principal.kind) && principal.status == "
        "\"active\" &&\n       resource in principal.site };");
    add("gate-telemetry",
        "permit (principal is Device, action == Action::\"view_telemetry\", resource is Device)\n"
        "when { principal.kind == \"gate\" && resource.site == principal.site };");
    add("supervisor-release",
        "permit (principal in Role::\"supervisor\", action == Action::\"release\", resource is "
        "Shipment)\nwhen { resource in principal.home_site && resource.status == \"at_dock\" };");
    add("customs-certified-inspect",
        "permit (principal is User, action in [Action::\"inspect\", Action::\"seal\"], resource is "
        "Shipment)\nwhen { principal has certifications && principal.certifications.contains("
        "\"customs\") &&\n       resource.tags.containsAny([\"export\", \"high-value\"]) };");
    add("zone-read-by-clearance",
        "permit (principal is User, action == Action::\"read\", resource is Zone)\n"
        "when { principal has clearance && principal.clearance >= 2 && resource in "
        "principal.home_site };");
    // Forbids: guards that override any permit.
    add("quarantined-device",
        "forbid (principal, action, resource is Device)\n"
        "when { resource.status == \"quarantined\" }\n"
        "unless { action == Action::\"inspect\" && principal in Role::\"security\" };");
    add("retired-device-no-operate",
        "forbid (principal, action in Action::\"operate\", resource is Device)\n"
        "when { resource.status == \"retired\" };");
    add("suspended-vendor",
        "forbid (principal, action, resource)\n"
        "when { principal has vendor && principal.vendor.standing == \"suspended\" };");
    add("probation-vendor-no-admin",
        "forbid (principal, action in Action::\"admin\", resource)\n"
        "when { principal has vendor && principal.vendor.standing == \"probation\" };");
    add("device-posture",
        "forbid (principal is Device, action, resource)\n"
        "unless { principal.posture.patched && principal.posture.score >= 60 };");
    add("admin-from-internal-networks",
        "forbid (principal, action in Action::\"admin\", resource)\n"
        "unless { context.ip.isInRange(ip(\"10.0.0.0/8\")) || "
        "context.ip.isInRange(ip(\"172.16.0.0/12\")) };");
    add("operate-off-shift",
        "forbid (principal in Role::\"operator\", action in Action::\"operate\", resource)\n"
        "when { context.hour < 5 || context.hour > 22 }\n"
        "unless { principal in Role::\"supervisor\" };");
    add("hazmat-handling",
        "forbid (principal, action in [Action::\"open\", Action::\"move\"], resource)\n"
        "when { resource has hazmat && resource.hazmat }\n"
        "unless { principal has certifications && principal.certifications.contains(\"hazmat\") "
        "};");
    add("restricted-zone",
        "forbid (principal, action, resource is Zone)\n"
        "when { resource.restricted }\n"
        "unless { principal has clearance && principal.clearance >= 4 };");
    add("high-value-release",
        "forbid (principal, action == Action::\"release\", resource is Shipment)\n"
        "when { resource.value > 250000 }\n"
        "unless { context.mfa && principal in Role::\"supervisor\" };");
    add("blocked-networks",
        "forbid (principal, action, resource)\n"
        "when { context.ip.isInRange(ip(\"203.0.113.0/24\")) || "
        "context.ip.isInRange(ip(\"198.51.100.0/24\")) };");
    add("badge-inactive",
        "forbid (principal is User, action, resource)\n"
        "when { principal has badge_active && !principal.badge_active };");
    add("sanctioned-destinations",
        "forbid (principal, action == Action::\"release\", resource is Shipment)\n"
        "when { [\"XX\", \"YY\"].contains(resource.destination) };");
    add("admin-needs-corporate-email",
        "forbid (principal is User, action in Action::\"admin\", resource)\n"
        "when { principal has email && !(principal.email like \"*@custos.example\") };");
    add("held-shipments",
        "forbid (principal, action in [Action::\"move\", Action::\"release\"], resource is "
        "Shipment)\nwhen { resource.status == \"held\" }\n"
        "unless { principal in Role::\"security\" };");
    add("risky-session",
        "forbid (principal, action, resource)\nwhen { context has risk && context.risk > 90 };");
    add("cold-chain-moves",
        "forbid (principal, action == Action::\"move\", resource is Shipment)\n"
        "when { resource.tags.containsAny([\"pharma\", \"cold-chain\"]) &&\n"
        "       !(context has target_zone_kind && context.target_zone_kind == \"cold\") };");
    add("weekend-changes-need-ticket",
        "forbid (principal, action == Action::\"configure\", resource)\n"
        "when { context.day >= 5 }\n"
        "unless { context has change_ticket && context.change_ticket like \"CHG-*\" };");
    add("old-plc-firmware",
        "forbid (principal, action == Action::\"reboot\", resource is Device)\n"
        "when { resource.kind == \"plc\" && resource.firmware < 300 };");
    add("loopback-or-multicast-client",
        "forbid (principal, action, resource)\n"
        "when { context.ip.isLoopback() || context.ip.isMulticast() };");
    add("risky-vendor-devices",
        "forbid (principal, action in Action::\"admin\", resource is Device)\n"
        "when { resource.vendor.risk_score > 80 };");
    add("uncertified-vendor-configure",
        "forbid (principal, action == Action::\"configure\", resource is Device)\n"
        "unless { resource.vendor.certified.containsAny([\"iso27001\", \"iec62443\"]) };");
    add("low-rated-carrier-drivers",
        "forbid (principal in Role::\"driver\", action, resource)\n"
        "when { principal has vendor && principal.vendor.rating.lessThan(decimal(\"2.0\")) };");
    add("unsealed-shipments",
        "forbid (principal, action == Action::\"release\", resource is Shipment)\n"
        "unless { resource has seal && resource.seal like \"SEAL-*\" };");
    add("no-mfa-no-approve",
        "forbid (principal, action == Action::\"approve\", resource)\nunless { context.mfa };");
    // Per site: an operating window, a secure-zone guard and a telemetry network.
    for (int site = 0; site < kSiteCount; ++site) {
      std::string s = site_id(site);
      int opens = prng_.range(4, 8);
      int closes = prng_.range(18, 23);
      add("site-" + s + "-operating-window",
          "permit (principal in Site::\"" + s +
              "\", action in Action::\"operate\", resource in "
              "Site::\"" +
              s + "\")\nwhen { principal in Role::\"operator\" && context.hour >= " +
              std::to_string(opens) + " && context.hour < " + std::to_string(closes) +
              " &&\n       principal.shifts.contains(context.shift) };");
      add("site-" + s + "-secure-zone",
          "forbid (principal, action, resource in Zone::\"" + s +
              "-secure\")\n"
              "unless { principal in Role::\"security\" || principal has clearance && "
              "principal.clearance >= 4 };");
      add("site-" + s + "-telemetry-network",
          "permit (principal is Device, action == Action::\"view_telemetry\", resource in "
          "Site::\"" +
              s + "\")\nwhen { principal in Site::\"" + s + "\" && context.ip.isInRange(ip(\"10." +
              std::to_string(site) + ".0.0/16\")) };");
    }
    return text;
  }

  // --- entities ---
  static void write_uid(JsonWriter& json, std::string_view type, std::string_view id) {
    json.begin_object().key("type").string(type).key("id").string(id).end_object();
  }
  static void write_ref(JsonWriter& json, std::string_view type, std::string_view id) {
    json.begin_object().key("__entity");
    write_uid(json, type, id);
    json.end_object();
  }
  static void write_extension(JsonWriter& json, std::string_view function, std::string_view arg) {
    json.begin_object().key("__extn").begin_object();
    json.key("fn").string(function).key("arg").string(arg);
    json.end_object().end_object();
  }
  static void write_strings(JsonWriter& json, const std::vector<std::string>& items) {
    json.begin_array();
    for (const std::string& item : items) json.string(item);
    json.end_array();
  }
  // Opens an entity; the caller writes attributes, then calls end_entity.
  static void begin_entity(JsonWriter& json, std::string_view type, std::string_view id) {
    json.begin_object().key("uid");
    write_uid(json, type, id);
    json.key("attrs").begin_object();
  }
  static void end_entity(JsonWriter& json,
                         const std::vector<std::pair<std::string, std::string>>& parents) {
    json.end_object().key("parents").begin_array();
    for (const auto& [type, id] : parents) write_uid(json, type, id);
    json.end_array().end_object();
  }

  std::vector<std::string> some_of(const std::vector<std::string>& pool, int percent) {
    std::vector<std::string> out;
    for (const std::string& item : pool) {
      if (prng_.chance(percent)) out.push_back(item);
    }
    return out;
  }

  std::string vendor_id(int vendor) const { return "v" + padded(vendor, 4); }

  std::string entities(size_t& count) {
    JsonWriter json;
    json.begin_array();
    for (const std::string& region : kRegions) {
      begin_entity(json, "Region", region);
      end_entity(json, {});
      ++count;
    }
    for (const ActionSpec& action : kActions) {
      begin_entity(json, "Action", action.id);
      end_entity(json, {{"Action", action.group}});
      ++count;
    }
    for (const char* group : {"read_only", "operate", "admin"}) {
      begin_entity(json, "Action", group);
      end_entity(json, {});
      ++count;
    }
    for (const std::string& role : kRoles) {
      begin_entity(json, "Role", role);
      end_entity(json, role == "supervisor"
                           ? std::vector<std::pair<std::string, std::string>>{{"Role", "operator"}}
                           : std::vector<std::pair<std::string, std::string>>{});
      ++count;
    }
    for (int site = 0; site < kSiteCount; ++site) {
      std::string s = site_id(site);
      const std::string& region = kRegions[site % kRegions.size()];
      begin_entity(json, "Site", s);
      json.key("region").string(region).key("tier").number(prng_.range(1, 3));
      end_entity(json, {{"Region", region}});
      ++count;
      for (const std::string& kind : kZoneKinds) {
        std::string zone = s + "-" + kind;
        zones_.push_back(zone);
        begin_entity(json, "Zone", zone);
        json.key("kind").string(kind);
        json.key("restricted").boolean(kind == "secure" || kind == "hazmat");
        if (kind == "hazmat") json.key("hazmat").boolean(true);
        end_entity(json, {{"Site", s}});
        ++count;
      }
      for (int dock = 1; dock <= kDocksPerSite; ++dock) {
        std::string id = s + "-d" + std::to_string(dock);
        docks_.push_back(id);
        begin_entity(json, "Dock", id);
        json.key("bay").number(dock).key("open").boolean(prng_.chance(75));
        end_entity(json, {{"Zone", s + "-yard"}});
        ++count;
      }
    }
    for (int vendor = 0; vendor < kVendorCount; ++vendor) {
      begin_entity(json, "Vendor", vendor_id(vendor));
      int standing = static_cast<int>(prng_.below(100));
      json.key("standing")
          .string(standing < 80   ? "good"
                  : standing < 93 ? "probation"
                                  : "suspended");
      json.key("certified");
      write_strings(json, some_of({"iso27001", "iec62443", "tapa", "c-tpat"}, 45));
      json.key("risk_score").number(prng_.range(0, 100));
      json.key("rating");
      write_extension(json, "decimal",
                      std::to_string(prng_.range(1, 4)) + "." + std::to_string(prng_.range(0, 9)));
      json.key("country").string(prng_.pick(kCountries));
      end_entity(json, {});
      ++count;
    }
    for (int i = 0; i < kUserCount; ++i) {
      User user{"u" + padded(i, 5), static_cast<int>(prng_.below(kSiteCount))};
      users_.push_back(user);
      std::string role = role_for(i);
      begin_entity(json, "User", user.id);
      json.key("department")
          .string(prng_.pick(
              std::vector<std::string>{"ops", "security", "finance", "it", "logistics"}));
      json.key("clearance").number(prng_.range(0, 5));
      json.key("shifts");
      write_strings(json, some_of(kShifts, 45));
      json.key("badge_active").boolean(prng_.chance(95));
      json.key("email").string(user.id +
                               (prng_.chance(90) ? "@custos.example" : "@partner.example"));
      json.key("home_site");
      write_ref(json, "Site", site_id(user.site));
      json.key("certifications");
      write_strings(json, some_of({"hazmat", "forklift", "customs"}, 25));
      bool external = role == "vendor-tech" || role == "driver" || role == "contractor";
      if (external) {
        json.key("vendor");
        write_ref(json, "Vendor", vendor_id(static_cast<int>(prng_.below(kVendorCount))));
      }
      std::vector<std::pair<std::string, std::string>> parents = {{"Role", role},
                                                                  {"Site", site_id(user.site)}};
      if (prng_.chance(8)) parents.emplace_back("Role", prng_.pick(kRoles));
      end_entity(json, parents);
      ++count;
    }
    for (int i = 0; i < kDeviceCount; ++i) {
      Device device{"dev-" + padded(i, 5), static_cast<int>(prng_.below(kSiteCount))};
      devices_.push_back(device);
      std::string s = site_id(device.site);
      begin_entity(json, "Device", device.id);
      json.key("kind").string(prng_.pick(kDeviceKinds));
      int status = static_cast<int>(prng_.below(100));
      json.key("status").string(status < 82   ? "active"
                                : status < 92 ? "maintenance"
                                : status < 97 ? "quarantined"
                                              : "retired");
      json.key("firmware").number(prng_.range(100, 520));
      json.key("posture").begin_object();
      json.key("patched").boolean(prng_.chance(85));
      json.key("disk_encrypted").boolean(prng_.chance(70));
      json.key("score").number(prng_.range(30, 100));
      json.end_object();
      json.key("ip");
      write_extension(json, "ip",
                      "10." + std::to_string(device.site) + "." + std::to_string(prng_.below(256)) +
                          "." + std::to_string(1 + prng_.below(254)));
      json.key("vendor");
      write_ref(json, "Vendor", vendor_id(static_cast<int>(prng_.below(kVendorCount))));
      json.key("site");
      write_ref(json, "Site", s);
      json.key("tags");
      write_strings(json, some_of({"critical", "outdoor", "legacy", "wireless"}, 20));
      if (prng_.chance(20)) {
        end_entity(json, {{"Dock", s + "-d" + std::to_string(prng_.range(1, kDocksPerSite))}});
      } else {
        end_entity(json, {{"Zone", s + "-" + prng_.pick(kZoneKinds)}});
      }
      ++count;
    }
    for (int i = 0; i < kShipmentCount; ++i) {
      std::string id = "shp-" + padded(i, 6);
      int site = static_cast<int>(prng_.below(kSiteCount));
      shipments_.push_back({id, site});
      std::string s = site_id(site);
      begin_entity(json, "Shipment", id);
      json.key("value").number(prng_.range(500, 400000));
      bool hazmat = prng_.chance(10);
      json.key("hazmat").boolean(hazmat);
      int status = static_cast<int>(prng_.below(100));
      json.key("status").string(status < 40   ? "in_transit"
                                : status < 80 ? "at_dock"
                                : status < 92 ? "released"
                                              : "held");
      json.key("carrier");
      write_ref(json, "Vendor", vendor_id(static_cast<int>(prng_.below(kVendorCount))));
      if (prng_.chance(85)) {
        json.key("seal").string((prng_.chance(90) ? "SEAL-" : "TMP-") +
                                padded(static_cast<int>(prng_.below(1000000)), 6));
      }
      json.key("destination").string(prng_.pick(kCountries));
      json.key("tags");
      write_strings(json, some_of({"pharma", "cold-chain", "high-value", "export"}, 25));
      if (prng_.chance(70)) {
        end_entity(json, {{"Dock", s + "-d" + std::to_string(prng_.range(1, kDocksPerSite))}});
      } else {
        end_entity(json, {{"Zone", s + (hazmat             ? "-hazmat"
                                        : prng_.chance(50) ? "-cold"
                                                           : "-dry")}});
      }
      ++count;
    }
    json.end_array();
    return json.take();
  }

  const std::string& role_for(int user) const {
    // Mostly operators; the rest spread over the other roles.
    static constexpr int kWeights[] = {45, 10, 8, 5, 4, 10, 10, 8};
    int slot = static_cast<int>((static_cast<uint64_t>(user) * 2654435761ULL) % 100);
    for (size_t i = 0; i < kRoles.size(); ++i) {
      if (slot < kWeights[i]) return kRoles[i];
      slot -= kWeights[i];
    }
    return kRoles[0];
  }

  // --- requests ---
  const ActionSpec& pick_action() {
    int total = 0;
    for (const ActionSpec& action : kActions) total += action.weight;
    int slot = static_cast<int>(prng_.below(total));
    for (const ActionSpec& action : kActions) {
      if (slot < action.weight) return action;
      slot -= action.weight;
    }
    return kActions[0];
  }

  EntityUid pick_resource(int home_site) {
    // Usually something at the principal's own site.
    bool local = prng_.chance(70);
    auto at_site = [&](const std::vector<Device>& items) -> const Device& {
      for (int tries = 0; tries < 16; ++tries) {
        const Device& item = prng_.pick(items);
        if (!local || item.site == home_site) return item;
      }
      return prng_.pick(items);
    };
    int kind = static_cast<int>(prng_.below(100));
    if (kind < 35) return {"Device", at_site(devices_).id};
    if (kind < 70) return {"Shipment", at_site(shipments_).id};
    std::string s = site_id(local ? home_site : static_cast<int>(prng_.below(kSiteCount)));
    if (kind < 80) return {"Dock", s + "-d" + std::to_string(prng_.range(1, kDocksPerSite))};
    if (kind < 95) return {"Zone", s + "-" + prng_.pick(kZoneKinds)};
    return {"Site", s};
  }

  std::string context_json(int home_site) {
    JsonWriter json;
    json.begin_object();
    int hour = prng_.range(0, 23);
    json.key("hour").number(hour);
    json.key("day").number(prng_.range(0, 6));
    json.key("shift").string(hour >= 6 && hour < 14    ? "day"
                             : hour >= 14 && hour < 22 ? "swing"
                                                       : "night");
    int network = static_cast<int>(prng_.below(100));
    std::string ip;
    if (network < 70) {
      ip = "10." + std::to_string(prng_.chance(85) ? home_site : prng_.below(kSiteCount)) + "." +
           std::to_string(prng_.below(256)) + "." + std::to_string(1 + prng_.below(254));
    } else if (network < 80) {
      ip =
          "172.16." + std::to_string(prng_.below(256)) + "." + std::to_string(1 + prng_.below(254));
    } else if (network < 88) {
      ip = "203.0.113." + std::to_string(1 + prng_.below(254));
    } else if (network < 93) {
      ip = "198.51.100." + std::to_string(1 + prng_.below(254));
    } else if (network < 99) {
      ip = "8.8." + std::to_string(prng_.below(256)) + "." + std::to_string(1 + prng_.below(254));
    } else {
      ip = prng_.chance(50) ? "127.0.0.1" : "224.0.0.251";
    }
    json.key("ip");
    write_extension(json, "ip", ip);
    json.key("mfa").boolean(prng_.chance(60));
    json.key("channel").string(prng_.pick(std::vector<std::string>{"badge", "app", "api"}));
    if (prng_.chance(70)) json.key("risk").number(prng_.range(0, 100));
    if (prng_.chance(30)) {
      json.key("change_ticket")
          .string((prng_.chance(70) ? "CHG-" : "INC-") + std::to_string(prng_.range(1000, 9999)));
    }
    if (prng_.chance(40)) json.key("target_zone_kind").string(prng_.pick(kZoneKinds));
    json.end_object();
    return json.take();
  }

  WorkloadRequest request() {
    WorkloadRequest out;
    int who = static_cast<int>(prng_.below(100));
    int home_site = 0;
    if (who < 85) {
      const User& user = prng_.pick(users_);
      out.principal = {"User", user.id};
      home_site = user.site;
    } else if (who < 98) {
      const Device& device = prng_.pick(devices_);
      out.principal = {"Device", device.id};
      home_site = device.site;
    } else {
      // Not in the store: every attribute read on it is an error.
      out.principal = {"User", "ghost-" + std::to_string(prng_.below(100))};
      home_site = static_cast<int>(prng_.below(kSiteCount));
    }
    out.action = {"Action", pick_action().id};
    out.resource = pick_resource(home_site);
    out.context_json = context_json(home_site);
    return out;
  }

  Prng prng_;
  std::vector<std::string> zones_;
  std::vector<std::string> docks_;
  std::vector<User> users_;
  std::vector<Device> devices_;
  std::vector<Device> shipments_;  // id and site, like devices
};

struct Options {
  uint64_t seed = 20250611;
  size_t requests = 100000;
  int rounds = 5;
  std::string out_dir;
  bool json = false;
};

const char* arg_value(int argc, char** argv, std::string_view name) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (name == argv[i]) return argv[i + 1];
  }
  return nullptr;
}

bool write_file(const std::string& path, std::string_view contents) {
  std::ofstream file(path, std::ios::binary);
  file << contents;
  return static_cast<bool>(file);
}

std::string decision_json(const Decision& decision) {
  std::vector<std::string> reasons = decision.reasons;
  std::vector<std::string> errors;
  for (const auto& error : decision.errors) errors.push_back(error.policy_id);
  std::sort(reasons.begin(), reasons.end());
  std::sort(errors.begin(), errors.end());
  JsonWriter json;
  json.begin_object().key("decision").string(decision.allowed ? "allow" : "deny");
  json.key("reasons").begin_array();
  for (const std::string& id : reasons) json.string(id);
  json.end_array().key("errors").begin_array();
  for (const std::string& id : errors) json.string(id);
  json.end_array().end_object();
  return json.take();
}

double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

double percentile_us(const std::vector<uint64_t>& sorted_ns, double p) {
  if (sorted_ns.empty()) return 0;
  auto at = static_cast<size_t>(p * static_cast<double>(sorted_ns.size() - 1) + 0.5);
  return static_cast<double>(sorted_ns[std::min(at, sorted_ns.size() - 1)]) / 1000.0;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (const char* v = arg_value(argc, argv, "--seed")) options.seed = std::strtoull(v, nullptr, 10);
  if (const char* v = arg_value(argc, argv, "--requests"))
    options.requests = std::strtoull(v, nullptr, 10);
  if (const char* v = arg_value(argc, argv, "--rounds")) options.rounds = std::max(1, std::atoi(v));
  if (const char* v = arg_value(argc, argv, "--out")) options.out_dir = v;
  for (int i = 1; i < argc; ++i) options.json |= std::string_view(argv[i]) == "--json";
  if (options.requests == 0) {
    std::cerr
        << "policy_bench: --requests must be positive\n"
           "usage: policy_bench [--seed S] [--requests N] [--rounds R] [--out DIR] [--json]\n";
    return 2;
  }

  Workload workload = WorkloadGenerator(options.seed).generate(options.requests);

  auto build_started = SteadyClock::now();
  auto policies = custos::policy::parse_policies(workload.policies);
  if (!policies.is_ok()) {
    std::cerr << "policy_bench: generated policies do not parse: " << policies.status().message()
              << "\n";
    return 1;
  }
  double parse_seconds = seconds_since(build_started);
  build_started = SteadyClock::now();
  auto store = EntityStore::from_json(workload.entities_json);
  if (!store.is_ok()) {
    std::cerr << "policy_bench: generated entities rejected: " << store.status().message() << "\n";
    return 1;
  }
  double store_seconds = seconds_since(build_started);
  const PolicySet& policy_set = policies.value();
  const EntityStore& entities = store.value();

  std::vector<Request> requests;
  requests.reserve(workload.requests.size());
  for (const WorkloadRequest& r : workload.requests) {
    auto context = custos::policy::parse_context_json(r.context_json);
    if (!context.is_ok()) {
      std::cerr << "policy_bench: bad generated context: " << context.status().message() << "\n";
      return 1;
    }
    requests.push_back({r.principal, r.action, r.resource, std::move(context).value()});
  }

  // Answers and the checksum; also the warm-up pass.
  uint64_t allows = 0, with_errors = 0;
  std::string decisions_jsonl;
  Decision decision;
  for (const Request& request : requests) {
    custos::policy::is_authorized(request, policy_set, entities, decision);
    allows += decision.allowed ? 1 : 0;
    with_errors += decision.errors.empty() ? 0 : 1;
    if (!options.out_dir.empty()) decisions_jsonl += decision_json(decision) + "\n";
  }

  if (!options.out_dir.empty()) {
    std::string requests_jsonl;
    for (const WorkloadRequest& r : workload.requests) requests_jsonl += r.to_json_line() + "\n";
    const std::string& dir = options.out_dir;
    if (!write_file(dir + "/policies.cedar", workload.policies) ||
        !write_file(dir + "/entities.json", workload.entities_json) ||
        !write_file(dir + "/requests.jsonl", requests_jsonl) ||
        !write_file(dir + "/decisions.jsonl", decisions_jsonl)) {
      std::cerr << "policy_bench: cannot write the workload files under " << dir << "\n";
      return 1;
    }
  }

  // Throughput: whole passes, no per-call clock.
  std::vector<double> pass_rates;
  uint64_t pass_allows = 0;
  for (int round = 0; round < options.rounds; ++round) {
    pass_allows = 0;
    auto started = SteadyClock::now();
    for (const Request& request : requests) {
      custos::policy::is_authorized(request, policy_set, entities, decision);
      pass_allows += decision.allowed ? 1 : 0;
    }
    pass_rates.push_back(static_cast<double>(requests.size()) / seconds_since(started));
  }
  if (pass_allows != allows) {
    std::cerr << "policy_bench: answers changed between passes\n";
    return 1;
  }
  std::sort(pass_rates.begin(), pass_rates.end());
  double decisions_per_second = pass_rates[pass_rates.size() / 2];

  // Latency: every call timed.
  std::vector<uint64_t> latencies_ns;
  latencies_ns.reserve(requests.size());
  for (const Request& request : requests) {
    auto started = SteadyClock::now();
    custos::policy::is_authorized(request, policy_set, entities, decision);
    latencies_ns.push_back(static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - started)
            .count()));
  }
  std::sort(latencies_ns.begin(), latencies_ns.end());
  double mean_us = 0;
  for (uint64_t ns : latencies_ns) mean_us += static_cast<double>(ns);
  mean_us /= 1000.0 * static_cast<double>(latencies_ns.size());

  // End to end: the request's context JSON is parsed on every call too.
  auto parse_started = SteadyClock::now();
  uint64_t parsed_allows = 0;
  for (size_t i = 0; i < requests.size(); ++i) {
    Request request{requests[i].principal, requests[i].action, requests[i].resource,
                    custos::policy::parse_context_json(workload.requests[i].context_json).value()};
    custos::policy::is_authorized(request, policy_set, entities, decision);
    parsed_allows += decision.allowed ? 1 : 0;
  }
  double with_parse_rate = static_cast<double>(requests.size()) / seconds_since(parse_started);
  if (parsed_allows != allows) {
    std::cerr << "policy_bench: answers differ when contexts are parsed per call\n";
    return 1;
  }

  JsonWriter json;
  json.begin_object();
  json.key("engine").string("custos");
  json.key("seed").number(options.seed);
  json.key("policies").number(static_cast<uint64_t>(policy_set.size()));
  json.key("entities").number(static_cast<uint64_t>(entities.size()));
  json.key("requests").number(static_cast<uint64_t>(requests.size()));
  json.key("rounds").number(options.rounds);
  json.key("decisions_per_second").number(decisions_per_second);
  json.key("decisions_per_second_min").number(pass_rates.front());
  json.key("decisions_per_second_max").number(pass_rates.back());
  json.key("latency_us").begin_object();
  json.key("mean").number(mean_us);
  json.key("p50").number(percentile_us(latencies_ns, 0.50));
  json.key("p90").number(percentile_us(latencies_ns, 0.90));
  json.key("p99").number(percentile_us(latencies_ns, 0.99));
  json.key("max").number(percentile_us(latencies_ns, 1.0));
  json.end_object();
  json.key("decisions_per_second_with_context_parse").number(with_parse_rate);
  json.key("allow").number(allows);
  json.key("deny").number(static_cast<uint64_t>(requests.size()) - allows);
  json.key("with_errors").number(with_errors);
  json.key("policy_parse_ms").number(parse_seconds * 1000.0);
  json.key("entity_store_build_ms").number(store_seconds * 1000.0);
  json.key("load_average").string(custos::bench::load_average());
  json.end_object();
  if (options.json) {
    std::cout << json.str() << "\n";
  } else {
    std::printf("custos: %zu policies, %zu entities, %zu requests\n", policy_set.size(),
                entities.size(), requests.size());
    std::printf("  %.0f decisions/s (median of %d passes), p50 %.2f us, p99 %.2f us\n",
                decisions_per_second, options.rounds, percentile_us(latencies_ns, 0.50),
                percentile_us(latencies_ns, 0.99));
    std::printf("  with per-request context parse: %.0f decisions/s\n", with_parse_rate);
    std::printf("  allow %llu, deny %llu, with erroring policies %llu\n",
                static_cast<unsigned long long>(allows),
                static_cast<unsigned long long>(requests.size() - allows),
                static_cast<unsigned long long>(with_errors));
  }
  return 0;
}
