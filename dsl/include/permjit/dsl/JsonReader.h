// The strict JSON reader every permjit JSON format uses (pattern files, model configs): unknown
// keys, wrong JSON types and missing fields throw Error(kInvalidPattern) whose message starts
// with the JSON path of the offending value ("pattern.of[1].stride: ...") and, for keys, lists
// the allowed ones. Also the span and modality forms shared by those formats.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "permjit/dsl/Error.h"
#include "permjit/dsl/Pattern.h"

namespace permjit::json_io {

// Throws Error(kInvalidPattern, "<path>: <what>").
[[noreturn]] void fail(const std::string& path, const std::string& what);

// The deepest nesting of arrays and objects any permjit JSON document may have. Patterns nest
// a level per combinator (and two for an "of" list), so 256 leaves room for any pattern a
// person or a search writes while keeping every recursive reader far from the stack's end.
constexpr int kMaxJsonDepth = 256;

// Parses `text` strictly: syntax errors, nesting deeper than kMaxJsonDepth, a key twice in one
// object and numbers outside the range of a double ("1e400") throw Error(kInvalidPattern)
// naming `what` (e.g. "pattern file") and, where there is one, the JSON path.
nlohmann::json parseStrict(const std::string& text, const std::string& what);

// How a value is named in "expected X, got <describe(value)>": numbers show their value.
std::string describe(const nlohmann::json& value);

// "a, b, c": the list of allowed names in an error message.
std::string joinNames(const std::vector<std::string>& names);

// One JSON object read strictly: the constructor rejects non-objects and keys outside
// `allowed`; the getters check presence and type and name the field in every error.
class ObjectReader {
 public:
  ObjectReader(const nlohmann::json& value, std::string path, std::vector<std::string> allowed);

  const nlohmann::json& value() const { return value_; }
  const std::string& path() const { return path_; }
  std::string field(const std::string& key) const { return path_ + "." + key; }
  bool has(const std::string& key) const { return value_.contains(key); }

  // `why` follows "missing; " in the error (which fields are needed and when).
  const nlohmann::json& require(const std::string& key, const std::string& why) const;
  int64_t integer(const std::string& key, const std::string& why) const;
  int64_t integerOr(const std::string& key, int64_t fallback) const;
  std::string string(const std::string& key, const std::string& why) const;
  const nlohmann::json& array(const std::string& key, const std::string& why) const;

  static int64_t asInteger(const nlohmann::json& value, const std::string& path);
  static std::string asString(const nlohmann::json& value, const std::string& path);
  static const nlohmann::json& asArray(const nlohmann::json& value, const std::string& path);

 private:
  const nlohmann::json& value_;
  std::string path_;
};

// Re-throws an Error from `build` (a DSL constructor, a nested reader) with `path` in front.
template <class F>
auto atPath(const std::string& path, F build) -> decltype(build()) {
  try {
    return build();
  } catch (const Error& e) {
    throw Error(e.category(), path + ": " + e.what());
  }
}

// A modality name: "vision" | "text" | "other".
Modality modalityFromJson(const nlohmann::json& value, const std::string& path);

// The span form: {"all": true} | {"range": [b, e]} | {"modality": m} | {"last": n}.
nlohmann::json spanToJson(const SpanRef& span);
SpanRef spanFromJson(const nlohmann::json& value, const std::string& path);

}  // namespace permjit::json_io
