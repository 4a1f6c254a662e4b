// custos crypto: C2SP signed notes (c2sp.org/signed-note) with Ed25519 keys.
//
// A signed note is a text ending in "\n", a blank line, then one or more
// signature lines "— <key name> base64(key hash || signature)\n". Checkpoints
// and cosignatures travel in this form. Keys are named; a key is identified by
// its name plus a 32-bit key hash, the first four bytes (big-endian) of
// SHA-256(name || 0x0A || algorithm byte || public key). Only Ed25519
// (algorithm byte 0x01) is supported.
//
// Opening a note follows the spec: signatures from unknown keys (name and
// hash not both matching a known verifier) are ignored but reported; every
// signature from a known key must verify, or the whole note is refused; and
// at least one known key must have signed. Parsing is strict: invalid UTF-8,
// control characters other than newline, malformed signature lines, more
// than kMaxNoteSignatures signatures or more than kMaxNoteBytes bytes are
// refused. Nothing here reads the note text's meaning.
//
// Text forms (compatible with Go's golang.org/x/mod/sumdb/note):
//   verifier key  "<name>+<8 lowercase hex key hash>+base64(0x01 || 32-byte public key)"
//   private key   "PRIVATE+KEY+<name>+<8 lowercase hex key hash>+base64(0x01 || 32-byte seed)"
//
// NoteSigner and NoteVerifier are immutable after construction, so all their
// const methods are thread-safe; the free functions are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "custos/core/bytes.h"
#include "custos/core/status.h"
#include "custos/crypto/ed25519.h"

namespace custos {

inline constexpr uint8_t kNoteAlgorithmEd25519 = 0x01;
// More than the spec's minimum of 16; enough for a log plus a witness quorum.
inline constexpr size_t kMaxNoteSignatures = 100;
inline constexpr size_t kMaxNoteBytes = 1 << 20;

// Key names are non-empty valid UTF-8 with no Unicode white space, no '+'
// and no control characters.
bool is_valid_note_key_name(std::string_view name);

// SHA-256(name || 0x0A || algorithm || public_key)[:4] as a big-endian integer.
uint32_t note_key_hash(std::string_view name, uint8_t algorithm, ByteView public_key);

// One signature line of a note, decoded but not verified.
struct NoteSignature {
  std::string name;
  uint32_t key_hash = 0;
  Bytes signature;  // the algorithm's signature, without the 4-byte key hash

  friend bool operator==(const NoteSignature&, const NoteSignature&) = default;
};

// "— name base64(key_hash || signature)\n".
std::string format_note_signature_line(const NoteSignature& signature);

class NoteVerifier {
 public:
  // Parses "name+hexhash+base64(0x01||public key)"; refuses bad names, a hash
  // that is not 8 lowercase hex digits or does not match the key, unknown
  // algorithms and keys of the wrong length.
  static Result<NoteVerifier> parse(std::string_view vkey);
  static Result<NoteVerifier> create(std::string name, const Ed25519PublicKey& public_key);

  std::string vkey_string() const;
  const std::string& name() const { return name_; }
  uint32_t key_hash() const { return key_hash_; }
  const Ed25519PublicKey& public_key() const { return public_key_; }

  // True when `signature` (without the key hash) is this key's signature of `text`.
  bool verify(std::string_view text, ByteView signature) const;

 private:
  friend class NoteSigner;  // builds its verifier from an already checked name
  NoteVerifier(std::string name, const Ed25519PublicKey& public_key);

  std::string name_;
  Ed25519PublicKey public_key_;
  uint32_t key_hash_ = 0;
};

class NoteSigner {
 public:
  static Result<NoteSigner> create(std::string name, Ed25519KeyPair key_pair);
  // Parses "PRIVATE+KEY+name+hexhash+base64(0x01||seed)", refusing it unless the
  // hash matches the key the seed derives.
  static Result<NoteSigner> parse_private_key(std::string_view skey);

  // The secret key in the form parse_private_key reads. Handle with care.
  std::string private_key_string() const;
  const std::string& name() const { return name_; }
  uint32_t key_hash() const { return key_hash_; }
  const Ed25519KeyPair& key_pair() const { return key_pair_; }
  NoteVerifier verifier() const;

  // The signature line for `text` (the whole note text, including its final
  // newline): "— name base64(keyhash || signature)\n".
  std::string sign_line(std::string_view text) const;

 private:
  NoteSigner(std::string name, Ed25519KeyPair key_pair);

  std::string name_;
  Ed25519KeyPair key_pair_;
  uint32_t key_hash_ = 0;
};

// Returns text + "\n" + one signature line per signer, in order. Refuses text
// that does not end in "\n", is not valid UTF-8 or holds control characters
// other than newline, and an empty list of signers.
Result<std::string> sign_note(std::string_view text, std::span<const NoteSigner* const> signers);

struct ParsedNote {
  std::string text;                       // including its final newline
  std::vector<NoteSignature> signatures;  // in note order
};

// Splits a note into text and signatures without verifying anything.
Result<ParsedNote> parse_note(std::string_view note);

struct OpenedNote {
  std::string text;
  // The known verifiers whose signatures verified, each once, in note order.
  // The pointers are the caller's, from `known`.
  std::vector<const NoteVerifier*> verified_by;
  // Signatures from keys not in `known`, duplicates dropped, in note order.
  std::vector<NoteSignature> unknown_signatures;
};

// Parses and verifies a note against the known verifiers (see the contract
// above). Malformed notes give InvalidArgument; a failing signature from a
// known key, or no verified known signature, gives Unauthenticated.
Result<OpenedNote> open_note(std::string_view note, std::span<const NoteVerifier* const> known);

}  // namespace custos
