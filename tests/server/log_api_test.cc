// The log's HTTP endpoints, end to end over loopback with a real Ed25519 signer.
#include "custos/server/log_api.h"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "custos/core/clock.h"
#include "custos/core/work_queue.h"
#include "custos/crypto/signed_note.h"
#include "custos/ledger/checkpoint.h"
#include "custos/ledger/entry.h"
#include "custos/ledger/merkle.h"
#include "custos/ledger/proof.h"
#include "custos/server/http_client.h"
#include "custos/server/server.h"
#include "custos/server/default_policies.h"
#include "custos/store/store.h"
#include "support/access_helpers.h"

namespace custos {
namespace {


class LogApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = std::filesystem::temp_directory_path() /
                 ("custos-log-api-" + std::to_string(::getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(directory_);
    auto store = store::Store::open(directory_.string(), store::StoreOptions{});
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    store_ = std::move(store).value();
    auto signer = NoteSigner::create("api.test/log", Ed25519KeyPair::generate());
    ASSERT_TRUE(signer.is_ok());
    signer_ = std::make_unique<NoteSigner>(std::move(signer).value());
    verifier_ = std::make_unique<NoteVerifier>(signer_->verifier());

    ledger::LogOptions options;
    options.origin = signer_->name();
    options.clock = &clock_;
    options.sign_checkpoint = [this](std::string_view body) -> Result<std::string> {
      const NoteSigner* signers[] = {signer_.get()};
      return sign_note(body, signers);
    };
    options.on_batch = [this](const ledger::BatchStats& stats) { log_metrics_->on_batch(stats); };
    log_metrics_ = std::make_unique<LogMetrics>(metrics_);
    auto log = ledger::Log::open(*store_, std::move(options));
    ASSERT_TRUE(log.is_ok()) << log.status().to_string();
    log_ = std::move(log).value();
    log_metrics_->watch_tree_size(*log_);

    auto identity = identity::IdentityService::open(*log_, *store_, clock_);
    ASSERT_TRUE(identity.is_ok()) << identity.status().to_string();
    identity_ = std::move(identity).value();
    access_ = std::make_unique<AccessControl>(*identity_, clock_, metrics_);
    auto policies = policy::parse_policies(default_policy_text());
    ASSERT_TRUE(policies.is_ok()) << policies.status().to_string();
    access_->set_policies(std::move(policies).value());

    Router router;
    ASSERT_TRUE(add_log_routes(router, *log_, receipts_,
                               {&access_->gatekeeper(), verifier_->vkey_string(), signer_->name()})
                    .is_ok());
    ServerOptions server_options;
    server_options.listen = "127.0.0.1:0";
    server_ = std::make_unique<HttpServer>(server_options, std::move(router), &metrics_);
    ASSERT_TRUE(server_->start().is_ok());
    client_ = std::make_unique<HttpClient>("127.0.0.1", server_->port());
  }

  void TearDown() override {
    client_.reset();
    if (server_) server_->stop();
    if (log_) log_->close();
    server_.reset();
    access_.reset();
    identity_.reset();
    log_.reset();
    store_.reset();
    std::filesystem::remove_all(directory_);
  }

  // A writer's API token, created (two identity entries in the log) on first use.
  const std::string& token() {
    if (token_.empty()) {
      auto token = test_support::make_writer_token(*identity_);
      EXPECT_TRUE(token.is_ok()) << token.status().to_string();
      if (token.is_ok()) token_ = *token;
    }
    return token_;
  }

  Result<HttpResponse> post_entry(std::string_view payload,
                                  std::optional<std::string_view> bearer = std::nullopt) {
    HttpHeaders headers;
    std::string_view presented = bearer ? *bearer : std::string_view(token());
    if (!presented.empty()) headers.set("Authorization", "Bearer " + std::string(presented));
    return client_->request("POST", "/custos/v1/log/entries", payload, headers);
  }

  void append_directly(int count) {
    for (int i = 0; i < count; ++i) {
      ledger::AppendRequest request;
      request.principal = "test";
      request.payload = to_bytes("entry " + std::to_string(i));
      ASSERT_TRUE(log_->append(std::move(request)).is_ok());
    }
  }

  // Opens the checkpoint note with the log key; fails the test otherwise.
  ledger::Checkpoint open_checkpoint(std::string_view note) {
    const NoteVerifier* known[] = {verifier_.get()};
    auto opened = open_note(note, known);
    EXPECT_TRUE(opened.is_ok()) << opened.status().to_string();
    if (!opened.is_ok()) return {};
    auto checkpoint = ledger::parse_checkpoint_body(opened->text);
    EXPECT_TRUE(checkpoint.is_ok());
    return checkpoint.is_ok() ? *checkpoint : ledger::Checkpoint{};
  }

  static std::vector<Hash256> hashes(simdjson::dom::element array) {
    std::vector<Hash256> result;
    for (auto item : array.get_array()) {
      result.push_back(*Hash256::from_base64(std::string_view(item.get_string())));
    }
    return result;
  }

  static void expect_problem(const HttpResponse& response, int status) {
    EXPECT_EQ(response.status, status) << response.body;
    EXPECT_EQ(response.content_type, "application/problem+json");
    simdjson::dom::parser parser;
    simdjson::dom::element problem;
    ASSERT_FALSE(parser.parse(response.body).get(problem)) << response.body;
    EXPECT_EQ(int64_t(problem["status"]), status);
    EXPECT_FALSE(std::string_view(problem["detail"]).empty());
  }

  std::filesystem::path directory_;
  SystemClock clock_;
  MetricsRegistry metrics_;
  std::unique_ptr<LogMetrics> log_metrics_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<NoteSigner> signer_;
  std::unique_ptr<NoteVerifier> verifier_;
  std::unique_ptr<ledger::Log> log_;
  std::unique_ptr<identity::IdentityService> identity_;
  std::unique_ptr<AccessControl> access_;
  std::string token_;
  WorkQueue receipts_{2};
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(LogApiTest, AppendNeedsAnAuthorisedPrincipal) {
  auto missing = post_entry("payload", "");
  ASSERT_TRUE(missing.is_ok());
  expect_problem(*missing, 401);
  EXPECT_TRUE(missing->headers.get("WWW-Authenticate").has_value());
  auto wrong = post_entry("payload", "ffffffffffffffffffffffffffffffff");
  ASSERT_TRUE(wrong.is_ok());
  expect_problem(*wrong, 401);
  EXPECT_EQ(log_->tree_size(), 0u);

  // A token whose scopes do not include log.append: 403 naming the decision.
  auto reader = test_support::make_writer_token(*identity_, "reader", {"log.read"});
  ASSERT_TRUE(reader.is_ok()) << reader.status().to_string();
  const uint64_t before = log_->tree_size();
  auto out_of_scope = post_entry("payload", *reader);
  ASSERT_TRUE(out_of_scope.is_ok());
  expect_problem(*out_of_scope, 403);
  EXPECT_NE(out_of_scope->body.find("\"decision_id\":\"dec-"), std::string::npos);
  EXPECT_EQ(log_->tree_size(), before);
  EXPECT_NE(metrics_.render().find("custos_authz_decisions_total{action=\"log.append\",result=\"deny\"} 1"),
            std::string::npos);
}

TEST_F(LogApiTest, AppendReturnsAVerifiableReceipt) {
  token();
  const uint64_t base = log_->tree_size();
  append_directly(5);
  auto response = post_entry("pallet 42 left dock 4");
  ASSERT_TRUE(response.is_ok());
  ASSERT_EQ(response->status, 201) << response->body;
  EXPECT_EQ(response->headers.get("Location").value_or(""),
            "/custos/v1/log/entries/" + std::to_string(base + 5));
  simdjson::dom::parser parser;
  simdjson::dom::element receipt = parser.parse(response->body);
  uint64_t index = receipt["index"];
  uint64_t tree_size = receipt["tree_size"];
  EXPECT_EQ(index, base + 5);
  ledger::Checkpoint checkpoint = open_checkpoint(std::string_view(receipt["checkpoint"]));
  EXPECT_EQ(checkpoint.tree_size, tree_size);
  auto leaf = *Hash256::from_base64(std::string_view(receipt["leaf_hash"]));
  // The leaf is exactly our payload as the log encoded it.
  ledger::LogEntry entry{ledger::EntryKind::kRawPayload, index, int64_t(receipt["receive_time_us"]),
                         "writer", {}, to_bytes("pallet 42 left dock 4")};
  EXPECT_EQ(ledger::hash_leaf(ledger::encode_entry(entry)), leaf);
  EXPECT_TRUE(ledger::verify_inclusion(index, tree_size, leaf, hashes(receipt["inclusion_proof"]),
                                       checkpoint.root_hash)
                  .is_ok());
}

TEST_F(LogApiTest, AppendRefusesEmptyAndOversizedBodies) {
  auto empty = post_entry("");
  ASSERT_TRUE(empty.is_ok());
  expect_problem(*empty, 400);
  auto big = post_entry(std::string(61441, 'x'));
  ASSERT_TRUE(big.is_ok());
  expect_problem(*big, 413);
  auto largest = post_entry(std::string(61440, 'x'));
  ASSERT_TRUE(largest.is_ok());
  EXPECT_EQ(largest->status, 201) << largest->body;
}

TEST_F(LogApiTest, CheckpointIsTheLatestSignedNote) {
  append_directly(3);
  auto response = client_->get("/checkpoint");
  ASSERT_TRUE(response.is_ok());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(open_checkpoint(response->body).tree_size, 3u);
  EXPECT_EQ(open_checkpoint(response->body).root_hash, *log_->root_at(3));
}

TEST_F(LogApiTest, TilesAndBundlesUseTheSpecPaths) {
  append_directly(300);
  auto full = client_->get("/tile/0/000");
  ASSERT_TRUE(full.is_ok());
  ASSERT_EQ(full->status, 200);
  EXPECT_EQ(full->body.size(), 256u * 32u);
  EXPECT_EQ(full->body, std::string(as_text(*log_->read_tile(0, 0, 256))));
  EXPECT_NE(full->headers.get("Cache-Control").value_or("").find("immutable"), std::string::npos);

  auto partial = client_->get("/tile/0/001.p/44");
  ASSERT_TRUE(partial.is_ok());
  ASSERT_EQ(partial->status, 200);
  EXPECT_EQ(partial->body.size(), 44u * 32u);
  auto older = client_->get("/tile/0/001.p/10");  // a partial width of an older tree size
  ASSERT_TRUE(older.is_ok());
  EXPECT_EQ(older->body, partial->body.substr(0, 320));

  auto level1 = client_->get("/tile/1/000.p/1");
  ASSERT_TRUE(level1.is_ok());
  ASSERT_EQ(level1->status, 200);
  EXPECT_EQ(*Hash256::from_bytes(as_bytes(level1->body)), *log_->root_at(256));

  auto bundle = client_->get("/tile/entries/001.p/44");
  ASSERT_TRUE(bundle.is_ok());
  ASSERT_EQ(bundle->status, 200);
  // First entry of bundle 1 is entry 256, length-prefixed.
  ByteView bytes = as_bytes(bundle->body);
  size_t length = read_u16_be(bytes.data());
  auto first = ledger::decode_entry(bytes.subspan(2, length));
  ASSERT_TRUE(first.is_ok());
  EXPECT_EQ(first->index, 256u);

  expect_problem(*client_->get("/tile/0/002"), 404);      // beyond the tree
  expect_problem(*client_->get("/tile/0/001.p/45"), 404); // wider than committed
  expect_problem(*client_->get("/tile/0/1"), 404);        // not the spec encoding
  expect_problem(*client_->get("/tile/entries/x000/001"), 404);
}

TEST_F(LogApiTest, InclusionProofEndpointVerifies) {
  append_directly(1000);
  auto response = client_->get("/custos/v1/log/proof/inclusion?index=777");
  ASSERT_TRUE(response.is_ok());
  ASSERT_EQ(response->status, 200) << response->body;
  simdjson::dom::parser parser;
  simdjson::dom::element proof = parser.parse(response->body);
  ledger::Checkpoint checkpoint = open_checkpoint(std::string_view(proof["checkpoint"]));
  EXPECT_EQ(uint64_t(proof["tree_size"]), 1000u);
  auto leaf = *Hash256::from_base64(std::string_view(proof["leaf_hash"]));
  EXPECT_EQ(leaf, ledger::hash_leaf(*log_->entry(777)));
  EXPECT_TRUE(ledger::verify_inclusion(777, 1000, leaf, hashes(proof["inclusion_proof"]),
                                       checkpoint.root_hash)
                  .is_ok());

  auto at_size = client_->get("/custos/v1/log/proof/inclusion?index=3&tree_size=500");
  ASSERT_TRUE(at_size.is_ok());
  ASSERT_EQ(at_size->status, 200);
  simdjson::dom::parser parser2;
  simdjson::dom::element older = parser2.parse(at_size->body);
  EXPECT_TRUE(ledger::verify_inclusion(3, 500, *Hash256::from_base64(std::string_view(older["leaf_hash"])),
                                       hashes(older["inclusion_proof"]), *log_->root_at(500))
                  .is_ok());

  expect_problem(*client_->get("/custos/v1/log/proof/inclusion"), 400);
  expect_problem(*client_->get("/custos/v1/log/proof/inclusion?index=1000"), 400);
  expect_problem(*client_->get("/custos/v1/log/proof/inclusion?index=1&tree_size=1001"), 400);
  expect_problem(*client_->get("/custos/v1/log/proof/inclusion?index=-1"), 400);
  expect_problem(*client_->get("/custos/v1/log/proof/inclusion?index=1&bogus=2"), 400);
  expect_problem(*client_->get("/custos/v1/log/proof/inclusion?index=1&index=2"), 400);
}

TEST_F(LogApiTest, ConsistencyProofEndpointVerifies) {
  append_directly(700);
  auto response = client_->get("/custos/v1/log/proof/consistency?from=300&to=700");
  ASSERT_TRUE(response.is_ok());
  ASSERT_EQ(response->status, 200) << response->body;
  simdjson::dom::parser parser;
  simdjson::dom::element proof = parser.parse(response->body);
  EXPECT_TRUE(ledger::verify_consistency(300, 700, *log_->root_at(300), *log_->root_at(700),
                                         hashes(proof["consistency_proof"]))
                  .is_ok());
  expect_problem(*client_->get("/custos/v1/log/proof/consistency?from=701&to=700"), 400);
  expect_problem(*client_->get("/custos/v1/log/proof/consistency?to=700"), 400);
  expect_problem(*client_->get("/custos/v1/log/proof/consistency?from=1&to=701"), 400);
}

TEST_F(LogApiTest, EntryEndpointDecodes) {
  append_directly(2);
  auto response = client_->get("/custos/v1/log/entries/1");
  ASSERT_TRUE(response.is_ok());
  ASSERT_EQ(response->status, 200);
  simdjson::dom::parser parser;
  simdjson::dom::element entry = parser.parse(response->body);
  EXPECT_EQ(uint64_t(entry["index"]), 1u);
  EXPECT_EQ(std::string_view(entry["payload_text"]), "entry 1");
  EXPECT_EQ(std::string_view(entry["principal"]), "test");
  expect_problem(*client_->get("/custos/v1/log/entries/2"), 404);
  expect_problem(*client_->get("/custos/v1/log/entries/abc"), 400);
  expect_problem(*client_->get("/custos/v1/log/entries/99999999999999999999999"), 400);
}

TEST_F(LogApiTest, KeyEndpointServesTheVerifierKey) {
  auto response = client_->get("/custos/v1/log/key");
  ASSERT_TRUE(response.is_ok());
  simdjson::dom::parser parser;
  simdjson::dom::element key = parser.parse(response->body);
  EXPECT_EQ(std::string_view(key["verifier_key"]), verifier_->vkey_string());
  EXPECT_EQ(std::string_view(key["origin"]), "api.test/log");
}

TEST_F(LogApiTest, ConcurrentAppendsGetDistinctVerifiableReceipts) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  std::vector<std::vector<uint64_t>> indexes(kThreads);
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  const std::string bearer = token();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      HttpClient client("127.0.0.1", server_->port());
      HttpHeaders headers;
      headers.set("Authorization", "Bearer " + bearer);
      for (int i = 0; i < kPerThread; ++i) {
        std::string payload = "thread ";
        payload += std::to_string(t);
        payload += " entry ";
        payload += std::to_string(i);
        auto response = client.request("POST", "/custos/v1/log/entries", payload, headers);
        if (!response.is_ok() || response->status != 201) {
          ++failures;
          continue;
        }
        simdjson::dom::parser parser;
        simdjson::dom::element receipt = parser.parse(response->body);
        indexes[t].push_back(uint64_t(receipt["index"]));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  std::vector<uint64_t> all;
  for (auto& list : indexes) all.insert(all.end(), list.begin(), list.end());
  std::sort(all.begin(), all.end());
  ASSERT_EQ(all.size(), size_t(kThreads * kPerThread));
  // Two identity entries (the writer and its token) come first.
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i], i + 2);

  auto metrics = client_->get("/metrics");
  ASSERT_TRUE(metrics.is_ok());
  EXPECT_NE(metrics->body.find("custos_log_appends_total 322"), std::string::npos);
  EXPECT_NE(metrics->body.find("custos_log_tree_size 322"), std::string::npos);
  EXPECT_NE(metrics->body.find("route=\"log_append\""), std::string::npos);
  // Finished sessions close: responder copies kept by the log or the receipt
  // queue must not hold them open (stop() would then wait for its grace period).
  bool only_ours_open = false;
  for (int attempt = 0; attempt < 100 && !only_ours_open; ++attempt) {
    auto scrape = client_->get("/metrics");
    only_ours_open = scrape.is_ok() &&
                     scrape->body.find("custos_http_connections_open 1\n") != std::string::npos;
    if (!only_ours_open) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(only_ours_open);
}

}  // namespace
}  // namespace custos
