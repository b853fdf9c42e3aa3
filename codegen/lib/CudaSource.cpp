#include "permjit/codegen/CudaSource.h"

#include <cstdint>
#include <cstdio>
#include <map>

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

// The holes every generated module fills from the tile configuration (dtype, head dim, tile
// and the family's Config over them); ${kernel_name} stays for the second render.
std::map<std::string, std::string> configHoles(const KernelSpec& spec,
                                               const codegen_detail::AttentionFamily& family) {
  const TileConfig& t = spec.tile;
  return {
      {"family", kernelFamilyName(family.id())},
      {"mainloop_header", family.mainloopHeader()},
      {"dtype", spec.dtype == DType::kBF16 ? "BF16" : "FP16"},
      {"head_dim", std::to_string(spec.head_dim)},
      {"block_m", std::to_string(t.block_m)},
      {"block_n", std::to_string(t.block_n)},
      {"warps", std::to_string(t.warps)},
      {"stages", std::to_string(t.stages)},
      {"config", family.configType()},
      {"kernel_name", "${kernel_name}"},
  };
}

// permjit_<family>_<what>_<dtype>_hd<D>_<m>x<n>w<warps>s<stages>_<hash>
std::string kernelName(const KernelSpec& spec, const codegen_detail::AttentionFamily& family,
                       const std::string& what, const char* hash) {
  const TileConfig& t = spec.tile;
  return std::string("permjit_") + kernelFamilyName(family.id()) + "_" + what + "_" +
         (spec.dtype == DType::kBF16 ? "bf16" : "fp16") + "_hd" + std::to_string(spec.head_dim) +
         "_" + std::to_string(t.block_m) + "x" + std::to_string(t.block_n) + "w" +
         std::to_string(t.warps) + "s" + std::to_string(t.stages) + "_" + hash;
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

TileConfig defaultTile(KernelFamily family, int head_dim) {
  return codegen_detail::attentionFamily(family).defaultTile(head_dim);
}

std::vector<TileConfig> tileSpace(KernelFamily family, int head_dim) {
  return codegen_detail::attentionFamily(family).tileSpace(head_dim);
}

GeneratedKernel generateCuda(const KernelSpec& spec, const TargetInfo& target, int pass_index,
                             const CodegenOptions& options) {
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
  const bool gathered = spec.passes[pass_index].cols.gather_vertical;
  // Static passes only: a dynamic plan's workspace holds the estimator's sets.
  const bool key_split = options.key_split && !spec.isDynamic();
  codegen_detail::PredicateRenderer renderer(spec);
  const std::string tags = passTags(spec, pass_index);
  // Every value depends on structure only (no param values, no pattern name), so equal
  // structures render equal source and share one cached binary.
  std::map<std::string, std::string> holes = configHoles(spec, family);
  holes.insert({
      {"tags", tags},
      {"smem_bytes", std::to_string(family.smemBytes(spec))},
      {"gather_cols", gathered ? "true" : "false"},
      {"keep", renderer.keep(root)},
      {"classify", renderer.classify(root)},
      {"keep_bits", renderer.keepBits(root)},
      {"launch_bounds", family.launchBounds(spec)},
      {"entry", family.entry(spec)},
      {"kernel_params", family.takesTmaArgs()
                            ? "const __grid_constant__ permjit::AttentionArgs args, "
                              "const __grid_constant__ permjit::TmaArgs tma"
                            : "const __grid_constant__ permjit::AttentionArgs args"},
      {"key_split", key_split ? "true" : "false"},
  });
  const std::string unnamed = codegen_detail::renderTemplate(
      "attention_kernel.cu.in", codegen_detail::kAttentionKernelTemplate, holes);
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(fnv1a(unnamed)));

  GeneratedKernel out;
  out.kernel_name = kernelName(spec, family, tags, hash);
  out.source = codegen_detail::renderTemplate("attention_kernel.cu.in", unnamed,
                                              {{"kernel_name", out.kernel_name}});
  out.threads = family.threads(spec);
  out.smem_bytes = family.smemBytes(spec);
  out.block_m = t.block_m;
  out.block_n = t.block_n;
  out.tma_args = family.takesTmaArgs();
  if (key_split) {
    out.split_count_name = out.kernel_name + "_split_count";
  }
  codegen_detail::attachCompileInputs(out, target);
  return out;
}

GeneratedKernel generateKeySplitKernels(const KernelSpec& spec, const TargetInfo& target) {
  const codegen_detail::AttentionFamily& family = codegen_detail::attentionFamily(target.family);
  family.checkSpec(spec, target);
  const TileConfig& t = spec.tile;
  const int state_threads = family.stateThreads(spec);
  // Tile configuration only: every pattern with this dtype, head dim and tile shares the module.
  std::map<std::string, std::string> holes = configHoles(spec, family);
  holes["state_threads"] = std::to_string(state_threads);
  const std::string unnamed = codegen_detail::renderTemplate(
      "key_split_kernel.cu.in", codegen_detail::kKeySplitKernelTemplate, holes);
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(fnv1a(unnamed)));
  GeneratedKernel out;
  out.kernel_name = kernelName(spec, family, "keysplit", hash);
  out.source = codegen_detail::renderTemplate("key_split_kernel.cu.in", unnamed,
                                              {{"kernel_name", out.kernel_name}});
  out.threads = state_threads;
  out.smem_bytes = t.block_m * spec.head_dim * 2;  // the epilogue's staging
  out.block_m = t.block_m;
  out.block_n = t.block_n;
  out.split_plan_name = out.kernel_name + "_plan";
  codegen_detail::attachCompileInputs(out, target);
  return out;
}

}  // namespace permjit
