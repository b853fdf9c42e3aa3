// The online estimators' kernels (codegen/cuda/pj_estimate.cuh): their sources, and the stages a
// dynamic spec runs with each stage's launch shape and shared memory.
#include <algorithm>
#include <sstream>
#include <string>

#include "EmbeddedSources.h"
#include "permjit/codegen/CudaSource.h"
#include "permjit/dsl/Error.h"

namespace permjit {
namespace {

[[noreturn]] void fail(ErrorCategory category, const std::string& message) {
  throw Error(category, message);
}

}  // namespace

const char* estimatorStageName(EstimatorStage stage) {
  switch (stage) {
    case EstimatorStage::kStats:
      return "stats";
    case EstimatorStage::kLse:
      return "lse";
    case EstimatorStage::kScores:
      return "scores";
    case EstimatorStage::kSelect:
      return "select";
    case EstimatorStage::kGridColumns:
      return "grid_columns";
    case EstimatorStage::kGridRows:
      return "grid_rows";
    case EstimatorStage::kGridPhase:
      return "grid_phase";
  }
  return "?";
}

GeneratedKernel generateEstimator(EstimatorStage stage, int head_dim, DType dtype,
                                  const TargetInfo& target) {
  if (head_dim != 64 && head_dim != 128) {
    fail(ErrorCategory::kUnsupported,
         "head_dim: " + std::to_string(head_dim) + " is not supported; allowed: 64, 128");
  }
  const std::string type = dtype == DType::kBF16 ? "BF16" : "FP16";
  const std::string config =
      "permjit::dev::EstimateConfig<permjit::dev::" + type + ", " + std::to_string(head_dim) + ">";
  GeneratedKernel out;
  out.kernel_name = std::string("permjit_estimate_") + estimatorStageName(stage) + "_" +
                    std::to_string(head_dim) + "_" + (dtype == DType::kBF16 ? "bf16" : "fp16");
  std::string call;
  const int tile_bytes = 2 * 64 * head_dim * 2;  // Q rows and one K tile
  switch (stage) {
    case EstimatorStage::kStats:
      call = "permjit::dev::estimate_stats<" + config + ">(args);";
      out.threads = 128;
      out.smem_bytes = tile_bytes;
      break;
    case EstimatorStage::kLse:
      call = "permjit::dev::estimate_lse(args);";
      out.threads = 256;
      break;
    case EstimatorStage::kScores:
      call = "permjit::dev::estimate_scores<" + config + ">(args);";
      out.threads = 128;
      out.smem_bytes = tile_bytes;
      break;
    case EstimatorStage::kSelect:
      call = "permjit::dev::estimate_select(args);";
      out.threads = 1024;
      break;
    case EstimatorStage::kGridColumns:
      call = "permjit::dev::estimate_grid_columns(args);";
      out.threads = 256;  // a warp per candidate stride
      break;
    case EstimatorStage::kGridRows:
      call = "permjit::dev::estimate_grid_rows<" + config + ">(args);";
      out.threads = 128;
      out.smem_bytes = tile_bytes;
      break;
    case EstimatorStage::kGridPhase:
      call = "permjit::dev::estimate_grid_phase(args);";
      out.threads = 1024;
      break;
  }
  std::ostringstream src;
  src << "// permjit online estimator: " << estimatorStageName(stage) << "\n"
      << "#include \"pj_estimate.cuh\"\n\n"
      << "extern \"C\" __global__ void __launch_bounds__(" << out.threads << ")\n"
      << out.kernel_name << "(const __grid_constant__ permjit::EstimateArgs args) {\n"
      << "  " << call << "\n"
      << "}\n";
  out.source = src.str();
  codegen_detail::attachCompileInputs(out, target);
  return out;
}

std::vector<EstimatorStage> estimatorStages(const KernelSpec& spec) {
  if (!spec.dynamic.empty()) {
    return {EstimatorStage::kStats, EstimatorStage::kLse, EstimatorStage::kScores,
            EstimatorStage::kSelect};
  }
  if (spec.grid_estimate) {
    return {EstimatorStage::kStats,       EstimatorStage::kLse,      EstimatorStage::kScores,
            EstimatorStage::kGridColumns, EstimatorStage::kGridRows, EstimatorStage::kGridPhase};
  }
  return {};
}

int estimatorMaxExtraSmem(EstimatorStage stage) {
  // The score kernel's per-chunk score accumulators; the other stages need none.
  return stage == EstimatorStage::kScores
             ? static_cast<int>((2 * kEstimateChunk - 1 + kMaxEstimateDiagWindow) * 4)
             : 0;
}

EstimatorLaunch estimatorLaunch(EstimatorStage stage, const KernelSpec& spec,
                                const EstimatorShape& shape) {
  const std::vector<EstimatorStage> stages = estimatorStages(spec);
  if (std::find(stages.begin(), stages.end(), stage) == stages.end()) {
    fail(ErrorCategory::kInvalidArgument,
         std::string("stage: ") + estimatorStageName(stage) + " is not a stage of the '" +
             spec.name + "' estimator; allowed: the stages of estimatorStages(spec)");
  }
  const auto bh = static_cast<unsigned>(shape.batch_heads);
  const auto chunks = static_cast<unsigned>(shape.chunks);
  // At least one group: validation refuses a q_boundary branch whose modality the run lacks, so
  // an atom always has rows, but a launch with a zero grid dimension would fail outright.
  const auto groups = static_cast<unsigned>(
      std::max<int64_t>(1, shape.sample_rows / 64 + (shape.last_q + 63) / 64));
  switch (stage) {
    case EstimatorStage::kStats:
      // 64-row query groups: the sample rows, then the estimate rows.
      return {bh, chunks, groups, 0};
    case EstimatorStage::kScores: {
      // vertical_slash sums diagonals too: one accumulator per offset the chunk and the rows
      // reach when they fit the window; the grid estimator only sums columns.
      const int64_t window =
          shape.diag_window_rows > 0 ? shape.diag_window_rows + kEstimateChunk - 1 : 0;
      return {bh, chunks, 1, static_cast<int>((kEstimateChunk + window) * 4)};
    }
    case EstimatorStage::kSelect:
      return {bh, 2, 1, 0};  // one CTA per set: vertical columns, slash offsets
    case EstimatorStage::kGridRows: {
      // estimate_grid_rows gathers the chosen lines' keys: at most span / smallest stride.
      const std::vector<int>& strides = spec.grid_estimate->strides;
      const int64_t smallest = *std::min_element(strides.begin(), strides.end());
      const int64_t lines = (shape.grid_end - shape.grid_begin + smallest - 1) / smallest;
      return {bh, static_cast<unsigned>((lines + kEstimateChunk - 1) / kEstimateChunk), 1, 0};
    }
    case EstimatorStage::kLse:
      // A warp per scored row, 8 per CTA (estimate_lse).
      return {
          bh,
          static_cast<unsigned>(std::max<int64_t>(1, (shape.sample_rows + shape.last_q + 7) / 8)),
          1, 0};
    case EstimatorStage::kGridColumns:
    case EstimatorStage::kGridPhase:
      return {bh, 1, 1, 0};
  }
  return {bh, 1, 1, 0};
}

}  // namespace permjit
