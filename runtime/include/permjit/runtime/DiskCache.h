// Content-addressed on-disk store of compiled kernels, shared by processes.
//
// One file per key: <dir>/<key hex>.<artifact>, made of a fixed header (magic, format version,
// artifact, key, payload size, 128-bit checksum of the payload) and the payload. Files are
// written to a temporary file in the same directory, fsync'ed and renamed over the final name,
// so a reader sees either no file or a complete one. A file that fails any header check or
// the checksum (truncated, corrupt, another format version) is removed and reported as
// corrupt; it is never handed out.
#pragma once

#include <optional>
#include <string>

#include "permjit/runtime/Hash.h"
#include "permjit/runtime/Nvrtc.h"

namespace permjit::runtime {

class DiskCache {
 public:
  static constexpr uint32_t kFormatVersion = 1;
  static constexpr size_t kHeaderSize = 56;

  explicit DiskCache(std::string dir) : dir_(std::move(dir)) {}
  const std::string& dir() const { return dir_; }
  std::string pathFor(const Hash128& key, Artifact artifact) const;

  enum class Lookup { kHit, kMissing, kCorrupt };
  // On kHit, *payload holds the verified payload. A corrupt file is deleted.
  Lookup load(const Hash128& key, Artifact artifact, std::string* payload) const;
  // Atomic publish; Error(kIo) naming the directory when it cannot be written.
  void store(const Hash128& key, Artifact artifact, const std::string& payload) const;
  // Removes every entry (<32 hex>.ptx / .cubin) and every writer's temporary file older than
  // 10 minutes (younger ones may be writes in flight); returns the count. Other files in the
  // directory are left alone.
  size_t clear() const;
  // Number of cache files and their total size in bytes.
  struct Usage {
    size_t files = 0;
    uint64_t bytes = 0;
  };
  Usage usage() const;

  // The file image for a payload (exposed for tests that forge corrupt files).
  static std::string encode(const Hash128& key, Artifact artifact, const std::string& payload);

 private:
  std::string dir_;
};

}  // namespace permjit::runtime
