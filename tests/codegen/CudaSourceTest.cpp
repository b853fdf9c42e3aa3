// generateCuda: hand-built KernelSpecs render sources that NVRTC compiles to cubin for sm_80
// and sm_90a (no GPU needed), names are structural, and bad specs are rejected with Errors.
#include <gtest/gtest.h>
#include <nvrtc.h>

#include <set>
#include <string>
#include <vector>

#include "ExpectError.h"
#include "SourceTemplate.h"
#include "permjit/codegen/CudaSource.h"
#include "permjit/codegen/KernelArgs.h"
#include "permjit/compiler/Pipeline.h"
#include "permjit/dsl/Error.h"

namespace permjit {
namespace {

// Small builder for expression trees and params.
struct SpecBuilder {
  KernelSpec spec;

  int param(int value, std::string name, ParamSlot::Kind kind = ParamSlot::Kind::kConst) {
    ParamSlot p;
    p.kind = kind;
    p.value = value;
    p.name = std::move(name);
    spec.params.push_back(p);
    return static_cast<int>(spec.params.size()) - 1;
  }
  int inf() { return param(0, "inf", ParamSlot::Kind::kInf); }
  int node(ExprOp op, std::vector<int> slots = {}, std::vector<int> children = {},
           bool local = false, int modality = -1) {
    ExprNode n;
    n.op = op;
    for (size_t i = 0; i < slots.size(); ++i) n.slots[i] = slots[i];
    n.children = std::move(children);
    n.local = local;
    n.modality = modality;
    spec.nodes.push_back(n);
    return static_cast<int>(spec.nodes.size()) - 1;
  }
  void pass(int root, MapRecipe rows = {}, MapRecipe cols = {}) {
    PassSpec p;
    p.rows = rows;
    p.cols = cols;
    p.expr_root = root;
    spec.passes.push_back(p);
  }
};

KernelSpec denseCausal(DType dtype, int head_dim) {
  SpecBuilder b;
  b.spec.name = "causal";
  b.spec.dtype = dtype;
  b.spec.head_dim = head_dim;
  const int zero = b.param(0, "causal.lo"), inf = b.inf();
  b.pass(b.node(ExprOp::kDiag, {zero, inf}));
  return b.spec;
}

// causal & (sink(n) | local(w))
KernelSpec sinkLocal(DType dtype, int head_dim, int sink, int local) {
  SpecBuilder b;
  b.spec.name = "a_shape";
  b.spec.dtype = dtype;
  b.spec.head_dim = head_dim;
  const int zero = b.param(0, "zero"), inf = b.inf();
  const int n = b.param(sink, "sink.n"), w = b.param(local, "local.w");
  const int causal = b.node(ExprOp::kDiag, {zero, inf});
  const int sink_node = b.node(ExprOp::kKRange, {zero, n});
  const int local_node = b.node(ExprOp::kDiag, {zero, w});
  b.pass(b.node(ExprOp::kAnd, {}, {causal, b.node(ExprOp::kOr, {}, {sink_node, local_node})}));
  return b.spec;
}

// MMInference grid head: causal & (sink | local | last(text) rows | hlines | vlines), with
// residue permutation of the vision span on rows and columns.
KernelSpec gridHead(DType dtype, int head_dim, int stride) {
  SpecBuilder b;
  b.spec.name = "grid";
  b.spec.dtype = dtype;
  b.spec.head_dim = head_dim;
  const int zero = b.param(0, "zero"), inf = b.inf();
  const int sink = b.param(1024, "sink.n"), local = b.param(1024, "local.w");
  const int text = b.param(60, "rows.last", ParamSlot::Kind::kSeqLenMinus);
  const int vs = b.param(812, "grid.begin"),
            ve = b.param(60, "grid.end", ParamSlot::Kind::kSeqLenMinus);
  const int s = b.param(stride, "grid.stride"), pq = b.param(0, "grid.pq"),
            pk = b.param(1, "grid.pk");
  const int causal = b.node(ExprOp::kDiag, {zero, inf});
  const int hline = b.node(ExprOp::kAnd, {},
                           {b.node(ExprOp::kQRange, {vs, ve}), b.node(ExprOp::kQMod, {vs, s, pq})});
  const int vline = b.node(ExprOp::kAnd, {},
                           {b.node(ExprOp::kKRange, {vs, ve}), b.node(ExprOp::kKMod, {vs, s, pk})});
  const int any =
      b.node(ExprOp::kOr, {},
             {b.node(ExprOp::kKRange, {zero, sink}), b.node(ExprOp::kDiag, {zero, local}),
              b.node(ExprOp::kQRange, {text, inf}), hline, vline});
  MapRecipe rows, cols;
  rows.residue_stride_slot = cols.residue_stride_slot = s;
  rows.residue_begin_slot = cols.residue_begin_slot = vs;
  rows.residue_end_slot = cols.residue_end_slot = ve;
  b.pass(b.node(ExprOp::kAnd, {}, {causal, any}), rows, cols);
  return b.spec;
}

// 2D-boundary-like: vision x vision keeps a local window in vision-local coordinates and the
// last n vision queries (kModalityCountMinus) see every vision key; text queries are causal
// but not inside the first text span (a Not). Rows and columns gathered by modality.
KernelSpec modalityBoundary(DType dtype, int head_dim) {
  SpecBuilder b;
  b.spec.name = "boundary_2d";
  b.spec.dtype = dtype;
  b.spec.head_dim = head_dim;
  const int zero = b.param(0, "zero"), inf = b.inf();
  const int w = b.param(256, "local.w");
  const int last = b.param(64, "vision.last", ParamSlot::Kind::kModalityCountMinus);
  b.spec.params[last].modality = sem::kVision;
  const int first_text_end = b.param(100, "text.begin");
  const int vv = b.node(ExprOp::kAnd, {},
                        {b.node(ExprOp::kQModality, {}, {}, false, sem::kVision),
                         b.node(ExprOp::kKModality, {}, {}, false, sem::kVision),
                         b.node(ExprOp::kOr, {},
                                {b.node(ExprOp::kDiag, {zero, w}, {}, true),
                                 b.node(ExprOp::kQRange, {last, inf}, {}, true)})});
  const int tt = b.node(
      ExprOp::kAnd, {},
      {b.node(ExprOp::kQModality, {}, {}, false, sem::kText), b.node(ExprOp::kDiag, {zero, inf}),
       b.node(ExprOp::kNot, {}, {b.node(ExprOp::kQRange, {zero, first_text_end})})});
  MapRecipe gather;
  gather.modality_order = {sem::kVision, sem::kText};
  b.pass(b.node(ExprOp::kOr, {}, {vv, tt}), gather, gather);
  return b.spec;
}

// Compiles with NVRTC to a cubin; returns an empty string on success, else the log.
std::string compileToCubin(const GeneratedKernel& kernel, size_t* cubin_size) {
  std::vector<const char*> names, texts, options;
  for (const auto& [name, text] : kernel.headers) {
    names.push_back(name.c_str());
    texts.push_back(text.c_str());
  }
  for (const auto& o : kernel.nvrtc_options) options.push_back(o.c_str());
  nvrtcProgram prog;
  if (nvrtcCreateProgram(&prog, kernel.source.c_str(), "permjit_kernel.cu",
                         static_cast<int>(names.size()), texts.data(),
                         names.data()) != NVRTC_SUCCESS) {
    return "nvrtcCreateProgram failed";
  }
  const nvrtcResult rc =
      nvrtcCompileProgram(prog, static_cast<int>(options.size()), options.data());
  size_t log_size = 0;
  nvrtcGetProgramLogSize(prog, &log_size);
  std::string log(log_size, '\0');
  nvrtcGetProgramLog(prog, log.data());
  std::string result;
  if (rc != NVRTC_SUCCESS) {
    result = std::string(nvrtcGetErrorString(rc)) + "\n" + log;
  } else if (nvrtcGetCUBINSize(prog, cubin_size) != NVRTC_SUCCESS || *cubin_size == 0) {
    result = "no cubin produced\n" + log;
  }
  nvrtcDestroyProgram(&prog);
  return result;
}

void expectCompiles(const KernelSpec& spec, TargetInfo target) {
  const GeneratedKernel kernel = generateCuda(spec, target);
  size_t cubin_size = 0;
  const std::string log = compileToCubin(kernel, &cubin_size);
  EXPECT_EQ(log, "") << spec.name << " for " << target.nvrtcArch() << "\n--- source ---\n"
                     << kernel.source;
  EXPECT_GT(cubin_size, 1000u);
}

const TargetInfo kSm80 = TargetInfo::forComputeCapability(8, 0);
const TargetInfo kSm90a = TargetInfo::forComputeCapability(9, 0);

TEST(TargetInfo, ArchNames) {
  EXPECT_EQ(TargetInfo::forComputeCapability(8, 0).nvrtcArch(), "sm_80");
  EXPECT_EQ(TargetInfo::forComputeCapability(8, 6).nvrtcArch(), "sm_86");
  EXPECT_EQ(TargetInfo::forComputeCapability(8, 9).nvrtcArch(), "sm_89");
  EXPECT_EQ(TargetInfo::forComputeCapability(9, 0).nvrtcArch(), "sm_90a");
  EXPECT_EQ(TargetInfo::forComputeCapability(10, 0).nvrtcArch(), "sm_100a");
  EXPECT_EQ(TargetInfo::forComputeCapability(12, 0).nvrtcArch(), "sm_120a");
  EXPECT_EQ(TargetInfo::forComputeCapability(9, 0).maxSharedMemoryPerBlock(), 227 * 1024);
  EXPECT_EQ(TargetInfo::forComputeCapability(8, 9).maxSharedMemoryPerBlock(), 99 * 1024);
}

TEST(Sm90aFamily, EveryPatternShapeCompilesToWgmma) {
  // The Hopper family renders every pattern through the same preamble; NVRTC compiles each
  // for sm_90a (wgmma, setmaxnreg and the mbarrier PTX need the "a" target).
  const TargetInfo sm90a = kSm90a.withFamily(KernelFamily::kSm90a);
  for (DType dtype : {DType::kBF16, DType::kFP16}) {
    for (int head_dim : {64, 128}) {
      for (int block_n : {64, 128}) {
        KernelSpec spec = gridHead(dtype, head_dim, 14);
        spec.tile.block_n = block_n;
        for (int pass = 0; pass < static_cast<int>(spec.passes.size()); ++pass) {
          const GeneratedKernel kernel = generateCuda(spec, sm90a, pass);
          EXPECT_EQ(kernel.kernel_name.rfind("permjit_sm90a_", 0), 0u) << kernel.kernel_name;
          EXPECT_EQ(kernel.threads, 384);
          EXPECT_NE(kernel.source.find("attention_forward_sm90<Config, Pattern, kKeySplit>"),
                    std::string::npos);
          size_t cubin_size = 0;
          EXPECT_EQ(compileToCubin(kernel, &cubin_size), "")
              << "hd" << head_dim << " block_n " << block_n << "\n"
              << kernel.source;
          EXPECT_GT(cubin_size, 1000u);
        }
      }
    }
  }
  expectCompiles(modalityBoundary(DType::kBF16, 128), sm90a);
}

// Static passes carry the key split's count kernel in their module; dynamic passes
// (whose workspace is the estimator's) and CodegenOptions::key_split false carry none, and
// then the mainloop is instantiated without the split.
TEST(KeySplit, StaticPassesHaveTheSplitEntryPoints) {
  for (const TargetInfo& target : {kSm80, kSm90a.withFamily(KernelFamily::kSm90a)}) {
    const KernelSpec spec = sinkLocal(DType::kBF16, 128, 64, 256);
    CodegenOptions on;
    on.key_split = true;
    const GeneratedKernel split = generateCuda(spec, target, 0, on);
    EXPECT_EQ(split.split_count_name, split.kernel_name + "_split_count");
    EXPECT_TRUE(split.split_plan_name.empty());  // the tile configuration's module has it
    EXPECT_NE(split.source.find("constexpr bool kKeySplit = true;"), std::string::npos);
    EXPECT_NE(split.source.find("void __launch_bounds__(256)\n" + split.split_count_name + "("),
              std::string::npos)
        << split.source;
    const GeneratedKernel plain = generateCuda(spec, target);  // off by default
    EXPECT_TRUE(plain.split_count_name.empty());
    EXPECT_TRUE(plain.split_plan_name.empty());
    EXPECT_NE(plain.source.find("constexpr bool kKeySplit = false;"), std::string::npos);
    EXPECT_NE(plain.kernel_name, split.kernel_name);  // different code, different cache entry
    size_t cubin_size = 0;
    EXPECT_EQ(compileToCubin(split, &cubin_size), "") << split.source;

    // The plan and combine kernels depend on the tile configuration only.
    const GeneratedKernel support = generateKeySplitKernels(spec, target);
    EXPECT_EQ(
        support.kernel_name.rfind(
            std::string("permjit_") + kernelFamilyName(target.family) + "_keysplit_bf16_hd128_", 0),
        0u)
        << support.kernel_name;
    EXPECT_EQ(support.split_plan_name, support.kernel_name + "_plan");
    EXPECT_EQ(support.threads,
              target.family == KernelFamily::kSm90a ? 2 * spec.tile.block_m : spec.tile.warps * 32);
    EXPECT_EQ(support.smem_bytes, spec.tile.block_m * 128 * 2);
    EXPECT_EQ(generateKeySplitKernels(gridHead(DType::kBF16, 128, 14), target).source,
              support.source);  // another pattern, the same module
    EXPECT_EQ(compileToCubin(support, &cubin_size), "") << support.source;

    CompileOptions o;
    o.head_dim = 128;
    o.tile = target.family == KernelFamily::kSm90a ? TileConfig{128, 128, 4, 2}
                                                   : TileConfig{128, 64, 4, 2};
    const KernelSpec dynamic = compilePattern(causal() & vertical_slash(64, 128, 64), o);
    for (int pass = 0; pass < static_cast<int>(dynamic.passes.size()); ++pass) {
      const GeneratedKernel k = generateCuda(dynamic, target, pass, on);
      EXPECT_TRUE(k.split_count_name.empty()) << k.kernel_name;
      EXPECT_NE(k.source.find("constexpr bool kKeySplit = false;"), std::string::npos);
    }
  }
}

TEST(Sm90aFamily, ThreeConsumerWarpgroupsAtHeadDim64) {
  // block_m 192: a producer and three consumer warpgroups (512 threads), for head dim 64 only,
  // on a two-pass head and on the boundary head; the Q tile and the launch follow block_m.
  const TargetInfo sm90a = kSm90a.withFamily(KernelFamily::kSm90a);
  for (DType dtype : {DType::kBF16, DType::kFP16}) {
    for (int block_n : {64, 128}) {
      KernelSpec spec = gridHead(dtype, 64, 14);
      spec.tile = TileConfig{192, block_n, 4, 2};
      for (int pass = 0; pass < static_cast<int>(spec.passes.size()); ++pass) {
        const GeneratedKernel kernel = generateCuda(spec, sm90a, pass);
        EXPECT_EQ(kernel.threads, 512);
        EXPECT_EQ(kernel.block_m, 192);
        EXPECT_EQ(kernel.smem_bytes, 1024 + 192 * 64 * 2 + 2 * 2 * block_n * 64 * 2 + 16 + 2 * 44);
        size_t cubin_size = 0;
        EXPECT_EQ(compileToCubin(kernel, &cubin_size), "") << "block_n " << block_n;
      }
    }
  }
  KernelSpec boundary = modalityBoundary(DType::kBF16, 64);
  boundary.tile = TileConfig{192, 128, 4, 3};
  expectCompiles(boundary, sm90a);
}

TEST(Sm90aFamily, RefusesWhatItCannotRun) {
  using testing::expectError;
  expectError([] { kSm80.withFamily(KernelFamily::kSm90a); }, ErrorCategory::kUnsupported,
              {"sm90a", "sm_80", "allowed there: sm80"});
  const TargetInfo sm90a = kSm90a.withFamily(KernelFamily::kSm90a);
  KernelSpec spec = denseCausal(DType::kBF16, 128);
  spec.tile.block_m = 64;
  expectError([&] { generateCuda(spec, sm90a); }, ErrorCategory::kUnsupported,
              {"tile.block_m", "sm90a", "allowed: 128, and 192 with head_dim 64"});
  spec.tile.block_m = 192;  // three consumer warpgroups: S, P and O of head dim 128 would spill
  expectError([&] { generateCuda(spec, sm90a); }, ErrorCategory::kUnsupported,
              {"tile.block_m: 192", "head_dim 128", "allowed: 192 with head_dim 64"});
  expectError([&] { generateCuda(spec, kSm80); }, ErrorCategory::kUnsupported,
              {"tile.block_m / tile.warps"});
  spec.tile.block_m = 128;
  spec.tile.block_n = 32;
  expectError([&] { generateCuda(spec, sm90a); }, ErrorCategory::kUnsupported,
              {"tile.block_n", "allowed: 64, 128"});
  expectError([] { parseKernelFamily("sm100", "PERMJIT_KERNEL_FAMILY"); },
              ErrorCategory::kInvalidArgument, {"PERMJIT_KERNEL_FAMILY", "'sm100'", "sm80, sm90a"});
}

TEST(TargetInfo, RejectsPreAmpere) {
  try {
    TargetInfo::forComputeCapability(7, 5);
    FAIL() << "7.5 accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("compute capability"), std::string::npos);
  }
}

TEST(GenerateCuda, KernelNamesTellThePassesApart) {
  // A split grid head: an original-order pass and a permuted one, each named for what it does;
  // a grid_estimated candidate says so; equal structures keep equal names.
  CompileOptions o;
  o.seq_len = 4096;
  o.layout = Layout::textVisionText(4096, 512, 256);
  o.pass_split = PassSplit::kSplitLines;
  const Pattern head = causal() & (sink(64) | local(64) | grid(14, 0, 0));
  const KernelSpec spec = compilePattern(head, o);
  ASSERT_EQ(spec.passes.size(), 2u);
  EXPECT_EQ(generateCuda(spec, kSm80, 0).kernel_name.rfind("permjit_sm80_orig_", 0), 0u);
  EXPECT_EQ(generateCuda(spec, kSm80, 1).kernel_name.rfind("permjit_sm80_perm_", 0), 0u);
  const KernelSpec other = compilePattern(causal() & (sink(99) | local(7) | grid(9, 1, 2)), o);
  EXPECT_EQ(generateCuda(other, kSm80, 1).kernel_name, generateCuda(spec, kSm80, 1).kernel_name);
  const KernelSpec estimated =
      compilePattern(causal() & (sink(64) | local(64) | grid_estimated({7, 14}, 64)), o);
  EXPECT_NE(generateCuda(estimated, kSm80, 1).kernel_name.find("_perm_estgrid_"), std::string::npos)
      << generateCuda(estimated, kSm80, 1).kernel_name;
}

TEST(SourceTemplate, EveryHoleFilledAndEveryValueUsed) {
  using codegen_detail::renderTemplate;
  using testing::expectError;
  EXPECT_EQ(renderTemplate("t", "a ${x} b ${y}", {{"x", "1"}, {"y", "2"}}), "a 1 b 2");
  expectError(
      [] {
        renderTemplate("t", "a ${x} ${z}", {{"x", "1"}});
      },
      ErrorCategory::kInternal, {"t", "${z}"});
  expectError(
      [] {
        renderTemplate("t", "a ${x}", {{"x", "1"}, {"w", "2"}});
      },
      ErrorCategory::kInternal, {"t", "'w'"});
  expectError(
      [] {
        renderTemplate("t", "a ${x", {{"x", "1"}});
      },
      ErrorCategory::kInternal, {"unterminated"});
}

TEST(KernelArgs, FitsParameterLimit) {
  EXPECT_LE(sizeof(AttentionArgs), 4096u);
  EXPECT_EQ(sizeof(AttentionArgs) % alignof(long long), 0u);
}

TEST(GenerateCuda, PreambleShape) {
  const GeneratedKernel k = generateCuda(denseCausal(DType::kBF16, 128), kSm90a);
  // Readable in a profiler: family, index spaces, dtype, head dim, tile, then the hash.
  EXPECT_EQ(k.kernel_name.rfind("permjit_sm80_orig_bf16_hd128_128x64w4s2_", 0), 0u)
      << k.kernel_name;
  EXPECT_EQ(k.kernel_name.size(),
            std::string("permjit_sm80_orig_bf16_hd128_128x64w4s2_").size() + 16u);
  EXPECT_NE(k.source.find("extern \"C\" __global__"), std::string::npos);
  EXPECT_NE(k.source.find(k.kernel_name + "("), std::string::npos);
  EXPECT_NE(k.source.find("diag_keep(q.pos, k.pos, p[0], p[1])"), std::string::npos);
  EXPECT_NE(k.source.find("diag_classify(q.lo, q.hi, k.lo, k.hi, p[0], p[1])"), std::string::npos);
  EXPECT_EQ(k.threads, 128);
  EXPECT_EQ(k.smem_bytes, (128 + 2 * 2 * 64) * 128 * 2);
  EXPECT_EQ(k.block_m, 128);
  EXPECT_EQ(k.block_n, 64);
  // Every embedded device template travels with every kernel (one digest keys them all).
  std::set<std::string> names;
  for (const auto& header : k.headers) names.insert(header.first);
  EXPECT_EQ(names.size(), k.headers.size());
  for (const char* header : {"pj_sm80.cuh", "pj_tile.cuh", "pj_pattern.cuh", "pj_attention_fwd.cuh",
                             "pj_estimate.cuh"}) {
    EXPECT_TRUE(names.count(header)) << header;
  }
  EXPECT_EQ(k.headers_digest.size(), 64u);
  EXPECT_EQ(k.headers_digest.find_first_not_of("0123456789abcdef"), std::string::npos);
  for (const auto& [name, text] : k.headers) {
    EXPECT_FALSE(text.empty()) << name;
    EXPECT_EQ(text.find("#include <"), std::string::npos) << name << " is not freestanding";
  }
  bool has_arch = false, fast_math = false;
  for (const auto& o : k.nvrtc_options) {
    has_arch |= o == "--gpu-architecture=sm_90a";
    fast_math |= o.find("fast_math") != std::string::npos;
  }
  EXPECT_TRUE(has_arch);
  EXPECT_FALSE(fast_math);
}

TEST(GenerateCuda, LocalAtomsReadLocalCoordinates) {
  const GeneratedKernel k = generateCuda(modalityBoundary(DType::kBF16, 64), kSm80);
  EXPECT_NE(k.source.find("diag_keep(q.local, k.local,"), std::string::npos);
  EXPECT_NE(k.source.find("diag_classify(q.llo, q.lhi, k.llo, k.lhi,"), std::string::npos);
  EXPECT_NE(k.source.find("range_classify(q.llo, q.lhi,"), std::string::npos);
  EXPECT_NE(k.source.find("tri_not("), std::string::npos);
  EXPECT_NE(k.source.find("modality_classify(q.modality, 0)"), std::string::npos);
}

TEST(GenerateCuda, NameIsStructural) {
  KernelSpec a = gridHead(DType::kBF16, 128, 14);
  KernelSpec b = gridHead(DType::kBF16, 128, 7);  // other stride: a parameter, same kernel
  b.name = "other name";
  const GeneratedKernel ka = generateCuda(a, kSm90a), kb = generateCuda(b, kSm90a);
  EXPECT_EQ(ka.kernel_name, kb.kernel_name);
  EXPECT_EQ(ka.source, kb.source);
  // Same structure on another target: same source, other options.
  EXPECT_EQ(generateCuda(a, kSm80).source, ka.source);
  // Structure changes: dtype, head dim, tile, expression.
  EXPECT_NE(generateCuda(gridHead(DType::kFP16, 128, 14), kSm90a).kernel_name, ka.kernel_name);
  EXPECT_NE(generateCuda(gridHead(DType::kBF16, 64, 14), kSm90a).kernel_name, ka.kernel_name);
  KernelSpec c = a;
  c.tile.stages = 3;
  EXPECT_NE(generateCuda(c, kSm90a).kernel_name, ka.kernel_name);
  EXPECT_NE(generateCuda(denseCausal(DType::kBF16, 128), kSm90a).kernel_name, ka.kernel_name);
}

TEST(GenerateCuda, PassIndexSelectsExpression) {
  KernelSpec spec = sinkLocal(DType::kBF16, 128, 64, 512);
  SpecBuilder extra{spec};
  extra.pass(extra.node(ExprOp::kKRange, {0, 2}));
  const GeneratedKernel p0 = generateCuda(extra.spec, kSm80, 0);
  const GeneratedKernel p1 = generateCuda(extra.spec, kSm80, 1);
  EXPECT_NE(p0.kernel_name, p1.kernel_name);
  EXPECT_NE(p1.source.find("return range_keep(k.pos, p[0], p[2]);"), std::string::npos)
      << p1.source;
}

template <class Fn>
void expectError(Fn fn, ErrorCategory category, const std::string& field) {
  try {
    fn();
    FAIL() << "no error for " << field;
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), category) << e.what();
    EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("allowed"), std::string::npos) << e.what();
  }
}

TEST(GenerateCuda, RejectsBadSpecs) {
  const KernelSpec good = denseCausal(DType::kBF16, 128);
  expectError([&] { generateCuda(good, kSm80, 1); }, ErrorCategory::kInvalidArgument, "pass_index");
  KernelSpec s = good;
  s.head_dim = 96;
  expectError([&] { generateCuda(s, kSm80); }, ErrorCategory::kUnsupported, "head_dim");
  s = good;
  s.tile.warps = 2;  // 64 rows per warp
  expectError([&] { generateCuda(s, kSm80); }, ErrorCategory::kUnsupported, "tile.block_m");
  s = good;
  s.tile.block_n = 72;
  expectError([&] { generateCuda(s, kSm80); }, ErrorCategory::kUnsupported, "tile.block_n");
  s = good;
  s.tile.stages = 1;
  expectError([&] { generateCuda(s, kSm80); }, ErrorCategory::kUnsupported, "tile.stages");
  s = good;
  s.tile = {128, 128, 4, 4};  // 288 KB of shared memory
  expectError([&] { generateCuda(s, TargetInfo::forComputeCapability(8, 9)); },
              ErrorCategory::kUnsupported, "shared memory");
  s = good;
  s.nodes[0].slots[1] = 7;
  expectError([&] { generateCuda(s, kSm80); }, ErrorCategory::kInvalidPattern, "slots[1]");
  s = good;
  s.passes[0].expr_root = 5;
  expectError([&] { generateCuda(s, kSm80); }, ErrorCategory::kInvalidPattern, "node index 5");
  s = good;
  s.nodes.push_back(ExprNode{ExprOp::kNot, false, {-1, -1, -1}, -1, {1}});  // Not of itself
  s.passes[0].expr_root = 1;
  expectError([&] { generateCuda(s, kSm80); }, ErrorCategory::kInvalidPattern, "cycle");
  s = good;
  s.nodes.push_back(ExprNode{ExprOp::kQModality, false, {-1, -1, -1}, 9, {}});
  s.passes[0].expr_root = 1;
  expectError([&] { generateCuda(s, kSm80); }, ErrorCategory::kInvalidPattern, "modality");
  s = good;
  s.nodes.push_back(ExprNode{ExprOp::kAnd, false, {-1, -1, -1}, -1, {}});
  s.passes[0].expr_root = 1;
  expectError([&] { generateCuda(s, kSm80); }, ErrorCategory::kInvalidPattern, "children");
}

// NVRTC compiles (no GPU needed). Each pattern on both sm_80 and sm_90a, with both dtypes and
// both head dims spread over them.
TEST(NvrtcCompile, DenseCausal) {
  expectCompiles(denseCausal(DType::kBF16, 128), kSm90a);
  expectCompiles(denseCausal(DType::kFP16, 64), kSm80);
}

TEST(NvrtcCompile, SinkLocal) {
  expectCompiles(sinkLocal(DType::kFP16, 128, 128, 4096), kSm90a);
  expectCompiles(sinkLocal(DType::kBF16, 64, 128, 4096), kSm80);
}

TEST(NvrtcCompile, GridHeadWithResidueMaps) {
  expectCompiles(gridHead(DType::kBF16, 128, 14), kSm80);
  expectCompiles(gridHead(DType::kFP16, 64, 14), kSm90a);
}

TEST(NvrtcCompile, ModalityBoundaryWithLocalAtoms) {
  expectCompiles(modalityBoundary(DType::kBF16, 64), kSm90a);
  KernelSpec s = modalityBoundary(DType::kFP16, 128);
  s.tile = {128, 128, 8, 2};  // an alternative tile shape
  expectCompiles(s, kSm80);
}

// The estimator's launch geometry, pinned to the values the runtime launched with before it
// came from codegen (grids and extra shared memory are part of the kernels' contract).
TEST(EstimatorPipeline, VerticalSlashStagesAndLaunches) {
  KernelSpec spec;
  spec.name = "vs";
  spec.dynamic = {DynamicSpec{}};
  const std::vector<EstimatorStage> stages = {EstimatorStage::kStats, EstimatorStage::kLse,
                                              EstimatorStage::kScores, EstimatorStage::kSelect};
  EXPECT_EQ(estimatorStages(spec), stages);
  EstimatorShape shape;
  shape.batch_heads = 6;
  shape.chunks = 9;             // 4100 keys
  shape.last_q = 65;            // two 64-row groups
  shape.diag_window_rows = 65;  // consecutive rows: their diagonals in shared memory
  auto expect = [&](EstimatorStage stage, unsigned x, unsigned y, unsigned z, int extra) {
    const EstimatorLaunch launch = estimatorLaunch(stage, spec, shape);
    EXPECT_EQ(launch.grid_x, x) << estimatorStageName(stage);
    EXPECT_EQ(launch.grid_y, y) << estimatorStageName(stage);
    EXPECT_EQ(launch.grid_z, z) << estimatorStageName(stage);
    EXPECT_EQ(launch.extra_smem, extra) << estimatorStageName(stage);
  };
  expect(EstimatorStage::kStats, 6, 9, 2, 0);
  expect(EstimatorStage::kLse, 6, 9, 1, 0);  // a warp per row, 8 per CTA: 65 rows
  expect(EstimatorStage::kScores, 6, 9, 1, (2 * 512 - 1 + 65) * 4);
  expect(EstimatorStage::kSelect, 6, 2, 1, 0);
  EXPECT_THROW(estimatorLaunch(EstimatorStage::kGridRows, spec, shape), Error);
  // Rows spread wider than the shared window add their diagonals to global memory.
  shape.diag_window_rows = 0;
  expect(EstimatorStage::kScores, 6, 9, 1, 512 * 4);
  // Never a zero grid dimension (an atom without rows).
  shape.last_q = 0;
  expect(EstimatorStage::kStats, 6, 9, 1, 0);
  expect(EstimatorStage::kLse, 6, 1, 1, 0);
  // The plan opts the score kernel in to the widest window.
  EXPECT_EQ(estimatorMaxExtraSmem(EstimatorStage::kScores), (2 * 512 - 1 + 8192) * 4);
  EXPECT_EQ(estimatorMaxExtraSmem(EstimatorStage::kStats), 0);
}

TEST(EstimatorPipeline, GridStagesAndLaunches) {
  KernelSpec spec;
  spec.name = "grid";
  spec.grid_estimate = GridEstimateSpec{{14, 7, 28}, 0, 64, 0, 1};
  ASSERT_EQ(estimatorStages(spec).size(), 6u);
  EXPECT_EQ(estimatorStages(spec)[5], EstimatorStage::kGridPhase);
  EstimatorShape shape;
  shape.batch_heads = 3;
  shape.chunks = 8;
  shape.last_q = 64;
  shape.sample_rows = 128;
  shape.grid_begin = 100;
  shape.grid_end = 3690;  // 3590 positions: 513 lines of the smallest stride 7, two chunks
  const EstimatorLaunch stats = estimatorLaunch(EstimatorStage::kStats, spec, shape);
  EXPECT_EQ(stats.grid_z, 3u);  // two sample-row groups and one last-row group
  const EstimatorLaunch scores = estimatorLaunch(EstimatorStage::kScores, spec, shape);
  EXPECT_EQ(scores.grid_y, 8u);
  EXPECT_EQ(scores.extra_smem, 512 * 4);  // column sums only
  const EstimatorLaunch rows = estimatorLaunch(EstimatorStage::kGridRows, spec, shape);
  EXPECT_EQ(rows.grid_x, 3u);
  EXPECT_EQ(rows.grid_y, 2u);
  EXPECT_EQ(estimatorLaunch(EstimatorStage::kGridColumns, spec, shape).grid_y, 1u);
  EXPECT_EQ(estimatorLaunch(EstimatorStage::kLse, spec, shape).grid_y, 24u);  // 192 rows
  EXPECT_THROW(estimatorLaunch(EstimatorStage::kSelect, spec, shape), Error);
  EXPECT_TRUE(estimatorStages(KernelSpec{}).empty());
}

}  // namespace
}  // namespace permjit
