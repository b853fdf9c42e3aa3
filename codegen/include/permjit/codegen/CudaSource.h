// KernelSpec -> CUDA source for NVRTC. The generated source is a thin preamble (tile sizes,
// head dim, dtype, the pattern's keep/classify policy, an extern "C" entry point) over the
// hand-written device templates, which travel in GeneratedKernel::headers (embedded into this
// library at build time), so no header is read from disk at run time.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "permjit/codegen/TargetInfo.h"
#include "permjit/compiler/KernelSpec.h"

namespace permjit {

struct GeneratedKernel {
  std::string source;  // the preamble; includes the embedded headers by name
  // extern "C" entry point, readable in a profiler and unique per structure:
  // permjit_<family>_<orig|perm>[_gather][_estgrid]_<dtype>_hd<D>_<m>x<n>w<warps>s<stages>_<hash>
  std::string kernel_name;
  int threads = 0;     // block size (1-D)
  int smem_bytes = 0;  // dynamic shared memory per CTA; above 48 KB the launcher must opt
                       // in with CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
  int block_m = 0;     // rows per CTA: the row segment table's tile
  int block_n = 0;     // columns per step: the column segment table's tile
  // The entry point takes TmaArgs (KernelArgs.h) as a second parameter (the sm90a family):
  // tensor maps over this run's Q, K and V, encoded per run by the launcher.
  bool tma_args = false;
  // The key split (KernelArgs.h KeySplitArgs), entry points taking AttentionArgs alone. An
  // attention pass: split_count, its count kernel (grid (batch * heads, row tiles / 8), 256
  // threads), empty when the pass has none (dynamic plans, CodegenOptions::key_split off).
  // generateKeySplitKernels: split_plan (one CTA of 1024), launched before the attention
  // kernel, whose grid then has KeySplitArgs::extra_rows more rows; the module's kernel_name
  // is the combine, launched after it (grid kSplitMaxTiles, `threads`, smem_bytes).
  std::string split_count_name, split_plan_name;
  std::vector<std::string> nvrtc_options;
  std::vector<std::pair<std::string, std::string>> headers;  // name, text for nvrtcCreateProgram
  // SHA-256 (64 hex digits) of every embedded header's name and text, computed at build time;
  // identical for every kernel of one build, so caches key on it instead of the texts.
  std::string headers_digest;
};

// What the runtime, not the pattern, decides about a kernel's code.
struct CodegenOptions {
  // Render the key split (KernelArgs.h KeySplitArgs) into a static pass: the attention kernel's
  // CTA roles and chunk combine, and the split_count / split_plan entry points. Off (or a
  // dynamic pass): the kernel has no split code at all. Off by default, like the runtime's
  // split (RuntimeOptions::key_split_min_tiles).
  bool key_split = false;
};

// Renders pass `pass_index` of `spec` for `target`. Launch geometry: grid (batch * heads,
// args.rows.total / block_m), block (threads), dynamic shared memory smem_bytes, parameters
// AttentionArgs and, when tma_args, TmaArgs (permjit/codegen/KernelArgs.h). Specs with the same
// structure (param values aside) render identical source and kernel name. Throws
// Error(kInvalidPattern) for a malformed spec and Error(kUnsupported) for a head dim, tile shape or
// shared-memory size the templates or the target cannot run.
GeneratedKernel generateCuda(const KernelSpec& spec, const TargetInfo& target, int pass_index = 0,
                             const CodegenOptions& options = {});

// The key split's plan and combine kernels for the tile configuration of `spec` (dtype, head
// dim, tile; nothing of the pattern), one module shared by every static plan of that
// configuration (GeneratedKernel::split_plan_name and kernel_name).
GeneratedKernel generateKeySplitKernels(const KernelSpec& spec, const TargetInfo& target);

// The tile a plan of `family` uses unless the caller or the tuning database picks one
// (sm80: 128x64x4x2; sm90a: 128x128x4x2, 128x128x4x3 at head dim 64), and the tiles the autotuner
// tries for it, the default first. Error(kUnsupported) for head dims other than 64 and 128.
TileConfig defaultTile(KernelFamily family, int head_dim);
std::vector<TileConfig> tileSpace(KernelFamily family, int head_dim);

// The online estimators' kernels (codegen/cuda/pj_estimate.cuh). Each takes one EstimateArgs
// (KernelArgs.h). vertical_slash runs kStats, kLse, kScores, kSelect; grid_estimated runs
// kStats, kLse, kScores (with sample rows, without diagonal scores), kGridColumns, kGridRows,
// kGridPhase (estimatorStages). estimatorLaunch gives each launch's grid and the dynamic
// shared memory it needs beyond GeneratedKernel::smem_bytes.
enum class EstimatorStage { kStats, kLse, kScores, kSelect, kGridColumns, kGridRows, kGridPhase };
// "stats" | "lse" | "scores" | "select" | "grid_columns" | "grid_rows" | "grid_phase"
const char* estimatorStageName(EstimatorStage stage);
constexpr int kEstimateChunk = 512;  // keys per CTA of kStats and kScores
constexpr int kMaxEstimateLastQ = 1024;
// Error(kUnsupported) for head dims other than 64 and 128.
GeneratedKernel generateEstimator(EstimatorStage stage, int head_dim, DType dtype,
                                  const TargetInfo& target);

// The offline search's residue-mass kernel (codegen/cuda/pj_search.cuh, ResidueMassArgs in
// KernelArgs.h): 128 threads, grid (ceil(seq_len / 64), batch * heads), dynamic shared memory
// residueMassSmemBytes. Error(kUnsupported) for head dims other than 64 and 128.
GeneratedKernel generateResidueMass(int head_dim, DType dtype, const TargetInfo& target);
int residueMassSmemBytes(int head_dim, int row_bins);

// The stages of `spec`'s estimator in launch order; empty for a static spec.
std::vector<EstimatorStage> estimatorStages(const KernelSpec& spec);

// What the launch geometry of one run's estimator depends on (runtime/Workspace.h).
struct EstimatorShape {
  int64_t batch_heads = 0;
  int64_t chunks = 0;  // key chunks of kEstimateChunk keys
  int64_t last_q = 0;  // the estimate rows scored (an atom's modality may have none)
  // vertical_slash: the estimate rows' max - min + 1 position when a chunk's diagonal scores
  // are summed in shared memory (at most kMaxEstimateDiagWindow), 0 when they go to global.
  int64_t diag_window_rows = 0;
  int64_t sample_rows = 0;  // grid_estimated: sample rows scored before them (0 otherwise)
  int64_t grid_begin = 0, grid_end = 0;  // grid_estimated: the span this run estimates over
};

struct EstimatorLaunch {
  unsigned grid_x = 1, grid_y = 1, grid_z = 1;
  int extra_smem = 0;  // bytes of dynamic shared memory beyond GeneratedKernel::smem_bytes
};

// The launch of `stage` of `spec`'s estimator at `shape`. Error(kInvalidArgument) for a stage
// that is not one of estimatorStages(spec).
EstimatorLaunch estimatorLaunch(EstimatorStage stage, const KernelSpec& spec,
                                const EstimatorShape& shape);

// The widest spread of estimate rows whose diagonal scores estimate_scores sums in shared
// memory; wider ones (a modality's last queries around a long span of another) add to global.
constexpr int64_t kMaxEstimateDiagWindow = 8192;

// The most extra shared memory `stage` ever launches with (kScores at kMaxEstimateDiagWindow):
// what a plan opts the stage's kernel in to.
int estimatorMaxExtraSmem(EstimatorStage stage);

}  // namespace permjit
