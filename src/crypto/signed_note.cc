#include "custos/crypto/signed_note.h"

#include <algorithm>
#include <utility>

#include "custos/crypto/sha256.h"

namespace custos {
namespace {

constexpr std::string_view kSignaturePrefix = "\xE2\x80\x94 ";  // U+2014 EM DASH, space
constexpr std::string_view kPrivateKeyPrefix = "PRIVATE+KEY+";
constexpr size_t kKeyHashSize = 4;

Status unauthenticated(std::string message) {
  return Status(StatusCode::kUnauthenticated, std::move(message));
}

// Decodes the UTF-8 sequence at text[*pos], advancing *pos. Refuses truncated
// sequences, overlong forms, surrogates and code points beyond U+10FFFF.
bool next_code_point(std::string_view text, size_t* pos, char32_t* code_point) {
  const auto byte_at = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  uint8_t lead = byte_at(*pos);
  size_t length;
  char32_t value;
  char32_t minimum;
  if (lead < 0x80) {
    *code_point = lead;
    *pos += 1;
    return true;
  } else if ((lead & 0xE0) == 0xC0) {
    length = 2, value = lead & 0x1F, minimum = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, value = lead & 0x0F, minimum = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, value = lead & 0x07, minimum = 0x10000;
  } else {
    return false;
  }
  if (text.size() - *pos < length) return false;
  for (size_t i = 1; i < length; ++i) {
    uint8_t continuation = byte_at(*pos + i);
    if ((continuation & 0xC0) != 0x80) return false;
    value = value << 6 | (continuation & 0x3F);
  }
  if (value < minimum || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return false;
  *code_point = value;
  *pos += length;
  return true;
}

// Unicode White_Space, the set Go's unicode.IsSpace uses for key names.
bool is_unicode_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

// Notes must be valid UTF-8 with no control character but newline.
Status check_note_characters(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    char32_t c;
    if (!next_code_point(text, &pos, &c)) return invalid_argument("note is not valid UTF-8");
    if (c < 0x20 && c != '\n') return invalid_argument("note holds a control character");
  }
  return Status::ok();
}

std::string key_hash_hex(uint32_t key_hash) {
  Bytes bytes;
  append_u32_be(bytes, key_hash);
  return hex_encode(bytes);
}

Result<uint32_t> parse_key_hash_hex(std::string_view text) {
  if (text.size() != 2 * kKeyHashSize) return invalid_argument("key hash must be 8 hex digits");
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return invalid_argument("key hash must be lowercase hex");
    }
  }
  CUSTOS_ASSIGN_OR_RETURN(Bytes bytes, hex_decode(text));
  return read_u32_be(bytes.data());
}

struct KeyText {
  std::string_view name;
  uint32_t key_hash = 0;
  Bytes key_material;  // after the algorithm byte
};

// Splits "name+hexhash+base64(algorithm || key)" and checks everything that
// does not need the key itself: the name, the hash's form, the algorithm
// and the key's length.
Result<KeyText> parse_key_text(std::string_view text, std::string_view what) {
  size_t first_plus = text.find('+');
  if (first_plus == std::string_view::npos) {
    return invalid_argument(std::string(what) + " must be name+hash+key");
  }
  KeyText key;
  key.name = text.substr(0, first_plus);
  std::string_view rest = text.substr(first_plus + 1);
  size_t second_plus = rest.find('+');
  if (second_plus == std::string_view::npos) {
    return invalid_argument(std::string(what) + " must be name+hash+key");
  }
  if (!is_valid_note_key_name(key.name)) {
    return invalid_argument(std::string(what) + " has an invalid key name");
  }
  auto key_hash = parse_key_hash_hex(rest.substr(0, second_plus));
  if (!key_hash.is_ok()) return key_hash.status().with_context(what);
  key.key_hash = *key_hash;
  auto decoded = base64_decode(rest.substr(second_plus + 1));
  if (!decoded.is_ok()) return decoded.status().with_context(what);
  if (decoded->empty()) return invalid_argument(std::string(what) + " has no key material");
  if ((*decoded)[0] != kNoteAlgorithmEd25519) {
    return invalid_argument(std::string(what) + " uses an unknown signature algorithm");
  }
  if (decoded->size() != 1 + 32) {
    return invalid_argument(std::string(what) + " has an Ed25519 key of the wrong length");
  }
  key.key_material.assign(decoded->begin() + 1, decoded->end());
  return key;
}

std::string encode_key_text(std::string_view name, uint32_t key_hash, ByteView key_material) {
  Bytes encoded;
  encoded.reserve(1 + key_material.size());
  encoded.push_back(kNoteAlgorithmEd25519);
  encoded.insert(encoded.end(), key_material.begin(), key_material.end());
  std::string text(name);
  text += '+';
  text += key_hash_hex(key_hash);
  text += '+';
  text += base64_encode(encoded);
  return text;
}

}  // namespace

bool is_valid_note_key_name(std::string_view name) {
  if (name.empty()) return false;
  size_t pos = 0;
  while (pos < name.size()) {
    char32_t c;
    if (!next_code_point(name, &pos, &c)) return false;
    if (c == '+' || c < 0x20 || c == 0x7F || is_unicode_space(c)) return false;
  }
  return true;
}

uint32_t note_key_hash(std::string_view name, uint8_t algorithm, ByteView public_key) {
  Sha256 hasher;
  hasher.update(as_bytes(name)).update(uint8_t{'\n'}).update(algorithm).update(public_key);
  Hash256 digest = hasher.final();
  return read_u32_be(digest.bytes.data());
}

std::string format_note_signature_line(const NoteSignature& signature) {
  Bytes encoded;
  encoded.reserve(kKeyHashSize + signature.signature.size());
  append_u32_be(encoded, signature.key_hash);
  encoded.insert(encoded.end(), signature.signature.begin(), signature.signature.end());
  std::string line(kSignaturePrefix);
  line += signature.name;
  line += ' ';
  line += base64_encode(encoded);
  line += '\n';
  return line;
}

// --- NoteVerifier -------------------------------------------------------------

NoteVerifier::NoteVerifier(std::string name, const Ed25519PublicKey& public_key)
    : name_(std::move(name)),
      public_key_(public_key),
      key_hash_(note_key_hash(name_, kNoteAlgorithmEd25519, public_key_.view())) {}

Result<NoteVerifier> NoteVerifier::create(std::string name, const Ed25519PublicKey& public_key) {
  if (!is_valid_note_key_name(name)) return invalid_argument("invalid note key name");
  return NoteVerifier(std::move(name), public_key);
}

Result<NoteVerifier> NoteVerifier::parse(std::string_view vkey) {
  CUSTOS_ASSIGN_OR_RETURN(KeyText key, parse_key_text(vkey, "verifier key"));
  CUSTOS_ASSIGN_OR_RETURN(Ed25519PublicKey public_key,
                          Ed25519PublicKey::from_bytes(key.key_material));
  NoteVerifier verifier(std::string(key.name), public_key);
  if (verifier.key_hash() != key.key_hash) {
    return invalid_argument("verifier key hash does not match its name and key");
  }
  return verifier;
}

std::string NoteVerifier::vkey_string() const {
  return encode_key_text(name_, key_hash_, public_key_.view());
}

bool NoteVerifier::verify(std::string_view text, ByteView signature) const {
  auto parsed = Ed25519Signature::from_bytes(signature);
  return parsed.is_ok() && ed25519_verify(public_key_, as_bytes(text), *parsed);
}

// --- NoteSigner ---------------------------------------------------------------

NoteSigner::NoteSigner(std::string name, Ed25519KeyPair key_pair)
    : name_(std::move(name)),
      key_pair_(std::move(key_pair)),
      key_hash_(note_key_hash(name_, kNoteAlgorithmEd25519, key_pair_.public_key().view())) {}

Result<NoteSigner> NoteSigner::create(std::string name, Ed25519KeyPair key_pair) {
  if (!is_valid_note_key_name(name)) return invalid_argument("invalid note key name");
  return NoteSigner(std::move(name), std::move(key_pair));
}

Result<NoteSigner> NoteSigner::parse_private_key(std::string_view skey) {
  if (!skey.starts_with(kPrivateKeyPrefix)) {
    return invalid_argument("private key must start with PRIVATE+KEY+");
  }
  CUSTOS_ASSIGN_OR_RETURN(KeyText key,
                          parse_key_text(skey.substr(kPrivateKeyPrefix.size()), "private key"));
  CUSTOS_ASSIGN_OR_RETURN(Ed25519KeyPair key_pair, Ed25519KeyPair::from_seed(key.key_material));
  NoteSigner signer(std::string(key.name), std::move(key_pair));
  if (signer.key_hash() != key.key_hash) {
    return invalid_argument("private key hash does not match its name and key");
  }
  return signer;
}

std::string NoteSigner::private_key_string() const {
  return std::string(kPrivateKeyPrefix) + encode_key_text(name_, key_hash_, key_pair_.seed());
}

NoteVerifier NoteSigner::verifier() const { return NoteVerifier(name_, key_pair_.public_key()); }

std::string NoteSigner::sign_line(std::string_view text) const {
  Ed25519Signature signature = key_pair_.sign(as_bytes(text));
  NoteSignature line{name_, key_hash_, Bytes(signature.bytes.begin(), signature.bytes.end())};
  return format_note_signature_line(line);
}

// --- notes --------------------------------------------------------------------

Result<std::string> sign_note(std::string_view text, std::span<const NoteSigner* const> signers) {
  if (text.empty() || text.back() != '\n') return invalid_argument("note text must end in newline");
  CUSTOS_RETURN_IF_ERROR(check_note_characters(text));
  if (signers.empty()) return invalid_argument("a note needs at least one signer");
  if (signers.size() > kMaxNoteSignatures) return invalid_argument("too many note signers");
  std::string note(text);
  note += '\n';
  for (const NoteSigner* signer : signers) {
    if (signer == nullptr) return invalid_argument("null note signer");
    note += signer->sign_line(text);
  }
  if (note.size() > kMaxNoteBytes) return invalid_argument("signed note would be too large");
  return note;
}

Result<ParsedNote> parse_note(std::string_view note) {
  if (note.size() > kMaxNoteBytes) return invalid_argument("note is too large");
  CUSTOS_RETURN_IF_ERROR(check_note_characters(note));
  // The text ends at the last blank line; text itself may hold blank lines.
  size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos) {
    return invalid_argument("note has no blank line before its signatures");
  }
  ParsedNote parsed;
  parsed.text = std::string(note.substr(0, split + 1));
  std::string_view lines = note.substr(split + 2);
  if (lines.empty()) return invalid_argument("note has no signatures");
  if (lines.back() != '\n') return invalid_argument("note does not end in newline");
  while (!lines.empty()) {
    size_t end = lines.find('\n');
    std::string_view line = lines.substr(0, end);
    lines.remove_prefix(end + 1);
    if (parsed.signatures.size() == kMaxNoteSignatures) {
      return invalid_argument("note has more than " + std::to_string(kMaxNoteSignatures) +
                              " signatures");
    }
    if (!line.starts_with(kSignaturePrefix)) {
      return invalid_argument("note signature line must start with an em dash and a space");
    }
    line.remove_prefix(kSignaturePrefix.size());
    size_t space = line.find(' ');
    if (space == std::string_view::npos) {
      return invalid_argument("note signature line must be a key name and a signature");
    }
    std::string_view name = line.substr(0, space);
    std::string_view encoded = line.substr(space + 1);
    if (!is_valid_note_key_name(name)) {
      return invalid_argument("note signature line has an invalid key name");
    }
    auto decoded = base64_decode(encoded);
    if (!decoded.is_ok()) return decoded.status().with_context("note signature");
    if (decoded->size() <= kKeyHashSize) return invalid_argument("note signature is too short");
    NoteSignature signature;
    signature.name = std::string(name);
    signature.key_hash = read_u32_be(decoded->data());
    signature.signature.assign(decoded->begin() + kKeyHashSize, decoded->end());
    parsed.signatures.push_back(std::move(signature));
  }
  return parsed;
}

Result<OpenedNote> open_note(std::string_view note, std::span<const NoteVerifier* const> known) {
  CUSTOS_ASSIGN_OR_RETURN(ParsedNote parsed, parse_note(note));
  OpenedNote opened;
  opened.text = std::move(parsed.text);
  for (NoteSignature& signature : parsed.signatures) {
    auto match = std::find_if(known.begin(), known.end(), [&](const NoteVerifier* verifier) {
      return verifier != nullptr && verifier->key_hash() == signature.key_hash &&
             verifier->name() == signature.name;
    });
    if (match == known.end()) {
      if (std::find(opened.unknown_signatures.begin(), opened.unknown_signatures.end(),
                    signature) == opened.unknown_signatures.end()) {
        opened.unknown_signatures.push_back(std::move(signature));
      }
      continue;
    }
    const NoteVerifier* verifier = *match;
    if (!verifier->verify(opened.text, signature.signature)) {
      return unauthenticated("note signature by known key " + verifier->name() + "+" +
                             key_hash_hex(verifier->key_hash()) + " does not verify");
    }
    if (std::find(opened.verified_by.begin(), opened.verified_by.end(), verifier) ==
        opened.verified_by.end()) {
      opened.verified_by.push_back(verifier);
    }
  }
  if (opened.verified_by.empty()) return unauthenticated("note has no signature by a known key");
  return opened;
}

}  // namespace custos
