// grid_estimated: the online grid stride/phase estimator. Without a GPU: planning (one spec
// per candidate stride, all the same kernels), compiling the estimator to cubin, workspace
// sizing, bad input. With one: the estimator recovers a planted grid's stride and both phases,
// and the attention matches the float64 reference of the grid it chose.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "RequireGpu.h"
#include "RuntimeTestSupport.h"
#include "permjit/compiler/Pipeline.h"
#include "permjit/compiler/Plan.h"
#include "permjit/dsl/Json.h"
#include "permjit/dsl/Reference.h"
#include "permjit/permjit.h"
#include "permjit/runtime/AttentionCheck.h"

namespace permjit {
namespace {

// The MMInference grid head with the stride and phases left to the estimator.
Pattern estimatedGridHead(std::vector<int64_t> strides, int64_t last_q = 64,
                          int64_t trailing = 64) {
  return causal() & (sink(16) | local(32) | rows(SpanRef::last(trailing)) |
                     grid_estimated(std::move(strides), last_q));
}

Layout textVisionText(int64_t seq_len, int64_t prefix, int64_t suffix) {
  return Layout::textVisionText(seq_len, prefix, suffix);
}

TEST(GridEstimate, CompilesOneSpecPerCandidateWithSharedKernels) {
  const Pattern pattern = estimatedGridHead({7, 14, 16, 28});
  const Layout layout = textVisionText(4096, 100, 64);
  CompileOptions options;
  options.layout = layout;
  options.seq_len = 4096;
  options.pass_split = PassSplit::kAuto;
  const KernelSpec first = compilePattern(pattern, options);
  ASSERT_TRUE(first.grid_estimate);
  EXPECT_TRUE(first.isDynamic());
  EXPECT_EQ(first.grid_estimate->strides, (std::vector<int>{7, 14, 16, 28}));
  EXPECT_EQ(first.grid_estimate->candidate, 0);
  EXPECT_EQ(first.params[first.grid_estimate->phase_q_slot].name, "grid.q.phase");
  EXPECT_EQ(first.params[first.grid_estimate->phase_k_slot].name, "grid.k.phase");
  EXPECT_NE(first.str().find("candidate strides 7, 14, 16, 28"), std::string::npos) << first.str();
  for (int c = 1; c < 4; ++c) {
    const KernelSpec spec = compileGridCandidate(pattern, options, c);
    EXPECT_EQ(spec.grid_estimate->candidate, c);
    EXPECT_EQ(spec.structureKey(), first.structureKey()) << "candidate " << c;
    // The candidate's stride is a bound value: strides of the grid and of the permutation.
    const std::vector<int> bound = bindParams(spec, layout, 4096);
    for (size_t i = 0; i < spec.params.size(); ++i) {
      if (spec.params[i].name.find("stride") != std::string::npos) {
        EXPECT_EQ(bound[i], spec.grid_estimate->strides[c]) << spec.params[i].name;
      }
    }
  }
  // The static grid of the same stride has another structure: its kernels take the phases
  // from the arguments.
  CompileOptions plain = options;
  const KernelSpec fixed = compilePattern(withGridChoice(pattern, {14, 3, 5}), plain);
  EXPECT_FALSE(fixed.grid_estimate);
  EXPECT_NE(fixed.structureKey(), first.structureKey());
  try {
    compileGridCandidate(pattern, options, 4);
    ADD_FAILURE() << "candidate 4 of 4 compiled";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("candidate"), std::string::npos) << e.what();
  }
}

TEST(GridEstimate, PlansAndCompilesWithoutAGpu) {
  RuntimeOptions options;
  options.host_only = true;
  options.arch = "sm_90a";
  options.cache_dir = testing::freshCacheDir("grid-estimate-host");
  Runtime runtime(options);
  const Layout layout = textVisionText(8192, 100, 64);
  Plan plan = runtime.plan(estimatedGridHead({7, 14, 28}),
                           {.head_dim = 128, .layout = layout, .seq_len = 8192});
  EXPECT_TRUE(plan.isDynamic());
  EXPECT_EQ(plan.numPasses(), 2);
  // Six estimator kernels and the two passes, compiled once for all three candidates.
  EXPECT_EQ(runtime.cacheStats().compiles, 8u);
  EXPECT_NE(plan.source(1).find("attention_forward_estimated_grid"), std::string::npos);
  EXPECT_FALSE(plan.binary("cubin", 1).empty());
  const size_t one = plan.workspaceBytes(1, 1, 8192);
  EXPECT_GT(one, 8192u * 4);  // the column scores at least
  EXPECT_EQ(one % 256, 0u);
  EXPECT_EQ(plan.workspaceBytes(2, 4, 8192), 8 * one);
}

TEST(GridEstimate, BadInputNamesTheField) {
  auto expectError = [](auto build, const std::string& needle) {
    try {
      build();
      ADD_FAILURE() << "accepted; expected an error naming " << needle;
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), ErrorCategory::kInvalidPattern) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expectError([] { grid_estimated({}); }, "grid_estimated.strides");
  expectError([] { grid_estimated({14, 1}); }, "grid_estimated.strides[1]");
  expectError([] { grid_estimated({14, 2000}); }, "grid_estimated.strides[1]");
  expectError([] { grid_estimated({14, 14}); }, "listed twice");
  expectError([] { grid_estimated({1, 2, 3, 4, 5, 6, 7, 8, 9}); }, "1..8");
  expectError([] { grid_estimated({14}, 0); }, "grid_estimated.last_q");
  const Layout layout = textVisionText(4096, 100, 64);
  expectError([&] { validate(estimatedGridHead({14}) | grid(14, 0, 0), layout, 4096); },
              "static grid");
  expectError(
      [&] { validate(causal() & (grid_estimated({14}) | grid_estimated({16})), layout, 4096); },
      "2 grid_estimated");
  expectError(
      [&] { validate(causal() & (grid_estimated({14}) | vertical_slash(10, 10)), layout, 4096); },
      "one online estimator");
  expectError(
      [&] {
        validate(boundary_2d(
                     {{{Modality::kVision, Modality::kVision}, causal() & grid_estimated({14})}}),
                 layout, 4096);
      },
      "boundary_2d");
  const Layout two_visions(std::vector<Span>{{Modality::kVision, 0, 1000},
                                             {Modality::kText, 1000, 1100},
                                             {Modality::kVision, 1100, 2000}});
  expectError([&] { validate(estimatedGridHead({14}), two_visions, 2000); }, "2 spans");
  expectError([&] { withGridChoice(estimatedGridHead({14}), {14, 14, 0}); }, "phase_q");
  expectError([&] { withGridChoice(causal(), {14, 0, 0}); }, "no grid_estimated");
  // JSON: the same errors, with the path.
  expectError(
      [] {
        patternFromJson(
            nlohmann::json::parse(R"({"kind": "grid_estimated", "strides": [14, "x"]})"));
      },
      "strides[1]");
  expectError(
      [] {
        patternFromJson(
            nlohmann::json::parse(R"({"kind": "grid_estimated", "strides": [14], "stride": 3})"));
      },
      "stride");
  // The reference needs the estimator's choice, and a valid one.
  DynamicIndices bad_choice;
  bad_choice.grid = GridChoice{14, 14, 0};
  try {
    keptMask(estimatedGridHead({14}), layout, 4096, &bad_choice);
    ADD_FAILURE() << "the reference took phase_q 14 with stride 14";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kInvalidArgument) << e.what();
    EXPECT_NE(std::string(e.what()).find("DynamicIndices.grid"), std::string::npos) << e.what();
  }
  try {
    keptPair(estimatedGridHead({14}), layout, 4096, 500, 300);
    ADD_FAILURE() << "the reference evaluated grid_estimated without a choice";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("DynamicIndices::grid"), std::string::npos) << e.what();
  }
}

TEST(GridEstimate, JsonRoundTripsAndTheReferenceUsesTheChoice) {
  const Pattern pattern = estimatedGridHead({7, 14, 28}, 128);
  const Pattern back = patternFromJson(patternToJson(pattern));
  EXPECT_EQ(back, pattern);
  EXPECT_NE(pattern.str().find("grid_estimated({7, 14, 28}, 128"), std::string::npos)
      << pattern.str();
  EXPECT_TRUE(isDynamic(pattern));
  const Layout layout = textVisionText(1024, 100, 64);
  DynamicIndices chosen;
  chosen.grid = GridChoice{14, 3, 5};
  const Pattern fixed = withGridChoice(pattern, *chosen.grid);
  EXPECT_FALSE(isDynamic(fixed));
  EXPECT_EQ(keptMask(pattern, layout, 1024, &chosen), keptMask(fixed, layout, 1024));
}

// ---- GPU -----------------------------------------------------------------------------------

struct PlantedCase {
  std::string name;
  std::vector<int64_t> strides;
  GridChoice planted;
  int64_t seq_len, prefix, suffix;
  int head_dim = 128;
  DType dtype = DType::kBF16;
  int64_t batch = 1, heads = 2, kv_heads = 2;
};
void PrintTo(const PlantedCase& c, std::ostream* os) { *os << c.name; }

class GridEstimateGpu : public ::testing::TestWithParam<PlantedCase> {};

TEST_P(GridEstimateGpu, FindsThePlantedGridAndMatchesTheReference) {
  PERMJIT_REQUIRE_GPU();
  const PlantedCase& c = GetParam();
  const Pattern pattern = estimatedGridHead(c.strides);
  const Layout layout = textVisionText(c.seq_len, c.prefix, c.suffix);
  Runtime& runtime = testing::gpuRuntime();
  Plan plan = runtime.plan(
      pattern, {.head_dim = c.head_dim, .dtype = c.dtype, .layout = layout, .seq_len = c.seq_len});
  runtime::CheckConfig config;
  config.batch = c.batch;
  config.heads = c.heads;
  config.kv_heads = c.kv_heads;
  config.seq_len = c.seq_len;
  config.layout = layout;
  config.seed = 31;
  config.planted_grid = c.planted;
  config.planted_grid_begin = c.prefix;
  config.planted_grid_end = c.seq_len - c.suffix;
  config.full_reference_limit = 2e9;
  runtime::CheckResult result = runtime::checkPlan(runtime, plan, pattern, config);
  ASSERT_EQ(result.estimated.size(), static_cast<size_t>(c.batch * c.heads));
  for (const DynamicIndices& head : result.estimated) {
    ASSERT_TRUE(head.grid);
    std::printf(
        "%-28s planted (%lld, %lld, %lld) found (%lld, %lld, %lld) rel L2 %.3e\n", c.name.c_str(),
        static_cast<long long>(c.planted.stride), static_cast<long long>(c.planted.phase_q),
        static_cast<long long>(c.planted.phase_k), static_cast<long long>(head.grid->stride),
        static_cast<long long>(head.grid->phase_q), static_cast<long long>(head.grid->phase_k),
        result.rel_l2);
    EXPECT_EQ(*head.grid, c.planted);
    std::printf("%-28s scores:", c.name.c_str());
    for (double score : head.grid_scores) std::printf(" %.4f", score);
    std::printf("\n");
    // The planted stride scores highest: most of the attention sits on its lines.
    ASSERT_EQ(head.grid_scores.size(), c.strides.size());
    const size_t planted_at =
        std::find(c.strides.begin(), c.strides.end(), c.planted.stride) - c.strides.begin();
    EXPECT_GT(head.grid_scores[planted_at], 0.5);
    for (size_t i = 0; i < c.strides.size(); ++i) {
      if (i != planted_at) EXPECT_LT(head.grid_scores[i], head.grid_scores[planted_at]);
    }
  }
  EXPECT_FALSE(result.nan_found) << "NaN/Inf in the output: an element was not written";
  EXPECT_LT(result.rel_l2, runtime::toleranceFor(c.dtype));
  EXPECT_LT(result.lse_max_abs, 5e-2);
}

INSTANTIATE_TEST_SUITE_P(
    Planted, GridEstimateGpu,
    ::testing::Values(
        PlantedCase{"s14_among_7_14_16_28", {7, 14, 16, 28}, {14, 3, 9}, 3000, 100, 64},
        PlantedCase{"s7_among_7_14_28", {7, 14, 28}, {7, 0, 6}, 2500, 37, 60},
        PlantedCase{"s16_fp16_hd64_gqa",
                    {14, 16, 32},
                    {16, 11, 2},
                    2900,
                    64,
                    100,
                    64,
                    DType::kFP16,
                    2,
                    4,
                    2},
        PlantedCase{"s28_last_candidate", {14, 28}, {28, 20, 27}, 4000, 200, 64}),
    [](const auto& info) { return info.param.name; });

// Random q and k have no grid: no candidate captures 0.01 of the attention more than a cheaper
// one, so the cheapest (largest) stride is chosen, and the output still matches its reference.
TEST(GridEstimateGpuStructureless, ChoosesTheCheapestCandidate) {
  PERMJIT_REQUIRE_GPU();
  const Pattern pattern = estimatedGridHead({7, 28, 14});
  const Layout layout = textVisionText(3000, 100, 64);
  Runtime& runtime = testing::gpuRuntime();
  Plan plan = runtime.plan(pattern, {.head_dim = 128, .layout = layout, .seq_len = 3000});
  runtime::CheckConfig config;
  config.heads = 4;
  config.seq_len = 3000;
  config.layout = layout;
  config.seed = 77;
  config.full_reference_limit = 2e9;
  runtime::CheckResult result = runtime::checkPlan(runtime, plan, pattern, config);
  ASSERT_EQ(result.estimated.size(), 4u);
  for (const DynamicIndices& head : result.estimated) {
    ASSERT_TRUE(head.grid);
    EXPECT_EQ(head.grid->stride, 28)
        << "phases " << head.grid->phase_q << ", " << head.grid->phase_k;
    std::printf("structureless scores (7, 28, 14):");
    for (double score : head.grid_scores) std::printf(" %.4f", score);
    std::printf("\n");
  }
  EXPECT_LT(result.rel_l2, runtime::toleranceFor(DType::kBF16));
}

}  // namespace
}  // namespace permjit
