// Page tokens: a position comes back from its own kind's token only; every
// other text is refused with the one message the HTTP layer shows.
#include "custos/custody/page_token.h"

#include <gtest/gtest.h>

namespace custos::custody {
namespace {

TEST(PageTokenTest, RoundTripsAPositionUnderItsKind) {
  const Bytes position = {0x00, 0x01, 0xfe, 0xff, 'a'};
  const std::string token = encode_page_token("vv1", position);
  EXPECT_EQ(token, "vv1.0001feff61");
  auto decoded = decode_page_token("vv1", token);
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, position);
  auto sized = decode_page_token("vv1", token, position.size());
  ASSERT_TRUE(sized.is_ok());
}

TEST(PageTokenTest, RefusesTokensOfOtherKindsSizesAndShapes) {
  const std::string token = encode_page_token("v1", Bytes(16, 7));
  for (const std::string& bad :
       {std::string("vv1.") + token.substr(3), std::string("q1.") + token.substr(3),
        token.substr(0, token.size() - 1), std::string("v1."), std::string("v1"),
        std::string(), std::string("v1x0707"), std::string("v1.zz"), token + "07",
        std::string("V1.") + token.substr(3)}) {
    auto decoded = decode_page_token("v1", bad, 16);
    ASSERT_FALSE(decoded.is_ok()) << bad;
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_EQ(decoded.status().message(), "nextPageToken is not one this server issued") << bad;
  }
  EXPECT_TRUE(decode_page_token("v1", token, 16).is_ok());
  EXPECT_FALSE(decode_page_token("v1", token, 15).is_ok());
}

}  // namespace
}  // namespace custos::custody
