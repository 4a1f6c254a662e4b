// Shared by the identity tests: a temporary store, a log with a fake
// checkpoint signer, a manual clock and an IdentityService over them, which
// a test can reopen (service only, or store + log + service).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "custos/core/clock.h"
#include "custos/crypto/password.h"
#include "custos/identity/identity_service.h"
#include "custos/ledger/entry.h"
#include "custos/ledger/log.h"
#include "custos/store/store.h"
#include "support/log_fixture.h"

namespace custos::identity::testing {

inline constexpr UnixMicros kStartTime = 1'780'000'000'000'000;
inline constexpr UnixMicros kSecond = 1'000'000;
inline const std::string kActor = "admin-1";
inline const std::string kDecision = "decision-test-1";

class IdentityFixture : public test_support::StoreLogFixture {
 protected:
  IdentityFixture() : StoreLogFixture("identity", "test.example/custos/identity", kStartTime) {}

  void open_consumers() override { open_service(); }
  void close_consumers() override { service_.reset(); }

  IdentityOptions options() {
    IdentityOptions options;
    options.password_limits = PasswordHashLimits::minimum();
    return options;
  }

  void open_service() {
    auto service = IdentityService::open(*log_, *store_, clock_, options());
    ASSERT_TRUE(service.is_ok()) << service.status().to_string();
    service_ = std::move(service).value();
  }

  PrincipalAttributes device(const std::string& id,
                             DeviceSubtype subtype = DeviceSubtype::kScanner) {
    PrincipalAttributes attributes;
    attributes.id = id;
    attributes.kind = PrincipalKind::kDevice;
    attributes.subtype = subtype;
    attributes.display_name = "Device " + id;
    attributes.site = "site-1";
    attributes.zone = "dock-a";
    attributes.vendor = "acme";
    return attributes;
  }

  PrincipalAttributes user(const std::string& id, std::set<std::string> roles = {}) {
    PrincipalAttributes attributes;
    attributes.id = id;
    attributes.kind = PrincipalKind::kUser;
    attributes.display_name = "User " + id;
    attributes.roles = std::move(roles);
    return attributes;
  }

  void create(const PrincipalAttributes& attributes) {
    auto receipt = service_->apply(PrincipalCreate{attributes}, kActor, kDecision);
    ASSERT_TRUE(receipt.is_ok()) << receipt.status().to_string();
  }

  // Every entry in the log, decoded.
  std::vector<ledger::LogEntry> log_entries() {
    std::vector<ledger::LogEntry> entries;
    for (uint64_t i = 0; i < log_->tree_size(); ++i) {
      auto bytes = log_->entry(i);
      EXPECT_TRUE(bytes.is_ok()) << bytes.status().to_string();
      if (!bytes.is_ok()) break;
      auto entry = ledger::decode_entry(*bytes);
      EXPECT_TRUE(entry.is_ok()) << entry.status().to_string();
      if (entry.is_ok()) entries.push_back(*entry);
    }
    return entries;
  }

  // All encoded log entries concatenated, to search for leaked secrets.
  std::string all_log_bytes() {
    std::string bytes;
    for (uint64_t i = 0; i < log_->tree_size(); ++i) {
      auto entry = log_->entry(i);
      if (entry.is_ok()) bytes.append(as_text(*entry));
    }
    return bytes;
  }

  std::unique_ptr<IdentityService> service_;
};

}  // namespace custos::identity::testing
