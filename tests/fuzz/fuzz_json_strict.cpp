// json_io::parseStrict, the JSON reader under every permjit format: any text either parses or
// throws permjit::Error. What parses must dump and parse back to an equal value.
#include <cstddef>
#include <cstdint>

#include "FuzzSupport.h"
#include "permjit/dsl/JsonReader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json value;
  try {
    value = permjit::json_io::parseStrict(permjit::fuzz::asText(data, size), "fuzz input");
  } catch (const permjit::Error&) {
    return 0;
  }
  PERMJIT_FUZZ_CHECK(permjit::json_io::parseStrict(value.dump(), "dumped") == value);
  (void)permjit::json_io::describe(value);
  return 0;
}
