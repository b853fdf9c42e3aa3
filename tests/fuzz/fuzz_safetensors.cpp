// The safetensors header parser (`permjit search --capture FILE.safetensors`): any bytes either
// parse or throw permjit::Error. What parses must describe tensors inside the data section, of
// a known dtype, each byte range the size its shape says, no two overlapping.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "FuzzSupport.h"
#include "permjit/patterns/Safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace permjit::patterns;
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  SafetensorsHeader header;
  try {
    header = parseSafetensorsHeader(bytes, bytes.size(), "fuzz.safetensors");
  } catch (const permjit::Error&) {
    return 0;
  }
  const uint64_t data_size = bytes.size() - header.data_offset;
  uint64_t previous_end = 0;
  std::map<uint64_t, uint64_t> ranges;
  for (const auto& [name, info] : header.tensors) {
    uint64_t count = 1;
    for (int64_t d : info.shape) {
      PERMJIT_FUZZ_CHECK(d >= 0);
      count *= static_cast<uint64_t>(d);
    }
    const uint64_t bytes_per = info.dtype == "F32" ? 4 : 2;
    PERMJIT_FUZZ_CHECK(info.dtype == "F32" || info.dtype == "F16" || info.dtype == "BF16");
    PERMJIT_FUZZ_CHECK(info.begin <= info.end && info.end <= data_size);
    PERMJIT_FUZZ_CHECK(info.end - info.begin == count * bytes_per);
    ranges[info.begin] = info.end;
  }
  for (const auto& [begin, end] : ranges) {
    PERMJIT_FUZZ_CHECK(begin >= previous_end);  // no overlap
    previous_end = end;
  }
  return 0;
}
