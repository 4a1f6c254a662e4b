#include "custos/epcis/cbv_vocabulary.h"

namespace custos::epcis {
namespace {

constexpr std::string_view kCbvBase = "https://ref.gs1.org/cbv/";

struct VocabularyForms {
  CbvVocabulary vocabulary;
  std::string_view term_prefix;  // in the CBV 2.0 URI: "BizStep-"
  std::string_view urn_prefix;   // EPCIS 1.x: "urn:epcglobal:cbv:bizstep:"
};

constexpr VocabularyForms kForms[] = {
    {CbvVocabulary::kBizStep, "BizStep-", "urn:epcglobal:cbv:bizstep:"},
    {CbvVocabulary::kDisposition, "Disp-", "urn:epcglobal:cbv:disp:"},
    {CbvVocabulary::kBizTransactionType, "BTT-", "urn:epcglobal:cbv:btt:"},
    {CbvVocabulary::kSourceDestType, "SDT-", "urn:epcglobal:cbv:sdt:"},
    {CbvVocabulary::kErrorReason, "ER-", "urn:epcglobal:cbv:er:"},
    {CbvVocabulary::kComponent, "Comp-", "urn:epcglobal:cbv:comp:"},
};

const VocabularyForms& forms_of(CbvVocabulary vocabulary) {
  for (const VocabularyForms& forms : kForms) {
    if (forms.vocabulary == vocabulary) return forms;
  }
  return kForms[0];  // unreachable: kForms lists every vocabulary
}

}  // namespace

std::string expand_curie(std::string_view value, const CuriePrefixes& prefixes) {
  const size_t colon = value.find(':');
  if (colon == std::string_view::npos) return std::string(value);
  auto found = prefixes.find(value.substr(0, colon));
  if (found == prefixes.end()) return std::string(value);
  std::string uri = found->second;
  uri += value.substr(colon + 1);
  return uri;
}

std::string cbv_uri(std::string_view value, CbvVocabulary vocabulary,
                    const CuriePrefixes& prefixes) {
  const VocabularyForms& forms = forms_of(vocabulary);
  std::string_view name;
  if (value.find(':') == std::string_view::npos) {
    name = value;
  } else if (value.starts_with(forms.urn_prefix)) {
    name = value.substr(forms.urn_prefix.size());
  } else {
    return expand_curie(value, prefixes);
  }
  std::string uri(kCbvBase);
  uri += forms.term_prefix;
  uri += name;
  return uri;
}

}  // namespace custos::epcis
