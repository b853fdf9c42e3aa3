// The autotuner: for one pattern and shape class, compiles every tile configuration the code
// generator accepts (through the runtime's kernel cache, several at once), checks each once
// against the float64 CPU reference, times each with CUDA events at the target shape on the
// runtime's GPU, and picks the fastest. The default tile is always a candidate and is kept
// unless another beats it by TuneOptions::min_gain, so the result is never slower than the
// default. docs/tuning.md describes the procedure and the database.
#pragma once

#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "permjit/permjit.h"
#include "permjit/runtime/TuningDb.h"

namespace permjit::runtime {

// The shape the candidates are timed at (one representative of the shape class).
struct TuneShape {
  int64_t batch = 1, heads = 8, kv_heads = 0;  // kv_heads 0: same as heads
  int64_t seq_len = 0;                         // required
  Layout layout;
  TensorLayout tensor_layout = TensorLayout::kBSHD;
};

struct TuneOptions {
  int iterations = 20;      // timed runs per candidate (median)
  int warmup = 3;           // untimed runs first
  int compile_threads = 0;  // 0: min(hardware threads, 8)
  // The correctness check: batch 1, one head, at check_seq_len with check_layout (0: the
  // target's sequence length and layout; long sequences are checked on sampled rows).
  int64_t check_seq_len = 0;
  Layout check_layout;
  // A non-default tile must be at least this much faster (fraction of the default's time)
  // to be chosen, so timing noise never replaces the default with an equal tile.
  double min_gain = 0.02;
  std::ostream* progress = &std::cerr;  // progress bar; nullptr: silent
};

struct CandidateResult {
  enum class Status { kTimed, kUnsupported, kCompileFailed, kCheckFailed };
  TileConfig tile;
  bool is_default = false;
  Status status = Status::kTimed;
  std::string note;   // why it was skipped (the Error's message)
  double rel_l2 = 0;  // of the check
  double ms = 0;      // median, kTimed only
  double gain = 0;    // default_ms / ms - 1, kTimed only
};
const char* candidateStatusName(CandidateResult::Status status);

struct TuneResult {
  TuningKey key;
  std::string pattern_name;
  TileConfig default_tile, best_tile;
  double default_ms = 0, best_ms = 0;
  std::vector<CandidateResult> candidates;  // default first
  double gain() const { return best_ms > 0 ? default_ms / best_ms - 1.0 : 0.0; }
  TuningEntry entry() const;  // what the database stores, dated now
};

// The tile shapes tried for a head dim: the default first, then the cross product block_m
// {64, 128} x block_n {32, 64, 128} x warps {4, 8} x stages {2, 3} minus those
// validateTileConfig rejects. The code generator filters the rest when candidates compile.
std::vector<TileConfig> candidateTiles(int head_dim);

// Tunes on `runtime`'s GPU. plan_options.tile is ignored (every candidate sets it);
// plan_options.seq_len / layout, when set, only pick the database bucket together with the
// shape. Throws Error(kDriverError) without a device, Error(kInvalidArgument) for a bad shape,
// Error(kInternal) when the default tile itself fails the check.
TuneResult autotune(Runtime& runtime, const Pattern& pattern, const PlanOptions& plan_options,
                    const TuneShape& shape, const TuneOptions& options = {});

// The database key of `spec` on this runtime's device (nullopt on a host-only runtime).
// `seq_len_hint` picks the bucket (0: kDefaultSeqBucket). The tuner and tunedTileFor key by
// the spec compilePattern makes with the default tile and pass split.
std::optional<TuningKey> tuningKeyFor(const Runtime& runtime, const KernelSpec& spec,
                                      int64_t seq_len_hint);

// What Runtime::plan calls when PlanOptions::tile is unset: the tuned tile of this pattern's
// shape class from the database at env::tuningDbPath(), or nullopt (use the default). An entry
// whose tile no longer validates or no longer renders for this target is ignored with a
// warning on stderr. With PERMJIT_TUNE=1 an untuned shape class is tuned first (at
// seq_len = options.seq_len or the default bucket, heads 8) and stored. Never throws for a bad
// or missing database; timing runs happen only when tuning.
std::optional<TileConfig> tunedTileFor(Runtime& runtime, const Pattern& pattern,
                                       const PlanOptions& options);

// Plain-text table: tile, status, ms, gain vs default; the chosen row marked.
std::string summaryTable(const TuneResult& result);

// Timed kernel launches of this process (every plan.run the autotuner times or warms up);
// a process that only plans from the database keeps it at 0.
uint64_t timingRunCount();

}  // namespace permjit::runtime
