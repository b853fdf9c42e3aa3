#include "permjit/codegen/CudaSource.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <sstream>

#include "EmbeddedSources.h"
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

// Renders the expression tree rooted at one node as C++ over sem::* (q, k, p in scope).
class ExprRenderer {
 public:
  explicit ExprRenderer(const KernelSpec& spec) : spec_(spec) {}

  std::string keep(int node) { return render(node, /*classify=*/false, 0); }
  std::string classify(int node) { return render(node, /*classify=*/true, 0); }

 private:
  const ExprNode& at(int node, const std::string& field) const {
    if (node < 0 || node >= static_cast<int>(spec_.nodes.size())) {
      fail(ErrorCategory::kInvalidPattern, field + ": node index " + std::to_string(node) +
                                               " out of range; allowed: 0.." +
                                               std::to_string(spec_.nodes.size()) + " - 1");
    }
    return spec_.nodes[node];
  }

  std::string slot(int node, int i) const {
    const int s = spec_.nodes[node].slots[i];
    if (s < 0 || s >= static_cast<int>(spec_.params.size())) {
      fail(ErrorCategory::kInvalidPattern, "nodes[" + std::to_string(node) + "].slots[" +
                                               std::to_string(i) + "]: " + std::to_string(s) +
                                               " is not a param index; allowed: 0.." +
                                               std::to_string(spec_.params.size()) + " - 1");
    }
    return "p[" + std::to_string(s) + "]";
  }

  std::string modality(int node) const {
    const int m = spec_.nodes[node].modality;
    if (m < 0 || m >= sem::kNumModalities) {
      fail(ErrorCategory::kInvalidPattern,
           "nodes[" + std::to_string(node) + "].modality: " + std::to_string(m) +
               " is not a modality code; allowed: 0 (vision), 1 (text), 2 (other)");
    }
    return std::to_string(m);
  }

  std::string render(int node, bool cls, int depth) {
    const ExprNode& n = at(node, "nodes[...].children");
    // Deeper than the node count means the "tree" has a cycle.
    if (depth > static_cast<int>(spec_.nodes.size())) {
      fail(ErrorCategory::kInvalidPattern, "nodes[" + std::to_string(node) +
                                               "].children: the expression graph has a cycle; "
                                               "allowed: a tree (or DAG) of nodes");
    }
    const std::string tag = "nodes[" + std::to_string(node) + "]";
    // Local atoms read modality-local coordinates (Coord.local, Bounds.llo/lhi).
    const std::string qp = n.local ? "q.local" : "q.pos", kp = n.local ? "k.local" : "k.pos";
    const std::string qlo = n.local ? "q.llo" : "q.lo", qhi = n.local ? "q.lhi" : "q.hi";
    const std::string klo = n.local ? "k.llo" : "k.lo", khi = n.local ? "k.lhi" : "k.hi";
    switch (n.op) {
      case ExprOp::kTrue:
        return cls ? "kAll" : "true";
      case ExprOp::kFalse:
        return cls ? "kNone" : "false";
      case ExprOp::kAnd:
      case ExprOp::kOr: {
        if (n.children.empty()) {
          fail(ErrorCategory::kInvalidPattern,
               tag + ".children: And/Or needs at least one child; allowed: 1 or more");
        }
        const bool is_and = n.op == ExprOp::kAnd;
        if (cls) {
          // Left fold: tri_and(tri_and(a, b), c).
          std::string acc = render(n.children[0], cls, depth + 1);
          for (size_t i = 1; i < n.children.size(); ++i) {
            acc = std::string(is_and ? "tri_and(" : "tri_or(") + acc + ", " +
                  render(n.children[i], cls, depth + 1) + ")";
          }
          return acc;
        }
        std::string acc = "(";
        for (size_t i = 0; i < n.children.size(); ++i) {
          if (i) acc += is_and ? " && " : " || ";
          acc += render(n.children[i], cls, depth + 1);
        }
        return acc + ")";
      }
      case ExprOp::kNot: {
        if (n.children.size() != 1) {
          fail(ErrorCategory::kInvalidPattern, tag + ".children: Not has " +
                                                   std::to_string(n.children.size()) +
                                                   " children; allowed: exactly 1");
        }
        const std::string c = render(n.children[0], cls, depth + 1);
        return cls ? "tri_not(" + c + ")" : "!" + c;
      }
      case ExprOp::kDiag:
        return cls ? "diag_classify(" + qlo + ", " + qhi + ", " + klo + ", " + khi + ", " +
                         slot(node, 0) + ", " + slot(node, 1) + ")"
                   : "diag_keep(" + qp + ", " + kp + ", " + slot(node, 0) + ", " + slot(node, 1) +
                         ")";
      case ExprOp::kQRange:
      case ExprOp::kKRange: {
        const bool q = n.op == ExprOp::kQRange;
        return cls ? "range_classify(" + (q ? qlo : klo) + ", " + (q ? qhi : khi) + ", " +
                         slot(node, 0) + ", " + slot(node, 1) + ")"
                   : "range_keep(" + (q ? qp : kp) + ", " + slot(node, 0) + ", " + slot(node, 1) +
                         ")";
      }
      case ExprOp::kQMod:
      case ExprOp::kKMod: {
        const bool q = n.op == ExprOp::kQMod;
        const std::string args = slot(node, 0) + ", " + slot(node, 1) + ", " + slot(node, 2) + ")";
        const std::string side = q ? "q" : "k";
        return cls ? "mod_classify(" + (q ? qlo : klo) + ", " + (q ? qhi : khi) + ", " + side +
                         ".step, " + side + ".count, " + args
                   : "mod_keep(" + (q ? qp : kp) + ", " + args;
      }
      case ExprOp::kQModality:
      case ExprOp::kKModality: {
        const std::string side = n.op == ExprOp::kQModality ? "q" : "k";
        return std::string(cls ? "modality_classify(" : "modality_keep(") + side + ".modality, " +
               modality(node) + ")";
      }
      case ExprOp::kKInSet:
        return cls ? "set_classify(d, kVerticalSet, k.lo, k.hi, k.step == 1)"
                   : "set_keep(d, kVerticalSet, k.pos)";
      case ExprOp::kDiagInSet:
        return cls ? "set_classify(d, kSlashSet, q.lo - k.hi, q.hi - k.lo, true)"
                   : "set_keep(d, kSlashSet, q.pos - k.pos)";
    }
    fail(ErrorCategory::kInvalidPattern,
         tag + ".op: unknown op " + std::to_string(static_cast<int>(n.op)) +
             "; allowed: True, False, And, Or, Not, Diag, QRange, KRange, QMod, KMod, "
             "QModality, KModality, KInSet, DiagInSet");
  }

  const KernelSpec& spec_;
};

void checkTile(const KernelSpec& spec, const TargetInfo& target) {
  const TileConfig& t = spec.tile;
  const std::string cfg = "tile {block_m " + std::to_string(t.block_m) + ", block_n " +
                          std::to_string(t.block_n) + ", warps " + std::to_string(t.warps) +
                          ", stages " + std::to_string(t.stages) + "}";
  if (spec.head_dim != 64 && spec.head_dim != 128) {
    fail(ErrorCategory::kUnsupported,
         "head_dim: " + std::to_string(spec.head_dim) + " is not supported; allowed: 64, 128");
  }
  if (spec.dtype != DType::kBF16 && spec.dtype != DType::kFP16) {
    fail(ErrorCategory::kUnsupported, "dtype: unknown value; allowed: bf16, fp16");
  }
  if (t.warps < 1 || t.block_m <= 0 || t.block_m % t.warps != 0 ||
      (t.block_m / t.warps != 16 && t.block_m / t.warps != 32)) {
    fail(ErrorCategory::kUnsupported, "tile.block_m / tile.warps: " + cfg +
                                          " gives a warp share other than 16 or 32 rows; "
                                          "allowed: block_m / warps in {16, 32}");
  }
  if (t.block_n < 16 || t.block_n > 256 || t.block_n % 16 != 0) {
    fail(ErrorCategory::kUnsupported, "tile.block_n: " + std::to_string(t.block_n) +
                                          "; allowed: a multiple of 16 from 16 to 256");
  }
  if (t.stages < 2 || t.stages > 4) {
    fail(ErrorCategory::kUnsupported,
         "tile.stages: " + std::to_string(t.stages) + "; allowed: 2, 3, 4");
  }
  const int threads = t.warps * 32, chunks = spec.head_dim / 8;
  if (threads % chunks != 0 || (t.block_n * chunks) % threads != 0 ||
      (t.block_m * chunks) % threads != 0) {
    fail(ErrorCategory::kUnsupported,
         "tile: " + cfg + " does not split its 16-byte tile loads evenly over " +
             std::to_string(threads) + " threads; allowed: block_m and block_n multiples of " +
             std::to_string(threads / chunks));
  }
  const int smem = (t.block_m + 2 * t.stages * t.block_n) * spec.head_dim * 2;
  if (smem > target.maxSharedMemoryPerBlock()) {
    fail(ErrorCategory::kUnsupported, "tile: " + cfg + " needs " + std::to_string(smem) +
                                          " bytes of shared memory; allowed on " +
                                          target.nvrtcArch() + ": at most " +
                                          std::to_string(target.maxSharedMemoryPerBlock()));
  }
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
  checkTile(spec, target);

  const TileConfig& t = spec.tile;
  const int root = spec.passes[pass_index].expr_root;
  ExprRenderer renderer(spec);
  const std::string keep = renderer.keep(root);
  const std::string classify = renderer.classify(root);

  // Everything below depends on structure only (no param values, no pattern name), so the
  // hash of it names the kernel and equal structures share one cached binary.
  std::ostringstream body;
  body << "#include \"permjit/codegen/KernelArgs.h\"\n"
       << "#include \"pj_attention_fwd.cuh\"\n\n"
       << "namespace {\n"
       << "using DType = permjit::dev::" << (spec.dtype == DType::kBF16 ? "BF16" : "FP16") << ";\n"
       << "constexpr int kHeadDim = " << spec.head_dim << ";\n"
       << "constexpr int kBlockM = " << t.block_m << ";\n"
       << "constexpr int kBlockN = " << t.block_n << ";\n"
       << "constexpr int kWarps = " << t.warps << ";\n"
       << "constexpr int kStages = " << t.stages << ";\n"
       << "using Config =\n    permjit::dev::AttentionConfig<DType, kHeadDim, kBlockM, kBlockN, "
          "kWarps, kStages>;\n\n"
       << "struct Pattern {\n"
       << "  static constexpr bool kGatherCols = "
       << (spec.passes[pass_index].cols.gather_vertical ? "true" : "false") << ";\n"
       << "  static __device__ __forceinline__ bool keep(const permjit::sem::Coord& q,\n"
       << "                                              const permjit::sem::Coord& k,\n"
       << "                                              const int* p,\n"
       << "                                              const permjit::sem::DynamicSets& d) {\n"
       << "    using namespace permjit::sem;\n"
       << "    return " << keep << ";\n"
       << "  }\n"
       << "  static __device__ __forceinline__ permjit::sem::Tri classify(\n"
       << "      const permjit::sem::Bounds& q, const permjit::sem::Bounds& k, const int* p,\n"
       << "      const permjit::sem::DynamicSets& d) {\n"
       << "    using namespace permjit::sem;\n"
       << "    return " << classify << ";\n"
       << "  }\n"
       << "};\n"
       << "}  // namespace\n\n";
  // A grid_estimated candidate reads its phases from the workspace (structure: the slots).
  std::string entry = "permjit::dev::attention_forward<Config, Pattern>(args);";
  if (spec.grid_estimate) {
    entry = "permjit::dev::attention_forward_estimated_grid<Config, Pattern, " +
            std::to_string(spec.grid_estimate->phase_q_slot) + ", " +
            std::to_string(spec.grid_estimate->phase_k_slot) + ">(args);";
    body << "// grid_estimated: " << entry << "\n";
  }
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(fnv1a(body.str())));

  GeneratedKernel out;
  out.kernel_name = std::string("permjit_") + hash;
  out.threads = t.warps * 32;
  out.smem_bytes = (t.block_m + 2 * t.stages * t.block_n) * spec.head_dim * 2;
  out.block_m = t.block_m;
  out.block_n = t.block_n;
  std::ostringstream src;
  // The pattern name and pass index stay out of the source: equal structures, equal source.
  src << "// permjit generated attention kernel\n"
      << body.str() << "extern \"C\" __global__ void __launch_bounds__(" << out.threads << ")\n"
      << out.kernel_name << "(const __grid_constant__ permjit::AttentionArgs args) {\n"
      << "  " << entry << "\n"
      << "}\n";
  out.source = src.str();
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
