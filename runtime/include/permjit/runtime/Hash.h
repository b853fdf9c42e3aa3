// A small 128-bit content hash for kernel-cache keys and cache-file checksums.
//
// Two independent 64-bit lanes over the same bytes: xxHash64 (seed 0) and FNV-1a 64. Two
// different algorithms, so a collision needs both to collide at once. Not cryptographic: the
// cache trusts its own directory, the hash only has to separate honest inputs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace permjit::runtime {

uint64_t xxhash64(std::string_view data, uint64_t seed = 0);
uint64_t fnv1a64(std::string_view data);

struct Hash128 {
  uint64_t hi = 0;          // xxHash64 lane
  uint64_t lo = 0;          // FNV-1a lane
  std::string hex() const;  // 32 lowercase hex digits, hi first
  bool operator==(const Hash128&) const = default;
};

Hash128 hash128(std::string_view data);

// Hashes a sequence of fields. Every field is length-prefixed, so ("ab", "c") and ("a", "bc")
// hash differently.
class Hasher {
 public:
  Hasher& field(std::string_view value);
  Hasher& field(int64_t value);
  Hash128 finish() const { return hash128(buffer_); }

 private:
  std::string buffer_;
};

}  // namespace permjit::runtime
