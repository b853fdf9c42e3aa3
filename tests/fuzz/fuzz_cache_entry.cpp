// The kernel cache's entry reader (DiskCache::load): any bytes under an entry's name are either
// served as that key's payload (only when they are exactly an entry of that key, artifact and
// checksum) or reported corrupt and removed; never a crash, never another key's kernel.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "FuzzSupport.h"
#include "permjit/runtime/DiskCache.h"

namespace {

const std::string& scratchDir() {
  static const std::string dir = [] {
    char name[] = "/tmp/permjit-fuzz-cache-XXXXXX";
    const char* made = mkdtemp(name);
    if (made == nullptr) std::abort();
    return std::string(made);
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using permjit::runtime::Artifact;
  using permjit::runtime::DiskCache;
  const DiskCache disk(scratchDir());
  const permjit::runtime::Hash128 key = permjit::runtime::hash128("fuzz key");
  const std::string path = disk.pathFor(key, Artifact::kCubin);
  const std::string bytes = permjit::fuzz::asText(data, size);
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  std::string payload;
  const DiskCache::Lookup lookup = disk.load(key, Artifact::kCubin, &payload);
  if (lookup == DiskCache::Lookup::kHit) {
    // Served only what is byte for byte the entry of this key.
    PERMJIT_FUZZ_CHECK(DiskCache::encode(key, Artifact::kCubin, payload) == bytes);
  } else {
    PERMJIT_FUZZ_CHECK(lookup == DiskCache::Lookup::kCorrupt);
    PERMJIT_FUZZ_CHECK(!std::filesystem::exists(path));  // a bad entry is removed
  }
  // The same bytes as a payload make a valid entry that is served back unchanged, and not
  // under another artifact.
  disk.store(key, Artifact::kCubin, bytes);
  PERMJIT_FUZZ_CHECK(disk.load(key, Artifact::kCubin, &payload) == DiskCache::Lookup::kHit);
  PERMJIT_FUZZ_CHECK(payload == bytes);
  PERMJIT_FUZZ_CHECK(disk.load(key, Artifact::kPtx, &payload) == DiskCache::Lookup::kMissing);
  return 0;
}
