// parsePatternFile: a whole pattern file ({"permjit": 1, "name", "pattern", "layout"}). What
// parses must dump and parse back equal (Json.h) and survive validate and the reference mask
// against its own layout for small sequence lengths.
#include <cstddef>
#include <cstdint>

#include "FuzzSupport.h"
#include "permjit/dsl/Json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  permjit::PatternFile file;
  try {
    file = permjit::parsePatternFile(permjit::fuzz::asText(data, size));
  } catch (const permjit::Error&) {
    return 0;
  }
  // Not caught: a file that parsed must parse back from its own dump.
  const permjit::PatternFile back = permjit::parsePatternFile(permjit::dumpPatternFile(file));
  PERMJIT_FUZZ_CHECK(back.name == file.name);
  PERMJIT_FUZZ_CHECK(back.pattern == file.pattern);
  PERMJIT_FUZZ_CHECK(back.layout == file.layout);
  permjit::fuzz::exercisePattern(file.pattern, file.layout.value_or(permjit::Layout()));
  return 0;
}
