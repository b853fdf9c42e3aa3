#include "permjit/codegen/CudaSource.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <sstream>

#include "EmbeddedSources.h"
#include "KernelFamily.h"
#include "PredicateRenderer.h"
#include "SourceTemplate.h"
#include "permjit/dsl/Error.h"

namespace permjit {
namespace {

[[noreturn]] void fail(ErrorCategory category, const std::string& message) {
  throw Error(category, message);
}

std::string ccName(int major, int minor) {
  return std::to_string(major) + "." + std::to_string(minor);
}

// Stable across runs and platforms (unlike std::hash): FNV-1a, 64 bit.
uint64_t fnv1a(const std::string& text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

// The structural tags of a pass in its kernel name (what a profiler user reads first): its
// index spaces (original order, permuted, gathered columns) and whether it is an estimated
// grid's candidate. The pass index stays out (like the pattern name): equal structures render
// equal source wherever they appear in a plan.
std::string passTags(const KernelSpec& spec, int pass_index) {
  const PassSpec& pass = spec.passes[pass_index];
  std::string tags = pass.rows.isIdentity() && pass.cols.isIdentity() ? "orig" : "perm";
  if (pass.cols.gather_vertical) tags += "_gather";
  if (spec.grid_estimate) tags += "_estgrid";
  return tags;
}

}  // namespace

std::string TargetInfo::nvrtcArch() const {
  return "sm_" + std::to_string(major) + std::to_string(minor) + (arch_specific ? "a" : "");
}

int TargetInfo::maxSharedMemoryPerBlock() const {
  // CUDA programming guide, "Technical Specifications per Compute Capability".
  if (major == 8 && minor == 0) return 163 * 1024;
  if (major == 8 && minor == 7) return 163 * 1024;
  if (major == 9 || major == 10) return 227 * 1024;
  return 99 * 1024;  // 8.6, 8.9, 12.x
}

const char* kernelFamilyName(KernelFamily family) {
  switch (family) {
    case KernelFamily::kSm80:
      return "sm80";
    case KernelFamily::kSm90a:
      return "sm90a";
  }
  return "?";
}

KernelFamily parseKernelFamily(const std::string& name, const std::string& field) {
  if (name == "sm80") return KernelFamily::kSm80;
  if (name == "sm90a") return KernelFamily::kSm90a;
  fail(ErrorCategory::kInvalidArgument,
       field + ": '" + name + "' is not a kernel family; allowed: sm80, sm90a");
}

bool TargetInfo::runs(KernelFamily f) const {
  switch (f) {
    case KernelFamily::kSm80:
      return true;
    case KernelFamily::kSm90a:
      return major == 9 && minor == 0 && arch_specific;
  }
  return false;
}

KernelFamily TargetInfo::preferredFamily() const {
  return runs(KernelFamily::kSm90a) ? KernelFamily::kSm90a : KernelFamily::kSm80;
}

TargetInfo TargetInfo::withFamily(KernelFamily f) const {
  if (!runs(f)) {
    fail(ErrorCategory::kUnsupported,
         std::string("kernel family: ") + kernelFamilyName(f) + " does not run on " + nvrtcArch() +
             "; allowed there: sm80" + (runs(KernelFamily::kSm90a) ? ", sm90a" : ""));
  }
  TargetInfo t = *this;
  t.family = f;
  return t;
}

TargetInfo TargetInfo::forComputeCapability(int major, int minor) {
  if (major < 8 || minor < 0 || minor > 9) {
    fail(ErrorCategory::kUnsupported, "compute capability: " + ccName(major, minor) +
                                          " is not supported; allowed: 8.0 and newer "
                                          "(bf16 mma.sync, ldmatrix, cp.async)");
  }
  TargetInfo t;
  t.major = major;
  t.minor = minor;
  t.arch_specific = major >= 9;
  return t;
}

GeneratedKernel generateCuda(const KernelSpec& spec, const TargetInfo& target, int pass_index) {
  if (pass_index < 0 || pass_index >= static_cast<int>(spec.passes.size())) {
    fail(ErrorCategory::kInvalidArgument,
         "pass_index: " + std::to_string(pass_index) + " out of range; allowed: 0.." +
             std::to_string(static_cast<int>(spec.passes.size()) - 1) + " (spec has " +
             std::to_string(spec.passes.size()) + " passes)");
  }
  if (spec.params.size() > static_cast<size_t>(sem::kMaxParams)) {
    fail(ErrorCategory::kUnsupported, "params: " + std::to_string(spec.params.size()) +
                                          " runtime parameters; allowed: at most " +
                                          std::to_string(sem::kMaxParams));
  }
  const codegen_detail::AttentionFamily& family = codegen_detail::attentionFamily(target.family);
  family.checkSpec(spec, target);

  const TileConfig& t = spec.tile;
  const int root = spec.passes[pass_index].expr_root;
  codegen_detail::PredicateRenderer renderer(spec);
  const std::string tags = passTags(spec, pass_index);
  const std::string dtype = spec.dtype == DType::kBF16 ? "bf16" : "fp16";
  // Every value depends on structure only (no param values, no pattern name), so equal
  // structures render equal source and share one cached binary.
  std::map<std::string, std::string> holes = {
      {"family", kernelFamilyName(family.id())},
      {"tags", tags},
      {"mainloop_header", family.mainloopHeader()},
      {"dtype", spec.dtype == DType::kBF16 ? "BF16" : "FP16"},
      {"head_dim", std::to_string(spec.head_dim)},
      {"block_m", std::to_string(t.block_m)},
      {"block_n", std::to_string(t.block_n)},
      {"warps", std::to_string(t.warps)},
      {"stages", std::to_string(t.stages)},
      {"config", family.configType()},
      {"gather_cols", spec.passes[pass_index].cols.gather_vertical ? "true" : "false"},
      {"keep", renderer.keep(root)},
      {"classify", renderer.classify(root)},
      {"launch_bounds", family.launchBounds(spec)},
      {"entry", family.entry(spec)},
      {"kernel_name", "${kernel_name}"},
  };
  const std::string unnamed = codegen_detail::renderTemplate(
      "attention_kernel.cu.in", codegen_detail::kAttentionKernelTemplate, holes);
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(fnv1a(unnamed)));

  GeneratedKernel out;
  out.kernel_name = std::string("permjit_") + kernelFamilyName(family.id()) + "_" + tags + "_" +
                    dtype + "_hd" + std::to_string(spec.head_dim) + "_" +
                    std::to_string(t.block_m) + "x" + std::to_string(t.block_n) + "w" +
                    std::to_string(t.warps) + "s" + std::to_string(t.stages) + "_" + hash;
  out.source = codegen_detail::renderTemplate("attention_kernel.cu.in", unnamed,
                                              {{"kernel_name", out.kernel_name}});
  out.threads = family.threads(spec);
  out.smem_bytes = family.smemBytes(spec);
  out.block_m = t.block_m;
  out.block_n = t.block_n;
  // No --use_fast_math: the softmax uses ex2.approx explicitly (checked against a float
  // reference by tests/gpu_kernel); everything else keeps IEEE semantics.
  out.nvrtc_options = {"--gpu-architecture=" + target.nvrtcArch(), "-std=c++17", "-default-device",
                       "-DNDEBUG"};
  for (int i = 0; i < codegen_detail::kEmbeddedFileCount; ++i) {
    out.headers.emplace_back(codegen_detail::kEmbeddedFiles[i].name,
                             codegen_detail::kEmbeddedFiles[i].text);
  }
  out.headers_digest = codegen_detail::kEmbeddedFilesDigest;
  return out;
}

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
  out.nvrtc_options = {"--gpu-architecture=" + target.nvrtcArch(), "-std=c++17", "-default-device",
                       "-DNDEBUG"};
  for (int i = 0; i < codegen_detail::kEmbeddedFileCount; ++i) {
    out.headers.emplace_back(codegen_detail::kEmbeddedFiles[i].name,
                             codegen_detail::kEmbeddedFiles[i].text);
  }
  out.headers_digest = codegen_detail::kEmbeddedFilesDigest;
  return out;
}

std::vector<EstimatorStage> estimatorStages(const KernelSpec& spec) {
  if (spec.dynamic) {
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
  return stage == EstimatorStage::kScores ? (2 * kEstimateChunk - 1 + kMaxEstimateLastQ) * 4 : 0;
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
  switch (stage) {
    case EstimatorStage::kStats:
      // 64-row query groups: the sample rows, then the last last_q rows.
      return {bh, chunks, static_cast<unsigned>(shape.sample_rows / 64 + (shape.last_q + 63) / 64),
              0};
    case EstimatorStage::kScores:
      // vertical_slash sums diagonals too: one accumulator per offset the chunk and the last
      // rows reach; the grid estimator only sums columns.
      return {bh, chunks, 1,
              spec.dynamic ? static_cast<int>((2 * kEstimateChunk - 1 + shape.last_q) * 4)
                           : kEstimateChunk * 4};
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
    case EstimatorStage::kGridColumns:
    case EstimatorStage::kGridPhase:
      return {bh, 1, 1, 0};
  }
  return {bh, 1, 1, 0};
}

}  // namespace permjit
