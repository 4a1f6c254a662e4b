// Fuzzes RequestAuthenticator::authenticate with arbitrary credential header
// values: the Authorization header, and the Signature-Input / Signature pair.
//
// The first input byte picks the mode (byte % 5), the rest is the value:
//   0  Authorization: <rest>
//   1  Signature-Input: <rest>, Signature: a valid signature of the request
//   2  Signature-Input: valid, Signature: <rest>
//   3  Signature-Input: <rest up to the first '\n'>, Signature: <the remainder>
//   4  as 3, plus "Authorization: Bearer <a live API token>" (never a downgrade)
// Before use, these placeholders in the value are replaced, so the fuzzer can
// start from (and mutate around) credentials that are live in this process:
//   @api@ @session@    a live API token / session of the active user "user-1"
//   @api2@             an API token of the suspended user "user-2"
//   @revoked@          a revoked API token of "user-1"
//   @si@ @sig@         Signature-Input / Signature of the request by active device "dev-1"
//   @si2@ @sig2@       the same by suspended device "dev-2"
// The identity service (temporary store + log, fixed ManualClock) is set up
// once; each input gets a fresh NonceCache, so a valid signature is accepted
// on every run. Checked: no crash or sanitizer report; a refusal has a reason
// from the kReason* set and a non-empty message, never containing a live
// token, and renders as a 401 problem; an acceptance names the only active
// principals ("dev-1" by signature, "user-1" by token), and a request that
// carries signature fields is never accepted by its bearer token.
// With CUSTOS_FUZZ_VERBOSE set, each input's verdict is printed (for triage).
#include <unistd.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "custos/core/bytes.h"
#include "custos/core/clock.h"
#include "custos/crypto/content_digest.h"
#include "custos/crypto/ed25519.h"
#include "custos/crypto/http_signature.h"
#include "custos/identity/identity_service.h"
#include "custos/identity/nonce_cache.h"
#include "custos/ledger/log.h"
#include "custos/server/auth.h"
#include "custos/server/http.h"
#include "custos/store/store.h"

namespace {

using custos::UnixMicros;
namespace identity = custos::identity;

constexpr UnixMicros kNow = 1'780'000'000'000'000;
constexpr std::string_view kHost = "custos.test:8080";
constexpr std::string_view kTarget = "/custos/v1/log/entries";
constexpr std::string_view kBody =
    R"({"event":"scan","epc":"urn:epc:id:sgtin:0614141.107346.2017"})";
const std::string kActor = "fuzz-setup";
const std::string kDecision = "dec-fuzz-setup";

constexpr std::array<std::string_view, 21> kReasons = {
    custos::kReasonMissingCredentials,   custos::kReasonUnsupportedCredentials,
    custos::kReasonMalformedRequest,     custos::kReasonMissingSignature,
    custos::kReasonMalformedSignature,   custos::kReasonUnsupportedAlgorithm,
    custos::kReasonMissingParameter,     custos::kReasonMissingComponent,
    custos::kReasonUnknownKey,           custos::kReasonKeyExpired,
    custos::kReasonKeyNotYetValid,       custos::kReasonPrincipalSuspended,
    custos::kReasonPrincipalQuarantined, custos::kReasonPrincipalRevoked,
    custos::kReasonBadSignature,         custos::kReasonDigestMismatch,
    custos::kReasonSignatureExpired,     custos::kReasonCreatedOutOfWindow,
    custos::kReasonReplayedNonce,        custos::kReasonNonceCacheFull,
    custos::kReasonInvalidToken,
};

[[noreturn]] void fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "bearer_token_fuzz: %s %.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

template <typename T>
T value_or_die(custos::Result<T> result, const char* what) {
  if (!result.is_ok()) fail(what, result.status().to_string());
  return std::move(result).value();
}

void ok_or_die(const custos::Status& status, const char* what) {
  if (!status.is_ok()) fail(what, status.to_string());
}

// Everything set up once per process.
struct Fixture {
  std::filesystem::path dir;
  custos::ManualClock clock{kNow};
  std::unique_ptr<custos::store::Store> store;
  std::unique_ptr<custos::ledger::Log> log;
  std::unique_ptr<identity::IdentityService> service;
  std::vector<std::pair<std::string, std::string>> placeholders;  // longest names first
  std::string live_api_token, live_session_token, suspended_api_token, revoked_api_token;
  std::string valid_signature_input, valid_signature;            // dev-1's, for base_request()
  bool verbose = std::getenv("CUSTOS_FUZZ_VERBOSE") != nullptr;  // one verdict line per input

  Fixture() {
    dir = std::filesystem::temp_directory_path() /
          ("custos-bearer-token-fuzz-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir);
    custos::store::StoreOptions store_options;
    store_options.block_cache_mb = 8;
    store_options.write_buffer_mb = 4;
    store = value_or_die(custos::store::Store::open(dir.string(), store_options), "store");
    custos::ledger::LogOptions log_options;
    log_options.origin = "fuzz.example/custos/auth";
    log_options.clock = &clock;
    log_options.sign_checkpoint = [](std::string_view body) -> custos::Result<std::string> {
      return std::string(body) + "\n\u2014 fuzz-signer AAAA\n";
    };
    log = value_or_die(custos::ledger::Log::open(*store, std::move(log_options)), "log");
    identity::IdentityOptions options;
    options.password_limits = custos::PasswordHashLimits::minimum();
    service = value_or_die(identity::IdentityService::open(*log, *store, clock, options), "open");

    // Devices: dev-1 active, dev-2 suspended; one key each from fixed seeds.
    std::string si2, sig2;
    enroll_device("dev-1", "key-dev-1", 1, valid_signature_input, valid_signature);
    enroll_device("dev-2", "key-dev-2", 2, si2, sig2);
    ok_or_die(
        service
            ->apply(identity::PrincipalStatusChange{"dev-2", identity::PrincipalStatus::kSuspended,
                                                    "fuzz"},
                    kActor, kDecision)
            .status(),
        "suspend dev-2");

    // Users: user-1 active (session, live and revoked API tokens), user-2 suspended.
    for (const char* id : {"user-1", "user-2"}) {
      identity::PrincipalAttributes user;
      user.id = id;
      user.kind = identity::PrincipalKind::kUser;
      user.display_name = id;
      user.roles = {"operator"};
      ok_or_die(service->create_user(user, "correct horse battery staple", false, kActor, kDecision)
                    .status(),
                "create_user");
    }
    constexpr auto kDay = std::chrono::hours(24);
    live_api_token =
        value_or_die(service->create_api_token("user-1", {"log.append"}, kDay, kActor, kDecision),
                     "api token")
            .token;
    auto revoked = value_or_die(
        service->create_api_token("user-1", {"log.read"}, kDay, kActor, kDecision), "api token");
    revoked_api_token = revoked.token;
    ok_or_die(service->revoke_api_token("user-1", revoked.token_id, kActor, kDecision).status(),
              "revoke");
    suspended_api_token =
        value_or_die(service->create_api_token("user-2", {"log.append"}, kDay, kActor, kDecision),
                     "api token")
            .token;
    live_session_token =
        value_or_die(service->login("user-1", "correct horse battery staple"), "login").token;
    ok_or_die(
        service
            ->apply(identity::PrincipalStatusChange{"user-2", identity::PrincipalStatus::kSuspended,
                                                    "fuzz"},
                    kActor, kDecision)
            .status(),
        "suspend user-2");

    placeholders = {{"@session@", live_session_token},
                    {"@revoked@", revoked_api_token},
                    {"@api2@", suspended_api_token},
                    {"@sig2@", sig2},
                    {"@si2@", si2},
                    {"@api@", live_api_token},
                    {"@sig@", valid_signature},
                    {"@si@", valid_signature_input}};
  }

  ~Fixture() {
    service.reset();
    log.reset();
    store.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }

  // The request every input is judged on, before credentials are added.
  static custos::HttpRequest base_request() {
    custos::HttpRequest request;
    request.method = "POST";
    request.target = request.path = std::string(kTarget);
    request.body = std::string(kBody);
    request.remote_address = "10.1.2.3:50000";
    request.headers.set("Host", kHost);
    request.headers.set("Content-Type", "application/json");
    request.headers.set("Content-Digest",
                        custos::content_digest_value(custos::as_bytes(request.body)));
    return request;
  }

  void enroll_device(const std::string& id, const std::string& key_id, uint8_t seed_byte,
                     std::string& signature_input, std::string& signature) {
    identity::PrincipalAttributes device;
    device.id = id;
    device.kind = identity::PrincipalKind::kDevice;
    device.subtype = identity::DeviceSubtype::kScanner;
    device.display_name = id;
    device.site = "site-1";
    device.zone = "dock-a";
    ok_or_die(service->apply(identity::PrincipalCreate{device}, kActor, kDecision).status(),
              "create device");
    std::array<uint8_t, 32> seed{};
    seed.fill(seed_byte);
    custos::Ed25519KeyPair key = value_or_die(
        custos::Ed25519KeyPair::from_seed(custos::ByteView(seed.data(), seed.size())), "seed");
    identity::KeyAdd add;
    add.principal_id = id;
    add.key_id = key_id;
    add.public_key = key.public_key();
    add.not_before = kNow - 3600LL * 1'000'000;
    ok_or_die(service->apply(add, kActor, kDecision).status(), "key.add");

    custos::HttpRequest request = base_request();
    custos::SignatureParams params;
    params.components = {custos::ComponentId{"@method", {}}, custos::ComponentId{"@target-uri", {}},
                         custos::ComponentId{"content-digest", {}}};
    params.created = kNow / 1'000'000;
    params.nonce = "bm9uY2Utb2YtdGhlLWZ1enplcg";
    params.alg = std::string(custos::kAlgEd25519);
    params.keyid = key_id;
    custos::SignedRequestView view;
    view.method = request.method;
    view.scheme = "http";
    view.authority = kHost;
    view.path = request.path;
    view.header_values = custos::header_values_from(request.headers.fields());
    view.body = request.body;
    auto headers = value_or_die(custos::sign_request(view, params, key, "custos"), "sign");
    signature_input = headers.signature_input;
    signature = headers.signature;
  }

  std::string substitute(std::string_view value) const {
    std::string text(value);
    for (const auto& [name, replacement] : placeholders) {
      for (size_t at = text.find(name); at != std::string::npos;
           at = text.find(name, at + replacement.size())) {
        text.replace(at, name.size(), replacement);
      }
    }
    return text;
  }
};

Fixture& fixture() {
  static Fixture instance;
  return instance;
}

bool contains(std::string_view haystack, std::string_view needle) {
  return !needle.empty() && haystack.find(needle) != std::string_view::npos;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Fixture& world = fixture();
  if (size == 0) return 0;
  const int mode = data[0] % 5;
  const std::string value =
      world.substitute(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1));

  custos::HttpRequest request = Fixture::base_request();
  if (mode == 0) {
    request.headers.set("Authorization", value);
  } else if (mode == 1 || mode == 2) {
    std::string input = world.valid_signature_input;
    std::string signature = world.valid_signature;
    (mode == 1 ? input : signature) = value;
    request.headers.set("Signature-Input", input);
    request.headers.set("Signature", signature);
  } else {
    size_t newline = value.find('\n');
    request.headers.set("Signature-Input", value.substr(0, newline));
    request.headers.set("Signature",
                        newline == std::string::npos ? std::string() : value.substr(newline + 1));
    if (mode == 4) request.headers.set("Authorization", "Bearer " + world.live_api_token);
  }

  identity::NonceCache nonces;
  custos::RequestAuthenticator authenticator(*world.service, nonces, world.clock);
  custos::AuthResult result = authenticator.authenticate(request);
  if (world.verbose) {
    std::fprintf(stderr, "mode %d: %s\n", mode,
                 result.is_ok() ? ("ok " + result->id() + " by " +
                                   std::string(custos::credential_method_name(result->method)))
                                      .c_str()
                                : result.status().to_string().c_str());
  }

  if (!result.is_ok()) {
    const custos::AuthFailure& failure = result.failure();
    bool known = false;
    for (std::string_view reason : kReasons) known |= failure.reason == reason;
    if (failure.reason.empty() || !known)
      fail("refusal with an undocumented reason:", failure.reason);
    if (failure.message.empty()) fail("refusal without a message, reason", failure.reason);
    for (const std::string* secret : {&world.live_api_token, &world.live_session_token,
                                      &world.suspended_api_token, &world.revoked_api_token}) {
      if (contains(failure.message, *secret))
        fail("a token leaked into the message:", failure.message);
    }
    if (result.status().code() != custos::StatusCode::kUnauthenticated)
      fail("refusal status is not Unauthenticated");
    custos::HttpResponse response = custos::unauthenticated_response(failure);
    if (response.status != 401 || response.body.empty()) fail("refusal does not render as a 401");
    return 0;
  }

  const custos::AuthenticatedPrincipal& who = result.value();
  if (!who.principal) fail("accepted without a principal");
  if (mode == 0) {
    if (who.method == custos::CredentialMethod::kSignature)
      fail("a bearer-only request was accepted as signed");
    if (who.id() != "user-1") fail("a token of an inactive principal was accepted:", who.id());
  } else {
    if (who.method != custos::CredentialMethod::kSignature)
      fail("a request with signature fields was accepted by its bearer token");
    if (who.id() != "dev-1") fail("a signature of an inactive principal was accepted:", who.id());
  }
  return 0;
}
