// The autotuner: for one pattern and shape class, compiles every candidate - a tile
// configuration the code generator accepts, crossed with the pass splits the pattern allows
// (one fused pass, or the merged passes of PassSplit::kSplitLines where the pattern splits) -
// several at once (on a Runtime: through its kernel cache); checks each once against the
// float64 CPU reference, times each with CUDA events at the target shape on the GPU, and
// picks the fastest. The default (default tile, the compiler's kAuto split) is always a
// candidate and is kept unless another beats it by TuneOptions::min_gain, so the result is
// never slower than the default. docs/tuning.md describes the procedure and the database.
//
// Implementation: the candidate space (TuningSpace.cpp), the search over a TuningBackend
// (Autotuner.cpp), the database policy plan() applies (TuningPolicy.cpp), and the backend on a
// Runtime's GPU (RuntimeTuning.cpp, the only part that knows the Runtime).
#pragma once

#include <cstdint>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "permjit/permjit.h"
#include "permjit/runtime/AttentionCheck.h"
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
  // The tiles to try (the default tile is always added first); empty: candidateTiles().
  std::vector<TileConfig> tiles;
  // At most this many candidates (tile x split), the default included, in candidateConfigs
  // order; 0: all. Bounds tuning time at large shapes.
  int max_candidates = 0;
  std::ostream* progress = &std::cerr;  // progress bar; nullptr: silent
};

// One point of the search space.
struct TuneCandidate {
  TileConfig tile;
  PassSplit pass_split = PassSplit::kSingle;  // kSingle or kSplitLines, never kAuto
  bool operator==(const TuneCandidate&) const = default;
};
std::string candidateName(const TuneCandidate& candidate);  // "128x64x4x2/lines"

struct CandidateResult {
  enum class Status { kTimed, kUnsupported, kCompileFailed, kCheckFailed };
  TileConfig tile;
  PassSplit pass_split = PassSplit::kSingle;
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
  PassSplit default_split = PassSplit::kSingle, best_split = PassSplit::kSingle;
  double default_ms = 0, best_ms = 0;
  std::vector<CandidateResult> candidates;  // default first
  double gain() const { return best_ms > 0 ? default_ms / best_ms - 1.0 : 0.0; }
  TuningEntry entry() const;  // what the database stores, dated now
};

// The tile shapes tried for a head dim on a kernel family (codegen's tileSpace), the family's
// default first. sm80: block_m {64, 128} x block_n {32, 64, 128} x warps {4, 8} x stages
// {2, 3} minus those validateTileConfig rejects; sm90a: 128 x {64, 128} x 4 x {2, 3}. The
// code generator filters the rest (shared memory) when candidates compile.
std::vector<TileConfig> candidateTiles(int head_dim, KernelFamily family = KernelFamily::kSm80);

// The pass splits `pattern` can run with under `options` (pass_split kAuto: kSingle, plus
// kSplitLines where the pattern splits; an explicit split: only that one), the compiler's
// kAuto choice first. Throws what compilePattern throws for the pattern.
std::vector<PassSplit> candidateSplits(const Pattern& pattern, const PlanOptions& options);

// The search space in timing order: the default (the family's default tile, first split)
// first, then the default tile with the other split, then every other tile (`tiles`, empty:
// candidateTiles) with each split; duplicates removed, truncated to max_candidates (0: no
// bound).
std::vector<TuneCandidate> candidateConfigs(const Pattern& pattern, const PlanOptions& options,
                                            const std::vector<TileConfig>& tiles,
                                            int max_candidates,
                                            KernelFamily family = KernelFamily::kSm80);

// The spec whose structure keys the database: the pattern lowered with the compiler's default
// tile and pass split, whatever the plan later chooses, so tuning and lookup always agree.
KernelSpec tuningKeySpec(const Pattern& pattern, const PlanOptions& options);

// The GPU a tuning database entry is for: its key fields and what a tuned tile must fit.
struct TuningDevice {
  std::string name;  // Driver::DeviceInfo::name
  int cc_major = 0, cc_minor = 0;
  int max_smem_optin = 0;  // bytes; a tuned tile needing more is stale
  std::string arch;        // the NVRTC target a tuned tile must still render for ("sm_90a")
  KernelFamily family = KernelFamily::kSm80;  // tunings of different families never mix
};

// The database key of `spec` on `device`. `seq_len_hint` picks the bucket (0:
// kDefaultSeqBucket). The tuner and tunedConfigFor key by the spec compilePattern makes with
// the default tile and pass split.
TuningKey tuningKeyFor(const TuningDevice& device, const KernelSpec& spec, int64_t seq_len_hint);

// What the search needs of a GPU, so that it never reaches into a Runtime: compile a
// candidate, check it against the CPU reference, and time it at the target shape.
class TuningBackend {
 public:
  // Median time of a plan at one shape, with inputs allocated once for every candidate.
  class Timer {
   public:
    virtual ~Timer() = default;
    // Median of `iterations` event-timed runs after `warmup` untimed ones, in ms.
    virtual double medianMs(const Plan& plan, int warmup, int iterations) = 0;
  };

  virtual ~TuningBackend() = default;
  virtual const TuningDevice& device() const = 0;
  // A plan of exactly these options (tile and pass_split set; no database lookup). Called from
  // several threads at once.
  virtual Plan compile(const Pattern& pattern, const PlanOptions& options) = 0;
  virtual CheckResult check(const Plan& plan, const Pattern& pattern,
                            const CheckConfig& config) = 0;
  virtual std::unique_ptr<Timer> timer(const TuneShape& shape, int head_dim, DType dtype) = 0;
};

// The search on `backend`: compiles every candidateConfigs point (several at once), checks
// each once, times the survivors and picks the fastest (the default unless another beats it by
// options.min_gain). plan_options as for autotune. Throws Error(kInvalidArgument) for a bad
// shape, Error(kInternal) when the default itself does not compile or fails the check.
TuneResult searchCandidates(TuningBackend& backend, const Pattern& pattern,
                            const PlanOptions& plan_options, const TuneShape& shape,
                            const TuneOptions& options = {});

// Tunes on `runtime`'s GPU (searchCandidates with candidates compiled by the runtime, bypassing
// the database). plan_options.tile is ignored (every candidate sets it), as is
// plan_options.pass_split unless it is explicit (kSingle / kSplitLines: only that split);
// plan_options.seq_len / layout, when set, only pick the database bucket together with the
// shape. Throws Error(kDriverError) without a device, else as searchCandidates.
TuneResult autotune(Runtime& runtime, const Pattern& pattern, const PlanOptions& plan_options,
                    const TuneShape& shape, const TuneOptions& options = {});

// The device of `runtime` for the database (nullopt on a host-only runtime).
std::optional<TuningDevice> tuningDeviceOf(const Runtime& runtime);
// tuningKeyFor(*tuningDeviceOf(runtime), ...); nullopt on a host-only runtime.
std::optional<TuningKey> tuningKeyFor(const Runtime& runtime, const KernelSpec& spec,
                                      int64_t seq_len_hint);

// A database entry as planning applies it.
struct TunedConfig {
  TileConfig tile;
  std::optional<PassSplit> pass_split;  // nullopt: the entry predates the split (version 1)
  bool operator==(const TunedConfig&) const = default;
};

// Tunes one shape class for the database policy below (PERMJIT_TUNE=1).
using TuneFunction = std::function<TuneResult(const Pattern& pattern, const PlanOptions& options,
                                              const TuneShape& shape)>;

// The tuning policy Runtime::plan applies when PlanOptions::tile is unset: the tuned tile and
// split of this pattern's shape class on `device` from the database at env::tuningDbPath(), or
// nullopt (use the defaults). Runtime::plan applies the split only when PlanOptions::pass_split
// is kAuto. An entry whose tile no longer validates or no longer renders for device.arch (with
// the split it would run) or does not fit device.max_smem_optin is ignored with a warning on
// stderr. With PERMJIT_TUNE=1 an untuned shape class is tuned first through `tune` (at seq_len
// = options.seq_len or the default bucket, heads 8) and stored. Never throws for a bad or
// missing database; `tune` is called only when tuning.
std::optional<TunedConfig> tunedConfigFor(const TuningDevice& device, const Pattern& pattern,
                                          const PlanOptions& options, const TuneFunction& tune);
// The policy on `runtime`'s device, tuning with autotune; nullopt on a host-only runtime.
std::optional<TunedConfig> tunedConfigFor(Runtime& runtime, const Pattern& pattern,
                                          const PlanOptions& options);

// Plain-text table: candidate (tile/split), status, ms, gain vs default; the chosen row marked.
std::string summaryTable(const TuneResult& result);

// Timed kernel launches of this process (every plan.run the autotuner times or warms up);
// a process that only plans from the database keeps it at 0.
uint64_t timingRunCount();

}  // namespace permjit::runtime
