// The EPCIS REST binding end to end: a device at site dc1, zone dock signs
// capture documents; events commit all-or-nothing with receipts whose proofs
// verify against the checkpoint; recapture is idempotent; conflicts,
// unauthorised events and invalid documents are refused whole; queries find
// events by URN or Digital Link spelling.
#include "custos/server/epcis_api.h"

#include <gtest/gtest.h>
#include <openssl/hmac.h>
#include <simdjson.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "custos/core/json_writer.h"
#include "custos/core/work_queue.h"
#include "custos/crypto/ed25519.h"
#include "custos/crypto/sha256.h"
#include "custos/custody/capture_record.h"
#include "custos/epcis/identifiers.h"
#include "custos/identity/identity_service.h"
#include "custos/ledger/checkpoint.h"
#include "custos/ledger/entry.h"
#include "custos/ledger/merkle.h"
#include "custos/ledger/proof.h"
#include "custos/policy/policy_store.h"
#include "custos/policy/schema.h"
#include "custos/sdk/signer.h"
#include "custos/server/default_policies.h"
#include "custos/server/epcis_subscriptions.h"
#include "custos/server/http_client.h"
#include "custos/server/policy_api.h"
#include "custos/server/server.h"
#include "custos/server/websocket.h"
#include "support/access_helpers.h"
#include "support/websocket_client.h"

namespace custos {
namespace {

constexpr std::string_view kDock = "urn:epc:id:sgln:0614141.00001.0";
constexpr std::string_view kElsewhere = "urn:epc:id:sgln:0614141.00999.0";
constexpr std::string_view kGeo = "52.37,4.89";

std::string object_event(std::string_view event_id, std::string_view epc, std::string_view location,
                         std::string_view biz_step = "receiving") {
  std::string event = R"({"type":"ObjectEvent",)";
  if (!event_id.empty()) event += R"("eventID":")" + std::string(event_id) + R"(",)";
  event += R"("eventTime":"2026-05-28T09:00:00.000Z","eventTimeZoneOffset":"+00:00",)"
           R"("epcList":[")" + std::string(epc) + R"("],"action":"OBSERVE","bizStep":")" +
           std::string(biz_step) + R"(","readPoint":{"id":")" + std::string(location) +
           R"("},"bizLocation":{"id":")" + std::string(location) + R"("}})";
  return event;
}

std::string document(const std::vector<std::string>& events) {
  std::string json =
      R"({"@context":["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],)"
      R"("type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-05-28T09:01:00Z",)"
      R"("epcisBody":{"eventList":[)";
  for (size_t i = 0; i < events.size(); ++i) json += (i > 0 ? "," : "") + events[i];
  return json + "]}}";
}

class EpcisApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = std::filesystem::temp_directory_path() /
                 ("custos-epcis-api-" + std::to_string(::getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(directory_);
    auto store = store::Store::open(directory_.string(), store::StoreOptions{});
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    store_ = std::move(store).value();
    ledger::LogOptions log_options;
    log_options.origin = "epcis.test/log";
    log_options.clock = &clock_;
    log_options.sign_checkpoint = [](std::string_view body) -> Result<std::string> {
      return std::string(body) + "\n";
    };
    auto log = ledger::Log::open(*store_, std::move(log_options));
    ASSERT_TRUE(log.is_ok()) << log.status().to_string();
    log_ = std::move(log).value();
    auto identity = identity::IdentityService::open(*log_, *store_, clock_);
    ASSERT_TRUE(identity.is_ok()) << identity.status().to_string();
    identity_ = std::move(identity).value();
    auto policies = policy::PolicyStore::open(*log_, *store_, policy::custos_schema());
    ASSERT_TRUE(policies.is_ok()) << policies.status().to_string();
    policies_ = std::move(policies).value();
    ASSERT_TRUE(policies_->push(default_policy_text(), "bootstrap", "init").is_ok());
    auto index = custody::EventIndex::open(*store_, *log_, custody::summarise_entry);
    ASSERT_TRUE(index.is_ok()) << index.status().to_string();
    index_ = std::move(index).value();

    SiteConfig dc1;
    dc1.id = "dc1";
    dc1.hours_start = 0;
    dc1.hours_end = 24;
    dc1.has_geofence = true;
    dc1.latitude = 52.37;
    dc1.longitude = 4.89;
    dc1.radius_m = 500;
    dc1.locations = {{std::string(kDock), "dock"}};
    AccessControlOptions access_options;
    access_options.sites = {dc1};
    access_ = std::make_unique<AccessControl>(*identity_, clock_, metrics_, access_options);
    ASSERT_TRUE(follow_policy_store(*policies_, *access_).is_ok());

    Router router;
    EpcisApiOptions options;
    options.gatekeeper = &access_->gatekeeper();
    options.clock = &clock_;
    options.max_events = 5;
    options.sites = {dc1};
    options.store = store_.get();
    SubscriptionOptions subscription_options;
    subscription_options.clock = &subscription_clock_;
    subscription_options.may_receive = [this](const std::string&) { return owner_allowed_.load(); };
    subscription_options.initial_backoff = std::chrono::milliseconds(20);
    subscription_options.max_backoff = std::chrono::milliseconds(100);
    subscription_options.poll_interval = std::chrono::milliseconds(50);
    subscription_options.max_batch = 2;
    subscription_options.timeout = std::chrono::milliseconds(2000);
    use_named_queries(subscription_options, *store_, *log_, index_.get());
    auto manager = SubscriptionManager::open(*store_, *index_, subscription_options);
    ASSERT_TRUE(manager.is_ok()) << manager.status().to_string();
    subscriptions_ = std::move(manager).value();
    options.subscriptions = subscriptions_.get();
    options.identity = identity_.get();
    ASSERT_TRUE(add_epcis_routes(router, *log_, *index_, indexer_, options).is_ok());
    ServerOptions server_options;
    server_options.listen = "127.0.0.1:0";
    server_ = std::make_unique<HttpServer>(server_options, std::move(router), &metrics_);
    ASSERT_TRUE(server_->start().is_ok());
    client_ = std::make_unique<HttpClient>("127.0.0.1", server_->port());
    authority_ = "127.0.0.1:" + std::to_string(server_->port());

    auto key = test_support::make_device(*identity_, "scanner-1", "dc1", "dock");
    ASSERT_TRUE(key.is_ok()) << key.status().to_string();
    auto signer = sdk::RequestSigner::create(std::move(key).value());
    ASSERT_TRUE(signer.is_ok());
    signer_ = std::make_unique<sdk::RequestSigner>(std::move(signer).value());

    // An operator who may query (devices may not: query-staff policy).
    identity::PrincipalAttributes operator_user;
    operator_user.id = "olga";
    operator_user.kind = identity::PrincipalKind::kUser;
    operator_user.roles = {"operator"};
    ASSERT_TRUE(
        identity_->apply(identity::PrincipalCreate{operator_user}, "test", "dec-test").is_ok());
    auto token = identity_->create_api_token("olga", {"query"}, std::chrono::hours(1), "test",
                                             "dec-test");
    ASSERT_TRUE(token.is_ok()) << token.status().to_string();
    operator_token_ = token->token;
  }

  // A query by the operator.
  HttpResponse query(std::string_view target, std::string_view method = "GET",
                     std::string_view body = "") {
    HttpHeaders headers;
    headers.set("Authorization", "Bearer " + operator_token_);
    if (!body.empty()) headers.set("Content-Type", "application/json");
    auto response = client_->request(method, target, body, headers);
    EXPECT_TRUE(response.is_ok()) << response.status().to_string();
    return response.is_ok() ? std::move(response).value() : HttpResponse{};
  }

  void TearDown() override {
    client_.reset();
    if (server_) server_->stop();
    server_.reset();
    if (subscriptions_) subscriptions_->stop();
    subscriptions_.reset();
    policies_->set_on_change({});
    access_.reset();
    if (log_) log_->close();
    index_.reset();
    policies_.reset();
    identity_.reset();
    log_.reset();
    store_.reset();
    std::filesystem::remove_all(directory_);
  }

  // A request signed by the scanner, with a healthy posture inside the fence.
  HttpResponse send(std::string_view method, std::string_view target, std::string_view body,
                    std::string_view content_type = "application/ld+json") {
    std::vector<std::pair<std::string, std::string>> covered = {
        {"Custos-Device-Posture", "healthy"}, {"Custos-Geo", std::string(kGeo)}};
    auto signed_headers = signer_->sign(method, "http", authority_, target, body,
                                        clock_.now_micros() / 1000000, covered);
    EXPECT_TRUE(signed_headers.is_ok()) << signed_headers.status().to_string();
    HttpHeaders headers;
    if (signed_headers->content_digest) {
      headers.set("Content-Digest", *signed_headers->content_digest);
    }
    headers.set("Signature-Input", signed_headers->signature_input);
    headers.set("Signature", signed_headers->signature);
    for (const auto& [name, value] : covered) headers.set(name, value);
    if (!body.empty()) headers.set("Content-Type", content_type);
    auto response = client_->request(method, target, body, headers);
    EXPECT_TRUE(response.is_ok()) << response.status().to_string();
    return response.is_ok() ? std::move(response).value() : HttpResponse{};
  }

  HttpResponse capture(const std::string& body) { return send("POST", "/capture", body); }

  simdjson::dom::element parse(const std::string& body) {
    simdjson::dom::element element;
    EXPECT_EQ(parser_.parse(body).get(element), simdjson::SUCCESS) << body;
    return element;
  }

  // Checks every receipt in a capture answer against its checkpoint.
  void expect_receipts_verify(simdjson::dom::element answer) {
    std::string_view note = answer["checkpoint"];
    auto checkpoint = ledger::parse_checkpoint_body(note.substr(0, note.size() - 1));
    ASSERT_TRUE(checkpoint.is_ok()) << checkpoint.status().to_string();
    EXPECT_EQ(checkpoint->tree_size, uint64_t(answer["treeSize"]));
    for (simdjson::dom::element event : answer["events"].get_array()) {
      auto leaf = Hash256::from_base64(std::string_view(event["leafHash"]));
      ASSERT_TRUE(leaf.is_ok());
      std::vector<Hash256> path;
      for (simdjson::dom::element hash : event["inclusionProof"].get_array()) {
        path.push_back(*Hash256::from_base64(std::string_view(hash)));
      }
      EXPECT_TRUE(ledger::verify_inclusion(uint64_t(event["logIndex"]), checkpoint->tree_size,
                                           *leaf, path, checkpoint->root_hash)
                      .is_ok());
    }
  }

  std::filesystem::path directory_;
  SystemClock clock_;
  MetricsRegistry metrics_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ledger::Log> log_;
  std::unique_ptr<identity::IdentityService> identity_;
  std::unique_ptr<policy::PolicyStore> policies_;
  std::unique_ptr<custody::EventIndex> index_;
  std::unique_ptr<AccessControl> access_;
  WorkQueue indexer_{1};
  // Drives scheduled subscriptions (everything else runs on clock_).
  ManualClock subscription_clock_{SystemClock().now_micros()};
  std::unique_ptr<SubscriptionManager> subscriptions_;
  std::atomic<bool> owner_allowed_{true};
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<HttpClient> client_;
  std::unique_ptr<sdk::RequestSigner> signer_;
  std::string authority_;
  std::string operator_token_;
  simdjson::dom::parser parser_;
};

TEST_F(EpcisApiTest, CaptureCommitsEveryEventWithAVerifiableReceipt) {
  const uint64_t before = log_->tree_size();
  HttpResponse response = capture(document({
      object_event("urn:uuid:e-1", "urn:epc:id:sgtin:0614141.107346.2017", kDock),
      object_event("", "urn:epc:id:sgtin:0614141.107346.2018", kDock, "shipping"),
  }));
  ASSERT_EQ(response.status, 202) << response.body;
  ASSERT_TRUE(response.headers.get("Location").has_value());
  auto answer = parse(response.body);
  EXPECT_EQ(log_->tree_size(), before + 2);
  ASSERT_EQ(answer["events"].get_array().size(), 2u);
  EXPECT_EQ(std::string_view(answer["events"].at(0)["eventID"]), "urn:uuid:e-1");
  // No eventID: the event hash names it.
  EXPECT_EQ(std::string_view(answer["events"].at(1)["eventID"]),
            std::string_view(answer["events"].at(1)["eventHash"]));
  EXPECT_TRUE(std::string_view(answer["events"].at(1)["eventHash"]).starts_with("ni:///sha-256;"));
  expect_receipts_verify(answer);

  // The job is remembered.
  HttpResponse job = query(*response.headers.get("Location"));
  EXPECT_EQ(job.status, 200) << job.body;
  EXPECT_EQ(std::string_view(parse(job.body)["captureID"]), std::string_view(answer["captureID"]));

  // Found by the Digital Link spelling of the URN it was captured with.
  auto digital_link = epcis::parse_identifier("urn:epc:id:sgtin:0614141.107346.2017");
  ASSERT_TRUE(digital_link.is_ok());
  ASSERT_TRUE(digital_link->canonical.starts_with("https://id.gs1.org/01/"));
  HttpResponse found = query("/events?MATCH_epc=" + percent_encode(digital_link->canonical));
  ASSERT_EQ(found.status, 200) << found.body;
  auto events = parse(found.body)["epcisBody"]["queryResults"]["resultsBody"]["eventList"];
  ASSERT_EQ(events.get_array().size(), 1u);
  EXPECT_EQ(std::string_view(events.at(0)["eventID"]), "urn:uuid:e-1");
  EXPECT_FALSE(std::string_view(events.at(0)["recordTime"]).empty());

  HttpResponse shipped = query("/events?EQ_bizStep=shipping&proof=true");
  ASSERT_EQ(shipped.status, 200) << shipped.body;
  auto shipped_doc = parse(shipped.body);
  auto shipped_events = shipped_doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"];
  ASSERT_EQ(shipped_events.get_array().size(), 1u);
  EXPECT_EQ(uint64_t(shipped_events.at(0)["custos:logIndex"]), before + 1);
  EXPECT_GT(shipped_events.at(0)["custos:inclusionProof"].get_array().size(), 0u);
}

// The 202 body byte for byte: rebuilt here from the log (single-entry proofs,
// leaf hashes of the stored entries, base64 through string()) and the
// answer's own ids and times, it must be the same text.
TEST_F(EpcisApiTest, CaptureAnswerIsExactlyTheReceiptsOfItsEvents) {
  std::vector<std::string> events;
  for (int i = 0; i < 5; ++i) {  // the fixture's capture limit
    events.push_back(object_event(i % 3 == 0 ? "" : "urn:uuid:exact-" + std::to_string(i),
                                  "urn:epc:id:sgtin:0614141.107346." + std::to_string(500 + i),
                                  kDock));
  }
  ASSERT_EQ(capture(document({events[4]})).status, 202);  // recaptured below: a duplicate
  HttpResponse response = capture(document(events));
  ASSERT_EQ(response.status, 202) << response.body;
  auto answer = parse(response.body);
  const uint64_t tree_size = uint64_t(answer["treeSize"]);
  JsonWriter receipts;
  receipts.begin_array();
  for (simdjson::dom::element event : answer["events"].get_array()) {
    const uint64_t index = uint64_t(event["logIndex"]);
    auto entry = log_->entry(index);
    ASSERT_TRUE(entry.is_ok()) << entry.status().to_string();
    auto proof = log_->inclusion_proof(index, tree_size);
    ASSERT_TRUE(proof.is_ok()) << proof.status().to_string();
    receipts.begin_object()
        .key("eventID").string(std::string_view(event["eventID"]))
        .key("eventHash").string(std::string_view(event["eventHash"]))
        .key("logIndex").number(index)
        .key("duplicate").boolean(bool(event["duplicate"]))
        .key("leafHash").string(base64_encode(ledger::hash_leaf(*entry).view()))
        .key("inclusionProof").begin_array();
    for (const Hash256& hash : *proof) receipts.string(base64_encode(hash.view()));
    receipts.end_array().end_object();
  }
  receipts.end_array();
  JsonWriter expected;
  expected.begin_object()
      .key("captureID").string(std::string_view(answer["captureID"]))
      .key("createdAt").string(std::string_view(answer["createdAt"]))
      .key("finishedAt").string(std::string_view(answer["finishedAt"]))
      .key("running").boolean(false)
      .key("success").boolean(true)
      .key("captureErrorBehaviour").string("rollback")
      .key("errors").begin_array().end_array()
      .key("eventCount").number(uint64_t{5})
      .key("treeSize").number(tree_size)
      .key("checkpoint").string(*log_->checkpoint_at(tree_size))
      .key("events").raw(receipts.str())
      .end_object();
  EXPECT_EQ(response.body, expected.str());
  EXPECT_TRUE(bool(answer["events"].at(4)["duplicate"]));
  EXPECT_FALSE(bool(answer["events"].at(3)["duplicate"]));
}

TEST_F(EpcisApiTest, RecaptureIsAcknowledgedAndAChangedEventIsAConflict) {
  const std::string doc = document({object_event("urn:uuid:r-1", "urn:epc:id:sgtin:0614141.107346.1", kDock)});
  HttpResponse first = capture(doc);
  ASSERT_EQ(first.status, 202) << first.body;
  const uint64_t size = log_->tree_size();
  const uint64_t index = uint64_t(parse(first.body)["events"].at(0)["logIndex"]);

  HttpResponse again = capture(doc);
  ASSERT_EQ(again.status, 202) << again.body;
  auto answer = parse(again.body);
  EXPECT_TRUE(bool(answer["events"].at(0)["duplicate"]));
  EXPECT_EQ(uint64_t(answer["events"].at(0)["logIndex"]), index);
  EXPECT_EQ(log_->tree_size(), size);
  expect_receipts_verify(answer);

  HttpResponse changed = capture(document(
      {object_event("urn:uuid:r-1", "urn:epc:id:sgtin:0614141.107346.1", kDock, "shipping")}));
  EXPECT_EQ(changed.status, 409) << changed.body;
  EXPECT_NE(changed.body.find("/epcisBody/eventList/0"), std::string::npos);
  EXPECT_EQ(log_->tree_size(), size);
}

// A document is one signed request: its first new entry keeps the request's
// evidence, which checks with the scanner's key and names the document's
// digest; every other new entry refers back to it by distance and hash, as
// an auditor resolves it here. A recaptured event in the middle is skipped.
TEST_F(EpcisApiTest, ADocumentsEvidenceIsKeptOnceAndItsOtherEntriesReferToIt) {
  const std::string earlier =
      object_event("urn:uuid:ev-1", "urn:epc:id:sgtin:0614141.107346.801", kDock);
  ASSERT_EQ(capture(document({earlier})).status, 202);
  std::vector<std::string> events = {
      object_event("urn:uuid:ev-0", "urn:epc:id:sgtin:0614141.107346.800", kDock), earlier,
      object_event("urn:uuid:ev-2", "urn:epc:id:sgtin:0614141.107346.802", kDock),
      object_event("urn:uuid:ev-3", "urn:epc:id:sgtin:0614141.107346.803", kDock)};
  const std::string body = document(events);
  HttpResponse response = capture(body);
  ASSERT_EQ(response.status, 202) << response.body;
  auto answer = parse(response.body);
  ASSERT_TRUE(bool(answer["events"].at(1)["duplicate"]));

  auto signature_of = [&](uint64_t index) {
    auto entry = log_->entry(index);
    EXPECT_TRUE(entry.is_ok());
    auto decoded = ledger::decode_entry(entry.is_ok() ? ByteView(*entry) : ByteView());
    EXPECT_TRUE(decoded.is_ok());
    return decoded.is_ok() ? std::string(decoded->request_signature.begin(),
                                         decoded->request_signature.end())
                           : std::string();
  };
  const uint64_t first = uint64_t(answer["events"].at(0)["logIndex"]);
  const std::string evidence = signature_of(first);
  ASSERT_TRUE(evidence.starts_with("custos-sig v1\n")) << evidence;
  const size_t split = evidence.find('\n', 14);
  ASSERT_NE(split, std::string::npos);
  auto signature_bytes = base64_decode(std::string_view(evidence).substr(14, split - 14));
  ASSERT_TRUE(signature_bytes.is_ok());
  auto signature = Ed25519Signature::from_bytes(*signature_bytes);
  ASSERT_TRUE(signature.is_ok());
  const std::string base = evidence.substr(split + 1);
  EXPECT_TRUE(ed25519_verify(signer_->public_key(), as_bytes(base), *signature));
  EXPECT_NE(base.find(base64_encode(sha256(body).view())), std::string::npos) << base;

  for (size_t position : {size_t{2}, size_t{3}}) {
    const uint64_t index = uint64_t(answer["events"].at(position)["logIndex"]);
    const std::string reference = signature_of(index);
    ASSERT_TRUE(reference.starts_with("custos-sig-ref v1\n")) << reference;
    const std::string rest = reference.substr(18);
    const size_t newline = rest.find('\n');
    ASSERT_NE(newline, std::string::npos);
    const uint64_t distance = std::stoull(rest.substr(0, newline));
    EXPECT_EQ(distance, index - first);
    EXPECT_EQ(signature_of(index - distance), evidence);
    EXPECT_EQ(rest.substr(newline + 1), base64_encode(sha256(evidence).view()));
  }
  expect_receipts_verify(answer);
}

TEST_F(EpcisApiTest, OneUnauthorisedEventRefusesTheWholeDocument) {
  const uint64_t size = log_->tree_size();
  HttpResponse response = capture(document({
      object_event("urn:uuid:a-1", "urn:epc:id:sgtin:0614141.107346.3", kDock),
      object_event("urn:uuid:a-2", "urn:epc:id:sgtin:0614141.107346.4", kElsewhere),
  }));
  EXPECT_EQ(response.status, 403) << response.body;
  auto problem = parse(response.body);
  EXPECT_EQ(std::string_view(problem["event"]), "/epcisBody/eventList/1");
  EXPECT_EQ(std::string_view(problem["eventID"]), "urn:uuid:a-2");
  EXPECT_TRUE(std::string_view(problem["decision_id"]).starts_with("dec-"));
  EXPECT_EQ(log_->tree_size(), size);
  auto found = index_->find_event_id("urn:uuid:a-1");
  ASSERT_TRUE(found.is_ok());
  EXPECT_FALSE(found->has_value());
}

TEST_F(EpcisApiTest, BadDocumentsAreRefusedWithPointersAndNothingIsCaptured) {
  const uint64_t size = log_->tree_size();
  std::string no_time = object_event("urn:uuid:b-1", "urn:epc:id:sgtin:0614141.107346.5", kDock);
  no_time.replace(no_time.find(R"("eventTime":"2026-05-28T09:00:00.000Z",)"),
                  std::string_view(R"("eventTime":"2026-05-28T09:00:00.000Z",)").size(), "");
  HttpResponse invalid = capture(document({object_event("urn:uuid:b-0", "urn:epc:id:sgtin:0614141.107346.6", kDock), no_time}));
  EXPECT_EQ(invalid.status, 400) << invalid.body;
  EXPECT_NE(invalid.body.find("/epcisBody/eventList/1"), std::string::npos) << invalid.body;

  EXPECT_EQ(capture("{\"type\":\"EPCISDocument\",").status, 400);
  EXPECT_EQ(send("POST", "/capture", document({}), "text/plain").status, 415);
  std::vector<std::string> six;
  for (int i = 0; i < 6; ++i) {
    six.push_back(object_event("urn:uuid:c-" + std::to_string(i),
                               "urn:epc:id:sgtin:0614141.107346.1" + std::to_string(i), kDock));
  }
  EXPECT_EQ(capture(document(six)).status, 413);
  EXPECT_EQ(log_->tree_size(), size);

  // Unsigned: 401.
  EXPECT_EQ(client_->request("POST", "/capture", document({no_time}))->status, 401);
  // Query parameters are checked.
  EXPECT_EQ(query("/events?MATCH_colour=red").status, 400);
  EXPECT_EQ(query("/events?GE_eventTime=yesterday").status, 400);
  EXPECT_EQ(query("/events?perPage=0").status, 400);
  // Devices do not query (the default policies give queries to staff).
  EXPECT_EQ(send("GET", "/events", "").status, 403);
}

TEST_F(EpcisApiTest, XmlDocumentsAreCapturedLikeJson) {
  const std::string xml = R"(<?xml version="1.0" encoding="UTF-8"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0" creationDate="2026-05-28T09:01:00Z">
  <EPCISBody><EventList><ObjectEvent>
    <eventTime>2026-05-28T09:00:00.000Z</eventTime><eventTimeZoneOffset>+00:00</eventTimeZoneOffset>
    <eventID>urn:uuid:x-1</eventID>
    <epcList><epc>urn:epc:id:sgtin:0614141.107346.77</epc></epcList>
    <action>OBSERVE</action><bizStep>urn:epcglobal:cbv:bizstep:receiving</bizStep>
    <readPoint><id>urn:epc:id:sgln:0614141.00001.0</id></readPoint>
    <bizLocation><id>urn:epc:id:sgln:0614141.00001.0</id></bizLocation>
  </ObjectEvent></EventList></EPCISBody>
</epcis:EPCISDocument>)";
  HttpResponse response = send("POST", "/capture", xml, "application/xml");
  ASSERT_EQ(response.status, 202) << response.body;
  EXPECT_EQ(std::string_view(parse(response.body)["events"].at(0)["eventID"]), "urn:uuid:x-1");
  HttpResponse found = query("/events/urn:uuid:x-1");
  ASSERT_EQ(found.status, 200) << found.body;
  EXPECT_NE(found.body.find("urn:epc:id:sgtin:0614141.107346.77"), std::string::npos);
}

TEST_F(EpcisApiTest, TopLevelResourcesListWhatWasCapturedAndFilterEvents) {
  ASSERT_EQ(capture(document({object_event("urn:uuid:r-1", "urn:epc:id:sgtin:0614141.107346.1",
                                           kDock, "receiving"),
                              object_event("urn:uuid:r-2", "urn:epc:id:sgtin:0614141.107346.2",
                                           kDock, "shipping"),
                              object_event("urn:uuid:r-3", "urn:epc:id:sgtin:0614141.107346.3",
                                           kDock, "shipping")}))
                .status,
            202);
  auto members = [&](std::string_view target) {
    HttpResponse response = query(target);
    EXPECT_EQ(response.status, 200) << target << ": " << response.body;
    std::vector<std::string> out;
    if (response.status != 200) return out;
    auto answer = parse(response.body);
    EXPECT_EQ(std::string_view(answer["type"]), "Collection");
    for (simdjson::dom::element member : answer["member"].get_array()) {
      out.emplace_back(std::string_view(member));
    }
    return out;
  };
  auto event_ids = [&](std::string_view target) {
    HttpResponse response = query(target);
    EXPECT_EQ(response.status, 200) << target << ": " << response.body;
    std::vector<std::string> out;
    if (response.status != 200) return out;
    auto answer = parse(response.body);
    for (simdjson::dom::element event :
         answer["epcisBody"]["queryResults"]["resultsBody"]["eventList"].get_array()) {
      out.emplace_back(std::string_view(event["eventID"]));
    }
    return out;
  };
  using Strings = std::vector<std::string>;
  // Identifiers are listed in their canonical (Digital Link) form.
  auto canonical = [](std::string_view urn) { return epcis::parse_identifier(urn)->canonical; };
  EXPECT_EQ(members("/bizSteps"), (Strings{"https://ref.gs1.org/cbv/BizStep-receiving",
                                            "https://ref.gs1.org/cbv/BizStep-shipping"}));
  EXPECT_EQ(members("/bizLocations"), Strings{canonical(kDock)});
  EXPECT_EQ(members("/readPoints"), Strings{canonical(kDock)});
  EXPECT_EQ(members("/epcs"), (Strings{canonical("urn:epc:id:sgtin:0614141.107346.1"),
                                       canonical("urn:epc:id:sgtin:0614141.107346.2"),
                                       canonical("urn:epc:id:sgtin:0614141.107346.3")}));
  EXPECT_EQ(members("/dispositions"), Strings{});
  EXPECT_EQ(members("/eventTypes").size(), 5u);

  // Paging: one value per page, following the Link header's token.
  HttpResponse first = query("/epcs?perPage=2");
  ASSERT_EQ(first.status, 200);
  auto token = first.headers.get("GS1-Next-Page-Token");
  ASSERT_TRUE(token.has_value());
  EXPECT_NE(first.headers.get("Link").value_or("").find("nextPageToken="), std::string::npos);
  EXPECT_EQ(members("/epcs?perPage=2&nextPageToken=" + percent_encode(*token)),
            Strings{canonical("urn:epc:id:sgtin:0614141.107346.3")});
  EXPECT_EQ(query("/epcs?nextPageToken=vv1.zz").status, 400);
  EXPECT_EQ(query("/epcs?perPage=0").status, 400);
  EXPECT_EQ(query("/epcs?colour=red").status, 400);
  // perPage has one rule and the same words on the listings and on GET /events.
  for (const std::string path : {"/epcs", "/eventTypes", "/events"}) {
    HttpResponse words = query(path + "?perPage=ten");
    EXPECT_EQ(words.status, 400) << path;
    EXPECT_NE(words.body.find("perPage must be a positive integer"), std::string::npos) << path;
    HttpResponse big = query(path + "?perPage=10001");
    EXPECT_EQ(big.status, 400) << path;
    EXPECT_NE(big.body.find("perPage must be between 1 and 10000"), std::string::npos) << path;
    EXPECT_EQ(query(path + "?perPage=010000").status, 200) << path;
  }

  // Sub-resources and their events.
  EXPECT_EQ(members("/bizSteps/shipping"), Strings{"events"});
  EXPECT_EQ(query("/bizSteps/loading").status, 404);
  EXPECT_EQ(event_ids("/bizSteps/shipping/events"), (Strings{"urn:uuid:r-2", "urn:uuid:r-3"}));
  EXPECT_EQ(event_ids("/bizSteps/https:%2F%2Fref.gs1.org%2Fcbv%2FBizStep-receiving/events"),
            Strings{"urn:uuid:r-1"});
  EXPECT_EQ(event_ids("/epcs/urn:epc:id:sgtin:0614141.107346.2/events"), Strings{"urn:uuid:r-2"});
  EXPECT_EQ(event_ids("/bizLocations/" + std::string(kDock) + "/events?EQ_bizStep=shipping"),
            (Strings{"urn:uuid:r-2", "urn:uuid:r-3"}));
  EXPECT_EQ(event_ids("/eventTypes/ObjectEvent/events").size(), 3u);
  EXPECT_EQ(event_ids("/eventTypes/AggregationEvent/events").size(), 0u);
  EXPECT_EQ(query("/eventTypes/WeirdEvent").status, 404);
  EXPECT_EQ(query("/epcs/urn:epc:id:sgtin:0614141.107346.9").status, 404);
  EXPECT_EQ(query("/epcs/not-an-epc/events").status, 400);
  // EPC patterns.
  EXPECT_EQ(event_ids("/events?MATCH_epc=urn:epc:idpat:sgtin:0614141.107346.*").size(), 3u);
  EXPECT_EQ(event_ids("/events?MATCH_anyEPC=urn:epc:idpat:sgtin:0614141.*.*&EQ_bizStep=shipping"),
            (Strings{"urn:uuid:r-2", "urn:uuid:r-3"}));
  EXPECT_EQ(event_ids("/events?MATCH_epc=urn:epc:idpat:sgtin:0614141.107346.2,"
                      "urn:epc:id:sgtin:0614141.107346.3"),
            (Strings{"urn:uuid:r-2", "urn:uuid:r-3"}));
  EXPECT_TRUE(event_ids("/events?MATCH_epc=urn:epc:idpat:sgtin:0614142.*.*").empty());
  EXPECT_TRUE(event_ids("/events?MATCH_epc=urn:epc:idpat:sscc:*.*").empty());
  EXPECT_EQ(query("/events?MATCH_epc=urn:epc:idpat:sgtin:0614141.*.7").status, 400);
  // The path's condition may not be restated in the query string.
  EXPECT_EQ(query("/bizSteps/shipping/events?EQ_bizStep=receiving").status, 400);
  EXPECT_EQ(query("/bizLocations/" + std::string(kDock) + "/events?WD_bizLocation=" +
                  std::string(kDock))
                .status,
            400);
}

TEST_F(EpcisApiTest, NamedQueriesAreKeptAndRun) {
  ASSERT_EQ(capture(document({object_event("urn:uuid:n-1", "urn:epc:id:sgtin:0614141.107346.1",
                                           kDock, "receiving"),
                              object_event("urn:uuid:n-2", "urn:epc:id:sgtin:0614141.107346.2",
                                           kDock, "shipping")}))
                .status,
            202);
  HttpResponse created = query(
      "/queries", "POST",
      R"({"name":"shipped","query":{"EQ_bizStep":["shipping","loading"],"eventType":["ObjectEvent"],)"
      R"("MATCH_epc":["urn:epc:idpat:sgtin:0614141.107346.*"],"eventCountLimit":10}})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.headers.get("Location").value_or(""), "/queries/shipped");
  EXPECT_EQ(std::string_view(parse(created.body)["createdBy"]), "olga");

  HttpResponse results = query("/queries/shipped/events?proof=true");
  ASSERT_EQ(results.status, 200) << results.body;
  auto answer = parse(results.body);
  auto query_results = answer["epcisBody"]["queryResults"];
  EXPECT_EQ(std::string_view(query_results["queryName"]), "shipped");
  auto events = query_results["resultsBody"]["eventList"].get_array();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(std::string_view(events.at(0)["eventID"]), "urn:uuid:n-2");
  EXPECT_TRUE(events.at(0)["custos:inclusionProof"].is_array());

  HttpResponse shown = query("/queries/shipped");
  ASSERT_EQ(shown.status, 200);
  EXPECT_EQ(std::string_view(parse(shown.body)["query"]["EQ_bizStep"].at(1)), "loading");

  // Refusals: the name taken, bad definitions, conditions added to a run.
  EXPECT_EQ(query("/queries", "POST", R"({"name":"shipped","query":{}})").status, 409);
  EXPECT_EQ(query("/queries", "POST", R"({"name":"bad name","query":{}})").status, 400);
  EXPECT_EQ(query("/queries", "POST", R"({"name":"q","query":{"EQ_colour":["red"]}})").status, 400);
  EXPECT_EQ(query("/queries", "POST", R"({"name":"q","query":{"EQ_bizStep":[1]}})").status, 400);
  EXPECT_EQ(query("/queries", "POST", R"({"name":"q","query":{"perPage":5}})").status, 400);
  EXPECT_EQ(query("/queries", "POST", R"({"name":"q"})").status, 400);
  EXPECT_EQ(query("/queries", "POST", "not json").status, 400);
  EXPECT_EQ(query("/queries/shipped/events?EQ_bizStep=receiving").status, 400);
  EXPECT_EQ(query("/queries/nothing/events").status, 404);

  // Listing pages through the names in order.
  ASSERT_EQ(query("/queries", "POST", R"({"name":"all-received","query":{"EQ_bizStep":"receiving"}})").status,
            201);
  HttpResponse first = query("/queries?perPage=1");
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(std::string_view(parse(first.body).at(0)["name"]), "all-received");
  auto token = first.headers.get("GS1-Next-Page-Token");
  ASSERT_TRUE(token.has_value());
  HttpResponse second = query("/queries?perPage=1&nextPageToken=" + percent_encode(*token));
  ASSERT_EQ(second.status, 200);
  EXPECT_EQ(std::string_view(parse(second.body).at(0)["name"]), "shipped");
  EXPECT_FALSE(second.headers.get("GS1-Next-Page-Token").has_value());

  EXPECT_EQ(query("/queries/shipped", "DELETE").status, 204);
  EXPECT_EQ(query("/queries/shipped", "DELETE").status, 404);
  EXPECT_EQ(query("/queries/shipped/events").status, 404);
  EXPECT_EQ(query("/queries/all-received/events").status, 200);
}

// A webhook receiver: records every POST and answers with `status`.
class Receiver {
 public:
  Receiver() {
    Router router;
    EXPECT_TRUE(router
                    .add("POST", "/hook", "hook",
                         [this](const HttpRequest& request, const RouteParams&, Responder respond) {
                           {
                             std::lock_guard lock(mutex_);
                             bodies_.push_back(request.body);
                             signatures_.emplace_back(request.header("GS1-Signature").value_or(""));
                           }
                           HttpResponse response;
                           response.status = status_.load();
                           respond(std::move(response));
                         })
                    .is_ok());
    ServerOptions options;
    options.listen = "127.0.0.1:0";
    server_ = std::make_unique<HttpServer>(options, std::move(router));
    EXPECT_TRUE(server_->start().is_ok());
  }
  ~Receiver() { server_->stop(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()) + "/hook"; }
  void answer(int status) { status_ = status; }
  size_t count() const {
    std::lock_guard lock(mutex_);
    return bodies_.size();
  }
  // Waits until at least `n` deliveries arrived (at most 10 s).
  bool wait_for(size_t n) const {
    for (int i = 0; i < 1000 && count() < n; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return count() >= n;
  }
  std::string body(size_t i) const {
    std::lock_guard lock(mutex_);
    return bodies_.at(i);
  }
  std::string signature(size_t i) const {
    std::lock_guard lock(mutex_);
    return signatures_.at(i);
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> bodies_;
  std::vector<std::string> signatures_;
  std::atomic<int> status_{200};
  std::unique_ptr<HttpServer> server_;
};

std::string hmac_hex(std::string_view key, std::string_view body) {
  unsigned char mac[32];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &size);
  return hex_encode(ByteView(mac, size));
}

TEST_F(EpcisApiTest, WebhookSubscriptionsDeliverMatchingEventsOnceAcknowledged) {
  Receiver receiver;
  ASSERT_EQ(query("/queries", "POST", R"({"name":"shipping","query":{"EQ_bizStep":"shipping"}})").status,
            201);
  const std::string subscribe_body =
      R"({"dest":")" + receiver.url() + R"(","signatureToken":"s3cret","stream":true})";
  HttpResponse subscribed = query("/queries/shipping/subscriptions", "POST", subscribe_body);
  ASSERT_EQ(subscribed.status, 201) << subscribed.body;
  const std::string id(std::string_view(parse(subscribed.body)["subscriptionID"]));
  EXPECT_EQ(subscribed.headers.get("Location").value_or(""),
            "/queries/shipping/subscriptions/" + id);
  EXPECT_EQ(subscribed.body.find("s3cret"), std::string::npos);  // the token is never shown

  // Refusals.
  EXPECT_EQ(query("/queries/shipping/subscriptions", "POST",
                  R"({"dest":"http://127.0.0.1:1/x","stream":true,"schedule":{"hour":"1"}})")
                .status,
            400);
  EXPECT_EQ(query("/queries/shipping/subscriptions", "POST", R"({"dest":"ftp://x/y","stream":true})").status,
            400);
  EXPECT_EQ(query("/queries/shipping/subscriptions", "POST", R"({"stream":true})").status, 400);
  EXPECT_EQ(query("/queries/nothing/subscriptions", "POST", subscribe_body).status, 404);

  // The receiver fails first: the same events come again once it accepts.
  receiver.answer(503);
  ASSERT_EQ(capture(document({object_event("urn:uuid:w-1", "urn:epc:id:sgtin:0614141.107346.1",
                                           kDock, "shipping"),
                              object_event("urn:uuid:w-2", "urn:epc:id:sgtin:0614141.107346.2",
                                           kDock, "receiving"),
                              object_event("urn:uuid:w-3", "urn:epc:id:sgtin:0614141.107346.3",
                                           kDock, "shipping")}))
                .status,
            202);
  ASSERT_TRUE(receiver.wait_for(2));
  receiver.answer(200);
  const size_t failed = receiver.count();
  ASSERT_TRUE(receiver.wait_for(failed + 1));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // nothing more should come
  ASSERT_EQ(receiver.count(), failed + 1);
  const std::string delivered = receiver.body(failed);
  // The retries carried the same events (only creationDate differs).
  auto event_list = [&](const std::string& body) {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    EXPECT_EQ(parser.parse(body).get(root), simdjson::SUCCESS);
    return simdjson::minify(root["epcisBody"]["queryResults"]["resultsBody"]);
  };
  EXPECT_EQ(event_list(delivered), event_list(receiver.body(0)));
  EXPECT_EQ(receiver.signature(failed), "sha256=" + hmac_hex("s3cret", delivered));
  auto document_delivered = parse(delivered);
  auto results = document_delivered["epcisBody"]["queryResults"];
  EXPECT_EQ(std::string_view(results["subscriptionID"]), id);
  EXPECT_EQ(std::string_view(results["queryName"]), "shipping");
  auto events = results["resultsBody"]["eventList"].get_array();
  ASSERT_EQ(events.size(), 2u);  // w-2 is receiving
  EXPECT_EQ(std::string_view(events.at(0)["eventID"]), "urn:uuid:w-1");
  EXPECT_EQ(std::string_view(events.at(1)["eventID"]), "urn:uuid:w-3");
  EXPECT_TRUE(events.at(0)["custos:inclusionProof"].is_array());

  HttpResponse shown = query("/queries/shipping/subscriptions/" + id);
  ASSERT_EQ(shown.status, 200);
  EXPECT_EQ(uint64_t(parse(shown.body)["custos:deliveredEvents"]), 2u);
  EXPECT_EQ(query("/queries/shipping/subscriptions").body.find(id) != std::string::npos, true);

  // A suspended owner gets nothing until allowed again.
  owner_allowed_ = false;
  ASSERT_EQ(capture(document({object_event("urn:uuid:w-4", "urn:epc:id:sgtin:0614141.107346.4",
                                           kDock, "shipping")}))
                .status,
            202);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(receiver.count(), failed + 1);
  owner_allowed_ = true;
  ASSERT_TRUE(receiver.wait_for(failed + 2));

  // Unsubscribed: no more deliveries; deleting the query removes the rest.
  EXPECT_EQ(query("/queries/shipping/subscriptions/" + id, "DELETE").status, 204);
  EXPECT_EQ(query("/queries/shipping/subscriptions/" + id).status, 404);
  ASSERT_EQ(query("/queries/shipping/subscriptions", "POST", subscribe_body).status, 201);
  EXPECT_EQ(query("/queries/shipping", "DELETE").status, 204);
  EXPECT_EQ(subscriptions_->list("shipping")->size(), 0u);
  const size_t before = receiver.count();
  ASSERT_EQ(capture(document({object_event("urn:uuid:w-5", "urn:epc:id:sgtin:0614141.107346.5",
                                           kDock, "shipping")}))
                .status,
            202);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(receiver.count(), before);
}

TEST_F(EpcisApiTest, SubscriptionsResumeFromTheirCursorAfterARestart) {
  Receiver receiver;
  ASSERT_EQ(query("/queries", "POST", R"({"name":"all","query":{"eventType":"ObjectEvent"}})").status, 201);
  ASSERT_EQ(query("/queries/all/subscriptions", "POST",
                  R"({"dest":")" + receiver.url() + R"(","stream":true})")
                .status,
            201);
  subscriptions_->stop();  // the server goes down; events keep coming
  ASSERT_EQ(capture(document({object_event("urn:uuid:c-1", "urn:epc:id:sgtin:0614141.107346.1",
                                           kDock, "shipping")}))
                .status,
            202);
  EXPECT_EQ(receiver.count(), 0u);
  SubscriptionOptions options;
  options.clock = &clock_;
  options.may_receive = [](const std::string&) { return true; };
  options.poll_interval = std::chrono::milliseconds(50);
  use_named_queries(options, *store_, *log_);
  auto reopened = SubscriptionManager::open(*store_, *index_, options);
  ASSERT_TRUE(reopened.is_ok()) << reopened.status().to_string();
  ASSERT_EQ((*reopened)->list("all")->size(), 1u);
  // Nothing goes out before the owner's visibility check is installed (fail closed).
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(receiver.count(), 0u);
  (*reopened)->set_owner_visibility(
      [](const std::string& owner, const custody::IndexedEvent&) { return owner == "olga"; });
  ASSERT_TRUE(receiver.wait_for(1));
  EXPECT_NE(receiver.body(0).find("urn:uuid:c-1"), std::string::npos);
  EXPECT_EQ(receiver.signature(0), "");  // no token: unsigned
  (*reopened)->stop();
}

TEST_F(EpcisApiTest, PartnersSeeOnlyTheCustodyTheyHeld) {
  // A carrier partner whose party id is named as the possessing party of one
  // shipment; another shipment goes to someone else.
  identity::PrincipalAttributes carrier;
  carrier.id = "carrier-acme";
  carrier.kind = identity::PrincipalKind::kPartner;
  carrier.vendor = "acme-trucking";
  carrier.tags = {{"party", "urn:epc:id:pgln:0614141.00002"}};
  ASSERT_TRUE(identity_->apply(identity::PrincipalCreate{carrier}, "test", "dec-test").is_ok());
  auto token = identity_->create_api_token("carrier-acme", {"query"}, std::chrono::hours(1),
                                           "test", "dec-test");
  ASSERT_TRUE(token.is_ok()) << token.status().to_string();
  // The carrier also subscribes (webhook) to every shipping event: deliveries
  // are filtered for it exactly as its own queries are.
  Receiver receiver;
  ASSERT_EQ(query("/queries", "POST", R"({"name":"shipping","query":{"EQ_bizStep":"shipping"}})").status,
            201);
  {
    HttpHeaders headers;
    headers.set("Authorization", "Bearer " + token->token);
    headers.set("Content-Type", "application/json");
    auto subscribed = client_->request(
        "POST", "/queries/shipping/subscriptions",
        R"({"dest":")" + receiver.url() + R"(","stream":true})", headers);
    ASSERT_TRUE(subscribed.is_ok());
    ASSERT_EQ(subscribed->status, 201) << subscribed->body;
  }
  auto shipped_to = [](std::string_view id, std::string_view epc, std::string_view party) {
    std::string event = object_event(id, epc, kDock, "shipping");
    event.pop_back();
    return event + R"(,"destinationList":[{"type":"possessing_party","destination":")" +
           std::string(party) + R"("}]})";
  };
  ASSERT_EQ(capture(document({shipped_to("urn:uuid:p-1", "urn:epc:id:sgtin:0614141.107346.1",
                                         "urn:epc:id:pgln:0614141.00002"),
                              shipped_to("urn:uuid:p-2", "urn:epc:id:sgtin:0614141.107346.2",
                                         "urn:epc:id:pgln:0614141.00003")}))
                .status,
            202);
  auto ids_seen_by = [&](const std::string& bearer, std::string_view target) {
    HttpHeaders headers;
    headers.set("Authorization", "Bearer " + bearer);
    auto response = client_->request("GET", target, "", headers);
    EXPECT_TRUE(response.is_ok());
    std::vector<std::string> ids;
    if (!response.is_ok() || response->status != 200) {
      ADD_FAILURE() << target << ": " << (response.is_ok() ? response->body : "");
      return std::make_pair(ids, uint64_t{0});
    }
    auto answer = parse(response->body);
    for (simdjson::dom::element event :
         answer["epcisBody"]["queryResults"]["resultsBody"]["eventList"].get_array()) {
      ids.emplace_back(std::string_view(event["eventID"]));
    }
    uint64_t hidden = 0;
    if (answer["custos:hiddenEvents"].get(hidden) != simdjson::SUCCESS) hidden = 0;
    return std::make_pair(ids, hidden);
  };
  using Strings = std::vector<std::string>;
  auto carrier_view = ids_seen_by(token->token, "/events?EQ_bizStep=shipping");
  EXPECT_EQ(carrier_view.first, Strings{"urn:uuid:p-1"});
  EXPECT_EQ(carrier_view.second, 1u);
  auto operator_view = ids_seen_by(operator_token_, "/events?EQ_bizStep=shipping");
  EXPECT_EQ(operator_view.first, (Strings{"urn:uuid:p-1", "urn:uuid:p-2"}));
  EXPECT_EQ(operator_view.second, 0u);
  // The same filter on every query route.
  EXPECT_TRUE(ids_seen_by(token->token, "/events/urn:uuid:p-2").first.empty());
  EXPECT_EQ(ids_seen_by(token->token, "/bizSteps/shipping/events").first, Strings{"urn:uuid:p-1"});

  // Once the scanner works for the carrier, what it captures from then on is
  // visible to the carrier too, but not what it captured before (the vendor
  // is recorded with each event at capture time).
  identity::PrincipalUpdate update;
  update.id = "scanner-1";
  update.vendor = "acme-trucking";
  ASSERT_TRUE(identity_->apply(update, "test", "dec-test").is_ok());
  ASSERT_EQ(capture(document({object_event("urn:uuid:p-3", "urn:epc:id:sgtin:0614141.107346.3",
                                           kDock, "shipping")}))
                .status,
            202);
  EXPECT_EQ(ids_seen_by(token->token, "/events?EQ_bizStep=shipping").first,
            (Strings{"urn:uuid:p-1", "urn:uuid:p-3"}));

  // The webhook carried p-1 and p-3, never p-2.
  Strings delivered;
  for (int attempt = 0; attempt < 100 && delivered.size() < 2; ++attempt) {
    delivered.clear();
    for (size_t i = 0; i < receiver.count(); ++i) {
      auto body = parse(receiver.body(i));
      for (simdjson::dom::element event :
           body["epcisBody"]["queryResults"]["resultsBody"]["eventList"].get_array()) {
        delivered.emplace_back(std::string_view(event["eventID"]));
      }
    }
    if (delivered.size() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(delivered, (Strings{"urn:uuid:p-1", "urn:uuid:p-3"}));
}

TEST_F(EpcisApiTest, TraceFollowsThePalletAndEveryStepIsProven) {
  std::string packing = R"({"type":"AggregationEvent","eventID":"urn:uuid:t-1",)"
                        R"("eventTime":"2026-05-28T08:00:00.000Z","eventTimeZoneOffset":"+00:00",)"
                        R"("parentID":"urn:epc:id:sscc:0614141.1234567890",)"
                        R"("childEPCs":["urn:epc:id:sgtin:0614141.107346.41"],"action":"ADD",)"
                        R"("bizStep":"packing","bizLocation":{"id":"urn:epc:id:sgln:0614141.00001.0"}})";
  ASSERT_EQ(capture(document({packing, object_event("urn:uuid:t-2",
                                                    "urn:epc:id:sscc:0614141.1234567890", kDock,
                                                    "shipping")}))
                .status,
            202);
  HttpResponse traced = query("/custos/v1/trace/urn:epc:id:sgtin:0614141.107346.41");
  ASSERT_EQ(traced.status, 200) << traced.body;
  auto answer = parse(traced.body);
  auto steps = answer["steps"].get_array();
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(std::string_view(steps.at(0)["relation"]), "self");
  EXPECT_EQ(std::string_view(steps.at(1)["relation"]), "container");
  EXPECT_EQ(std::string_view(steps.at(1)["custodian"]), "scanner-1");
  std::string_view note = answer["checkpoint"];
  auto checkpoint = ledger::parse_checkpoint_body(note.substr(0, note.size() - 1));
  ASSERT_TRUE(checkpoint.is_ok());
  for (simdjson::dom::element step : steps) {
    auto entry = base64_decode(std::string_view(step["entry"]));
    ASSERT_TRUE(entry.is_ok());
    std::vector<Hash256> path;
    for (simdjson::dom::element hash : step["inclusionProof"].get_array()) {
      path.push_back(*Hash256::from_base64(std::string_view(hash)));
    }
    EXPECT_TRUE(ledger::verify_inclusion(uint64_t(step["logIndex"]), checkpoint->tree_size,
                                         ledger::hash_leaf(*entry), path, checkpoint->root_hash)
                    .is_ok());
  }
  EXPECT_EQ(query("/custos/v1/trace/urn:epc:id:sgtin:0614141.107346.999").status, 404);
  EXPECT_EQ(query("/custos/v1/trace/not-an-epc").status, 400);
}

// ------------------------------------------ WebSocket and scheduled subscriptions ----

// The eventIDs of an EPCISQueryDocument's eventList, in order.
std::vector<std::string> event_ids_of(const std::string& document) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::vector<std::string> ids;
  EXPECT_EQ(parser.parse(document).get(root), simdjson::SUCCESS) << document;
  simdjson::dom::array events;
  if (root["epcisBody"]["queryResults"]["resultsBody"]["eventList"].get(events) !=
      simdjson::SUCCESS) {
    ADD_FAILURE() << "no eventList in " << document;
    return ids;
  }
  for (simdjson::dom::element event : events) ids.emplace_back(std::string_view(event["eventID"]));
  return ids;
}

std::string subscription_id_of(const std::string& document) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view id;
  EXPECT_EQ(parser.parse(document).get(root), simdjson::SUCCESS) << document;
  EXPECT_EQ(root["epcisBody"]["queryResults"]["subscriptionID"].get(id), simdjson::SUCCESS);
  return std::string(id);
}

class EpcisWebSocketTest : public EpcisApiTest {
 protected:
  test_support::WebSocketClient subscribe(const std::string& target, bool with_token = true) {
    std::vector<std::pair<std::string, std::string>> headers;
    if (with_token) headers.emplace_back("Authorization", "Bearer " + operator_token_);
    return test_support::WebSocketClient(server_->port(), target, headers);
  }
  // Reads documents until `count` events arrived; their eventIDs in order.
  std::vector<std::string> read_events(test_support::WebSocketClient& client, size_t count,
                                       std::string* subscription_id = nullptr) {
    std::vector<std::string> ids;
    while (ids.size() < count) {
      auto message = client.read();
      if (!message) break;
      if (subscription_id != nullptr) *subscription_id = subscription_id_of(*message);
      for (std::string& id : event_ids_of(*message)) ids.push_back(std::move(id));
    }
    return ids;
  }
  void make_shipping_query() {
    ASSERT_EQ(query("/queries", "POST", R"({"name":"shipping","query":{"EQ_bizStep":"shipping"}})")
                  .status,
              201);
  }
  HttpResponse capture_shipping(std::string_view id, std::string_view serial,
                                std::string_view biz_step = "shipping") {
    return capture(document({object_event(
        id, "urn:epc:id:sgtin:0614141.107346." + std::string(serial), kDock, biz_step)}));
  }
  size_t subscriptions_of(const std::string& name) { return subscriptions_->list(name)->size(); }
  bool wait_for_subscriptions(const std::string& name, size_t count) {
    for (int i = 0; i < 500 && subscriptions_of(name) != count; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return subscriptions_of(name) == count;
  }
};

TEST_F(EpcisWebSocketTest, StreamingSubscriptionPushesMatchingEventsInOrder) {
  make_shipping_query();
  auto client = subscribe("/queries/shipping/events?stream=true");
  ASSERT_EQ(client.status(), 101) << client.body();
  ASSERT_EQ(subscriptions_of("shipping"), 1u);
  HttpResponse listed = query("/queries/shipping/subscriptions");
  EXPECT_NE(listed.body.find(R"("custos:transport":"websocket")"), std::string::npos)
      << listed.body;

  ASSERT_EQ(capture(document({object_event("urn:uuid:ws-1", "urn:epc:id:sgtin:0614141.107346.1",
                                           kDock, "shipping"),
                              object_event("urn:uuid:ws-2", "urn:epc:id:sgtin:0614141.107346.2",
                                           kDock, "receiving"),
                              object_event("urn:uuid:ws-3", "urn:epc:id:sgtin:0614141.107346.3",
                                           kDock, "shipping")}))
                .status,
            202);
  ASSERT_EQ(capture_shipping("urn:uuid:ws-4", "4").status, 202);
  std::string subscription_id;
  EXPECT_EQ(read_events(client, 3, &subscription_id),
            (std::vector<std::string>{"urn:uuid:ws-1", "urn:uuid:ws-3", "urn:uuid:ws-4"}));
  EXPECT_EQ(subscriptions_->list("shipping")->at(0).id, subscription_id);

  // The client leaves: its subscription goes with the connection.
  client.close();
  EXPECT_TRUE(wait_for_subscriptions("shipping", 0));
  // The query itself still answers plainly.
  EXPECT_EQ(query("/queries/shipping/events").status, 200);
}

TEST_F(EpcisWebSocketTest, InitialRecordTimeDeliversEarlierEvents) {
  make_shipping_query();
  const std::string before = format_rfc3339_micros(clock_.now_micros() - 1000000);
  ASSERT_EQ(capture_shipping("urn:uuid:early-1", "1").status, 202);
  ASSERT_EQ(capture_shipping("urn:uuid:early-2", "2", "receiving").status, 202);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  const std::string between = format_rfc3339_micros(clock_.now_micros());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_EQ(capture_shipping("urn:uuid:early-3", "3").status, 202);

  auto everything = subscribe("/queries/shipping/events?stream=true&initialRecordTime=" + before);
  ASSERT_EQ(everything.status(), 101) << everything.body();
  auto later = subscribe("/queries/shipping/events?stream=true&initialRecordTime=" + between);
  ASSERT_EQ(later.status(), 101) << later.body();
  auto from_now = subscribe("/queries/shipping/events?stream=true");
  ASSERT_EQ(from_now.status(), 101);
  ASSERT_EQ(capture_shipping("urn:uuid:late-4", "4").status, 202);
  EXPECT_EQ(read_events(everything, 3),
            (std::vector<std::string>{"urn:uuid:early-1", "urn:uuid:early-3", "urn:uuid:late-4"}));
  EXPECT_EQ(read_events(later, 2),
            (std::vector<std::string>{"urn:uuid:early-3", "urn:uuid:late-4"}));
  EXPECT_EQ(read_events(from_now, 1), (std::vector<std::string>{"urn:uuid:late-4"}));

  // Webhooks take it too (and show it).
  Receiver receiver;
  HttpResponse made = query("/queries/shipping/subscriptions", "POST",
                            R"({"dest":")" + receiver.url() +
                                R"(","stream":true,"initialRecordTime":")" + between + R"("})");
  ASSERT_EQ(made.status, 201) << made.body;
  EXPECT_NE(made.body.find(R"("initialRecordTime")"), std::string::npos);
  ASSERT_TRUE(receiver.wait_for(1));
  EXPECT_EQ(event_ids_of(receiver.body(0)),
            (std::vector<std::string>{"urn:uuid:early-3", "urn:uuid:late-4"}));
}

TEST_F(EpcisWebSocketTest, UpgradesAreAuthorisedLikeTheQueryAndBadTermsRefused) {
  make_shipping_query();
  auto anonymous = subscribe("/queries/shipping/events?stream=true", /*with_token=*/false);
  EXPECT_EQ(anonymous.status(), 401) << anonymous.error();
  EXPECT_FALSE(anonymous.open());
  // A principal whose role may not query.
  identity::PrincipalAttributes visitor;
  visitor.id = "vera";
  visitor.kind = identity::PrincipalKind::kUser;
  visitor.roles = {"visitor"};
  ASSERT_TRUE(identity_->apply(identity::PrincipalCreate{visitor}, "test", "dec-test").is_ok());
  auto token =
      identity_->create_api_token("vera", {"query"}, std::chrono::hours(1), "test", "dec-test");
  ASSERT_TRUE(token.is_ok()) << token.status().to_string();
  test_support::WebSocketClient refused(server_->port(), "/queries/shipping/events?stream=true",
                                        {{"Authorization", "Bearer " + token->token}});
  EXPECT_EQ(refused.status(), 403);
  EXPECT_FALSE(refused.open());
  EXPECT_EQ(subscriptions_of("shipping"), 0u);

  auto unknown = subscribe("/queries/nothing/events?stream=true");
  EXPECT_EQ(unknown.status(), 404);
  auto both = subscribe("/queries/shipping/events?stream=true&minute=5");
  EXPECT_EQ(both.status(), 400);
  EXPECT_NE(both.body().find("exactly one of stream=true and schedule"), std::string::npos)
      << both.body();
  auto neither = subscribe("/queries/shipping/events");
  EXPECT_EQ(neither.status(), 400);
  auto bad_minute = subscribe("/queries/shipping/events?minute=61");
  EXPECT_EQ(bad_minute.status(), 400);
  EXPECT_NE(bad_minute.body().find("schedule.minute: 61 is outside 0-59"), std::string::npos)
      << bad_minute.body();
  auto bad_time = subscribe("/queries/shipping/events?stream=true&initialRecordTime=yesterday");
  EXPECT_EQ(bad_time.status(), 400);
  EXPECT_NE(bad_time.body().find(R"("pointer":"initialRecordTime")"), std::string::npos)
      << bad_time.body();
  auto extra = subscribe("/queries/shipping/events?stream=true&perPage=5");
  EXPECT_EQ(extra.status(), 400);
  EXPECT_EQ(subscriptions_of("shipping"), 0u);
}

TEST_F(EpcisWebSocketTest, ASuspendedSubscriberIsDisconnectedWithPolicyViolation) {
  make_shipping_query();
  auto client = subscribe("/queries/shipping/events?stream=true");
  ASSERT_EQ(client.status(), 101);
  ASSERT_EQ(capture_shipping("urn:uuid:z-1", "1").status, 202);
  EXPECT_EQ(read_events(client, 1), (std::vector<std::string>{"urn:uuid:z-1"}));
  owner_allowed_ = false;
  ASSERT_EQ(capture_shipping("urn:uuid:z-2", "2").status, 202);
  // The next frame is the close: z-2 is never sent.
  EXPECT_EQ(client.read(), std::nullopt);
  EXPECT_EQ(client.close_code(), kWebSocketPolicyViolation);
  EXPECT_TRUE(wait_for_subscriptions("shipping", 0));
}

TEST_F(EpcisWebSocketTest, DeletingTheQueryClosesItsWebSockets) {
  make_shipping_query();
  auto client = subscribe("/queries/shipping/events?stream=true");
  ASSERT_EQ(client.status(), 101);
  ASSERT_EQ(query("/queries/shipping", "DELETE").status, 204);
  EXPECT_EQ(client.read(), std::nullopt);
  EXPECT_EQ(client.close_code(), kWebSocketNormalClosure);
  EXPECT_EQ(subscriptions_of("shipping"), 0u);
}

TEST_F(EpcisWebSocketTest, ScheduledWebSocketSubscriptionsReportAtTheirTime) {
  make_shipping_query();
  auto micros = [](std::string_view text) { return epcis::parse_timestamp(text)->utc_micros; };
  subscription_clock_.set(micros("2026-11-26T10:00:30Z"));
  auto client = subscribe("/queries/shipping/events?second=0&reportIfEmpty=true");
  ASSERT_EQ(client.status(), 101) << client.body();
  ASSERT_EQ(capture_shipping("urn:uuid:s-1", "1").status, 202);
  ASSERT_EQ(capture_shipping("urn:uuid:s-2", "2").status, 202);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto listed = subscriptions_->list("shipping");
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->at(0).delivered_events, 0u);  // not due before 10:01:00
  EXPECT_EQ(format_rfc3339_micros(listed->at(0).next_run_micros), "2026-11-26T10:01:00.000000Z");
  subscription_clock_.set(micros("2026-11-26T10:01:00Z"));
  auto first = client.read();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(event_ids_of(*first), (std::vector<std::string>{"urn:uuid:s-1", "urn:uuid:s-2"}));
  subscription_clock_.set(micros("2026-11-26T10:02:00Z"));
  auto second = client.read();
  ASSERT_TRUE(second.has_value());
  EXPECT_TRUE(event_ids_of(*second).empty()) << *second;
  EXPECT_EQ(subscription_id_of(*second), listed->at(0).id);
}

TEST_F(EpcisApiTest, ScheduledWebhooksReportAtTheirTimesAndWhenEmpty) {
  Receiver receiver;
  ASSERT_EQ(
      query("/queries", "POST", R"({"name":"shipping","query":{"EQ_bizStep":"shipping"}})").status,
      201);
  auto micros = [](std::string_view text) { return epcis::parse_timestamp(text)->utc_micros; };
  subscription_clock_.set(micros("2026-11-26T10:00:30Z"));
  HttpResponse made = query(
      "/queries/shipping/subscriptions", "POST",
      R"({"dest":")" + receiver.url() + R"(","reportIfEmpty":true,"schedule":{"minute":"5,35"}})");
  ASSERT_EQ(made.status, 201) << made.body;
  auto shown = parse(made.body);
  EXPECT_EQ(std::string_view(shown["custos:nextRunAt"]), "2026-11-26T10:05:00.000Z") << made.body;
  EXPECT_EQ(std::string_view(shown["schedule"]["minute"]), "5,35");
  EXPECT_FALSE(bool(shown["stream"]));
  ASSERT_EQ(capture(document({object_event("urn:uuid:h-1", "urn:epc:id:sgtin:0614141.107346.1",
                                           kDock, "shipping"),
                              object_event("urn:uuid:h-2", "urn:epc:id:sgtin:0614141.107346.2",
                                           kDock, "receiving"),
                              object_event("urn:uuid:h-3", "urn:epc:id:sgtin:0614141.107346.3",
                                           kDock, "shipping")}))
                .status,
            202);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(receiver.count(), 0u);  // not due yet
  subscription_clock_.set(micros("2026-11-26T10:04:59.999Z"));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(receiver.count(), 0u);  // still not
  subscription_clock_.set(micros("2026-11-26T10:05:00Z"));
  ASSERT_TRUE(receiver.wait_for(1));
  EXPECT_EQ(event_ids_of(receiver.body(0)),
            (std::vector<std::string>{"urn:uuid:h-1", "urn:uuid:h-3"}));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(receiver.count(), 1u);  // once per run
  // The next run (10:35) has nothing new: reportIfEmpty sends an empty document.
  subscription_clock_.set(micros("2026-11-26T10:35:00Z"));
  ASSERT_TRUE(receiver.wait_for(2));
  EXPECT_TRUE(event_ids_of(receiver.body(1)).empty());
  EXPECT_EQ(std::string_view(parse(receiver.body(1))["epcisBody"]["queryResults"]["queryName"]),
            "shipping");
  // Events since the previous run come at the one after (11:05).
  ASSERT_EQ(capture(document({object_event("urn:uuid:h-4", "urn:epc:id:sgtin:0614141.107346.4",
                                           kDock, "shipping")}))
                .status,
            202);
  subscription_clock_.set(micros("2026-11-26T11:05:00Z"));
  ASSERT_TRUE(receiver.wait_for(3));
  EXPECT_EQ(event_ids_of(receiver.body(2)), (std::vector<std::string>{"urn:uuid:h-4"}));

  // The schedule survives a restart.
  subscriptions_->stop();
  SubscriptionOptions options;
  options.clock = &subscription_clock_;
  options.may_receive = [](const std::string&) { return true; };
  use_named_queries(options, *store_, *log_);
  auto reopened = SubscriptionManager::open(*store_, *index_, options);
  ASSERT_TRUE(reopened.is_ok()) << reopened.status().to_string();
  auto listed = (*reopened)->list("shipping");
  ASSERT_EQ(listed->size(), 1u);
  ASSERT_TRUE(listed->at(0).schedule.has_value());
  EXPECT_EQ(listed->at(0).schedule->spec.minute, "5,35");
  EXPECT_TRUE(listed->at(0).report_if_empty);
  EXPECT_EQ(format_rfc3339_micros(listed->at(0).next_run_micros), "2026-11-26T11:35:00.000000Z");
  (*reopened)->stop();
}

TEST_F(EpcisApiTest, BadSubscriptionTermsAreRefusedWithPointers) {
  ASSERT_EQ(
      query("/queries", "POST", R"({"name":"all","query":{"eventType":"ObjectEvent"}})").status,
      201);
  auto refused = [&](const std::string& terms, std::string_view pointer, std::string_view detail) {
    HttpResponse response = query("/queries/all/subscriptions", "POST",
                                  R"({"dest":"http://127.0.0.1:1/x",)" + terms + "}");
    EXPECT_EQ(response.status, 400) << terms;
    auto problem = parse(response.body);
    EXPECT_EQ(std::string_view(problem["errors"].at(0)["pointer"]), pointer) << response.body;
    EXPECT_NE(response.body.find(detail), std::string::npos) << response.body;
  };
  refused(R"("stream":true,"schedule":{"hour":"1"})", "/stream", "exactly one of");
  refused(R"("stream":false)", "/stream", "exactly one of");
  refused(R"("reportIfEmpty":true)", "/stream", "exactly one of");
  refused(R"("schedule":{"minute":"61"})", "/schedule/minute", "61 is outside 0-59");
  refused(R"("schedule":{"dayOfWeek":"[3-1]"})", "/schedule/dayOfWeek", "runs backwards");
  refused(R"("schedule":{"month":"2","dayOfMonth":"30"})", "/schedule", "no date matches");
  refused(R"("schedule":{})", "/schedule", "at least one");
  refused(R"("schedule":{"week":"1"})", "/schedule/week", "unexpected");
  refused(R"("stream":true,"reportIfEmpty":true)", "/reportIfEmpty", "scheduled");
  refused(R"("stream":true,"initialRecordTime":"2026-13-01T00:00:00Z")", "/initialRecordTime",
          "RFC 3339");
  EXPECT_EQ(subscriptions_->list("all")->size(), 0u);
}

}  // namespace
}  // namespace custos
