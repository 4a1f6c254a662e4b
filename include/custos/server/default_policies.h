// custos server: the built-in default policy set.
//
// The text of docs/policies/*.cedar, in file-name order joined by one newline
// (docs/policies/README.md), compiled into the binary so that a node starts
// with the shipped posture when its log holds no policy version yet.
#pragma once

#include <string_view>

namespace custos {

std::string_view default_policy_text();

}  // namespace custos
