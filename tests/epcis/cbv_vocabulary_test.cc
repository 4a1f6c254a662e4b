// CBV 2.0 vocabulary values (cbv_vocabulary.h): every spelling EPCIS allows
// gives the one web URI, for each vocabulary; other URIs pass through.
#include "custos/epcis/cbv_vocabulary.h"

#include <gtest/gtest.h>

namespace custos::epcis {
namespace {

const CuriePrefixes kPrefixes = {{"cbv", "https://ref.gs1.org/cbv/"},
                                 {"gs1", "https://gs1.org/voc/"}};

TEST(CbvVocabulary, EverySpellingGivesTheWebUri) {
  const std::string shipping = "https://ref.gs1.org/cbv/BizStep-shipping";
  for (const char* spelling :
       {"shipping", "urn:epcglobal:cbv:bizstep:shipping", "cbv:BizStep-shipping",
        "https://ref.gs1.org/cbv/BizStep-shipping"}) {
    EXPECT_EQ(cbv_uri(spelling, CbvVocabulary::kBizStep, kPrefixes), shipping) << spelling;
  }
  EXPECT_EQ(cbv_uri("in_transit", CbvVocabulary::kDisposition, kPrefixes),
            "https://ref.gs1.org/cbv/Disp-in_transit");
  EXPECT_EQ(cbv_uri("urn:epcglobal:cbv:btt:po", CbvVocabulary::kBizTransactionType, kPrefixes),
            "https://ref.gs1.org/cbv/BTT-po");
  EXPECT_EQ(cbv_uri("owning_party", CbvVocabulary::kSourceDestType, kPrefixes),
            "https://ref.gs1.org/cbv/SDT-owning_party");
  EXPECT_EQ(cbv_uri("urn:epcglobal:cbv:er:incorrect_data", CbvVocabulary::kErrorReason, kPrefixes),
            "https://ref.gs1.org/cbv/ER-incorrect_data");
  EXPECT_EQ(cbv_uri("urn:epcglobal:cbv:comp:x_axis", CbvVocabulary::kComponent, kPrefixes),
            "https://ref.gs1.org/cbv/Comp-x_axis");
}

TEST(CbvVocabulary, OtherValuesAreExpandedOrKept) {
  // Another vocabulary's URN is not this one's term.
  EXPECT_EQ(cbv_uri("urn:epcglobal:cbv:disp:active", CbvVocabulary::kBizStep, kPrefixes),
            "urn:epcglobal:cbv:disp:active");
  EXPECT_EQ(cbv_uri("gs1:Temperature", CbvVocabulary::kBizStep, kPrefixes),
            "https://gs1.org/voc/Temperature");
  EXPECT_EQ(cbv_uri("ex:step", CbvVocabulary::kBizStep, kPrefixes), "ex:step");
  EXPECT_EQ(cbv_uri("https://example.com/steps/pick", CbvVocabulary::kBizStep, {}),
            "https://example.com/steps/pick");
  EXPECT_EQ(cbv_uri("cbv:BizStep-x", CbvVocabulary::kBizStep, {}), "cbv:BizStep-x");
  EXPECT_EQ(expand_curie("gs1:", kPrefixes), "https://gs1.org/voc/");
  EXPECT_EQ(expand_curie("nocolon", kPrefixes), "nocolon");
}

}  // namespace
}  // namespace custos::epcis
