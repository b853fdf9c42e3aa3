// Helpers shared by the runtime API's test files (one test binary).
#pragma once

#include <filesystem>
#include <string>

#include "permjit/permjit.h"

namespace permjit::testing {

// An empty kernel cache directory under the system temp dir, named for the test.
inline std::string freshCacheDir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("permjit-test-" + name);
  std::filesystem::remove_all(dir);
  return dir.string();
}

// One device runtime (and context) for every GPU test of the binary, over a cache shared with
// the other GPU test binaries, so repeated structures compile once.
inline Runtime& gpuRuntime() {
  static Runtime* runtime = [] {
    RuntimeOptions options;
    options.cache_dir =
        (std::filesystem::temp_directory_path() / "permjit-gpu-test-cache").string();
    return new Runtime(options);
  }();
  return *runtime;
}

}  // namespace permjit::testing
