#include "custos/custody/page_token.h"

namespace custos::custody {

std::string encode_page_token(std::string_view kind, ByteView position) {
  std::string token(kind);
  token += '.';
  token += hex_encode(position);
  return token;
}

Result<Bytes> decode_page_token(std::string_view kind, std::string_view token, size_t exact_size) {
  auto refused = [] { return invalid_argument("nextPageToken is not one this server issued"); };
  if (token.size() <= kind.size() + 1 || !token.starts_with(kind) || token[kind.size()] != '.') {
    return refused();
  }
  auto position = hex_decode(token.substr(kind.size() + 1));
  if (!position.is_ok() || position->empty()) return refused();
  if (exact_size > 0 && position->size() != exact_size) return refused();
  return position;
}

}  // namespace custos::custody
