// RFC 9530 Content-Digest: the RFC's sha-256 and sha-512 values for the body
// {"hello": "world"} (also in tests/data/http-signatures/README.md).
#include "custos/crypto/content_digest.h"

#include <gtest/gtest.h>

#include <array>

namespace custos {
namespace {

constexpr std::string_view kBody = "{\"hello\": \"world\"}";
constexpr std::string_view kSha256 = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:";
constexpr std::string_view kSha512 =
    "sha-512=:WZDPaVn/"
    "7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew"
    "==:";

TEST(ContentDigestTest, RfcVectors) {
  EXPECT_EQ(content_digest_value(as_bytes(kBody)), kSha256);
  EXPECT_EQ(content_digest_value(as_bytes(kBody), DigestAlgorithm::kSha512), kSha512);
  std::array<DigestAlgorithm, 2> both = {DigestAlgorithm::kSha256, DigestAlgorithm::kSha512};
  EXPECT_EQ(content_digest_value(as_bytes(kBody), both),
            std::string(kSha256) + ", " + std::string(kSha512));
  EXPECT_EQ(content_digest_bytes(DigestAlgorithm::kSha256, as_bytes(kBody)).size(), 32u);
  EXPECT_EQ(content_digest_bytes(DigestAlgorithm::kSha512, as_bytes(kBody)).size(), 64u);
}

TEST(ContentDigestTest, VerifiesMatchingDigests) {
  EXPECT_EQ(verify_content_digest(kSha256, as_bytes(kBody)), DigestVerdict::kMatch);
  EXPECT_EQ(verify_content_digest(kSha512, as_bytes(kBody)), DigestVerdict::kMatch);
  EXPECT_EQ(
      verify_content_digest(std::string(kSha512) + ", " + std::string(kSha256), as_bytes(kBody)),
      DigestVerdict::kMatch);
  // Unknown and deprecated algorithms are ignored, whatever their value.
  EXPECT_EQ(
      verify_content_digest("md5=:AAAA:, " + std::string(kSha256) + ", x-new=?1", as_bytes(kBody)),
      DigestVerdict::kMatch);
  EXPECT_EQ(verify_content_digest(content_digest_value(ByteView()), ByteView()),
            DigestVerdict::kMatch);
}

TEST(ContentDigestTest, RefusesMismatches) {
  EXPECT_EQ(verify_content_digest(kSha256, as_bytes(std::string_view("{\"hello\": \"World\"}"))),
            DigestVerdict::kMismatch);
  // Every supported algorithm must match, not just one.
  std::string wrong_512 =
      content_digest_value(as_bytes(std::string_view("other")), DigestAlgorithm::kSha512);
  EXPECT_EQ(verify_content_digest(std::string(kSha256) + ", " + wrong_512, as_bytes(kBody)),
            DigestVerdict::kMismatch);
  // A truncated digest never matches.
  EXPECT_EQ(
      verify_content_digest("sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9D:", as_bytes(kBody)),
      DigestVerdict::kMismatch);
}

TEST(ContentDigestTest, RefusesMalformedOrUnsupported) {
  EXPECT_EQ(verify_content_digest("", as_bytes(kBody)), DigestVerdict::kNoSupportedAlgorithm);
  EXPECT_EQ(verify_content_digest("md5=:AAAA:, sha=:AAAA:", as_bytes(kBody)),
            DigestVerdict::kNoSupportedAlgorithm);
  EXPECT_EQ(verify_content_digest("SHA-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
                                  as_bytes(kBody)),
            DigestVerdict::kMalformed);
  EXPECT_EQ(verify_content_digest("sha-256=\"X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=\"",
                                  as_bytes(kBody)),
            DigestVerdict::kMalformed);
  EXPECT_EQ(verify_content_digest("sha-256=(:AAAA:)", as_bytes(kBody)), DigestVerdict::kMalformed);
  EXPECT_EQ(verify_content_digest("sha-256=:X48E:,", as_bytes(kBody)), DigestVerdict::kMalformed);
}

TEST(ContentDigestTest, AlgorithmNames) {
  EXPECT_EQ(digest_algorithm_from_name("sha-512"), DigestAlgorithm::kSha512);
  EXPECT_EQ(digest_algorithm_from_name("md5"), std::nullopt);
  EXPECT_EQ(digest_algorithm_name(DigestAlgorithm::kSha256), "sha-256");
  EXPECT_EQ(digest_verdict_name(DigestVerdict::kMismatch), "Mismatch");
}

}  // namespace
}  // namespace custos
