// IdentityService: validation of changes, keys and rotation, status changes,
// enrollment, and what the control entries in the log record.
#include "custos/identity/identity_service.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include "custos/crypto/password.h"
#include "identity_test_support.h"

namespace custos::identity::testing {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

class IdentityServiceTest : public IdentityFixture {
 protected:
  Ed25519KeyPair key_pair(uint8_t seed_byte) {
    return *Ed25519KeyPair::from_seed(Bytes(32, seed_byte));
  }
  void add_key(const std::string& principal_id, const std::string& key_id,
               const Ed25519PublicKey& key) {
    auto receipt = service_->apply(
        KeyAdd{principal_id, key_id, key, clock_.now_micros(), std::nullopt}, kActor, kDecision);
    ASSERT_TRUE(receipt.is_ok()) << receipt.status().to_string();
  }
  StatusCode apply_code(const ControlChange& change) {
    return service_->apply(change, kActor, kDecision).status().code();
  }
};

TEST_F(IdentityServiceTest, CreateAndFindPrincipals) {
  create(device("dev-0001", DeviceSubtype::kGate));
  create(device("dev-0002", DeviceSubtype::kTracker));
  create(user("alice", {"operator"}));
  PrincipalPtr found = service_->find_principal("dev-0001");
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->attributes, device("dev-0001", DeviceSubtype::kGate));
  EXPECT_EQ(found->status, PrincipalStatus::kActive);
  EXPECT_EQ(found->created_at_index, 0u);
  EXPECT_EQ(service_->find_principal("dev-9999"), nullptr);

  PrincipalFilter devices;
  devices.kind = PrincipalKind::kDevice;
  EXPECT_EQ(service_->list_principals(devices).size(), 2u);
  PrincipalFilter trackers;
  trackers.subtype = DeviceSubtype::kTracker;
  ASSERT_EQ(service_->list_principals(trackers).size(), 1u);
  EXPECT_EQ(service_->list_principals(trackers)[0]->id(), "dev-0002");
  PrincipalFilter prefix;
  prefix.id_prefix = "dev-";
  prefix.limit = 1;
  EXPECT_EQ(service_->list_principals(prefix).size(), 1u);
  PrincipalFilter role;
  role.role = "operator";
  EXPECT_EQ(service_->list_principals(role).size(), 1u);
  EXPECT_EQ(service_->list_principals().size(), 3u);
}

TEST_F(IdentityServiceTest, InvalidChangesAreRefusedAndNotLogged) {
  create(device("dev-1"));
  uint64_t size = log_->tree_size();
  EXPECT_EQ(apply_code(PrincipalCreate{device("dev-1")}), StatusCode::kAlreadyExists);
  EXPECT_EQ(apply_code(PrincipalCreate{device("bad id")}), StatusCode::kInvalidArgument);
  EXPECT_EQ(apply_code(PrincipalCreate{device("dev-2", DeviceSubtype::kNone)}),
            StatusCode::kInvalidArgument);
  PrincipalAttributes user_with_subtype = user("bob");
  user_with_subtype.subtype = DeviceSubtype::kGate;
  EXPECT_EQ(apply_code(PrincipalCreate{user_with_subtype}), StatusCode::kInvalidArgument);
  PrincipalAttributes bad_text = device("dev-3");
  bad_text.display_name = "line\nbreak";
  EXPECT_EQ(apply_code(PrincipalCreate{bad_text}), StatusCode::kInvalidArgument);
  bad_text.display_name = std::string("\xff\xfe", 2);
  EXPECT_EQ(apply_code(PrincipalCreate{bad_text}), StatusCode::kInvalidArgument);
  PrincipalUpdate empty_update;
  empty_update.id = "dev-1";
  EXPECT_EQ(apply_code(empty_update), StatusCode::kInvalidArgument);
  EXPECT_EQ(apply_code(PrincipalStatusChange{"dev-404", PrincipalStatus::kSuspended, ""}),
            StatusCode::kNotFound);
  EXPECT_EQ(apply_code(PrincipalStatusChange{"dev-1", PrincipalStatus::kActive, ""}),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(apply_code(KeyAdd{"dev-404", "k1", key_pair(1).public_key(), 0, std::nullopt}),
            StatusCode::kNotFound);
  EXPECT_EQ(apply_code(KeyAdd{"dev-1", "k 1", key_pair(1).public_key(), 0, std::nullopt}),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(apply_code(KeyAdd{"dev-1", "k1", key_pair(1).public_key(), 10, 10}),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(apply_code(KeyExpire{"dev-1", "k404", 0}), StatusCode::kNotFound);
  EXPECT_EQ(apply_code(TokenCreate{"dev-1", "tok-1", sha256("t"), {}, kStartTime + kSecond}),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(apply_code(TokenCreate{"dev-1", "tok-1", sha256("t"), {"read"}, kStartTime}),
            StatusCode::kInvalidArgument);  // already expired
  EXPECT_EQ(apply_code(UserPassword{"dev-1", sha256("x")}), StatusCode::kFailedPrecondition);
  EXPECT_EQ(apply_code(EnrollmentCreate{"dev-1", sha256("t"), kStartTime - 1}),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(apply_code(EnrollmentComplete{}), StatusCode::kInvalidArgument);
  // A user without a stored secret behind the commitment.
  create(user("carol"));
  size = log_->tree_size();
  EXPECT_EQ(apply_code(UserPassword{"carol", sha256("no such secret")}),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(service_->apply(PrincipalCreate{device("dev-9")}, "", kDecision).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->apply(PrincipalCreate{device("dev-9")}, kActor, "").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(log_->tree_size(), size);
}

TEST_F(IdentityServiceTest, UpdateReplacesOnlyGivenAttributes) {
  create(device("dev-1"));
  PrincipalUpdate update;
  update.id = "dev-1";
  update.zone = "yard";
  update.tags = std::map<std::string, std::string>{{"asset", "A-17"}};
  ASSERT_TRUE(service_->apply(update, kActor, kDecision).is_ok());
  PrincipalPtr principal = service_->find_principal("dev-1");
  EXPECT_EQ(principal->attributes.zone, "yard");
  EXPECT_EQ(principal->attributes.site, "site-1");
  EXPECT_EQ(principal->attributes.tags.at("asset"), "A-17");
  EXPECT_EQ(principal->last_change_index, 1u);
}

TEST_F(IdentityServiceTest, StatusChangesTakeEffectImmediately) {
  create(device("dev-1"));
  Ed25519KeyPair key = key_pair(1);
  add_key("dev-1", "k1", key.public_key());
  PrincipalPtr before = service_->find_principal("dev-1");
  EXPECT_EQ(service_->find_by_key_id("k1").verdict, KeyVerdict::kValid);
  KeyLookupFn lookup = service_->key_lookup();
  EXPECT_EQ(lookup("k1"), key.public_key());

  auto set_status = [&](PrincipalStatus status) {
    auto receipt =
        service_->apply(PrincipalStatusChange{"dev-1", status, "test"}, kActor, kDecision);
    ASSERT_TRUE(receipt.is_ok()) << receipt.status().to_string();
  };
  set_status(PrincipalStatus::kSuspended);
  EXPECT_EQ(service_->find_by_key_id("k1").verdict, KeyVerdict::kPrincipalSuspended);
  EXPECT_FALSE(lookup("k1").has_value());
  set_status(PrincipalStatus::kActive);
  EXPECT_EQ(service_->find_by_key_id("k1").verdict, KeyVerdict::kValid);
  set_status(PrincipalStatus::kQuarantined);
  EXPECT_EQ(service_->find_by_key_id("k1").verdict, KeyVerdict::kPrincipalQuarantined);
  set_status(PrincipalStatus::kRevoked);
  KeyLookup revoked = service_->find_by_key_id("k1");
  EXPECT_EQ(revoked.verdict, KeyVerdict::kPrincipalRevoked);
  EXPECT_EQ(revoked.principal->status_reason, "test");
  EXPECT_FALSE(lookup("k1").has_value());
  // Revoked is terminal, and a revoked principal gets no new keys.
  EXPECT_EQ(apply_code(PrincipalStatusChange{"dev-1", PrincipalStatus::kActive, ""}),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(apply_code(KeyAdd{"dev-1", "k2", key_pair(2).public_key(), 0, std::nullopt}),
            StatusCode::kFailedPrecondition);
  // A reader holding the earlier value still sees it unchanged.
  EXPECT_EQ(before->status, PrincipalStatus::kActive);
  EXPECT_EQ(service_->find_by_key_id("nope").verdict, KeyVerdict::kUnknownKey);
}

TEST_F(IdentityServiceTest, KeyIdsAndPublicKeysAreUnique) {
  create(device("dev-1"));
  create(device("dev-2"));
  add_key("dev-1", "k1", key_pair(1).public_key());
  EXPECT_EQ(apply_code(KeyAdd{"dev-2", "k1", key_pair(2).public_key(), 0, std::nullopt}),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(apply_code(KeyAdd{"dev-2", "k2", key_pair(1).public_key(), 0, std::nullopt}),
            StatusCode::kAlreadyExists);
}

TEST_F(IdentityServiceTest, KeyRotationOverlap) {
  create(device("dev-1"));
  Ed25519KeyPair old_key = key_pair(1);
  Ed25519KeyPair new_key = key_pair(2);
  add_key("dev-1", "k-old", old_key.public_key());
  clock_.advance(60 * kSecond);
  UnixMicros rotated_at = clock_.now_micros();
  auto receipts = service_->rotate_key("dev-1", "k-old", "k-new", new_key.public_key(), minutes(10),
                                       kActor, kDecision);
  ASSERT_TRUE(receipts.is_ok()) << receipts.status().to_string();
  ASSERT_EQ(receipts->size(), 2u);
  EXPECT_EQ((*receipts)[0].op, "key.add");
  EXPECT_EQ((*receipts)[1].op, "key.expire");

  // Both valid during the overlap; the new one not before the rotation.
  EXPECT_EQ(service_->find_by_key_id("k-old").verdict, KeyVerdict::kValid);
  EXPECT_EQ(service_->find_by_key_id("k-new").verdict, KeyVerdict::kValid);
  EXPECT_EQ(service_->find_by_key_id("k-new", rotated_at - 1).verdict, KeyVerdict::kNotYetValid);
  UnixMicros end = rotated_at + 600 * kSecond;
  EXPECT_EQ(service_->find_by_key_id("k-old", end - 1).verdict, KeyVerdict::kValid);
  EXPECT_EQ(service_->find_by_key_id("k-old", end).verdict, KeyVerdict::kExpired);
  EXPECT_EQ(service_->find_by_key_id("k-new", end).verdict, KeyVerdict::kValid);
  clock_.set(end);
  EXPECT_FALSE(service_->key_lookup()("k-old").has_value());
  EXPECT_EQ(service_->key_lookup()("k-new"), new_key.public_key());

  // not_after only moves earlier.
  EXPECT_EQ(apply_code(KeyExpire{"dev-1", "k-old", end + kSecond}),
            StatusCode::kFailedPrecondition);
  EXPECT_TRUE(
      service_->apply(KeyExpire{"dev-1", "k-old", end - kSecond}, kActor, kDecision).is_ok());
  EXPECT_EQ(service_
                ->rotate_key("dev-1", "k-missing", "k-3", key_pair(3).public_key(), minutes(1),
                             kActor, kDecision)
                .status()
                .code(),
            StatusCode::kNotFound);
}

class EnrollmentTest : public IdentityServiceTest {
 protected:
  void SetUp() override {
    IdentityServiceTest::SetUp();
    create(device("dev-7", DeviceSubtype::kDoorController));
    auto ticket = service_->create_enrollment("dev-7", minutes(30), kActor, kDecision);
    ASSERT_TRUE(ticket.is_ok()) << ticket.status().to_string();
    ticket_ = *ticket;
  }
  Ed25519Signature prove(const Ed25519KeyPair& key, const std::string& principal_id,
                         const std::string& token) {
    return key.sign(as_bytes(enrollment_proof_message(principal_id, key.public_key(), token)));
  }
  EnrollmentTicket ticket_;
};

TEST_F(EnrollmentTest, HappyPath) {
  EXPECT_EQ(ticket_.expires_at, kStartTime + 30 * 60 * kSecond);
  EXPECT_EQ(ticket_.token.size(), 43u);  // 32 bytes, base64url without padding
  Ed25519KeyPair key = Ed25519KeyPair::generate();
  clock_.advance(5 * kSecond);
  auto receipt = service_->complete_enrollment(ticket_.token, key.public_key(),
                                               prove(key, "dev-7", ticket_.token), "dec-enroll");
  ASSERT_TRUE(receipt.is_ok()) << receipt.status().to_string();
  EXPECT_EQ(receipt->op, "enrollment.complete");
  KeyLookup lookup = service_->find_by_key_id(key_id_for(key.public_key()));
  EXPECT_EQ(lookup.verdict, KeyVerdict::kValid);
  EXPECT_EQ(lookup.principal->id(), "dev-7");
  EXPECT_EQ(lookup.key.public_key, key.public_key());
  EXPECT_EQ(lookup.key.not_before, kStartTime + 5 * kSecond);
  // The entry is the device's own, with the decision given.
  auto entries = log_entries();
  EXPECT_EQ(entries.back().principal, "dev-7");
  auto decoded = decode_control_change(as_text(entries.back().payload));
  ASSERT_TRUE(decoded.is_ok());
  EXPECT_EQ(decoded->actor, "dev-7");
  EXPECT_EQ(decoded->decision_id, "dec-enroll");
}

TEST_F(EnrollmentTest, TokenIsSingleUse) {
  Ed25519KeyPair key = Ed25519KeyPair::generate();
  ASSERT_TRUE(service_
                  ->complete_enrollment(ticket_.token, key.public_key(),
                                        prove(key, "dev-7", ticket_.token), kDecision)
                  .is_ok());
  Ed25519KeyPair second = Ed25519KeyPair::generate();
  auto again = service_->complete_enrollment(ticket_.token, second.public_key(),
                                             prove(second, "dev-7", ticket_.token), kDecision);
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(service_->find_by_key_id(key_id_for(second.public_key())).verdict,
            KeyVerdict::kUnknownKey);
  // Still refused after a restart (the log remembers).
  restart();
  again = service_->complete_enrollment(ticket_.token, second.public_key(),
                                        prove(second, "dev-7", ticket_.token), kDecision);
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(EnrollmentTest, ExpiredTokenIsRefused) {
  clock_.advance(30 * 60 * kSecond);
  Ed25519KeyPair key = Ed25519KeyPair::generate();
  uint64_t size = log_->tree_size();
  auto receipt = service_->complete_enrollment(ticket_.token, key.public_key(),
                                               prove(key, "dev-7", ticket_.token), kDecision);
  EXPECT_EQ(receipt.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(receipt.status().message().find("expired"), std::string::npos);
  EXPECT_EQ(log_->tree_size(), size);
}

TEST_F(EnrollmentTest, BadProofOfPossessionIsRefused) {
  Ed25519KeyPair key = Ed25519KeyPair::generate();
  Ed25519KeyPair other = Ed25519KeyPair::generate();
  // Signed by another key.
  EXPECT_EQ(service_
                ->complete_enrollment(ticket_.token, key.public_key(),
                                      prove(other, "dev-7", ticket_.token), kDecision)
                .status()
                .code(),
            StatusCode::kUnauthenticated);
  // Signed for another principal.
  EXPECT_EQ(service_
                ->complete_enrollment(ticket_.token, key.public_key(),
                                      prove(key, "dev-8", ticket_.token), kDecision)
                .status()
                .code(),
            StatusCode::kUnauthenticated);
  // Unknown token.
  EXPECT_EQ(service_
                ->complete_enrollment("not-a-token", key.public_key(),
                                      prove(key, "dev-7", "not-a-token"), kDecision)
                .status()
                .code(),
            StatusCode::kUnauthenticated);
  // The failures did not use the token up.
  EXPECT_TRUE(service_
                  ->complete_enrollment(ticket_.token, key.public_key(),
                                        prove(key, "dev-7", ticket_.token), kDecision)
                  .is_ok());
}

TEST_F(EnrollmentTest, RevokedPrincipalCannotEnroll) {
  ASSERT_TRUE(service_
                  ->apply(PrincipalStatusChange{"dev-7", PrincipalStatus::kRevoked, "stolen"},
                          kActor, kDecision)
                  .is_ok());
  Ed25519KeyPair key = Ed25519KeyPair::generate();
  EXPECT_EQ(service_
                ->complete_enrollment(ticket_.token, key.public_key(),
                                      prove(key, "dev-7", ticket_.token), kDecision)
                .status()
                .code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(service_->create_enrollment("dev-7", minutes(5), kActor, kDecision).status().code(),
            StatusCode::kFailedPrecondition);
  create(device("dev-8"));
  EXPECT_EQ(service_->create_enrollment("dev-8", hours(24 * 30), kActor, kDecision).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(IdentityServiceTest, ControlEntriesRecordActorAndDecision) {
  create(device("dev-1"));
  ASSERT_TRUE(service_
                  ->apply(PrincipalStatusChange{"dev-1", PrincipalStatus::kSuspended, "x"},
                          "sec-officer", "policy-decision-42")
                  .is_ok());
  auto entries = log_entries();
  ASSERT_EQ(entries.size(), 2u);
  for (const ledger::LogEntry& entry : entries) {
    EXPECT_EQ(entry.kind, ledger::EntryKind::kControlChange);
    auto decoded = decode_control_change(as_text(entry.payload));
    ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
    EXPECT_EQ(entry.principal, decoded->actor);
  }
  EXPECT_EQ(entries[1].principal, "sec-officer");
  auto decoded = decode_control_change(as_text(entries[1].payload));
  EXPECT_EQ(decoded->decision_id, "policy-decision-42");
  EXPECT_EQ(std::get<PrincipalStatusChange>(decoded->change).status, PrincipalStatus::kSuspended);
  // The payload is JSON any parser reads.
  simdjson::dom::parser parser;
  simdjson::padded_string padded(as_text(entries[1].payload));
  simdjson::dom::element root;
  ASSERT_FALSE(parser.parse(padded).get(root));
  std::string_view op;
  ASSERT_FALSE(root["op"].get_string().get(op));
  EXPECT_EQ(op, "principal.status");
}

}  // namespace
}  // namespace custos::identity::testing
