// patternFromJson and layoutFromJson on one JSON value (the "pattern" and "layout" members of
// a pattern file, fuzzed without the file wrapper). What reads must round-trip through toJson
// and survive validate and the reference mask for small sequence lengths.
#include <cstddef>
#include <cstdint>
#include <optional>

#include "FuzzSupport.h"
#include "permjit/dsl/Json.h"
#include "permjit/dsl/JsonReader.h"

using permjit::Error;
using permjit::Layout;
using permjit::Pattern;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json value;
  try {
    value = permjit::json_io::parseStrict(permjit::fuzz::asText(data, size), "fuzz input");
  } catch (const Error&) {
    return 0;
  }
  std::optional<Layout> layout;
  try {
    layout = permjit::layoutFromJson(value);
  } catch (const Error&) {
  }
  if (layout) {
    PERMJIT_FUZZ_CHECK(permjit::layoutFromJson(permjit::layoutToJson(*layout)) == *layout);
    (void)layout->str();
    permjit::fuzz::exercisePattern(permjit::causal(), *layout);
  }
  std::optional<Pattern> pattern;
  try {
    pattern = permjit::patternFromJson(value);
  } catch (const Error&) {
    return 0;
  }
  PERMJIT_FUZZ_CHECK(permjit::patternFromJson(permjit::patternToJson(*pattern)) == *pattern);
  permjit::fuzz::exercisePattern(*pattern, Layout());
  permjit::fuzz::exercisePattern(*pattern, Layout::textVisionText(64, 8, 8));
  return 0;
}
