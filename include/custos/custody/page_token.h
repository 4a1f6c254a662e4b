// custos custody: the nextPageToken format of every paged listing.
//
// A token is "<kind>.<hex of the position>": the kind names what is paged
// and the format version ("v1" events, "vv1" vocabulary values, "q1" named
// queries), so a token of one listing is refused by another. The position is
// opaque to clients (the last key served); decode refuses anything this
// server could not have issued with the same InvalidArgument message, which
// the HTTP layer turns into a 400.
#pragma once

#include <string>
#include <string_view>

#include "custos/core/bytes.h"
#include "custos/core/status.h"

namespace custos::custody {

std::string encode_page_token(std::string_view kind, ByteView position);
// The position of a token of `kind`; InvalidArgument for any other text,
// for an empty position, or (when exact_size > 0) a position of another size.
Result<Bytes> decode_page_token(std::string_view kind, std::string_view token,
                                size_t exact_size = 0);

}  // namespace custos::custody
