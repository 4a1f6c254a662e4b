#include "custos/core/status.h"

#include <gtest/gtest.h>

namespace custos {
namespace {

Result<int> parse_positive(int value) {
  if (value <= 0) return invalid_argument("not positive");
  return value;
}

Result<int> doubled(int value) {
  CUSTOS_ASSIGN_OR_RETURN(int checked, parse_positive(value));
  return checked * 2;
}

TEST(StatusTest, OkAndErrorCarryCodeAndMessage) {
  EXPECT_TRUE(Status::ok().is_ok());
  Status error = not_found("no such entry");
  EXPECT_FALSE(error.is_ok());
  EXPECT_EQ(error.code(), StatusCode::kNotFound);
  EXPECT_EQ(error.to_string(), "NotFound: no such entry");
  EXPECT_EQ(error.with_context("reading index 7").message(), "reading index 7: no such entry");
}

TEST(StatusTest, ResultPropagatesErrors) {
  auto good = doubled(21);
  ASSERT_TRUE(good.is_ok());
  EXPECT_EQ(*good, 42);
  auto bad = doubled(-1);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace custos
