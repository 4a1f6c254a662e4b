// Receipt, proof and entry verification on hand-built two-leaf logs.
#include "custos/sdk/receipt.h"

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "custos/core/json_writer.h"
#include "custos/ledger/merkle.h"

namespace custos::sdk {
namespace {

constexpr std::string_view kOrigin = "receipt.test/log";
constexpr std::string_view kPayload = "case 7 sealed at dock 2";

// The JSON members of a receipt, to build and mutate receipts.
struct ReceiptJson {
  uint64_t index = 1;
  std::string leaf_hash;
  int64_t receive_time_us = 1795660000123456;
  std::string principal = "dev-0042";
  uint64_t tree_size = 2;
  std::string checkpoint;
  std::vector<std::string> inclusion_proof;
  std::optional<std::string> request_signature;
  std::optional<std::string> kind;
  std::set<std::string> omit;

  std::string to_json() const {
    JsonWriter json;
    json.begin_object();
    auto add = [&](const char* name, const std::function<void()>& value) {
      if (omit.count(name)) return;
      json.key(name);
      value();
    };
    add("index", [&] { json.number(index); });
    add("leaf_hash", [&] { json.string(leaf_hash); });
    add("receive_time_us", [&] { json.number(receive_time_us); });
    add("principal", [&] { json.string(principal); });
    add("tree_size", [&] { json.number(tree_size); });
    add("checkpoint", [&] { json.string(checkpoint); });
    add("inclusion_proof", [&] {
      json.begin_array();
      for (const auto& hash : inclusion_proof) json.string(hash);
      json.end_array();
    });
    if (request_signature) json.key("request_signature").string(*request_signature);
    if (kind) json.key("kind").string(*kind);
    json.end_object();
    return json.take();
  }
};

class ReceiptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_signer_.emplace(*NoteSigner::create(std::string(kOrigin), Ed25519KeyPair::generate()));
    log_key_.emplace(log_signer_->verifier());
  }

  // A two-leaf log whose leaf 1 holds `payload` with the given signature and kind.
  ReceiptJson build(ByteView request_signature = {},
                    ledger::EntryKind kind = ledger::EntryKind::kRawPayload,
                    std::string_view payload = kPayload) {
    ReceiptJson receipt;
    ledger::LogEntry first{ledger::EntryKind::kRawPayload, 0, 1, "admin", {}, to_bytes("first")};
    ledger::LogEntry ours{kind,
                          1,
                          receipt.receive_time_us,
                          receipt.principal,
                          Bytes(request_signature.begin(), request_signature.end()),
                          to_bytes(payload)};
    Hash256 leaf0 = ledger::hash_leaf(ledger::encode_entry(first));
    Hash256 leaf1 = ledger::hash_leaf(ledger::encode_entry(ours));
    Hash256 root = ledger::hash_children(leaf0, leaf1);
    receipt.leaf_hash = leaf1.base64();
    receipt.inclusion_proof = {leaf0.base64()};
    receipt.checkpoint = sign(checkpoint_body(2, root));
    return receipt;
  }

  static std::string checkpoint_body(uint64_t size, const Hash256& root,
                                     std::string_view origin = kOrigin) {
    return std::string(origin) + "\n" + std::to_string(size) + "\n" + root.base64() + "\n";
  }

  std::string sign(const std::string& body, const NoteSigner* signer = nullptr) {
    const NoteSigner* signers[] = {signer ? signer : &*log_signer_};
    return *sign_note(body, signers);
  }

  Result<Receipt> verify(const ReceiptJson& receipt, std::string_view payload = kPayload,
                         const std::optional<Ed25519Signature>& sent = {}) {
    return verify_append_receipt(receipt.to_json(), as_bytes(payload), *log_key_, sent);
  }

  static void expect_data_loss(const Result<Receipt>& result, const std::string& what) {
    ASSERT_FALSE(result.is_ok()) << what;
    EXPECT_EQ(result.status().code(), StatusCode::kDataLoss)
        << what << ": " << result.status().to_string();
  }

  std::optional<NoteSigner> log_signer_;
  std::optional<NoteVerifier> log_key_;
};

TEST_F(ReceiptTest, ReceiptForAnUnsignedRequestVerifies) {
  ReceiptJson receipt = build();
  auto verified = verify(receipt);
  ASSERT_TRUE(verified.is_ok()) << verified.status().to_string();
  EXPECT_EQ(verified->index, 1u);
  EXPECT_EQ(verified->tree_size, 2u);
  EXPECT_EQ(verified->principal, "dev-0042");
  EXPECT_EQ(verified->receive_time, receipt.receive_time_us);
  EXPECT_TRUE(verified->request_signature.empty());
  EXPECT_EQ(verified->checkpoint.checkpoint.tree_size, 2u);
  EXPECT_EQ(verified->checkpoint.note, receipt.checkpoint);
  EXPECT_EQ(verified->json, receipt.to_json());
}

TEST_F(ReceiptTest, LoggedRequestSignatureIsFoundEchoedOrNot) {
  Ed25519Signature sent = Ed25519KeyPair::generate().sign(as_bytes("base"));
  ReceiptJson receipt = build(sent.view());
  // Not echoed: the signature the client sent is tried.
  auto verified = verify(receipt, kPayload, sent);
  ASSERT_TRUE(verified.is_ok()) << verified.status().to_string();
  EXPECT_EQ(verified->request_signature, Bytes(sent.bytes.begin(), sent.bytes.end()));
  // ...and without it the leaf cannot be rebuilt.
  expect_data_loss(verify(receipt), "signature not known");

  // Echoed: the echoed bytes are used.
  receipt.request_signature = base64_encode(sent.view());
  EXPECT_TRUE(verify(receipt).is_ok());
  receipt.request_signature = base64_encode(Ed25519KeyPair::generate().sign(as_bytes("x")).view());
  expect_data_loss(verify(receipt, kPayload, sent), "wrong echoed signature");
  receipt.request_signature = "***";
  expect_data_loss(verify(receipt), "echoed signature not base64");

  // A server that logs no signature although the client signed.
  EXPECT_TRUE(verify(build(), kPayload, sent).is_ok());
}

TEST_F(ReceiptTest, EchoedKindIsUsed) {
  ReceiptJson receipt = build({}, ledger::EntryKind::kEpcisEvent);
  expect_data_loss(verify(receipt), "kind not echoed");
  receipt.kind = "epcis_event";
  auto verified = verify(receipt);
  ASSERT_TRUE(verified.is_ok()) << verified.status().to_string();
  EXPECT_EQ(verified->kind, ledger::EntryKind::kEpcisEvent);
  receipt.kind = "no_such_kind";
  expect_data_loss(verify(receipt), "unknown kind");
}

TEST_F(ReceiptTest, EveryTamperedFieldIsRefused) {
  const ReceiptJson good = build();
  ASSERT_TRUE(verify(good).is_ok());

  expect_data_loss(verify(good, "case 7 sealed at dock 3"), "another payload");

  ReceiptJson receipt = good;
  receipt.index = 0;
  expect_data_loss(verify(receipt), "index");
  receipt = good;
  receipt.receive_time_us += 1;
  expect_data_loss(verify(receipt), "receive time");
  receipt = good;
  receipt.principal = "mallory";
  expect_data_loss(verify(receipt), "principal");
  receipt = good;
  receipt.leaf_hash = ledger::hash_leaf(as_bytes("other")).base64();
  expect_data_loss(verify(receipt), "leaf hash");
  receipt = good;
  receipt.tree_size = 3;
  expect_data_loss(verify(receipt), "tree size");

  receipt = good;
  auto proof_hash = *Hash256::from_base64(receipt.inclusion_proof[0]);
  proof_hash.bytes[0] ^= 0x80;
  receipt.inclusion_proof[0] = proof_hash.base64();
  expect_data_loss(verify(receipt), "flipped proof hash");
  receipt = good;
  receipt.inclusion_proof.push_back(proof_hash.base64());
  expect_data_loss(verify(receipt), "long proof");
  receipt = good;
  receipt.inclusion_proof.clear();
  expect_data_loss(verify(receipt), "short proof");
  receipt = good;
  receipt.inclusion_proof[0] = "AAAA";
  expect_data_loss(verify(receipt), "proof hash of the wrong size");

  // The checkpoint: another key under the log's name, another origin, a changed body.
  std::string body = good.checkpoint.substr(0, good.checkpoint.find("\n\n") + 1);
  auto rogue = *NoteSigner::create(std::string(kOrigin), Ed25519KeyPair::generate());
  receipt = good;
  receipt.checkpoint = sign(body, &rogue);
  expect_data_loss(verify(receipt), "checkpoint signed by another key");
  receipt = good;
  receipt.checkpoint = "other.origin" + sign(body).substr(kOrigin.size());
  expect_data_loss(verify(receipt), "checkpoint text changed after signing");
  auto root = *Hash256::from_base64(body.substr(body.find('\n', kOrigin.size() + 1) + 1, 44));
  receipt = good;
  receipt.checkpoint = sign(checkpoint_body(2, root, "other.origin"));
  expect_data_loss(verify(receipt), "checkpoint origin is not the key name");
  receipt = good;
  receipt.checkpoint = body;
  expect_data_loss(verify(receipt), "unsigned checkpoint");
}

TEST_F(ReceiptTest, MalformedReceiptsAreDataLoss) {
  const ReceiptJson good = build();
  for (const char* member : {"index", "leaf_hash", "receive_time_us", "principal", "tree_size",
                             "checkpoint", "inclusion_proof"}) {
    ReceiptJson receipt = good;
    receipt.omit.insert(member);
    expect_data_loss(verify(receipt), std::string("without ") + member);
  }
  for (std::string_view text : {"", "not json", "[1,2]", "{\"index\":\"1\"}", "{}"}) {
    auto result = verify_append_receipt(text, as_bytes(kPayload), *log_key_);
    expect_data_loss(result, std::string(text));
  }
}

TEST_F(ReceiptTest, InclusionResponsesAreCheckedAgainstWhatWasAsked) {
  ReceiptJson receipt = build();
  receipt.omit = {"receive_time_us", "principal"};
  std::string json = receipt.to_json();

  auto verified = verify_inclusion_response(json, *log_key_, 1);
  ASSERT_TRUE(verified.is_ok()) << verified.status().to_string();
  EXPECT_EQ(verified->tree_size, 2u);
  EXPECT_TRUE(verify_inclusion_response(json, *log_key_, 1, 2).is_ok());
  EXPECT_EQ(verify_inclusion_response(json, *log_key_, 0).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(verify_inclusion_response(json, *log_key_, 1, 3).status().code(),
            StatusCode::kDataLoss);

  receipt.omit.insert("checkpoint");
  EXPECT_EQ(verify_inclusion_response(receipt.to_json(), *log_key_, 1).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST_F(ReceiptTest, EntryResponsesMustHashToTheProvenLeaf) {
  ledger::LogEntry entry{ledger::EntryKind::kRawPayload, 1, 5, "admin", {}, to_bytes("x")};
  Bytes bytes = ledger::encode_entry(entry);
  Hash256 leaf = ledger::hash_leaf(bytes);
  std::string json = "{\"index\":1,\"entry\":\"" + base64_encode(bytes) + "\"}";
  auto verified = verify_entry_response(json, 1, leaf);
  ASSERT_TRUE(verified.is_ok()) << verified.status().to_string();
  EXPECT_EQ(*verified, entry);
  EXPECT_EQ(verify_entry_response(json, 2, leaf).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(verify_entry_response(json, 1, ledger::hash_leaf(as_bytes("y"))).status().code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(verify_entry_response("{}", 1, leaf).status().code(), StatusCode::kDataLoss);
  Bytes garbage = to_bytes("garbage");
  EXPECT_EQ(verify_entry_response("{\"entry\":\"" + base64_encode(garbage) + "\"}", 1,
                                  ledger::hash_leaf(garbage))
                .status()
                .code(),
            StatusCode::kDataLoss);
}

}  // namespace
}  // namespace custos::sdk
