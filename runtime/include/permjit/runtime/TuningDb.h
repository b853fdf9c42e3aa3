// The tuning database: the tile configuration and pass split the autotuner measured fastest for
// one GPU, pattern structure, head dim, dtype and sequence-length bucket, kept in a versioned
// JSON file
// (docs/tuning.md; default <cache dir>/tuning.json, PERMJIT_TUNING_DB overrides).
//
// Reading never trusts the file: an unknown version makes the whole file count as empty, a
// malformed entry or one whose tile no longer validates is skipped; each with a warning. Writes
// are atomic (temporary file + rename) under an advisory lock, so concurrent tuners never leave
// a torn file behind.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "permjit/compiler/KernelSpec.h"
#include "permjit/compiler/Pipeline.h"

namespace permjit::runtime {

// Version 2 added the optional entry field "pass_split"; version 1 files (no such field) still
// read, and an update rewrites them as version 2.
inline constexpr int kTuningDbVersion = 2;
inline constexpr int kOldestTuningDbVersion = 1;

// Sequence lengths are tuned per power-of-two bucket: bucket(S) is the smallest power of two
// >= S, at least kMinSeqBucket. A plan is per shape class and may not know its sequence length;
// PlanOptions::seq_len is the hint, and without one the lookup uses kDefaultSeqBucket (128K,
// the long-context size MMInference targets).
inline constexpr int64_t kMinSeqBucket = 4096;
inline constexpr int64_t kDefaultSeqBucket = 131072;
int64_t seqBucket(int64_t seq_len);  // seq_len <= 0: kDefaultSeqBucket

// The pattern-structure part of the key: a 128-bit hash (32 hex digits) of
// KernelSpec::structureKey() with the tile configuration normalized, so every tile of one
// pattern structure shares one key.
std::string tuningStructureHash(const KernelSpec& spec);

struct TuningKey {
  std::string device;  // the driver's device name, e.g. "NVIDIA H100 80GB HBM3"
  int cc_major = 0, cc_minor = 0;
  std::string structure_hash;
  int head_dim = 128;
  DType dtype = DType::kBF16;
  int64_t seq_bucket = kDefaultSeqBucket;
  bool operator==(const TuningKey&) const = default;
  std::string str() const;  // one line for messages
};

struct TuningEntry {
  TuningKey key;
  TileConfig tile;
  // The chosen pass split, kSingle or kSplitLines (never kAuto). nullopt: not tuned (version 1
  // entries), so planning keeps the caller's / compiler's choice. Not part of the key.
  std::optional<PassSplit> pass_split;
  double default_ms = 0;  // the default candidate's median at tuning time
  double tuned_ms = 0;    // the chosen candidate's median (<= default_ms)
  std::string date;       // ISO 8601 UTC, e.g. "2026-11-27T12:34:56Z"
  std::string pattern;    // human-readable pattern name, informational only
};

class TuningDb {
 public:
  // Parses a database of any version from kOldestTuningDbVersion to kTuningDbVersion. `origin`
  // names the file in warnings. Never throws on bad content: unknown version / not JSON ->
  // empty database + one warning; bad entries -> skipped, one warning each.
  static TuningDb parse(const std::string& text, const std::string& origin,
                        std::vector<std::string>* warnings);
  // A missing file is an empty database (no warning); an unreadable one warns.
  static TuningDb load(const std::string& path, std::vector<std::string>* warnings);

  // The entry for exactly `key` (latest wins on duplicates). An entry whose tile fails
  // validateTileConfig is ignored with a warning.
  std::optional<TuningEntry> lookup(const TuningKey& key,
                                    std::vector<std::string>* warnings = nullptr) const;
  // Replaces the entry with the same key, or appends.
  void upsert(TuningEntry entry);
  const std::vector<TuningEntry>& entries() const { return entries_; }

  std::string dump() const;  // pretty JSON, version kTuningDbVersion
  // Atomic write (temporary file in the same directory + rename); creates parent directories.
  // Throws Error(kIo) naming the path.
  void save(const std::string& path) const;

  // Read-modify-write of `path` under an advisory lock on "<path>.lock": loads (skipping bad
  // entries), upserts `entry`, saves as kTuningDbVersion (an older version's entries are kept).
  // Throws Error(kIo) when the file has a version this build does not read (a newer permjit's
  // database is never overwritten) or cannot be written.
  static void update(const std::string& path, const TuningEntry& entry,
                     std::vector<std::string>* warnings);

 private:
  std::vector<TuningEntry> entries_;
};

std::string isoDateNow();
std::string tileName(const TileConfig& tile);  // "128x64x4x2" (block_m x block_n x warps x stages)

}  // namespace permjit::runtime
