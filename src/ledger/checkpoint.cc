#include "custos/ledger/checkpoint.h"

namespace custos::ledger {

std::string format_checkpoint_body(const Checkpoint& checkpoint) {
  std::string body = checkpoint.origin;
  body += '\n';
  body += std::to_string(checkpoint.tree_size);
  body += '\n';
  body += checkpoint.root_hash.base64();
  body += '\n';
  for (const auto& line : checkpoint.extension_lines) {
    body += line;
    body += '\n';
  }
  return body;
}

Result<Checkpoint> parse_checkpoint_body(std::string_view body) {
  if (body.empty() || body.back() != '\n') {
    return invalid_argument("checkpoint body must end with a newline");
  }
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < body.size()) {
    size_t end = body.find('\n', start);
    lines.push_back(body.substr(start, end - start));
    start = end + 1;
  }
  if (lines.size() < 3) return invalid_argument("checkpoint body needs origin, size and root lines");
  Checkpoint checkpoint;
  if (lines[0].empty()) return invalid_argument("checkpoint origin line is empty");
  checkpoint.origin = std::string(lines[0]);
  auto size = parse_decimal_u64(lines[1]);
  if (!size.is_ok()) return invalid_argument("checkpoint tree size: " + size.status().message());
  checkpoint.tree_size = *size;
  auto root = Hash256::from_base64(lines[2]);
  if (!root.is_ok()) return invalid_argument("checkpoint root hash: " + root.status().message());
  checkpoint.root_hash = *root;
  for (size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) return invalid_argument("checkpoint has an empty extension line");
    checkpoint.extension_lines.emplace_back(lines[i]);
  }
  return checkpoint;
}

}  // namespace custos::ledger
