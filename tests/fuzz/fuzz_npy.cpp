// The .npy reader (`permjit search --q/--k`, the capture files): any bytes either read as an
// array or throw permjit::Error. What reads must have as many values as its shape says, and a
// float32 array must write and read back equal (float16 ones are widened on reading).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>

#include "FuzzSupport.h"
#include "permjit/patterns/Npy.h"

namespace {

// One scratch file per fuzzing process: the reader takes a path.
const std::string& scratchPath(const char* suffix) {
  static const std::string dir = [] {
    char name[] = "/tmp/permjit-fuzz-npy-XXXXXX";
    const char* made = mkdtemp(name);
    if (made == nullptr) std::abort();
    return std::string(made);
  }();
  static std::string paths[2];
  std::string& path = paths[std::strcmp(suffix, "in") == 0 ? 0 : 1];
  if (path.empty()) path = dir + "/" + suffix + ".npy";
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace permjit::patterns;
  const std::string& in = scratchPath("in");
  {
    std::ofstream out(in, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  NpyArray array;
  try {
    array = readNpy(in);
  } catch (const permjit::Error&) {
    return 0;
  }
  PERMJIT_FUZZ_CHECK(array.size() == static_cast<int64_t>(array.data.size()));
  try {
    (void)readHeadsNpy(in, "fuzz");
  } catch (const permjit::Error&) {
  }
  if (array.dtype == NpyDType::kFloat32) {
    const std::string& again = scratchPath("out");
    writeNpy(again, array.shape, array.data.data());
    const NpyArray back = readNpy(again);
    PERMJIT_FUZZ_CHECK(back.shape == array.shape);
    // Bitwise (NaNs included); an empty array (a zero dimension) has no data pointer.
    PERMJIT_FUZZ_CHECK(back.data.size() == array.data.size());
    PERMJIT_FUZZ_CHECK(array.data.empty() || std::memcmp(back.data.data(), array.data.data(),
                                                         array.data.size() * sizeof(float)) == 0);
  }
  return 0;
}
