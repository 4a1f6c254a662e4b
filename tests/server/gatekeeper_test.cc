// Gatekeeper, ApprovalBook, parse_geo and distance_m without HTTP: requests
// are built by hand and signed with the SDK's RequestSigner, time is a
// ManualClock, identity is a real IdentityService over a temporary log, and
// the policies are the shipped default set (docs/policies/*.cedar).
#include "custos/server/gatekeeper.h"

#include <gtest/gtest.h>
#include <simdjson.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <tuple>

#include "custos/core/clock.h"
#include "custos/crypto/signed_note.h"
#include "custos/identity/control_change.h"
#include "custos/identity/identity_service.h"
#include "custos/ledger/log.h"
#include "custos/policy/parser.h"
#include "custos/sdk/signer.h"
#include "custos/server/default_policies.h"
#include "custos/server/log_api.h"
#include "custos/server/metrics.h"
#include "custos/store/store.h"
#include "support/access_helpers.h"

namespace custos {
namespace {

using Fields = std::vector<std::pair<std::string, std::string>>;

constexpr int64_t kMicros = 1'000'000;
constexpr int64_t kHour = 3600 * kMicros;
constexpr int64_t kMinute = 60 * kMicros;
// Monday 2026-11-23T00:00:00Z.
constexpr int64_t kMonday = 1795392000LL * kMicros;
constexpr std::string_view kAuthority = "custos.test";
constexpr std::string_view kOrigin = "gk.test/log";

// The north site's geofence: 500 m around (52.37, 4.89).
constexpr std::string_view kNorthInside = "52.372,4.89";  // ~222 m from the centre
constexpr std::string_view kNorthOutside = "52.39,4.89";  // ~2.2 km from the centre

const std::regex kDecisionId("dec-[0-9a-f]{32}");

SiteConfig site(std::string id, int32_t utc_offset_minutes, int32_t hours_start, int32_t hours_end,
                std::optional<std::tuple<double, double, double>> fence) {
  SiteConfig config;
  config.id = std::move(id);
  config.utc_offset_minutes = utc_offset_minutes;
  config.hours_start = hours_start;
  config.hours_end = hours_end;
  if (fence) {
    config.has_geofence = true;
    config.latitude = std::get<0>(*fence);
    config.longitude = std::get<1>(*fence);
    config.radius_m = std::get<2>(*fence);
  }
  return config;
}

// ---- distance_m and parse_geo ----

TEST(DistanceTest, KnownPairs) {
  // One degree of latitude on a sphere of the mean earth radius: 111.195 km.
  EXPECT_NEAR(distance_m(52.0, 4.89, 53.0, 4.89), 111200.0, 500.0);
  EXPECT_NEAR(distance_m(0.0, 0.0, 0.0, 1.0), 111200.0,
              500.0);  // a degree of longitude at the equator
  // A degree of longitude shrinks with the cosine of the latitude.
  EXPECT_NEAR(distance_m(60.0, 0.0, 60.0, 1.0), 55600.0, 300.0);
  // Amsterdam to Paris, about 430 km.
  EXPECT_NEAR(distance_m(52.3676, 4.9041, 48.8566, 2.3522), 430000.0, 5000.0);
  EXPECT_DOUBLE_EQ(distance_m(52.37, 4.89, 52.37, 4.89), 0.0);
  EXPECT_DOUBLE_EQ(distance_m(52.0, 4.0, 53.0, 5.0), distance_m(53.0, 5.0, 52.0, 4.0));
  // Antipodes: half the circumference, without NaN from rounding.
  EXPECT_NEAR(distance_m(0.0, 0.0, 0.0, 180.0), 20015100.0, 1000.0);
  EXPECT_NEAR(distance_m(90.0, 0.0, -90.0, 0.0), 20015100.0, 1000.0);
}

TEST(ParseGeoTest, AcceptsLatitudeCommaLongitude) {
  auto plain = parse_geo("52.37,4.89");
  ASSERT_TRUE(plain.is_ok()) << plain.status().to_string();
  EXPECT_DOUBLE_EQ(plain->first, 52.37);
  EXPECT_DOUBLE_EQ(plain->second, 4.89);
  auto spaced = parse_geo(" -33.86 ,\t+151.21 ");
  ASSERT_TRUE(spaced.is_ok()) << spaced.status().to_string();
  EXPECT_DOUBLE_EQ(spaced->first, -33.86);
  EXPECT_DOUBLE_EQ(spaced->second, 151.21);
  EXPECT_TRUE(parse_geo("90,180").is_ok());
  EXPECT_TRUE(parse_geo("-90,-180").is_ok());
  EXPECT_TRUE(parse_geo("0,0").is_ok());
}

TEST(ParseGeoTest, RefusesAnythingElse) {
  for (std::string_view bad : {"",          ",",      "52.37",         "52.37;4.89", "52.37 4.89",
                               "52.37,",    ",4.89",  "52.37,4.89,10", "90.0001,0",  "-90.5,0",
                               "0,180.5",   "0,-181", "north,dock",    "1e1,2",      "0x10,2",
                               "nan,0",     "inf,0",  "1.2.3,4",       "--1,2",      "52.37,4.89m",
                               "52,37,4,89"}) {
    auto parsed = parse_geo(bad);
    EXPECT_FALSE(parsed.is_ok()) << "'" << bad << "'";
    if (!parsed.is_ok()) {
      EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
  EXPECT_FALSE(parse_geo(std::string(40, '1') + ",1").is_ok());  // absurdly long number
}

// ---- ApprovalBook ----

class ApprovalBookTest : public ::testing::Test {
 protected:
  ManualClock clock_{kMonday};
  const policy::EntityUid active_{"Custos::Policy", "active"};
};

TEST_F(ApprovalBookTest, AnApprovalCountsOnlyForItsRequesterActionAndResource) {
  ApprovalBook book(clock_);
  auto approval =
      book.grant("bob", "alice", "policy.change", active_, std::chrono::minutes(5), "dec-bob");
  ASSERT_TRUE(approval.is_ok()) << approval.status().to_string();
  EXPECT_TRUE(std::regex_match(approval->id, std::regex("apr-[0-9a-f]{32}"))) << approval->id;
  EXPECT_EQ(approval->approver, "bob");
  EXPECT_EQ(approval->expires_at, kMonday + 5 * kMinute);
  EXPECT_EQ(approval->decision_id, "dec-bob");
  EXPECT_EQ(book.live(), 1u);

  const std::vector<std::string> ids = {approval->id};
  EXPECT_EQ(book.approvers(ids, "alice", "policy.change", active_), std::set<std::string>{"bob"});
  EXPECT_TRUE(book.approvers(ids, "carol", "policy.change", active_).empty());
  EXPECT_TRUE(book.approvers(ids, "alice", "cage.release", active_).empty());
  EXPECT_TRUE(book.approvers(ids, "alice", "policy.change", {"Custos::Policy", "draft"}).empty());
  EXPECT_TRUE(book.approvers(ids, "alice", "policy.change", {"Custos::Cage", "active"}).empty());
  EXPECT_TRUE(book.approvers({"apr-unknown"}, "alice", "policy.change", active_).empty());
  EXPECT_TRUE(book.approvers({}, "alice", "policy.change", active_).empty());

  // Consuming with another requester/action/resource uses nothing up.
  book.consume(ids, "carol", "policy.change", active_);
  book.consume(ids, "alice", "cage.release", active_);
  book.consume(ids, "alice", "policy.change", {"Custos::Policy", "draft"});
  EXPECT_EQ(book.live(), 1u);
  // The matching use consumes it: single use.
  book.consume(ids, "alice", "policy.change", active_);
  EXPECT_EQ(book.live(), 0u);
  EXPECT_TRUE(book.approvers(ids, "alice", "policy.change", active_).empty());
}

TEST_F(ApprovalBookTest, ApprovalsExpire) {
  ApprovalBook book(clock_);
  auto approval = book.grant("bob", "alice", "policy.change", active_, std::chrono::minutes(5), "");
  ASSERT_TRUE(approval.is_ok());
  const std::vector<std::string> ids = {approval->id};
  clock_.advance(5 * kMinute - 1);
  EXPECT_EQ(book.approvers(ids, "alice", "policy.change", active_).size(), 1u);
  clock_.advance(1);  // expires_at itself is too late
  EXPECT_TRUE(book.approvers(ids, "alice", "policy.change", active_).empty());
  EXPECT_EQ(book.live(), 0u);
}

TEST_F(ApprovalBookTest, RefusesSelfApprovalNonPositiveTtlAndTooManyLive) {
  ApprovalBook book(clock_, /*max_live=*/2);
  auto self = book.grant("alice", "alice", "policy.change", active_, std::chrono::minutes(5), "");
  EXPECT_EQ(self.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(self.status().message().find("two-person"), std::string::npos);
  EXPECT_EQ(book.grant("bob", "alice", "policy.change", active_, std::chrono::microseconds(0), "")
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(book.live(), 0u);

  ASSERT_TRUE(
      book.grant("bob", "alice", "policy.change", active_, std::chrono::minutes(1), "").is_ok());
  ASSERT_TRUE(
      book.grant("bob", "alice", "policy.change", active_, std::chrono::minutes(5), "").is_ok());
  auto third = book.grant("carol", "alice", "policy.change", active_, std::chrono::minutes(5), "");
  EXPECT_EQ(third.status().code(), StatusCode::kResourceExhausted);
  // Once one expires there is room again.
  clock_.advance(kMinute);
  EXPECT_TRUE(
      book.grant("carol", "alice", "policy.change", active_, std::chrono::minutes(5), "").is_ok());
  EXPECT_EQ(book.live(), 2u);
}

TEST(ApprovalIdsTest, ReadsCommaSeparatedIdsFromEveryApprovalHeader) {
  HttpRequest request;
  EXPECT_TRUE(approval_ids_of(request).empty());
  request.headers.add("Custos-Approval", " apr-1 , apr-2,,");
  request.headers.add("custos-approval", "apr-3");
  request.headers.add("X-Other", "apr-4");
  EXPECT_EQ(approval_ids_of(request), (std::vector<std::string>{"apr-1", "apr-2", "apr-3"}));

  HttpRequest many;
  std::string value;
  for (int i = 0; i < 40; ++i) value += "apr-" + std::to_string(i) + ",";
  many.headers.add("Custos-Approval", value);
  EXPECT_EQ(approval_ids_of(many).size(), 16u);  // bounded
}

// ---- Gatekeeper over a real identity service ----

class GatekeeperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = std::filesystem::temp_directory_path() /
                 ("custos-gatekeeper-" + std::to_string(::getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(directory_);
    auto store = store::Store::open(directory_.string(), store::StoreOptions{});
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    store_ = std::move(store).value();
    auto note_signer = NoteSigner::create(std::string(kOrigin), Ed25519KeyPair::generate());
    ASSERT_TRUE(note_signer.is_ok());
    note_signer_ = std::make_unique<NoteSigner>(std::move(note_signer).value());

    ledger::LogOptions options;
    options.origin = note_signer_->name();
    options.clock = &clock_;
    options.sign_checkpoint = [this](std::string_view body) -> Result<std::string> {
      const NoteSigner* signers[] = {note_signer_.get()};
      return sign_note(body, signers);
    };
    auto log = ledger::Log::open(*store_, std::move(options));
    ASSERT_TRUE(log.is_ok()) << log.status().to_string();
    log_ = std::move(log).value();
    auto identity = identity::IdentityService::open(*log_, *store_, clock_);
    ASSERT_TRUE(identity.is_ok()) << identity.status().to_string();
    identity_ = std::move(identity).value();

    AccessControlOptions access_options;
    access_options.sites = {
        site("north", 0, 0, 24, std::make_tuple(52.37, 4.89, 500.0)),
        site("day", 0, 6, 22, std::make_tuple(40.0, -3.7, 500.0)),
        site("night", 0, 22, 6, std::make_tuple(50.0, 10.0, 500.0)),
        site("paris", 60, 0, 6, std::make_tuple(48.85, 2.35, 500.0)),
        site("west", -330, 0, 24, std::make_tuple(19.0, 72.8, 500.0)),
        site("bare", 0, 0, 24, std::nullopt),
    };
    access_ = std::make_unique<AccessControl>(*identity_, clock_, metrics_, access_options);
    use_policies(default_policy_text());
  }

  void TearDown() override {
    access_.reset();
    identity_.reset();
    if (log_) log_->close();
    log_.reset();
    store_.reset();
    std::filesystem::remove_all(directory_);
  }

  void use_policies(std::string_view text) {
    auto policies = policy::parse_policies(text);
    ASSERT_TRUE(policies.is_ok()) << policies.status().to_string();
    access_->set_policies(std::move(policies).value());
  }

  // A device enrolled at (site, zone) through the real enrollment flow.
  const sdk::RequestSigner& device(const std::string& id, const std::string& site_id,
                                   const std::string& zone = "dock-a") {
    auto key = test_support::make_device(*identity_, id, site_id, zone);
    EXPECT_TRUE(key.is_ok()) << key.status().to_string();
    auto signer = sdk::RequestSigner::create(std::move(key).value());
    EXPECT_TRUE(signer.is_ok());
    return signers_.emplace(id, std::move(signer).value()).first->second;
  }

  // A user with `roles` and an API token (valid a day) for `scopes`.
  std::string user_token(const std::string& id, std::set<std::string> roles,
                         std::set<std::string> scopes) {
    identity::PrincipalAttributes attributes;
    attributes.id = id;
    attributes.kind = identity::PrincipalKind::kUser;
    attributes.roles = std::move(roles);
    auto created = identity_->apply(identity::PrincipalCreate{attributes}, "test", "dec-test");
    EXPECT_TRUE(created.is_ok()) << created.status().to_string();
    auto token =
        identity_->create_api_token(id, scopes, std::chrono::hours(24), "test", "dec-test");
    EXPECT_TRUE(token.is_ok()) << token.status().to_string();
    return token.is_ok() ? token->token : std::string();
  }

  // A request as HttpServer hands it over, signed at the clock's now,
  // covering `covered` (which are also sent); `unsigned_fields` are sent uncovered.
  HttpRequest signed_request(const sdk::RequestSigner& signer, const Fields& covered,
                             const Fields& unsigned_fields = {}, std::string body = "payload",
                             std::string method = "POST",
                             std::string target = std::string(sdk_append_path())) {
    HttpRequest request = bare_request(std::move(method), std::move(target), std::move(body));
    auto headers = signer.sign(request.method, "http", kAuthority, request.target, request.body,
                               clock_.now_micros() / kMicros, covered);
    EXPECT_TRUE(headers.is_ok()) << headers.status().to_string();
    if (!headers.is_ok()) return request;
    if (headers->content_digest) request.headers.set("Content-Digest", *headers->content_digest);
    request.headers.set("Signature-Input", headers->signature_input);
    request.headers.set("Signature", headers->signature);
    for (const auto& [name, value] : covered) request.headers.add(name, value);
    for (const auto& [name, value] : unsigned_fields) request.headers.add(name, value);
    return request;
  }

  HttpRequest bearer_request(const std::string& token, const Fields& fields = {}) {
    HttpRequest request = bare_request("POST", std::string(sdk_append_path()), "payload");
    request.headers.set("Authorization", "Bearer " + token);
    for (const auto& [name, value] : fields) request.headers.add(name, value);
    return request;
  }

  static HttpRequest bare_request(std::string method, std::string target, std::string body) {
    HttpRequest request;
    request.method = std::move(method);
    request.target = std::move(target);
    request.path = request.target.substr(0, request.target.find('?'));
    request.body = std::move(body);
    request.remote_address = "192.0.2.7:40000";
    request.headers.set("Host", kAuthority);
    return request;
  }

  static std::string_view sdk_append_path() { return "/custos/v1/log/entries"; }

  // A healthy device at the centre of its site's fence (both signed).
  static Fields healthy_at(std::string_view geo) {
    return {{"Custos-Device-Posture", "healthy"}, {"Custos-Geo", std::string(geo)}};
  }

  std::variant<AccessGrant, HttpResponse> check(const HttpRequest& request,
                                                const RouteAccess& access) {
    return access_->gatekeeper().check(request, RouteParams{}, access);
  }
  std::variant<AccessGrant, HttpResponse> append(const HttpRequest& request) {
    return check(request, append_access());
  }
  static RouteAccess append_access() {
    return RouteAccess{"log.append", log_stream_resource(std::string(kOrigin))};
  }
  static RouteAccess fixed_access(std::string action, policy::EntityUid uid,
                                  bool allow_quarantined = false) {
    return RouteAccess{std::move(action),
                       [uid](const HttpRequest&, const RouteParams&,
                             const AuthenticatedPrincipal&) -> Result<policy::Entity> {
                         return policy::Entity{uid, policy::Value::record({}), {}};
                       },
                       allow_quarantined};
  }
  // status.read on the caller itself.
  static RouteAccess self_status_access(bool allow_quarantined) {
    return RouteAccess{
        "status.read",
        [](const HttpRequest&, const RouteParams&,
           const AuthenticatedPrincipal& who) -> Result<policy::Entity> {
          return policy::Entity{principal_uid(*who.principal), policy::Value::record({}), {}};
        },
        allow_quarantined};
  }

  // The refusal's status, or 0 for a grant.
  static int status_of(const std::variant<AccessGrant, HttpResponse>& result) {
    if (const auto* response = std::get_if<HttpResponse>(&result)) return response->status;
    return 0;
  }
  // A member of the refusal's problem+json body ("" when absent or granted).
  static std::string body_member(const std::variant<AccessGrant, HttpResponse>& result,
                                 const char* member) {
    const auto* response = std::get_if<HttpResponse>(&result);
    if (response == nullptr) return "";
    simdjson::dom::parser parser;
    simdjson::dom::element body;
    if (parser.parse(response->body).get(body)) return "";
    std::string_view value;
    if (body[member].get(value)) return "";
    return std::string(value);
  }
  static std::string reason_of(const std::variant<AccessGrant, HttpResponse>& result) {
    return body_member(result, "reason");
  }
  static std::vector<std::string> policies_of(
      const std::variant<AccessGrant, HttpResponse>& result) {
    if (const auto* grant = std::get_if<AccessGrant>(&result)) return grant->decision.policy_ids;
    return {};
  }

  // The context value `name` that context_for builds.
  static const policy::Value* extra(const AuthorizationContext& context, std::string_view name) {
    for (const auto& [key, value] : context.extra) {
      if (key == name) return &value;
    }
    return nullptr;
  }
  AuthorizationContext context_of(const HttpRequest& request, const std::string& principal_id,
                                  CredentialMethod method, std::vector<std::string> covered) {
    AuthenticatedPrincipal who;
    who.principal = identity_->find_principal(principal_id);
    EXPECT_NE(who.principal, nullptr) << principal_id;
    who.method = method;
    who.covered_headers = std::move(covered);
    return access_->gatekeeper().context_for(request, who, approval_ids_of(request), "log.append",
                                             {"Custos::Log", "x"});
  }
  std::string posture_in(const AuthorizationContext& context) {
    const policy::Value* value = extra(context, "device_posture");
    EXPECT_NE(value, nullptr);
    return value ? value->as_string() : "";
  }
  bool geofence_in(const AuthorizationContext& context) {
    const policy::Value* value = extra(context, "geofence_ok");
    EXPECT_NE(value, nullptr);
    return value && value->as_bool();
  }

  // The value of one rendered metric series, 0 when it is absent.
  double metric(const std::string& series) {
    std::string text = metrics_.render();
    std::string needle = series + " ";
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
      if (at == 0 || text[at - 1] == '\n') return std::stod(text.substr(at + needle.size()));
    }
    return 0;
  }

  std::filesystem::path directory_;
  ManualClock clock_{kMonday};
  MetricsRegistry metrics_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<NoteSigner> note_signer_;
  std::unique_ptr<ledger::Log> log_;
  std::unique_ptr<identity::IdentityService> identity_;
  std::unique_ptr<AccessControl> access_;
  std::map<std::string, sdk::RequestSigner> signers_;
};

TEST_F(GatekeeperTest, HealthyDeviceInsideItsFenceMayAppendToItsZoneStream) {
  const auto& scanner = device("scanner-1", "north");
  auto result = append(signed_request(scanner, healthy_at(kNorthInside)));
  ASSERT_EQ(status_of(result), 0) << std::get<HttpResponse>(result).body;
  const AccessGrant& grant = std::get<AccessGrant>(result);
  EXPECT_EQ(grant.who.id(), "scanner-1");
  EXPECT_EQ(grant.who.method, CredentialMethod::kSignature);
  EXPECT_TRUE(grant.decision.allowed);
  EXPECT_TRUE(std::regex_match(grant.decision.decision_id, kDecisionId));
  EXPECT_EQ(grant.decision.policy_ids, std::vector<std::string>{"device-act-on-site"});
  EXPECT_EQ(grant.resource.uid, (policy::EntityUid{"Custos::Log", "north/dock-a"}));
  EXPECT_TRUE(grant.who.covers("Custos-Device-Posture"));
  EXPECT_TRUE(grant.who.covers("custos-geo"));
}

TEST_F(GatekeeperTest, HourAndWeekdayAreSiteLocal) {
  // Probe policies that each permit one (weekday, hour) pair.
  use_policies(R"(
    @id("mon-23") permit (principal, action == Custos::Action::"probe", resource)
    when { context.weekday == 1 && context.hour == 23 };
    @id("tue-00") permit (principal, action == Custos::Action::"probe", resource)
    when { context.weekday == 2 && context.hour == 0 };
    @id("mon-18") permit (principal, action == Custos::Action::"probe", resource)
    when { context.weekday == 1 && context.hour == 18 };
    @id("sun-18") permit (principal, action == Custos::Action::"probe", resource)
    when { context.weekday == 7 && context.hour == 18 };
    @id("mon-00") permit (principal, action == Custos::Action::"probe", resource)
    when { context.weekday == 1 && context.hour == 0 };
    @id("mon-01") permit (principal, action == Custos::Action::"probe", resource)
    when { context.weekday == 1 && context.hour == 1 };
  )");
  const auto& utc = device("utc-1", "north");
  const auto& plus_one = device("paris-1", "paris");
  const auto& minus_five_thirty = device("west-1", "west");
  const RouteAccess probe = fixed_access("probe", {"Custos::Log", "probe"});

  // Monday 00:10 UTC: Monday 01:10 at +01:00, Sunday 18:40 at -05:30.
  clock_.set(kMonday + 10 * kMinute);
  EXPECT_EQ(policies_of(check(signed_request(utc, {}), probe)), std::vector<std::string>{"mon-00"});
  EXPECT_EQ(policies_of(check(signed_request(plus_one, {}), probe)),
            std::vector<std::string>{"mon-01"});
  EXPECT_EQ(policies_of(check(signed_request(minus_five_thirty, {}), probe)),
            std::vector<std::string>{"sun-18"});

  // Monday 23:30 UTC: Tuesday 00:30 at +01:00, Monday 18:00 at -05:30.
  clock_.set(kMonday + 23 * kHour + 30 * kMinute);
  EXPECT_EQ(policies_of(check(signed_request(utc, {}), probe)), std::vector<std::string>{"mon-23"});
  EXPECT_EQ(policies_of(check(signed_request(plus_one, {}), probe)),
            std::vector<std::string>{"tue-00"});
  EXPECT_EQ(policies_of(check(signed_request(minus_five_thirty, {}), probe)),
            std::vector<std::string>{"mon-18"});

  // context_for carries the offset and the site's hours.
  HttpRequest request = bare_request("GET", "/x", "");
  AuthorizationContext context = context_of(request, "paris-1", CredentialMethod::kSignature, {});
  EXPECT_EQ(context.utc_offset_minutes, 60);
  ASSERT_NE(extra(context, "site_hours_start"), nullptr);
  EXPECT_EQ(extra(context, "site_hours_start")->as_long(), 0);
  EXPECT_EQ(extra(context, "site_hours_end")->as_long(), 6);
  ASSERT_TRUE(context.source_ip.has_value());
}

TEST_F(GatekeeperTest, SiteLocalMidnightDecidesTheWorkingHours) {
  // paris works 00-06 local time at +01:00.
  const auto& scanner = device("paris-1", "paris");
  const Fields healthy = healthy_at("48.85,2.35");
  clock_.set(kMonday + 22 * kHour + 59 * kMinute);  // 23:59 local: outside
  EXPECT_EQ(status_of(append(signed_request(scanner, healthy))), 403);
  clock_.set(kMonday + 23 * kHour);  // 00:00 local Tuesday: inside
  EXPECT_EQ(status_of(append(signed_request(scanner, healthy))), 0);
  clock_.set(kMonday + 24 * kHour + 4 * kHour + 59 * kMinute);  // 05:59 local
  EXPECT_EQ(status_of(append(signed_request(scanner, healthy))), 0);
  clock_.set(kMonday + 24 * kHour + 5 * kHour);  // 06:00 local: end is exclusive
  EXPECT_EQ(status_of(append(signed_request(scanner, healthy))), 403);
}

TEST_F(GatekeeperTest, HoursWindowIncludesItsStartAndExcludesItsEnd) {
  const auto& scanner = device("day-1", "day");
  const Fields healthy = healthy_at("40.0,-3.7");
  struct Step {
    int64_t at;
    int status;
  };
  for (Step step : {Step{5 * kHour + 59 * kMinute + 59 * kMicros, 403}, Step{6 * kHour, 0},
                    Step{12 * kHour, 0}, Step{21 * kHour + 59 * kMinute + 59 * kMicros, 0},
                    Step{22 * kHour, 403}, Step{23 * kHour + 30 * kMinute, 403}}) {
    clock_.set(kMonday + step.at);
    auto result = append(signed_request(scanner, healthy));
    EXPECT_EQ(status_of(result), step.status) << "at " << step.at / kMicros << " s";
    if (step.status == 403) {
      EXPECT_TRUE(std::regex_match(body_member(result, "decision_id"), kDecisionId));
    }
  }
}

TEST_F(GatekeeperTest, HoursWindowWrapsAroundMidnight) {
  const auto& scanner = device("night-1", "night");
  const Fields healthy = healthy_at("50.0,10.0");
  struct Step {
    int64_t at;
    int status;
  };
  for (Step step : {Step{0, 0}, Step{5 * kHour + 59 * kMinute, 0}, Step{6 * kHour, 403},
                    Step{12 * kHour, 403}, Step{21 * kHour + 59 * kMinute, 403},
                    Step{22 * kHour, 0}, Step{23 * kHour + 59 * kMinute, 0}}) {
    clock_.set(kMonday + step.at);
    EXPECT_EQ(status_of(append(signed_request(scanner, healthy))), step.status)
        << "at " << step.at / kMicros << " s";
  }
}

TEST_F(GatekeeperTest, PostureIsBelievedOnlyWhenTheSignatureCoversIt) {
  const auto& scanner = device("scanner-1", "north");
  const Fields geo = {{"Custos-Geo", std::string(kNorthInside)}};
  const Fields posture = {{"Custos-Device-Posture", "healthy"}};

  // Sent but not covered: "unknown", so device-act-on-site does not permit.
  HttpRequest uncovered = signed_request(scanner, geo, posture);
  EXPECT_EQ(
      posture_in(context_of(uncovered, "scanner-1", CredentialMethod::kSignature, {"custos-geo"})),
      "unknown");
  auto refused = append(uncovered);
  EXPECT_EQ(status_of(refused), 403);
  EXPECT_TRUE(std::regex_match(body_member(refused, "decision_id"), kDecisionId));
  EXPECT_EQ(reason_of(refused), "forbidden");

  // Not sent at all: unknown too.
  EXPECT_EQ(status_of(append(signed_request(scanner, geo))), 403);

  // Covered: believed.
  Fields both = geo;
  both.insert(both.end(), posture.begin(), posture.end());
  HttpRequest covered = signed_request(scanner, both);
  EXPECT_EQ(posture_in(context_of(covered, "scanner-1", CredentialMethod::kSignature,
                                  {"custos-geo", "custos-device-posture"})),
            "healthy");
  EXPECT_EQ(status_of(append(covered)), 0);

  // A compromised report is believed as well, and blocks writes by policy.
  auto compromised = append(signed_request(scanner, {{"Custos-Geo", std::string(kNorthInside)},
                                                     {"Custos-Device-Posture", " compromised "}}));
  EXPECT_EQ(status_of(compromised), 403);
  EXPECT_NE(body_member(compromised, "detail").find("forbid-compromised-posture"),
            std::string::npos)
      << body_member(compromised, "detail");

  // Values other than the two known ones, and bearer credentials, count as unknown.
  HttpRequest odd = bare_request("GET", "/x", "");
  odd.headers.set("Custos-Device-Posture", "HEALTHY");
  EXPECT_EQ(posture_in(context_of(odd, "scanner-1", CredentialMethod::kSignature,
                                  {"custos-device-posture"})),
            "unknown");
  odd.headers.set("Custos-Device-Posture", "healthy");
  EXPECT_EQ(posture_in(context_of(odd, "scanner-1", CredentialMethod::kApiToken,
                                  {"custos-device-posture"})),
            "unknown");
  EXPECT_EQ(posture_in(context_of(odd, "scanner-1", CredentialMethod::kSignature,
                                  {"custos-device-posture"})),
            "healthy");
}

TEST_F(GatekeeperTest, GeofenceNeedsASignedPositionInsideTheSitesFence) {
  const auto& scanner = device("scanner-1", "north");
  const auto& bare = device("bare-1", "bare");
  const auto& homeless = device("nomad-1", "atlantis");  // a site with no profile

  EXPECT_EQ(status_of(append(signed_request(scanner, healthy_at(kNorthInside)))), 0);
  auto outside = append(signed_request(scanner, healthy_at(kNorthOutside)));
  EXPECT_EQ(status_of(outside), 403);
  EXPECT_TRUE(std::regex_match(body_member(outside, "decision_id"), kDecisionId));

  // The fence's edge: 500 m is about 0.0044966 degrees of latitude.
  HttpRequest probe = bare_request("GET", "/x", "");
  const std::vector<std::string> covered = {"custos-geo"};
  probe.headers.set("Custos-Geo", "52.37448,4.89");  // ~498 m
  EXPECT_TRUE(geofence_in(context_of(probe, "scanner-1", CredentialMethod::kSignature, covered)));
  probe.headers.set("Custos-Geo", "52.37452,4.89");  // ~503 m
  EXPECT_FALSE(geofence_in(context_of(probe, "scanner-1", CredentialMethod::kSignature, covered)));
  // Inside, but not covered by the signature, or not a signature at all.
  probe.headers.set("Custos-Geo", std::string(kNorthInside));
  EXPECT_TRUE(geofence_in(context_of(probe, "scanner-1", CredentialMethod::kSignature, covered)));
  EXPECT_FALSE(geofence_in(context_of(probe, "scanner-1", CredentialMethod::kSignature, {})));
  EXPECT_FALSE(geofence_in(context_of(probe, "scanner-1", CredentialMethod::kSession, covered)));

  // Malformed positions are not a 400, just not inside the fence.
  for (const char* malformed : {"north", "52.372;4.89", "52.372", "91,4.89", ""}) {
    auto result = append(
        signed_request(scanner, {{"Custos-Device-Posture", "healthy"}, {"Custos-Geo", malformed}}));
    EXPECT_EQ(status_of(result), 403) << malformed;
  }
  // Uncovered position: refused even though it is inside.
  EXPECT_EQ(status_of(append(signed_request(scanner, {{"Custos-Device-Posture", "healthy"}},
                                            {{"Custos-Geo", std::string(kNorthInside)}}))),
            403);
  // No geofence configured for the site: never inside.
  probe.headers.set("Custos-Geo", "0,0");
  EXPECT_FALSE(geofence_in(context_of(probe, "bare-1", CredentialMethod::kSignature, covered)));
  EXPECT_EQ(status_of(append(signed_request(bare, healthy_at("0,0")))), 403);
  // A site without a profile: no hours, no fence.
  auto nomad = append(signed_request(homeless, healthy_at("0,0")));
  EXPECT_EQ(status_of(nomad), 403);
  HttpRequest nowhere = bare_request("GET", "/x", "");
  AuthorizationContext context = context_of(nowhere, "nomad-1", CredentialMethod::kSignature, {});
  EXPECT_EQ(extra(context, "site_hours_start"), nullptr);
  EXPECT_EQ(context.utc_offset_minutes, 0);
}

TEST_F(GatekeeperTest, ApiTokenScopesLimitTheActionsBeforeThePolicies) {
  auto reader = test_support::make_writer_token(*identity_, "reader", {"log.read"});
  ASSERT_TRUE(reader.is_ok()) << reader.status().to_string();
  auto out_of_scope = append(bearer_request(*reader));
  ASSERT_EQ(status_of(out_of_scope), 403);
  const auto& response = std::get<HttpResponse>(out_of_scope);
  EXPECT_EQ(response.content_type, "application/problem+json");
  EXPECT_TRUE(std::regex_match(body_member(out_of_scope, "decision_id"), kDecisionId));
  EXPECT_NE(body_member(out_of_scope, "detail").find("scopes"), std::string::npos);

  // The policies alone would have allowed it: the scope check came first.
  AuthenticatedPrincipal who;
  who.principal = identity_->find_principal("reader");
  who.method = CredentialMethod::kApiToken;
  who.scopes = {"log.read"};
  EXPECT_TRUE(
      access_->authorizer()
          .authorize(who, "log.append", policy::EntityUid{"Custos::Log", std::string(kOrigin)})
          .allowed);

  auto writer = test_support::make_writer_token(*identity_, "writer");
  ASSERT_TRUE(writer.is_ok());
  auto allowed = append(bearer_request(*writer));
  ASSERT_EQ(status_of(allowed), 0) << std::get<HttpResponse>(allowed).body;
  EXPECT_EQ(std::get<AccessGrant>(allowed).who.method, CredentialMethod::kApiToken);
  EXPECT_EQ(std::get<AccessGrant>(allowed).decision.policy_ids,
            std::vector<std::string>{"log-append-writer"});
  // A scope is not a role: a token scoped for log.append of a principal
  // without log_writer is refused by the policies.
  std::string stranger = user_token("stranger", {"operator"}, {"log.append"});
  EXPECT_EQ(status_of(append(bearer_request(stranger))), 403);
}

TEST_F(GatekeeperTest, QuarantinedDeviceMayOnlyReadItsOwnStatus) {
  const auto& scanner = device("scanner-1", "north");
  device("scanner-2", "north");
  ASSERT_EQ(status_of(check(signed_request(scanner, {}), self_status_access(false))), 0);

  ASSERT_TRUE(identity_
                  ->apply(
                      identity::PrincipalStatusChange{
                          "scanner-1", identity::PrincipalStatus::kQuarantined, "tamper alarm"},
                      "test", "dec-test")
                  .is_ok());
  // A normal route refuses it at authentication.
  auto refused = append(signed_request(scanner, healthy_at(kNorthInside)));
  EXPECT_EQ(status_of(refused), 401);
  EXPECT_EQ(reason_of(refused), "principal_quarantined");
  EXPECT_EQ(status_of(check(signed_request(scanner, {}), self_status_access(false))), 401);

  // The status route lets it through to the policies: its own status only.
  auto own = check(signed_request(scanner, {}), self_status_access(true));
  ASSERT_EQ(status_of(own), 0) << std::get<HttpResponse>(own).body;
  EXPECT_EQ(policies_of(own), std::vector<std::string>{"status-read-self"});
  EXPECT_EQ(std::get<AccessGrant>(own).who.principal->status,
            identity::PrincipalStatus::kQuarantined);

  auto other = check(signed_request(scanner, {}),
                     fixed_access("status.read", {"Custos::Device", "scanner-2"}, true));
  EXPECT_EQ(status_of(other), 403);
  EXPECT_NE(body_member(other, "detail").find("forbid-quarantined"), std::string::npos)
      << body_member(other, "detail");
  EXPECT_TRUE(std::regex_match(body_member(other, "decision_id"), kDecisionId));

  auto write = check(signed_request(scanner, healthy_at(kNorthInside)),
                     RouteAccess{"log.append", log_stream_resource(std::string(kOrigin)), true});
  EXPECT_EQ(status_of(write), 403);
  EXPECT_NE(body_member(write, "detail").find("forbid-quarantined"), std::string::npos);

  // Reactivated, it appends again.
  ASSERT_TRUE(identity_
                  ->apply(identity::PrincipalStatusChange{"scanner-1",
                                                          identity::PrincipalStatus::kActive, "ok"},
                          "test", "dec-test")
                  .is_ok());
  EXPECT_EQ(status_of(append(signed_request(scanner, healthy_at(kNorthInside)))), 0);
}

TEST_F(GatekeeperTest, SuspendedOrRevokedPrincipalsAreRefusedAtAuthentication) {
  const auto& scanner = device("scanner-1", "north");
  ASSERT_TRUE(
      identity_
          ->apply(identity::PrincipalStatusChange{"scanner-1",
                                                  identity::PrincipalStatus::kSuspended, "x"},
                  "test", "dec-test")
          .is_ok());
  auto suspended = check(signed_request(scanner, {}), self_status_access(true));
  EXPECT_EQ(status_of(suspended), 401);
  EXPECT_EQ(reason_of(suspended), "principal_suspended");
  ASSERT_TRUE(identity_
                  ->apply(identity::PrincipalStatusChange{"scanner-1",
                                                          identity::PrincipalStatus::kRevoked, "x"},
                          "test", "dec-test")
                  .is_ok());
  EXPECT_EQ(reason_of(append(signed_request(scanner, healthy_at(kNorthInside)))),
            "principal_revoked");
}

class TwoPersonRuleTest : public GatekeeperTest {
 protected:
  void SetUp() override {
    GatekeeperTest::SetUp();
    alice_ = user_token("alice", {"policy_admin"}, {"policy.change", "cage.release"});
    bob_ = user_token("bob", {"policy_admin"}, {"policy.change"});
    carol_ = user_token("carol", {"policy_admin"}, {"policy.change"});
  }

  std::variant<AccessGrant, HttpResponse> change_policy(const std::string& token,
                                                        const std::string& approvals = "",
                                                        std::string policy = "active") {
    Fields fields;
    if (!approvals.empty()) fields.emplace_back("Custos-Approval", approvals);
    return check(bearer_request(token, fields),
                 fixed_access("policy.change", {"Custos::Policy", std::move(policy)}));
  }

  std::string grant(const std::string& approver, const std::string& requester,
                    const std::string& action = "policy.change",
                    policy::EntityUid resource = {"Custos::Policy", "active"},
                    std::chrono::microseconds ttl = std::chrono::minutes(10)) {
    auto approval =
        access_->approvals().grant(approver, requester, action, resource, ttl, "dec-approve");
    EXPECT_TRUE(approval.is_ok()) << approval.status().to_string();
    return approval.is_ok() ? approval->id : std::string();
  }

  std::string alice_, bob_, carol_;
};

TEST_F(TwoPersonRuleTest, PolicyChangeNeedsAnotherUsersApproval) {
  auto alone = change_policy(alice_);
  ASSERT_EQ(status_of(alone), 403);
  EXPECT_NE(body_member(alone, "detail").find("forbid-two-person-rule"), std::string::npos)
      << body_member(alone, "detail");
  EXPECT_TRUE(std::regex_match(body_member(alone, "decision_id"), kDecisionId));

  const std::string approval = grant("bob", "alice");
  auto approved = change_policy(alice_, approval);
  ASSERT_EQ(status_of(approved), 0) << std::get<HttpResponse>(approved).body;
  EXPECT_EQ(policies_of(approved), std::vector<std::string>{"policy-change-policy-admin"});

  // Used up by the allowed request.
  EXPECT_EQ(access_->approvals().live(), 0u);
  EXPECT_EQ(status_of(change_policy(alice_, approval)), 403);

  // Among unknown ids, a valid one still counts.
  const std::string second = grant("carol", "alice");
  EXPECT_EQ(status_of(change_policy(alice_, "apr-00000000000000000000000000000000, " + second)), 0);
}

TEST_F(TwoPersonRuleTest, ApprovalsExpire) {
  const std::string approval =
      grant("bob", "alice", "policy.change", {"Custos::Policy", "active"}, std::chrono::minutes(5));
  clock_.advance(5 * kMinute);
  EXPECT_EQ(status_of(change_policy(alice_, approval)), 403);
  const std::string fresh =
      grant("bob", "alice", "policy.change", {"Custos::Policy", "active"}, std::chrono::minutes(5));
  clock_.advance(5 * kMinute - 1);
  EXPECT_EQ(status_of(change_policy(alice_, fresh)), 0);
}

TEST_F(TwoPersonRuleTest, AnApprovalForAnythingElseDoesNotCount) {
  const std::string other_action =
      grant("bob", "alice", "cage.release", {"Custos::Policy", "active"});
  const std::string other_resource =
      grant("bob", "alice", "policy.change", {"Custos::Policy", "draft"});
  const std::string other_requester = grant("bob", "carol");
  for (const std::string& id : {other_action, other_resource, other_requester}) {
    auto result = change_policy(alice_, id);
    EXPECT_EQ(status_of(result), 403) << id;
    EXPECT_NE(body_member(result, "detail").find("forbid-two-person-rule"), std::string::npos);
  }
  // None was used up; each still works for what it was granted for.
  EXPECT_EQ(access_->approvals().live(), 3u);
  EXPECT_EQ(status_of(change_policy(alice_, other_resource, "draft")), 0);
  EXPECT_EQ(status_of(change_policy(carol_, other_requester)), 0);
  // An allowed request uses up only its own approval.
  const std::string matching = grant("bob", "alice");
  EXPECT_EQ(status_of(change_policy(alice_, matching + "," + other_action)), 0);
  EXPECT_EQ(access_->approvals().live(), 1u);

  // The requester cannot approve itself, and a role-less user gains nothing by approval.
  EXPECT_EQ(access_->approvals()
                .grant("alice", "alice", "policy.change", {"Custos::Policy", "active"},
                       std::chrono::minutes(5), "")
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  std::string dave = user_token("dave", {"operator"}, {"policy.change"});
  EXPECT_EQ(status_of(change_policy(dave, grant("bob", "dave"))), 403);
}

TEST_F(GatekeeperTest, RefusalsAndDecisionsAreCounted) {
  const auto& scanner = device("scanner-1", "north");
  auto writer = test_support::make_writer_token(*identity_, "writer");
  auto reader = test_support::make_writer_token(*identity_, "reader", {"log.read"});
  ASSERT_TRUE(writer.is_ok() && reader.is_ok());

  auto bad_token = append(bearer_request("ffffffffffffffffffffffffffffffff"));
  EXPECT_EQ(reason_of(bad_token), "invalid_token");
  HttpRequest anonymous = bare_request("POST", std::string(sdk_append_path()), "payload");
  EXPECT_EQ(reason_of(append(anonymous)), "missing_credentials");
  HttpRequest once = signed_request(scanner, healthy_at(kNorthInside));
  EXPECT_EQ(status_of(append(once)), 0);
  auto replayed = append(once);
  EXPECT_EQ(status_of(replayed), 401);
  EXPECT_EQ(reason_of(replayed), "replayed_nonce");
  EXPECT_EQ(status_of(append(bearer_request(*writer))), 0);
  EXPECT_EQ(status_of(append(bearer_request(*reader))), 403);
  EXPECT_EQ(status_of(append(signed_request(scanner, healthy_at(kNorthOutside)))), 403);

  EXPECT_EQ(metric("custos_auth_failures_total{reason=\"invalid_token\"}"), 1);
  EXPECT_EQ(metric("custos_auth_failures_total{reason=\"missing_credentials\"}"), 1);
  EXPECT_EQ(metric("custos_auth_failures_total{reason=\"replayed_nonce\"}"), 1);
  EXPECT_EQ(metric("custos_authz_decisions_total{action=\"log.append\",result=\"allow\"}"), 2);
  EXPECT_EQ(metric("custos_authz_decisions_total{action=\"log.append\",result=\"deny\"}"), 2);
}

TEST_F(GatekeeperTest, ForgedOrTamperedSignaturesAreRefusedWithTheirReason) {
  const auto& scanner = device("scanner-1", "north");
  HttpRequest tampered = signed_request(scanner, healthy_at(kNorthInside));
  tampered.body = "other payload";
  EXPECT_EQ(reason_of(append(tampered)), "digest_mismatch");

  HttpRequest moved = signed_request(scanner, healthy_at(kNorthInside));
  moved.headers.set("Custos-Geo", kNorthOutside);  // a covered value changed in transit
  EXPECT_EQ(reason_of(append(moved)), "bad_signature");
  // The forged attempts did not burn the nonce of a genuine request.
  HttpRequest genuine = signed_request(scanner, healthy_at(kNorthInside));
  HttpRequest forged = genuine;
  forged.headers.set("Custos-Device-Posture", "compromised");
  EXPECT_EQ(reason_of(append(forged)), "bad_signature");
  EXPECT_EQ(status_of(append(genuine)), 0);

  auto stranger = sdk::RequestSigner::create("dev-unknown", Ed25519KeyPair::generate());
  ASSERT_TRUE(stranger.is_ok());
  EXPECT_EQ(reason_of(append(signed_request(*stranger, {}))), "unknown_key");

  // Created more than five minutes ago.
  HttpRequest stale = signed_request(scanner, healthy_at(kNorthInside));
  clock_.advance(301 * kMicros);
  EXPECT_EQ(reason_of(append(stale)), "created_out_of_window");
}

TEST_F(GatekeeperTest, ResourceErrorsBecomeProblemsAfterAuthentication) {
  auto writer = test_support::make_writer_token(*identity_, "writer");
  ASSERT_TRUE(writer.is_ok());
  auto failing = [](Status status) {
    return RouteAccess{
        "log.append",
        [status](const HttpRequest&, const RouteParams&,
                 const AuthenticatedPrincipal&) -> Result<policy::Entity> { return status; }};
  };
  EXPECT_EQ(status_of(check(bearer_request(*writer), failing(not_found("no such dock")))), 404);
  EXPECT_EQ(status_of(check(bearer_request(*writer), failing(invalid_argument("bad id")))), 400);
  // Unauthenticated callers learn nothing about the resource.
  EXPECT_EQ(status_of(check(bearer_request("nope"), failing(not_found("no such dock")))), 401);
}

TEST_F(GatekeeperTest, GuardRunsTheHandlerOnlyForAnAllowedRequest) {
  auto writer = test_support::make_writer_token(*identity_, "writer");
  ASSERT_TRUE(writer.is_ok());
  int handled = 0;
  std::string handled_for;
  Handler handler = access_->gatekeeper().guard(
      append_access(),
      [&](const HttpRequest&, const RouteParams&, AccessGrant grant, Responder respond) {
        ++handled;
        handled_for = grant.who.id();
        respond(json_response(201, "{}"));
      });
  std::optional<HttpResponse> answer;
  auto responder = [&](HttpResponse response) { answer = std::move(response); };

  handler(bearer_request(*writer), RouteParams{}, responder);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 201);
  EXPECT_EQ(handled, 1);
  EXPECT_EQ(handled_for, "writer");

  answer.reset();
  handler(bearer_request("ffffffffffffffffffffffffffffffff"), RouteParams{}, responder);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->status, 401);
  EXPECT_TRUE(answer->headers.get("WWW-Authenticate").has_value());
  EXPECT_EQ(handled, 1);
}

}  // namespace
}  // namespace custos
