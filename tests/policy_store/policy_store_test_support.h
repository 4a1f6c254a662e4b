// Shared by the policy store tests: a temporary store, a log with a fake
// checkpoint signer and a PolicyStore over them, each of which a test can
// close and reopen; a few small policy texts.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "custos/core/clock.h"
#include "custos/ledger/entry.h"
#include "custos/ledger/log.h"
#include "custos/policy/policy_store.h"
#include "custos/store/store.h"

namespace custos::policy::testing {

inline const std::string kActor = "policy-admin-1";
inline const std::string kDecision = "decision-1";

// Policy texts, each valid against custos_schema() and different from the others.
inline std::string policy_text(int variant) {
  std::string text =
      "// reads of the public log\n"
      "@id(\"log-read\")\n"
      "permit (principal, action == Custos::Action::\"log.read\", resource is Custos::Log);\n";
  for (int i = 1; i <= variant; ++i) {
    text += "\n@id(\"status-read-" + std::to_string(i) +
            "\")\npermit (principal, action == Custos::Action::\"status.read\", resource)\n"
            "when { resource == principal && context.hour > " +
            std::to_string(i) + " };\n";
  }
  return text;
}

class PolicyStoreFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("custos-policy-store-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    open_all();
  }
  void TearDown() override {
    close_all();
    std::filesystem::remove_all(dir_);
  }

  void open_all() {
    store::StoreOptions store_options;
    store_options.block_cache_mb = 8;
    store_options.write_buffer_mb = 4;
    auto store = store::Store::open(dir_.string(), store_options);
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    store_ = std::move(store).value();
    ledger::LogOptions log_options;
    log_options.origin = "test.example/custos/policy";
    log_options.clock = &clock_;
    log_options.sign_checkpoint = [](std::string_view body) -> Result<std::string> {
      return std::string(body) + "\n\u2014 fake-signer AAAA\n";
    };
    auto log = ledger::Log::open(*store_, std::move(log_options));
    ASSERT_TRUE(log.is_ok()) << log.status().to_string();
    log_ = std::move(log).value();
    open_policies();
  }

  void open_policies() {
    auto policies = PolicyStore::open(*log_, *store_, custos_schema());
    ASSERT_TRUE(policies.is_ok()) << policies.status().to_string();
    policies_ = std::move(policies).value();
  }

  void close_all() {
    policies_.reset();
    log_.reset();
    store_.reset();
  }

  void restart() {
    close_all();
    open_all();
  }

  PolicyVersionInfo push(const std::string& text) {
    auto info = policies_->push(text, kActor, kDecision);
    EXPECT_TRUE(info.is_ok()) << info.status().to_string();
    return info.is_ok() ? *info : PolicyVersionInfo{};
  }

  // Appends a control entry written by someone other than the PolicyStore.
  uint64_t append_control(const std::string& payload) {
    ledger::AppendRequest request;
    request.kind = ledger::EntryKind::kControlChange;
    request.principal = "someone-else";
    request.payload = to_bytes(payload);
    auto receipt = log_->append(request);
    EXPECT_TRUE(receipt.is_ok()) << receipt.status().to_string();
    return receipt.is_ok() ? receipt->index : 0;
  }

  uint64_t append_raw(const std::string& payload) {
    ledger::AppendRequest request;
    request.kind = ledger::EntryKind::kRawPayload;
    request.principal = "loader";
    request.payload = to_bytes(payload);
    auto receipt = log_->append(request);
    EXPECT_TRUE(receipt.is_ok()) << receipt.status().to_string();
    return receipt.is_ok() ? receipt->index : 0;
  }

  // Erases every key of the policies family (journal and replayed_up_to).
  void delete_journal() {
    store::WriteBatch batch;
    auto iterator = store_->new_iterator(store::Family::kPolicies);
    for (iterator->seek_to_first(); iterator->valid(); iterator->next()) {
      batch.erase(store::Family::kPolicies, iterator->key());
    }
    ASSERT_TRUE(iterator->status().is_ok());
    iterator.reset();
    ASSERT_TRUE(store_->write(batch, /*sync=*/true).is_ok());
  }

  std::filesystem::path dir_;
  ManualClock clock_{1'780'000'000'000'000};
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ledger::Log> log_;
  std::unique_ptr<PolicyStore> policies_;
};

}  // namespace custos::policy::testing
