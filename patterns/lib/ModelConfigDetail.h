// Internals shared by the model-config sources: HeadSpecJson.cpp (heads), LayoutRules.cpp
// (layout rules) and ModelConfig.cpp (the whole document), which composes them.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "permjit/dsl/JsonReader.h"
#include "permjit/patterns/ModelConfig.h"

namespace permjit::patterns::detail {

// An optional number in [0, 1] (recall, density, search budgets).
std::optional<double> fractionOr(const json_io::ObjectReader& reader, const std::string& key);

// One head in the config's JSON form; `with_index` also accepts the "head" key of a layer's
// entry. Reading checks keys and types, not nesting or parameter ranges (validateHead does).
nlohmann::json headToJson(const HeadSpec& head);
HeadSpec headFromJson(const nlohmann::json& value, const std::string& path, bool with_index);
// A head of a layer: its nesting rules, then its parameters (by building its pattern).
void validateHead(const HeadSpec& head, const std::string& path);

nlohmann::json layoutRulesToJson(const LayoutRules& rules);
LayoutRules layoutRulesFromJson(const nlohmann::json& value, const std::string& path);  // checks
void checkLayoutRules(const LayoutRules& rules, const std::string& path);

}  // namespace permjit::patterns::detail
