// RFC 8941 structured fields: the RFC's examples (sections 3 and 4), the
// RFC 9421 section 2.1.1 re-serialisation example, and malformed inputs.
#include "custos/crypto/structured_fields.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace custos::sf {
namespace {

std::string reserialize_list(std::string_view text) {
  auto list = parse_list(text);
  EXPECT_TRUE(list.is_ok()) << text << ": " << list.status().to_string();
  if (!list.is_ok()) return "";
  return serialize_list(*list).value();
}

std::string reserialize_dictionary(std::string_view text) {
  auto dictionary = parse_dictionary(text);
  EXPECT_TRUE(dictionary.is_ok()) << text << ": " << dictionary.status().to_string();
  if (!dictionary.is_ok()) return "";
  return serialize_dictionary(*dictionary).value();
}

std::string reserialize_item(std::string_view text) {
  auto item = parse_item(text);
  EXPECT_TRUE(item.is_ok()) << text << ": " << item.status().to_string();
  if (!item.is_ok()) return "";
  return serialize_item(*item).value();
}

TEST(StructuredFieldsTest, ListOfTokens) {
  auto list = parse_list("sugar, tea, rum");
  ASSERT_TRUE(list.is_ok());
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ(std::get<Item>((*list)[1]).value, BareItem(Token{"tea"}));
  EXPECT_EQ(serialize_list(*list).value(), "sugar, tea, rum");
}

TEST(StructuredFieldsTest, RfcListExamples) {
  EXPECT_EQ(reserialize_list("\"foo\", \"bar\", \"It was the best of times.\""),
            "\"foo\", \"bar\", \"It was the best of times.\"");
  EXPECT_EQ(reserialize_list("(\"foo\" \"bar\"), (\"baz\"), (\"bat\" \"one\"), ()"),
            "(\"foo\" \"bar\"), (\"baz\"), (\"bat\" \"one\"), ()");
  EXPECT_EQ(reserialize_list("(\"foo\"; a=1;b=2);lvl=5, (\"bar\" \"baz\");lvl=1"),
            "(\"foo\";a=1;b=2);lvl=5, (\"bar\" \"baz\");lvl=1");
  EXPECT_EQ(reserialize_list("abc;a=1;b=2; cde_456, (ghi;jkl=4 l);q=\"9\";r=w"),
            "abc;a=1;b=2;cde_456, (ghi;jkl=4 l);q=\"9\";r=w");
  EXPECT_EQ(reserialize_list("1,\t2 ,  3"), "1, 2, 3");
  EXPECT_EQ(reserialize_list(""), "");
}

TEST(StructuredFieldsTest, InnerListStructure) {
  auto list = parse_list("(\"foo\"; a=1;b=2);lvl=5, (\"bar\" \"baz\");lvl=1");
  ASSERT_TRUE(list.is_ok());
  const auto& first = std::get<InnerList>((*list)[0]);
  ASSERT_EQ(first.items.size(), 1u);
  EXPECT_EQ(first.items[0].value, BareItem(std::string("foo")));
  EXPECT_EQ(*first.items[0].parameters.find("b"), BareItem(int64_t{2}));
  EXPECT_EQ(*first.parameters.find("lvl"), BareItem(int64_t{5}));
  EXPECT_EQ(std::get<InnerList>((*list)[1]).items.size(), 2u);
}

TEST(StructuredFieldsTest, RfcDictionaryExamples) {
  auto dictionary = parse_dictionary("en=\"Applepie\", da=:w4ZibGV0w6ZydGUK:");
  ASSERT_TRUE(dictionary.is_ok());
  const auto& da = std::get<Item>(*dictionary->find("da"));
  EXPECT_EQ(as_text(std::get<ByteSequence>(da.value).value),
            "\xc3\x86"
            "blet\xc3\xa6rte\n");
  EXPECT_EQ(serialize_dictionary(*dictionary).value(), "en=\"Applepie\", da=:w4ZibGV0w6ZydGUK:");

  EXPECT_EQ(reserialize_dictionary("a=?0, b, c; foo=bar"), "a=?0, b, c;foo=bar");
  EXPECT_EQ(reserialize_dictionary("rating=1.5, feelings=(joy sadness)"),
            "rating=1.5, feelings=(joy sadness)");
  EXPECT_EQ(reserialize_dictionary("a=(1 2), b=3, c=4;aa=bb, d=(5 6);valid"),
            "a=(1 2), b=3, c=4;aa=bb, d=(5 6);valid");
  // RFC 9421 section 2.1.1: strict serialisation of Example-Dict.
  EXPECT_EQ(reserialize_dictionary("  a=1,    b=2;x=1;y=2,   c=(a   b   c)"),
            "a=1, b=2;x=1;y=2, c=(a b c)");
  EXPECT_EQ(reserialize_dictionary("b=?1;x"), "b;x");

  auto flags = parse_dictionary("a=?0, b, c; foo=bar");
  ASSERT_TRUE(flags.is_ok());
  EXPECT_EQ(std::get<Item>(*flags->find("b")).value, BareItem(true));
  EXPECT_EQ(std::get<Item>(*flags->find("a")).value, BareItem(false));
}

TEST(StructuredFieldsTest, DuplicateKeysKeepFirstPositionAndLastValue) {
  EXPECT_EQ(reserialize_dictionary("a=1, b=2, a=3"), "a=3, b=2");
  EXPECT_EQ(reserialize_item("1;x=1;y=2;x=3"), "1;x=3;y=2");
}

TEST(StructuredFieldsTest, RfcItemExamples) {
  auto item = parse_item("5; foo=bar");
  ASSERT_TRUE(item.is_ok());
  EXPECT_EQ(item->value, BareItem(int64_t{5}));
  EXPECT_EQ(*item->parameters.find("foo"), BareItem(Token{"bar"}));
  EXPECT_EQ(serialize_item(*item).value(), "5;foo=bar");

  EXPECT_EQ(parse_item("42")->value, BareItem(int64_t{42}));
  EXPECT_EQ(parse_item("-42")->value, BareItem(int64_t{-42}));
  EXPECT_EQ(parse_item("4.5")->value, BareItem(Decimal{4500}));
  EXPECT_EQ(parse_item("\"hello world\"")->value, BareItem(std::string("hello world")));
  EXPECT_EQ(parse_item("foo123/456")->value, BareItem(Token{"foo123/456"}));
  EXPECT_EQ(parse_item("?1")->value, BareItem(true));
  auto bytes = parse_item(":cHJldGVuZCB0aGlzIGlzIGJpbmFyeSBjb250ZW50Lg==:");
  ASSERT_TRUE(bytes.is_ok());
  EXPECT_EQ(as_text(std::get<ByteSequence>(bytes->value).value), "pretend this is binary content.");
  EXPECT_EQ(reserialize_item("\"quote \\\" and \\\\ backslash\""),
            "\"quote \\\" and \\\\ backslash\"");
  EXPECT_EQ(reserialize_item("*token:with/extras!"), "*token:with/extras!");
}

TEST(StructuredFieldsTest, NumbersAtTheirLimits) {
  EXPECT_EQ(parse_item("999999999999999")->value, BareItem(kMaxInteger));
  EXPECT_EQ(parse_item("-999999999999999")->value, BareItem(-kMaxInteger));
  EXPECT_EQ(reserialize_item("999999999999.999"), "999999999999.999");
  EXPECT_EQ(reserialize_item("1.50"), "1.5");
  EXPECT_EQ(reserialize_item("1.000"), "1.0");
  EXPECT_EQ(reserialize_item("-0.0"), "0.0");
  EXPECT_EQ(reserialize_item("-0.25"), "-0.25");
  EXPECT_EQ(reserialize_item("0.001"), "0.001");
  EXPECT_EQ(reserialize_item("007"), "7");
}

TEST(StructuredFieldsTest, DecimalFromDouble) {
  EXPECT_EQ(Decimal::from_double(1.5)->thousandths, 1500);
  EXPECT_EQ(Decimal::from_double(-2.25)->thousandths, -2250);
  // Exact binary halves, rounded half to even.
  EXPECT_EQ(Decimal::from_double(0.0625)->thousandths, 62);
  EXPECT_EQ(Decimal::from_double(0.1875)->thousandths, 188);
  EXPECT_FALSE(Decimal::from_double(1e12).is_ok());
  EXPECT_FALSE(Decimal::from_double(std::numeric_limits<double>::quiet_NaN()).is_ok());
  EXPECT_DOUBLE_EQ(Decimal{-1250}.to_double(), -1.25);
}

TEST(StructuredFieldsTest, ByteSequenceLeniencyTheRfcAsksFor) {
  // Missing padding and non-zero pad bits are accepted (RFC 8941 section 4.2.7).
  EXPECT_EQ(std::get<ByteSequence>(parse_item(":YQ:")->value).value, to_bytes("a"));
  EXPECT_EQ(std::get<ByteSequence>(parse_item(":YR==:")->value).value, to_bytes("a"));
  EXPECT_EQ(reserialize_item(":YQ:"), ":YQ==:");
  EXPECT_EQ(reserialize_item("::"), "::");
}

TEST(StructuredFieldsTest, RefusesMalformedItems) {
  const char* bad_items[] = {
      "",                         // empty
      "   ",                      // only spaces
      "\t1",                      // leading tab
      "1 x",                      // trailing garbage
      "1,2",                      // a list is not an item
      "-",                        // sign without digits
      "--1",                      // two signs
      "-a",                       // sign then letter
      "1234567890123456",         // 16-digit integer
      "1234567890123.0",          // 13 integer digits in a decimal
      "1.",                       // trailing dot
      "1.1234",                   // four fraction digits
      "1..2",                     // two dots
      "\"unterminated",           // no closing quote
      "\"bad \\escape\"",         // escape other than \" or \\ .
      "\"tab\tinside\"",          // control character in a string
      "\"ends with backslash\\",  // escape at end of input
      ":not base64!:",            // character outside base64
      ":YQ=:",                    // padding that does not complete a quantum
      ":Y:",                      // one character cannot be a quantum
      ":YQ==",                    // unterminated byte sequence
      ":Y=Q=:",                   // padding in the middle
      "?2",                       // boolean other than ?0 / ?1
      "?",                        // boolean without a value
      "1;A=2",                    // upper-case parameter key
      "1;=2",                     // empty key
      "1;a=",                     // parameter without a value after '='
      "@token",                   // not a bare item
      "\xc3\xa9",                 // non-ASCII
      "\"caf\xc3\xa9\"",          // non-ASCII inside a string
  };
  for (const char* text : bad_items) {
    auto item = parse_item(text);
    EXPECT_FALSE(item.is_ok()) << "accepted: " << text;
    if (!item.is_ok()) {
      EXPECT_EQ(item.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(StructuredFieldsTest, RefusesMalformedListsAndDictionaries) {
  const char* bad_lists[] = {"a,",    "a, ", "a,,b",   ", a", "(1 2", "(1,2)",
                             "(1  2", "1 2", "(1)(2)", "a;",  "(a)b"};
  for (const char* text : bad_lists) EXPECT_FALSE(parse_list(text).is_ok()) << text;
  const char* bad_dictionaries[] = {
      "a=1 b=2", "A=1", "a=1,", "1=a", "a=", "a=(1", "=1", "a=1,,b=2", "a=1;", "a b"};
  for (const char* text : bad_dictionaries) {
    EXPECT_FALSE(parse_dictionary(text).is_ok()) << text;
  }
  // Still fine: a trailing space, a leading space.
  EXPECT_TRUE(parse_list(" a, b ").is_ok());
  EXPECT_TRUE(parse_dictionary(" a=1 ").is_ok());
}

TEST(StructuredFieldsTest, SerialisationRefusesInvalidValues) {
  EXPECT_FALSE(serialize_item(Item{int64_t{kMaxInteger + 1}, {}}).is_ok());
  EXPECT_FALSE(serialize_item(Item{Decimal{1'000'000'000'000'000}, {}}).is_ok());
  EXPECT_FALSE(serialize_item(Item{Token{"1abc"}, {}}).is_ok());
  EXPECT_FALSE(serialize_item(Item{Token{""}, {}}).is_ok());
  EXPECT_FALSE(serialize_item(Item{std::string("line\nbreak"), {}}).is_ok());
  Parameters bad_key;
  bad_key.set("Upper", true);
  EXPECT_FALSE(serialize_item(Item{int64_t{1}, bad_key}).is_ok());
  Dictionary dictionary;
  dictionary.set("a b", Item{int64_t{1}, {}});
  EXPECT_FALSE(serialize_dictionary(dictionary).is_ok());
  EXPECT_EQ(serialize_dictionary(Dictionary{}).value(), "");
}

TEST(StructuredFieldsTest, CharacterClasses) {
  EXPECT_TRUE(is_valid_key("*a-b_c.d9"));
  EXPECT_FALSE(is_valid_key("9a"));
  EXPECT_FALSE(is_valid_key(""));
  EXPECT_TRUE(is_valid_token("Foo/bar:baz"));
  EXPECT_FALSE(is_valid_token("foo bar"));
  EXPECT_TRUE(is_valid_string(" ~"));
  EXPECT_FALSE(is_valid_string("\x7f"));
}

}  // namespace
}  // namespace custos::sf
