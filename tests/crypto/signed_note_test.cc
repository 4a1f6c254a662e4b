// C2SP signed notes: the vectors in tests/data/signed-note/vectors.md (from Go's
// sumdb/note tests), the spec's examples (tests/data/c2sp/signed-note.md) and
// malformed notes.
#include "custos/crypto/signed_note.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace custos {
namespace {

constexpr std::string_view kPeterPrivateKey =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
constexpr std::string_view kPeterVkey =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr std::string_view kEnochVkey =
    "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
constexpr std::string_view kText =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr std::string_view kPeterLine =
    "\xE2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/"
    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
constexpr std::string_view kEnochLine =
    "\xE2\x80\x94 EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/"
    "5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

std::string peter_note() { return std::string(kText) + "\n" + std::string(kPeterLine); }

class SignedNoteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto peter = NoteVerifier::parse(kPeterVkey);
    auto enoch = NoteVerifier::parse(kEnochVkey);
    ASSERT_TRUE(peter.is_ok()) << peter.status().to_string();
    ASSERT_TRUE(enoch.is_ok()) << enoch.status().to_string();
    peter_ = std::make_unique<NoteVerifier>(*peter);
    enoch_ = std::make_unique<NoteVerifier>(*enoch);
  }

  std::unique_ptr<NoteVerifier> peter_;
  std::unique_ptr<NoteVerifier> enoch_;
};

TEST_F(SignedNoteTest, VerifierKeysParseAndRoundTrip) {
  EXPECT_EQ(peter_->name(), "PeterNeumann");
  EXPECT_EQ(peter_->key_hash(), 0xc74f20a3u);
  EXPECT_EQ(peter_->vkey_string(), kPeterVkey);
  EXPECT_EQ(enoch_->name(), "EnochRoot");
  EXPECT_EQ(enoch_->key_hash(), 0xaf0cfe78u);
  EXPECT_EQ(enoch_->vkey_string(), kEnochVkey);
  EXPECT_EQ(note_key_hash("PeterNeumann", kNoteAlgorithmEd25519, peter_->public_key().view()),
            0xc74f20a3u);
}

TEST_F(SignedNoteTest, PrivateKeyParsesAndRoundTrips) {
  auto signer = NoteSigner::parse_private_key(kPeterPrivateKey);
  ASSERT_TRUE(signer.is_ok()) << signer.status().to_string();
  EXPECT_EQ(signer->name(), "PeterNeumann");
  EXPECT_EQ(signer->key_hash(), 0xc74f20a3u);
  EXPECT_EQ(signer->private_key_string(), kPeterPrivateKey);
  EXPECT_EQ(signer->verifier().vkey_string(), kPeterVkey);
}

TEST_F(SignedNoteTest, SigningGivesTheVectorLineExactly) {
  auto signer = NoteSigner::parse_private_key(kPeterPrivateKey);
  ASSERT_TRUE(signer.is_ok());
  EXPECT_EQ(signer->sign_line(kText), kPeterLine);
  const NoteSigner* signers[] = {&*signer};
  auto note = sign_note(kText, signers);
  ASSERT_TRUE(note.is_ok()) << note.status().to_string();
  EXPECT_EQ(*note, peter_note());
}

TEST_F(SignedNoteTest, OpensWithEachKnownKeyAndReportsUnknownOnes) {
  std::string note = std::string(kText) + "\n" + std::string(kPeterLine) + std::string(kEnochLine);
  const NoteVerifier* both[] = {peter_.get(), enoch_.get()};
  auto opened = open_note(note, both);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_EQ(opened->text, kText);
  ASSERT_EQ(opened->verified_by.size(), 2u);
  EXPECT_EQ(opened->verified_by[0], peter_.get());
  EXPECT_EQ(opened->verified_by[1], enoch_.get());
  EXPECT_TRUE(opened->unknown_signatures.empty());

  const NoteVerifier* enoch_only[] = {enoch_.get()};
  opened = open_note(note, enoch_only);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  ASSERT_EQ(opened->verified_by.size(), 1u);
  EXPECT_EQ(opened->verified_by[0], enoch_.get());
  ASSERT_EQ(opened->unknown_signatures.size(), 1u);
  EXPECT_EQ(opened->unknown_signatures[0].name, "PeterNeumann");
  EXPECT_EQ(opened->unknown_signatures[0].key_hash, 0xc74f20a3u);
  EXPECT_EQ(format_note_signature_line(opened->unknown_signatures[0]), kPeterLine);

  // Enoch's line alone, checked with his vkey (his private key is not published).
  const NoteVerifier* peter_only[] = {peter_.get()};
  std::string enoch_note = std::string(kText) + "\n" + std::string(kEnochLine);
  EXPECT_TRUE(open_note(enoch_note, enoch_only).is_ok());
  EXPECT_EQ(open_note(enoch_note, peter_only).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(SignedNoteTest, RefusesTheBadVerifierKeysListed) {
  EXPECT_FALSE(NoteVerifier::parse(
                   "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==")
                   .is_ok());
  EXPECT_FALSE(
      NoteVerifier::parse("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
          .is_ok());
  EXPECT_FALSE(NoteVerifier::parse("").is_ok());
  EXPECT_FALSE(NoteVerifier::parse("PeterNeumann").is_ok());
  // Uppercase hex is not the canonical form.
  EXPECT_FALSE(
      NoteVerifier::parse("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
          .is_ok());
  // A name with a space.
  EXPECT_FALSE(
      NoteVerifier::parse("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
          .is_ok());
}

TEST_F(SignedNoteTest, RefusesEveryTruncationOfTheGoodVerifierKey) {
  for (size_t length = 0; length < kPeterVkey.size(); ++length) {
    EXPECT_FALSE(NoteVerifier::parse(kPeterVkey.substr(0, length)).is_ok()) << "length " << length;
  }
}

TEST_F(SignedNoteTest, RefusesEverySingleByteIncrementOfTheGoodVerifierKey) {
  for (size_t i = 0; i < kPeterVkey.size(); ++i) {
    std::string changed(kPeterVkey);
    changed[i] = static_cast<char>(changed[i] + 1);
    EXPECT_FALSE(NoteVerifier::parse(changed).is_ok()) << "byte " << i << ": " << changed;
  }
}

TEST_F(SignedNoteTest, RefusesBadPrivateKeys) {
  for (size_t length = 0; length < kPeterPrivateKey.size(); ++length) {
    EXPECT_FALSE(NoteSigner::parse_private_key(kPeterPrivateKey.substr(0, length)).is_ok())
        << "length " << length;
  }
  for (size_t i = 0; i < kPeterPrivateKey.size(); ++i) {
    std::string changed(kPeterPrivateKey);
    changed[i] = static_cast<char>(changed[i] + 1);
    EXPECT_FALSE(NoteSigner::parse_private_key(changed).is_ok()) << "byte " << i;
  }
  // A verifier key is not a private key.
  EXPECT_FALSE(NoteSigner::parse_private_key(kPeterVkey).is_ok());
}

TEST_F(SignedNoteTest, VerifiesTheSpecExample) {
  auto verifier =
      NoteVerifier::parse("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k");
  ASSERT_TRUE(verifier.is_ok()) << verifier.status().to_string();
  std::string note =
      "This is an example message.\n\n\xE2\x80\x94 example.com/foo "
      "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM="
      "\n";
  const NoteVerifier* known[] = {&*verifier};
  auto opened = open_note(note, known);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_EQ(opened->text, "This is an example message.\n");
}

TEST_F(SignedNoteTest, TextMayHoldBlankLinesAndEndsAtTheLastOne) {
  // The spec's first example: the text's own blank line stays in the text.
  std::string note =
      "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \xC3\xA8 subito "
      "sera.\n\n\xE2\x80\x94 quasimodo.example/salvatore "
      "NnugSzTjtVAewIS+Z/iJhUPeFDkO/"
      "5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n";
  auto parsed = parse_note(note);
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->text,
            "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned \xC3\xA8 "
            "subito sera.\n");
  ASSERT_EQ(parsed->signatures.size(), 1u);
  EXPECT_EQ(parsed->signatures[0].name, "quasimodo.example/salvatore");
  EXPECT_EQ(parsed->signatures[0].signature.size(), 64u);

  // And signing such a text round-trips.
  auto signer = NoteSigner::parse_private_key(kPeterPrivateKey);
  ASSERT_TRUE(signer.is_ok());
  const NoteSigner* signers[] = {&*signer};
  auto signed_note = sign_note("a\n\nb\n\n", signers);
  ASSERT_TRUE(signed_note.is_ok());
  const NoteVerifier* known[] = {peter_.get()};
  auto opened = open_note(*signed_note, known);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_EQ(opened->text, "a\n\nb\n\n");
}

TEST_F(SignedNoteTest, RefusesMalformedNotes) {
  const NoteVerifier* known[] = {peter_.get()};
  const std::string line(kPeterLine);
  const std::string text(kText);
  const std::vector<std::pair<std::string, std::string>> malformed = {
      {"missing blank line", text + line},
      {"no signatures", text + "\n"},
      {"empty note", ""},
      {"no final newline", text + "\n" + line.substr(0, line.size() - 1)},
      {"bad base64", text + "\n\xE2\x80\x94 PeterNeumann x08go/ZJkuBS9UG!\n"},
      {"empty signature", text + "\n\xE2\x80\x94 PeterNeumann \n"},
      {"signature of only a key hash", text + "\n\xE2\x80\x94 PeterNeumann x08gow==\n"},
      {"no space after name", text + "\n\xE2\x80\x94 PeterNeumann\n"},
      {"hyphen instead of em dash", text + "\n- PeterNeumann " + line.substr(17)},
      {"em dash without space", text + "\n\xE2\x80\x94PeterNeumann " + line.substr(17)},
      {"name with plus", text + "\n\xE2\x80\x94 Peter+Neumann " + line.substr(17)},
      {"two spaces", text + "\n\xE2\x80\x94 PeterNeumann  " + line.substr(17)},
      {"trailing space", text + "\n" + line.substr(0, line.size() - 1) + " \n"},
      {"junk line among signatures", text + "\n" + line + "junk\n"},
      {"carriage return", text + "\n" + line.substr(0, line.size() - 1) + "\r\n"},
      {"control character in text", "tab\there\n\n" + line},
      {"invalid UTF-8", "caf\xC3\n\n" + line},
      {"overlong UTF-8", "\xC0\xAF\n\n" + line},
      {"surrogate in UTF-8", "\xED\xA0\x80\n\n" + line},
  };
  for (const auto& [what, note] : malformed) {
    auto opened = open_note(note, known);
    EXPECT_FALSE(opened.is_ok()) << what;
    EXPECT_EQ(opened.status().code(), StatusCode::kInvalidArgument) << what;
    EXPECT_FALSE(parse_note(note).is_ok()) << what;
  }
  // The line itself is well-formed.
  EXPECT_EQ(line.substr(17, 4), "x08g");
}

TEST_F(SignedNoteTest, RefusesWrongKeyHashAndTamperedText) {
  const NoteVerifier* known[] = {peter_.get()};
  // Same name, other key hash: an unknown key, so no known key signed.
  auto signature = parse_note(peter_note())->signatures[0];
  signature.key_hash ^= 1;
  std::string wrong_hash = std::string(kText) + "\n" + format_note_signature_line(signature);
  auto opened = open_note(wrong_hash, known);
  EXPECT_EQ(opened.status().code(), StatusCode::kUnauthenticated);

  std::string tampered = peter_note();
  tampered[3] = 'X';
  EXPECT_EQ(open_note(tampered, known).status().code(), StatusCode::kUnauthenticated);

  // A known key whose signature fails spoils the note even if another verifies.
  NoteSignature bad = parse_note(peter_note())->signatures[0];
  bad.signature[10] ^= 0x40;
  std::string mixed =
      std::string(kText) + "\n" + std::string(kEnochLine) + format_note_signature_line(bad);
  const NoteVerifier* both[] = {peter_.get(), enoch_.get()};
  EXPECT_EQ(open_note(mixed, both).status().code(), StatusCode::kUnauthenticated);

  // A known name and hash with a signature of the wrong length fails too.
  NoteSignature short_signature = parse_note(peter_note())->signatures[0];
  short_signature.signature.resize(63);
  std::string short_note = std::string(kText) + "\n" + format_note_signature_line(short_signature);
  EXPECT_EQ(open_note(short_note, known).status().code(), StatusCode::kUnauthenticated);

  // No verifiers at all.
  EXPECT_EQ(open_note(peter_note(), {}).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(SignedNoteTest, IgnoresUnknownKeysSharingANameOrHash) {
  NoteSignature other_hash = parse_note(peter_note())->signatures[0];
  other_hash.key_hash += 1;
  NoteSignature other_name = parse_note(peter_note())->signatures[0];
  other_name.name = "PeterNeumann2";
  std::string note = std::string(kText) + "\n" + format_note_signature_line(other_hash) +
                     format_note_signature_line(other_name) +
                     format_note_signature_line(other_name) + std::string(kPeterLine);
  const NoteVerifier* known[] = {peter_.get()};
  auto opened = open_note(note, known);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  ASSERT_EQ(opened->verified_by.size(), 1u);
  // The repeated unknown signature is reported once.
  ASSERT_EQ(opened->unknown_signatures.size(), 2u);
  EXPECT_EQ(opened->unknown_signatures[0], other_hash);
  EXPECT_EQ(opened->unknown_signatures[1], other_name);
}

TEST_F(SignedNoteTest, LimitsTheNumberOfSignatures) {
  const NoteVerifier* known[] = {peter_.get()};
  std::string at_limit = std::string(kText) + "\n";
  for (size_t i = 0; i < kMaxNoteSignatures; ++i) at_limit += std::string(kPeterLine);
  auto opened = open_note(at_limit, known);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_EQ(opened->verified_by.size(), 1u);
  std::string over_limit = at_limit + std::string(kPeterLine);
  EXPECT_EQ(open_note(over_limit, known).status().code(), StatusCode::kInvalidArgument);

  std::string huge(kMaxNoteBytes, 'a');
  huge += "\n\n" + std::string(kPeterLine);
  EXPECT_EQ(open_note(huge, known).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SignedNoteTest, SignNoteRefusesBadInput) {
  auto signer = NoteSigner::parse_private_key(kPeterPrivateKey);
  ASSERT_TRUE(signer.is_ok());
  const NoteSigner* signers[] = {&*signer};
  EXPECT_FALSE(sign_note("no newline", signers).is_ok());
  EXPECT_FALSE(sign_note("", signers).is_ok());
  EXPECT_FALSE(sign_note("bell\a\n", signers).is_ok());
  EXPECT_FALSE(sign_note("bad \xFF utf-8\n", signers).is_ok());
  EXPECT_FALSE(sign_note(kText, {}).is_ok());
}

TEST_F(SignedNoteTest, GeneratedSignersRoundTrip) {
  auto log = NoteSigner::create("example.com/custos/log1", Ed25519KeyPair::generate());
  auto witness = NoteSigner::create("witness.example/w1", Ed25519KeyPair::generate());
  ASSERT_TRUE(log.is_ok() && witness.is_ok());
  const NoteSigner* signers[] = {&*log, &*witness};
  auto note = sign_note("example.com/custos/log1\n3\nroot\n", signers);
  ASSERT_TRUE(note.is_ok());
  auto log_verifier = NoteVerifier::parse(log->verifier().vkey_string());
  ASSERT_TRUE(log_verifier.is_ok());
  const NoteVerifier* known[] = {&*log_verifier};
  auto opened = open_note(*note, known);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_EQ(opened->unknown_signatures.size(), 1u);
  auto reparsed = NoteSigner::parse_private_key(log->private_key_string());
  ASSERT_TRUE(reparsed.is_ok());
  EXPECT_EQ(reparsed->key_hash(), log->key_hash());
}

TEST(NoteKeyNameTest, FollowsTheSpecRules) {
  EXPECT_TRUE(is_valid_note_key_name("example.com/foo"));
  EXPECT_TRUE(is_valid_note_key_name("PeterNeumann"));
  EXPECT_TRUE(is_valid_note_key_name("caf\xC3\xA9"));
  EXPECT_FALSE(is_valid_note_key_name(""));
  EXPECT_FALSE(is_valid_note_key_name("a+b"));
  EXPECT_FALSE(is_valid_note_key_name("a b"));
  EXPECT_FALSE(is_valid_note_key_name("a\tb"));
  EXPECT_FALSE(is_valid_note_key_name("a\nb"));
  EXPECT_FALSE(
      is_valid_note_key_name("a\xC2\xA0"
                             "b"));  // U+00A0 no-break space
  EXPECT_FALSE(
      is_valid_note_key_name("a\xE3\x80\x80"
                             "b"));  // U+3000 ideographic space
  EXPECT_FALSE(is_valid_note_key_name("a\xFF"));
  EXPECT_FALSE(NoteSigner::create("bad name", Ed25519KeyPair::generate()).is_ok());
  EXPECT_FALSE(NoteVerifier::create("", Ed25519PublicKey{}).is_ok());
}

}  // namespace
}  // namespace custos
