// Fuzzes proof verification as a proof endpoint's client would drive it:
// the input is "<a>&<b>\n" (two query values) followed by raw bytes cut into
// 32-byte hashes (two roots, then the proof). Verification must refuse or
// accept without crashing, and inclusion's two entry points must agree.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "custos/core/bytes.h"
#include "custos/ledger/proof.h"
#include "custos/server/http.h"
#include "custos/server/log_api.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // The server's own proof request parsing: raw query string -> parameters -> numbers.
  auto raw_query = custos::parse_query(input.substr(0, input.find('\n')));
  if (raw_query.is_ok()) {
    (void)custos::parse_proof_query(*raw_query, {"index", "tree_size"});
    (void)custos::parse_proof_query(*raw_query, {"from", "to"});
  }
  size_t newline = input.find('\n');
  if (newline == std::string_view::npos) return 0;
  std::string_view query = input.substr(0, newline);
  size_t amp = query.find('&');
  if (amp == std::string_view::npos) return 0;
  auto first = custos::parse_decimal_u64(query.substr(0, amp));
  auto second = custos::parse_decimal_u64(query.substr(amp + 1));
  if (!first.is_ok() || !second.is_ok()) return 0;

  custos::ByteView rest(data + newline + 1, size - newline - 1);
  std::vector<custos::Hash256> hashes;
  for (size_t at = 0; at + custos::Hash256::kSize <= rest.size(); at += custos::Hash256::kSize) {
    hashes.push_back(custos::Hash256::from_bytes(rest.subspan(at, custos::Hash256::kSize)).value());
  }
  if (hashes.size() < 2) return 0;
  const custos::Hash256& root1 = hashes[0];
  const custos::Hash256& root2 = hashes[1];
  std::span<const custos::Hash256> proof = std::span<const custos::Hash256>(hashes).subspan(2);

  (void)custos::ledger::verify_consistency(*first, *second, root1, root2, proof);

  custos::Status included = custos::ledger::verify_inclusion(*first, *second, root1, proof, root2);
  auto root = custos::ledger::root_from_inclusion_proof(*first, *second, root1, proof);
  if (included.is_ok() && !(root.is_ok() && *root == root2)) std::abort();
  return 0;
}
