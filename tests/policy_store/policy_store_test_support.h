// Shared by the policy store tests: a temporary store, a log with a fake
// checkpoint signer and a PolicyStore over them, each of which a test can
// close and reopen; a few small policy texts.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "custos/ledger/entry.h"
#include "custos/ledger/log.h"
#include "custos/policy/policy_store.h"
#include "custos/store/store.h"
#include "support/log_fixture.h"

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

class PolicyStoreFixture : public test_support::StoreLogFixture {
 protected:
  PolicyStoreFixture()
      : StoreLogFixture("policy-store", "test.example/custos/policy", 1'780'000'000'000'000) {}

  void open_consumers() override { open_policies(); }
  void close_consumers() override { policies_.reset(); }

  void open_policies() {
    auto policies = PolicyStore::open(*log_, *store_, custos_schema());
    ASSERT_TRUE(policies.is_ok()) << policies.status().to_string();
    policies_ = std::move(policies).value();
  }

  PolicyVersionInfo push(const std::string& text) {
    auto info = policies_->push(text, kActor, kDecision);
    EXPECT_TRUE(info.is_ok()) << info.status().to_string();
    return info.is_ok() ? *info : PolicyVersionInfo{};
  }

  // Appends an entry written by someone other than the PolicyStore; its index.
  uint64_t append_entry(ledger::EntryKind kind, const std::string& principal,
                        const std::string& payload) {
    ledger::AppendRequest request;
    request.kind = kind;
    request.principal = principal;
    request.payload = to_bytes(payload);
    auto receipt = log_->append(request);
    EXPECT_TRUE(receipt.is_ok()) << receipt.status().to_string();
    return receipt.is_ok() ? receipt->index : 0;
  }
  uint64_t append_control(const std::string& payload) {
    return append_entry(ledger::EntryKind::kControlChange, "someone-else", payload);
  }
  uint64_t append_raw(const std::string& payload) {
    return append_entry(ledger::EntryKind::kRawPayload, "loader", payload);
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

  std::unique_ptr<PolicyStore> policies_;
};

}  // namespace custos::policy::testing
