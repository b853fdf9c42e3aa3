// permjit: the one header an application includes.
//
//   permjit::Runtime runtime;                          // device 0, cache from PERMJIT_CACHE_DIR
//   permjit::Plan plan = runtime.plan(pattern, {.head_dim = 128, .dtype = permjit::DType::kBF16});
//   plan.run({.q = q, .k = k, .v = v, .o = o, .batch = 1, .heads = 32, .kv_heads = 8,
//             .seq_len = s, .head_dim = 128, .layout = layout}, stream);
//
// A Plan is per shape CLASS: pattern structure, head dim, dtype, tile sizes and target. The
// sequence length, the modality layout and the pattern's parameter values (strides, phases,
// spans, windows) are bound per run, so changing them never compiles a new kernel. Plan::run
// only binds arguments and enqueues kernels on the caller's stream: no device allocation, no
// synchronization, no copies, so it can be captured in a CUDA graph.
//
// Every failure is a permjit::Error with a category and a message naming the offending field.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "permjit/codegen/TargetInfo.h"
#include "permjit/compiler/KernelSpec.h"
#include "permjit/compiler/Pipeline.h"
#include "permjit/dsl/Env.h"
#include "permjit/dsl/Error.h"
#include "permjit/dsl/Pattern.h"
#include "permjit/dsl/Reference.h"

namespace permjit {

struct RuntimeOptions {
  std::optional<std::string> cache_dir;  // default: env::cacheDir() (PERMJIT_CACHE_DIR)
  std::optional<bool> disable_cache;     // default: env::cacheDisabled() (PERMJIT_DISABLE_CACHE)
  int device_ordinal = 0;
  // NVRTC target such as "sm_90a" or "sm_80". Default: the device's own.
  std::optional<std::string> arch;
  // Compile only, never touch the driver (needs `arch`): plans compile to cubin through the
  // cache, Plan::run fails with kDriverError. For CI and ahead-of-time cache warming.
  bool host_only = false;
  std::string driver_library = "libcuda.so.1";
  size_t memory_cache_entries = 256;
  // Key split (both families, static plans, runs given Plan::keySplitWorkspaceBytes of
  // workspace): a row tile whose scan visits more than this many column tiles may have its
  // visited tiles cut into chunks run by several CTAs and combined through their softmax
  // states, when it would otherwise be a long serial tail (tri-shape's dense last rows at 1M).
  // 256 is the intended setting; 0: never split (plans then render no split code). Default:
  // PERMJIT_KEY_SPLIT, else 0: the split is off until it has been measured on a GPU.
  std::optional<int> key_split_min_tiles;
  // The attention kernel family (codegen/TargetInfo.h): kSm80 on every target, kSm90a (wgmma,
  // warp specialization) on sm_90a. Default: PERMJIT_KERNEL_FAMILY, else the target's preferred
  // family (kSm90a on sm_90a, kSm80 elsewhere). A family the target cannot run is
  // Error(kUnsupported) when the Runtime is made.
  std::optional<KernelFamily> kernel_family;
};

struct PlanOptions {
  int head_dim = 128;  // 64 or 128
  DType dtype = DType::kBF16;
  std::optional<TileConfig> tile;  // default: the compiler's for the head dim
  // How many launches the pattern becomes: one fused pass, or (kSplitLines) the line-free
  // terms in original order plus the grid lines over their permutation, merged through the
  // log-sum-exp (RunArgs::lse then required). kAuto: the compiler's choice.
  PassSplit pass_split = PassSplit::kAuto;
  // A representative shape to check the pattern against at plan time; the plan still serves
  // every layout and sequence length. seq_len == 0: no check.
  Layout layout;
  int64_t seq_len = 0;
  std::string name = "pattern";  // kernel naming and diagnostics
};

// The CompileOptions of a plan: head_dim, dtype, tile, layout, seq_len, name and pass_split
// copied (tuning aside: Runtime::plan may then take the tile and split from the tuning
// database). Everything that compiles a pattern outside a Runtime (permjit compile --emit
// pattern-ir|tile-ir|spec, permjit viz) uses it to see the plan Runtime::plan would build.
CompileOptions compileOptionsFor(const PlanOptions& options);

// How q/k/v/o are laid out in memory. head_dim is always contiguous.
enum class TensorLayout {
  kBSHD,     // [batch, seq, heads, head_dim] contiguous
  kBHSD,     // [batch, heads, seq, head_dim] contiguous
  kStrided,  // the explicit element strides of RunArgs
};
const char* tensorLayoutName(TensorLayout layout);  // "bshd" | "bhsd" | "strided"

struct Strides {
  int64_t batch = 0, seq = 0, head = 0;  // in elements
};

struct RunArgs {
  const void* q = nullptr;  // [batch, heads, seq, head_dim] through the layout/strides
  const void* k = nullptr;  // kv_heads heads
  const void* v = nullptr;
  void* o = nullptr;  // like q
  // fp32 [batch, heads, seq_len] natural-log log-sum-exp per row. Optional for one-pass
  // plans; required when the plan has several passes (they merge through it).
  float* lse = nullptr;
  int64_t batch = 1;
  int64_t heads = 0;
  int64_t kv_heads = 0;  // 0: same as heads; heads % kv_heads == 0 (GQA)
  int64_t seq_len = 0;
  int64_t head_dim = 0;        // must equal the plan's
  std::optional<DType> dtype;  // checked against the plan's when given
  TensorLayout tensor_layout = TensorLayout::kBSHD;
  Strides q_strides, k_strides, v_strides, o_strides;  // kStrided only
  Layout layout;  // modality spans of this input (empty: all positions are `other`)
  std::optional<float> softmax_scale;  // default 1 / sqrt(head_dim)
  // Device scratch, 256-byte aligned; run allocates nothing, so the caller owns it. Dynamic
  // plans (vertical_slash: the online estimator's scores and the chosen indices live here):
  // required, at least Plan::workspaceBytes(batch, heads, seq_len) bytes. Static plans:
  // optional; with at least Plan::keySplitWorkspaceBytes() bytes the run may split heavy row
  // tiles over several CTAs (RuntimeOptions::key_split_min_tiles); with workspace_bytes 0 (or
  // a null workspace) it does not; any other size is an error.
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
  // Dynamic plans: skip the estimator and reuse the sets already in the workspace from an
  // earlier run of the same batch, heads and seq_len (e.g. to share one estimate between
  // calls, or to time the attention alone).
  bool reuse_estimate = false;
};

struct CacheStats {
  uint64_t memory_hits = 0;
  uint64_t disk_hits = 0;
  uint64_t compiles = 0;  // NVRTC invocations
  uint64_t corrupt_files = 0;
  size_t memory_entries = 0;
};

class Runtime;

class Plan {
 public:
  // Launches every pass on `stream` (a CUstream; nullptr = the legacy default stream).
  void run(const RunArgs& args, void* stream = nullptr) const;

  const KernelSpec& spec() const;
  std::string structureKey() const;  // KernelSpec::structureKey()
  int numPasses() const;
  const std::string& source(int pass = 0) const;  // generated CUDA of one pass
  const std::string& kernelName(int pass = 0) const;
  const std::string& arch() const;
  bool canRun() const;  // false on a host-only runtime
  // Dynamic plans estimate per input on the GPU inside run (vertical_slash sets, the stride and
  // phases of grid_estimated).
  bool isDynamic() const;
  // Device scratch run needs for this shape; 0 for static plans.
  size_t workspaceBytes(int64_t batch, int64_t heads, int64_t seq_len) const;
  // Device scratch a static plan's runs can use for the key split (RunArgs::workspace), the
  // same for every shape; 0 for dynamic plans and when the runtime's key split is off.
  size_t keySplitWorkspaceBytes() const;
  // What the estimator chose in the last run on `args.workspace` (DynamicIndices: the
  // vertical_slash sets, or the grid choice and candidate scores), per (batch, head) in
  // batch-major order, copied to the host after synchronizing `stream`. For checking and
  // inspection, not the hot path. Error(kInvalidArgument) for a static plan.
  std::vector<DynamicIndices> estimatedIndices(const RunArgs& args, void* stream = nullptr) const;
  // Compiled code of one pass through the cache: "cubin" or "ptx" bytes.
  std::string binary(const std::string& artifact, int pass = 0) const;

  struct Impl;

 private:
  friend class Runtime;
  friend struct RuntimeAccess;  // builds plans for the runtime's internals (the autotuner)
  explicit Plan(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

class Runtime {
 public:
  // Throws Error(kDriverError) when a device is needed (host_only false) and there is no
  // driver or GPU; the message says what is missing.
  explicit Runtime(RuntimeOptions options = {});
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // compilePattern + generateCuda + NVRTC through the cache (memory -> disk -> compile). With
  // PERMJIT_DUMP_SOURCE=<dir>, every generated source (passes and estimators) is written to
  // <dir>/<kernel name>.cu first; Error(kIo) when it cannot be.
  Plan plan(const Pattern& pattern, const PlanOptions& options = {});

  bool hasDevice() const;
  std::string deviceName() const;  // "" when host-only
  const std::string& arch() const;
  // The attention kernel family its plans render with (RuntimeOptions::kernel_family).
  KernelFamily kernelFamily() const;
  std::string cacheDir() const;  // "" when the disk cache is disabled
  CacheStats cacheStats() const;
  void resetCacheStats();
  size_t clearCache();  // memory and disk; returns files removed

  // Why a device runtime cannot be created here ("" when it can). Never throws.
  static std::string deviceUnavailableReason(const std::string& driver_library = "libcuda.so.1");

  struct State;

 private:
  friend struct RuntimeAccess;  // the runtime's own device-side test harness
  std::shared_ptr<State> state_;
};

}  // namespace permjit
