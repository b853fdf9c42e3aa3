// Plans run on the GPU against the float64 CPU reference: every output element checked
// (outputs are poisoned with NaN first), relative L2 below 2e-2 (bf16) / 5e-3 (fp16).
// Skipped with the reason where there is no CUDA driver or GPU.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "RequireGpu.h"
#include "permjit/codegen/CudaSource.h"
#include "permjit/permjit.h"
#include "permjit/runtime/AttentionCheck.h"
#include "permjit/runtime/TuningDb.h"

namespace permjit {
namespace {

struct GpuCase {
  std::string name;
  Pattern pattern;
  Layout layout;
  int64_t seq_len;
  int head_dim = 128;
  DType dtype = DType::kBF16;
  int64_t batch = 1, heads = 2, kv_heads = 2;
  TensorLayout tensor_layout = TensorLayout::kBSHD;
  PassSplit pass_split = PassSplit::kSingle;
};

void PrintTo(const GpuCase& c, std::ostream* os) { *os << c.name; }

PlanOptions planOptionsFor(const GpuCase& c) {
  PlanOptions options;
  options.head_dim = c.head_dim;
  options.dtype = c.dtype;
  options.layout = c.layout;
  options.seq_len = c.seq_len;
  options.pass_split = c.pass_split;
  return options;
}

// Random inputs of the case's shape, every element checked against the reference.
runtime::CheckConfig checkConfigFor(const GpuCase& c) {
  runtime::CheckConfig config;
  config.batch = c.batch;
  config.heads = c.heads;
  config.kv_heads = c.kv_heads;
  config.seq_len = c.seq_len;
  config.layout = c.layout;
  config.tensor_layout = c.tensor_layout;
  config.seed = 11;
  config.full_reference_limit = 2e9;
  return config;
}

std::vector<GpuCase> cases() {
  const Layout tvt1100 = Layout::textVisionText(1100, 76, 32);
  const Layout tvt1500 = Layout::textVisionText(1500, 130, 61);
  auto gridHead = [](int64_t stride, int64_t pq, int64_t pk) {
    return causal() & (sink(64) | local(64) | rows(SpanRef::last(32)) | grid(stride, pq, pk));
  };
  std::vector<GpuCase> out;
  out.push_back({"dense_causal_bf16_hd128", causal(), Layout(), 1000});
  out.push_back({"dense_causal_fp16_hd64_bhsd", causal(), Layout(), 777, 64, DType::kFP16, 1, 2, 2,
                 TensorLayout::kBHSD});
  out.push_back({"sink_local_bf16_gqa", causal() & (sink(64) | local(128)), Layout(), 1031, 128,
                 DType::kBF16, 1, 4, 2});
  out.push_back({"sink_local_fp16_hd64_batch2", causal() & (sink(16) | local(200)), Layout(), 900,
                 64, DType::kFP16, 2, 2, 1});
  out.push_back({"grid_s14_p0_0", gridHead(14, 0, 0), tvt1100, 1100});
  out.push_back({"grid_s7_p3_5_gqa_bhsd", gridHead(7, 3, 5), tvt1500, 1500, 128, DType::kBF16, 1, 4,
                 2, TensorLayout::kBHSD});
  out.push_back({"grid_s16_p15_1_fp16_batch2", gridHead(16, 15, 1), tvt1100, 1100, 64, DType::kFP16,
                 2, 2, 2});
  out.push_back({"grid_s5_p4_0_no_window", causal() & grid(5, 4, 0), tvt1100, 1100});
  out.push_back({"rows_range_and_local", causal() & (local(32) | rows(SpanRef::range(300, 420))),
                 Layout(), 1000});
  out.push_back(
      {"block_text_to_vision",
       causal() & (block(SpanRef::modality(Modality::kText), SpanRef::modality(Modality::kVision)) |
                   local(100)),
       tvt1100, 1100});
  out.push_back({"union_lines", causal() & (sink(16) | vlines(5, 2) | hlines(9, 4)), tvt1500, 1500,
                 64, DType::kBF16, 1, 2, 2});
  out.push_back({"noncausal_block_union",
                 block(SpanRef::range(0, 256), SpanRef::range(0, 512)) | (causal() & local(64)),
                 Layout(), 1000, 128, DType::kFP16, 1, 2, 2});
  // Two passes (line-free terms, then the residue-permuted lines) merged through the lse.
  out.push_back({"grid_two_pass_s14", gridHead(14, 0, 0), tvt1100, 1100, 128, DType::kBF16, 1, 2, 2,
                 TensorLayout::kBSHD, PassSplit::kSplitLines});
  out.push_back({"grid_two_pass_s7_p3_5_fp16_gqa_bhsd", gridHead(7, 3, 5), tvt1500, 1500, 64,
                 DType::kFP16, 2, 4, 2, TensorLayout::kBHSD, PassSplit::kSplitLines});
  // Mixed modality on five interleaved spans (text, vision, text, vision, text).
  const Layout interleaved({{Modality::kText, 0, 40},
                            {Modality::kVision, 40, 400},
                            {Modality::kText, 400, 480},
                            {Modality::kVision, 480, 900},
                            {Modality::kText, 900, 1000}});
  const Pattern boundary_q =
      causal() & q_boundary({{Modality::kVision, sink(16) | local(96) | vlines(7, 3)},
                             {Modality::kText, rows(SpanRef::all())}});
  const Pattern boundary_qk =
      causal() &
      boundary_2d({{{Modality::kVision, Modality::kVision}, local(64) | grid(7, 1, 2)},
                   {{Modality::kText, Modality::kText}, sink(8) | local(32)},
                   {{Modality::kText, Modality::kVision}, block(SpanRef::all(), SpanRef::all())},
                   {{Modality::kVision, Modality::kText}, local(16)}});
  out.push_back({"q_boundary_5_spans", boundary_q, interleaved, 1000});
  out.push_back(
      {"boundary_2d_5_spans_fp16_hd64", boundary_qk, interleaved, 1000, 64, DType::kFP16, 1, 2, 2});
  // Tri-shape: the last rows' tiles are partial for the CTA, but ALL or NONE for most consumer
  // warps (per-warp verdicts); 40 and 23 dense rows split warps of 16 rows mid-way.
  out.push_back({"trishape_last_40", causal() & (sink(16) | local(64) | rows(SpanRef::last(40))),
                 Layout(), 1037});
  out.push_back({"trishape_last_23_fp16_hd64_gqa",
                 causal() & (sink(8) | local(100) | rows(SpanRef::last(23))), Layout(), 777, 64,
                 DType::kFP16, 1, 4, 2});
  // The same boundary heads through the general line split: pass 0 = the head with its lines
  // false (original order), pass 1 = head & lines & !pass 0 over the permuted plans.
  out.push_back({"q_boundary_5_spans_split", boundary_q, interleaved, 1000, 128, DType::kBF16, 1, 4,
                 2, TensorLayout::kBSHD, PassSplit::kSplitLines});
  out.push_back({"boundary_2d_5_spans_split_fp16_hd64_bhsd", boundary_qk, interleaved, 1000, 64,
                 DType::kFP16, 2, 2, 1, TensorLayout::kBHSD, PassSplit::kSplitLines});
  return out;
}

class GpuCorrectness : public ::testing::TestWithParam<GpuCase> {};

TEST_P(GpuCorrectness, MatchesTheCpuReference) {
  PERMJIT_REQUIRE_GPU();
  const GpuCase& c = GetParam();
  RuntimeOptions options;
  options.cache_dir = (std::filesystem::temp_directory_path() / "permjit-gpu-test-cache").string();
  static Runtime* runtime = new Runtime(options);  // one runtime (and context) for all cases
  Plan plan = runtime->plan(c.pattern, planOptionsFor(c));
  runtime::CheckConfig config = checkConfigFor(c);
  runtime::CheckResult result = runtime::checkPlan(*runtime, plan, c.pattern, config);
  double tolerance = runtime::toleranceFor(c.dtype);
  std::printf("%-32s passes %d kept %.4f rel L2 %.3e lse max diff %.2e\n", c.name.c_str(),
              plan.numPasses(), result.kept_fraction, result.rel_l2, result.lse_max_abs);
  EXPECT_TRUE(result.full_reference);
  if (c.pass_split == PassSplit::kSplitLines) EXPECT_EQ(plan.numPasses(), 2);
  EXPECT_FALSE(result.nan_found) << "NaN/Inf in the output: an element was not written";
  EXPECT_LT(result.rel_l2, tolerance);
  EXPECT_LT(result.lse_max_abs, 5e-2);
}

INSTANTIATE_TEST_SUITE_P(Plans, GpuCorrectness, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

// One plan, several sequence lengths and layouts: nothing recompiles and each run is exact.
TEST(GpuPlan, OnePlanServesManyLengthsAndLayouts) {
  PERMJIT_REQUIRE_GPU();
  RuntimeOptions options;
  options.disable_cache = true;
  Runtime runtime(options);
  Pattern pattern = causal() & (sink(32) | local(48) | rows(SpanRef::last(20)) | grid(9, 2, 6));
  Plan plan = runtime.plan(pattern, {});
  uint64_t compiles = runtime.cacheStats().compiles;
  for (int64_t seq_len : {333, 1024, 1300}) {
    runtime::CheckConfig config;
    config.heads = 2;
    config.seq_len = seq_len;
    config.layout = Layout::textVisionText(seq_len, seq_len / 10, 20);
    runtime::CheckResult result = runtime::checkPlan(runtime, plan, pattern, config);
    EXPECT_FALSE(result.nan_found) << seq_len;
    EXPECT_LT(result.rel_l2, runtime::toleranceFor(DType::kBF16)) << seq_len;
  }
  EXPECT_EQ(runtime.cacheStats().compiles, compiles);
}

// Every tile of the running family's autotuning space at head dim 64 (the sm90a family's include
// block_m 192: three consumer warpgroups), on heads that exercise full tiles, partial tiles with
// per-warp verdicts, the line split's merge and mixed modalities, at lengths that are not tile
// multiples. The tuner may pick any of these tiles, so each must be exact.
TEST(GpuTiles, EveryTileOfTheFamilySpaceAtHeadDim64) {
  PERMJIT_REQUIRE_GPU();
  RuntimeOptions options;
  options.cache_dir = (std::filesystem::temp_directory_path() / "permjit-gpu-test-cache").string();
  Runtime runtime(options);
  const Layout interleaved({{Modality::kText, 0, 40},
                            {Modality::kVision, 40, 400},
                            {Modality::kText, 400, 480},
                            {Modality::kVision, 480, 900},
                            {Modality::kText, 900, 1000}});
  struct TileCase {
    const char* name;
    Pattern pattern;
    Layout layout;
    int64_t seq_len;
    DType dtype;
    PassSplit split;
  };
  const std::vector<TileCase> heads = {
      {"dense", causal(), Layout(), 777, DType::kFP16, PassSplit::kSingle},
      {"trishape", causal() & (sink(8) | local(100) | rows(SpanRef::last(23))), Layout(), 1037,
       DType::kBF16, PassSplit::kSingle},
      {"grid_two_pass", causal() & (sink(64) | local(64) | rows(SpanRef::last(32)) | grid(7, 3, 5)),
       Layout::textVisionText(1500, 130, 61), 1500, DType::kBF16, PassSplit::kSplitLines},
      {"boundary_2d",
       causal() & boundary_2d({{{Modality::kVision, Modality::kVision}, local(64) | grid(7, 1, 2)},
                               {{Modality::kText, Modality::kText}, sink(8) | local(32)},
                               {{Modality::kText, Modality::kVision},
                                block(SpanRef::all(), SpanRef::all())}}),
       interleaved, 1000, DType::kFP16, PassSplit::kSingle},
  };
  const std::vector<TileConfig> tiles = tileSpace(runtime.kernelFamily(), 64);
  ASSERT_FALSE(tiles.empty());
  // The sm80 space is 18 tiles: there tri-shape (partial tiles, per-warp verdicts) and the
  // boundary head, which the family has run at many tiles for long; every head on sm90a's 8.
  const bool every_head = runtime.kernelFamily() == KernelFamily::kSm90a;
  for (const TileConfig& tile : tiles) {
    for (const TileCase& c : heads) {
      if (!every_head && c.name != std::string("trishape") &&
          c.name != std::string("boundary_2d")) {
        continue;
      }
      PlanOptions plan_options;
      plan_options.head_dim = 64;
      plan_options.dtype = c.dtype;
      plan_options.layout = c.layout;
      plan_options.seq_len = c.seq_len;
      plan_options.pass_split = c.split;
      plan_options.tile = tile;
      Plan plan = runtime.plan(c.pattern, plan_options);
      runtime::CheckConfig config;
      config.heads = 4;
      config.kv_heads = 2;
      config.seq_len = c.seq_len;
      config.layout = c.layout;
      config.tensor_layout = TensorLayout::kBHSD;
      config.seed = 5;
      config.full_reference_limit = 2e9;
      const runtime::CheckResult result = runtime::checkPlan(runtime, plan, c.pattern, config);
      const std::string what = std::string(c.name) + " tile " + runtime::tileName(tile);
      std::printf("%-40s rel L2 %.3e lse max diff %.2e\n", what.c_str(), result.rel_l2,
                  result.lse_max_abs);
      EXPECT_FALSE(result.nan_found) << what;
      EXPECT_LT(result.rel_l2, runtime::toleranceFor(c.dtype)) << what;
      EXPECT_LT(result.lse_max_abs, 5e-2) << what;
    }
  }
}

// The key split with every row tile of more than one visited column tile a candidate: the
// heavy tiles of each head are cut into up to 32 chunks (as many as the 128 slots allow), run
// by extra CTAs and combined by the last to finish; a two-pass head merges the combined rows
// into the first pass's output. Each case asserts that tiles were split (the workspace's
// header after the run), checks every element against the reference, and runs again without a
// workspace (no split) to compare.
TEST(GpuKeySplit, ChunkedRowTilesMatchTheReference) {
  PERMJIT_REQUIRE_GPU();
  RuntimeOptions options;
  options.cache_dir = (std::filesystem::temp_directory_path() / "permjit-gpu-test-cache").string();
  options.key_split_min_tiles = 1;
  Runtime runtime(options);
  const Layout interleaved({{Modality::kText, 0, 40},
                            {Modality::kVision, 40, 700},
                            {Modality::kText, 700, 780},
                            {Modality::kVision, 780, 2200},
                            {Modality::kText, 2200, 2301}});
  const std::vector<GpuCase> heads = {
      {"trishape_bf16_hd128_gqa_batch2",
       causal() & (sink(8) | local(100) | rows(SpanRef::last(70))), Layout(), 3001, 128,
       DType::kBF16, 2, 4, 2},
      {"dense_fp16_hd64_bhsd", causal(), Layout(), 2077, 64, DType::kFP16, 1, 2, 2,
       TensorLayout::kBHSD},
      {"ashape_fp16_hd128", causal() & (sink(64) | local(256)), Layout(), 2500, 128, DType::kFP16},
      {"grid_two_pass_bf16_hd64",
       causal() & (sink(64) | local(64) | rows(SpanRef::last(32)) | grid(7, 3, 5)),
       Layout::textVisionText(2500, 130, 61), 2500, 64, DType::kBF16, 1, 2, 1, TensorLayout::kBSHD,
       PassSplit::kSplitLines},
      {"boundary_2d_bf16_hd128",
       causal() & boundary_2d({{{Modality::kVision, Modality::kVision}, local(64) | grid(7, 1, 2)},
                               {{Modality::kText, Modality::kText}, sink(8) | local(32)},
                               {{Modality::kText, Modality::kVision},
                                block(SpanRef::all(), SpanRef::all())}}),
       interleaved, 2301, 128, DType::kBF16},
  };
  for (const GpuCase& c : heads) {
    Plan plan = runtime.plan(c.pattern, planOptionsFor(c));
    ASSERT_GT(plan.keySplitWorkspaceBytes(), 0u) << c.name;
    runtime::CheckConfig config = checkConfigFor(c);
    config.full_reference_limit = 4e9;
    const runtime::CheckResult split = runtime::checkPlan(runtime, plan, c.pattern, config);
    config.key_split_workspace = false;
    const runtime::CheckResult whole = runtime::checkPlan(runtime, plan, c.pattern, config);
    std::printf(
        "%-36s split: %d tiles, %d extra CTAs, rel L2 %.3e, lse %.2e; unsplit rel L2 %.3e\n",
        c.name.c_str(), split.key_split_tiles, split.key_split_extra, split.rel_l2,
        split.lse_max_abs, whole.rel_l2);
    EXPECT_GT(split.key_split_tiles, 0) << c.name << ": no row tile was split";
    EXPECT_GT(split.key_split_extra, 0) << c.name;
    EXPECT_FALSE(split.nan_found) << c.name;
    EXPECT_LT(split.rel_l2, runtime::toleranceFor(c.dtype)) << c.name;
    EXPECT_LT(split.lse_max_abs, 5e-2) << c.name;
    EXPECT_EQ(whole.key_split_tiles, -1) << c.name;
    EXPECT_LT(whole.rel_l2, runtime::toleranceFor(c.dtype)) << c.name;
    EXPECT_TRUE(split.full_reference) << c.name;
  }
}

// The intended threshold (256 visited column tiles) never splits the short heads of the
// tests: the split kernels run and choose nothing, and the output is the one of before.
TEST(GpuKeySplit, IntendedThresholdLeavesShortHeadsWhole) {
  PERMJIT_REQUIRE_GPU();
  RuntimeOptions options;
  options.cache_dir = (std::filesystem::temp_directory_path() / "permjit-gpu-test-cache").string();
  options.key_split_min_tiles = 256;
  Runtime runtime(options);
  const Pattern tri = causal() & (sink(8) | local(100) | rows(SpanRef::last(70)));
  PlanOptions plan_options;
  plan_options.seq_len = 3001;
  Plan plan = runtime.plan(tri, plan_options);
  runtime::CheckConfig config;
  config.heads = 2;
  config.seq_len = 3001;
  const runtime::CheckResult result = runtime::checkPlan(runtime, plan, tri, config);
  EXPECT_EQ(result.key_split_tiles, 0);
  EXPECT_EQ(result.key_split_extra, 0);
  EXPECT_LT(result.rel_l2, runtime::toleranceFor(DType::kBF16));
}

}  // namespace
}  // namespace permjit
