// The JSON form of patterns and layouts (schema: docs/json-schema.md, version 1). Every Pattern
// and Layout round-trips: fromJson(toJson(x)) == x. Reading is strict: unknown keys, unknown
// kinds, wrong JSON types and missing fields throw Error(kInvalidPattern) with a JSON path
// ("pattern.of[1].stride: ...") and the allowed keys or values.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "permjit/dsl/Pattern.h"

namespace permjit {

// The schema version this build reads and writes (the top-level "permjit" field).
constexpr int kPatternFileVersion = 1;

nlohmann::json patternToJson(const Pattern& pattern);
Pattern patternFromJson(const nlohmann::json& json);
nlohmann::json layoutToJson(const Layout& layout);
Layout layoutFromJson(const nlohmann::json& json);

// A pattern file: {"permjit": 1, "name": ..., "pattern": {...}, "layout": {...}}.
struct PatternFile {
  std::string name;
  Pattern pattern = causal();
  std::optional<Layout> layout;
};

// Throws Error(kIo) when the file cannot be read, Error(kInvalidPattern) for bad content
// (unparsable JSON with nlohmann's line and column, or a schema violation).
PatternFile loadPatternFile(const std::string& path);
PatternFile parsePatternFile(const std::string& text);
std::string dumpPatternFile(const PatternFile& file);  // pretty-printed, parses back equal

}  // namespace permjit
