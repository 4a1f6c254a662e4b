// Fuzzes the note and checkpoint parsers on arbitrary bytes: they must refuse
// or accept without crashing, and what they accept must be self-consistent.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "custos/crypto/signed_note.h"
#include "custos/ledger/checkpoint.h"

namespace {

// The published C2SP / Go sumdb vector keys, so signatures in the input can
// match a known name and hash and reach verification.
const custos::NoteVerifier& peter() {
  static const custos::NoteVerifier verifier =
      custos::NoteVerifier::parse(
          "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
          .value();
  return verifier;
}
const custos::NoteVerifier& enoch() {
  static const custos::NoteVerifier verifier =
      custos::NoteVerifier::parse("EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop")
          .value();
  return verifier;
}

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  auto parsed = custos::parse_note(input);
  if (parsed.is_ok()) {
    // Re-serialising what was parsed gives the input back.
    std::string again = parsed->text + "\n";
    for (const auto& signature : parsed->signatures) {
      again += custos::format_note_signature_line(signature);
    }
    check(again == input);
    check(parsed->signatures.size() <= custos::kMaxNoteSignatures);
  }

  const custos::NoteVerifier* known[] = {&peter(), &enoch()};
  auto opened = custos::open_note(input, known);
  if (opened.is_ok()) {
    check(parsed.is_ok() && opened->text == parsed->text && !opened->verified_by.empty());
  }

  auto checkpoint = custos::ledger::parse_checkpoint_body(input);
  if (checkpoint.is_ok()) {
    check(custos::ledger::format_checkpoint_body(*checkpoint) == input);
  }
  if (opened.is_ok()) {
    (void)custos::ledger::parse_checkpoint_body(opened->text);
  }
  return 0;
}
