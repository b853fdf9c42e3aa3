// Dynamic plans (vertical_slash): the online estimator runs on the GPU inside Plan::run and the
// attention uses the sets it chose. Without a GPU: planning, compiling every kernel to cubin,
// workspace sizing and bad input. With one: the outputs against the float64 reference of the
// pattern with the sets the estimator returned, and the estimator recovering planted columns
// and diagonals.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>

#include "RequireGpu.h"
#include "RuntimeTestSupport.h"
#include "permjit/dsl/Json.h"
#include "permjit/permjit.h"
#include "permjit/permjit_c.h"
#include "permjit/runtime/AttentionCheck.h"
#include "permjit/runtime/Driver.h"
#include "permjit/runtime/Workspace.h"

namespace permjit {
namespace {

Pattern vsHead(int64_t vertical, int64_t slash, int64_t last_q = 64) {
  return causal() & vertical_slash(vertical, slash, last_q);
}

TEST(DynamicPlan, CompilesEveryKernelWithoutAGpu) {
  RuntimeOptions options;
  options.host_only = true;
  options.arch = "sm_90a";
  options.cache_dir = testing::freshCacheDir("dynamic-host");
  Runtime runtime(options);
  Plan plan = runtime.plan(vsHead(100, 200), {.head_dim = 128});
  EXPECT_TRUE(plan.isDynamic());
  EXPECT_EQ(plan.numPasses(), 2);
  // Two attention passes and the estimator's four kernels, each compiled once.
  EXPECT_EQ(runtime.cacheStats().compiles, 6u);
  EXPECT_NE(plan.source(1).find("kGatherCols = true"), std::string::npos);
  EXPECT_NE(plan.source(0).find("kGatherCols = false"), std::string::npos);
  EXPECT_FALSE(plan.binary("cubin", 1).empty());
  const size_t one = plan.workspaceBytes(1, 1, 4096);
  EXPECT_GT(one, 4096u * 2 * 4);  // at least the two score arrays
  EXPECT_EQ(plan.workspaceBytes(2, 8, 4096), 16 * one);
  EXPECT_EQ(one % 256, 0u);

  // A second structure with other sizes reuses every kernel: sizes are run-time values.
  runtime.resetCacheStats();
  Plan other = runtime.plan(vsHead(1000, 3000, 128), {.head_dim = 128});
  EXPECT_EQ(runtime.cacheStats().compiles, 0u);
  EXPECT_GT(other.workspaceBytes(1, 1, 4096), 0u);

  Plan fixed = runtime.plan(causal() & local(64), {.head_dim = 128});
  EXPECT_FALSE(fixed.isDynamic());
  EXPECT_EQ(fixed.workspaceBytes(1, 8, 4096), 0u);
  try {
    fixed.estimatedIndices(RunArgs{});
    FAIL() << "a static plan has no estimated indices";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("static"), std::string::npos) << e.what();
  }
}

TEST(DynamicPlan, RejectsWhatTheEstimatorCannotServe) {
  RuntimeOptions options;
  options.host_only = true;
  options.arch = "sm_90a";
  options.disable_cache = true;
  Runtime runtime(options);
  auto expectError = [&](const Pattern& p, ErrorCategory category, const std::string& needle) {
    try {
      runtime.plan(p, {.head_dim = 128});
      ADD_FAILURE() << "planned " << p.str();
    } catch (const Error& e) {
      EXPECT_EQ(e.category(), category) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expectError(vsHead(10, 10, 2000), ErrorCategory::kUnsupported, "last_q");
  expectError(causal() & (vertical_slash(10, 10) | vertical_slash(20, 20)),
              ErrorCategory::kInvalidPattern, "one");
  expectError(boundary_2d({{{Modality::kVision, Modality::kVision}, vsHead(10, 10)}}),
              ErrorCategory::kInvalidPattern, "boundary_2d");
  // Several atoms: one per q_boundary modality, not two in one branch nor one outside.
  expectError(q_boundary({{Modality::kVision,
                           causal() & (vertical_slash(10, 10) | vertical_slash(20, 20))}}),
              ErrorCategory::kInvalidPattern, "allowed: one per query modality");
  expectError(
      causal() & (vertical_slash(10, 10) | q_boundary({{Modality::kText, vertical_slash(20, 20)}})),
      ErrorCategory::kInvalidPattern, "outside a q_boundary branch");
}

// One vertical_slash per q_boundary modality: two passes per atom, one estimator (its four
// kernels run once per atom), one workspace block per atom.
TEST(DynamicPlan, OneAtomPerQueryModality) {
  RuntimeOptions options;
  options.host_only = true;
  options.arch = "sm_90a";
  options.cache_dir = testing::freshCacheDir("dynamic-atoms");
  Runtime runtime(options);
  const Pattern per_modality =
      q_boundary({{Modality::kVision, causal() & vertical_slash(100, 200, 64)},
                  {Modality::kText, causal() & (sink(16) | vertical_slash(50, 80, 32))}});
  Plan plan = runtime.plan(per_modality, {.head_dim = 128});
  ASSERT_EQ(plan.spec().dynamic.size(), 2u);
  EXPECT_EQ(plan.spec().dynamic[0].query_modality, static_cast<int>(Modality::kVision));
  EXPECT_EQ(plan.spec().dynamic[1].query_modality, static_cast<int>(Modality::kText));
  EXPECT_EQ(plan.spec().dynamic[1].last_q, 32);
  ASSERT_EQ(plan.numPasses(), 4);
  for (int pass = 0; pass < 4; ++pass) {
    EXPECT_EQ(plan.spec().passes[static_cast<size_t>(pass)].atom, pass / 2) << pass;
    EXPECT_EQ(plan.spec().passes[static_cast<size_t>(pass)].cols.gather_vertical, pass % 2 == 1);
  }
  EXPECT_EQ(runtime.cacheStats().compiles, 8u);
  Plan single = runtime.plan(vsHead(100, 200), {.head_dim = 128});
  EXPECT_EQ(plan.workspaceBytes(1, 1, 4096), 2 * single.workspaceBytes(1, 1, 4096));
  EXPECT_EQ(verticalSlashAtoms(per_modality),
            (std::vector<std::optional<Modality>>{Modality::kVision, Modality::kText}));
}

// A q_boundary atom estimates from the last last_q queries of its own modality, wherever its
// spans lie; a modality with fewer queries estimates from all of them.
TEST(DynamicPlan, EstimateRowsAreTheModalitysLastQueries) {
  using Runs = std::vector<std::pair<int64_t, int64_t>>;
  const Layout layout(std::vector<Span>{{Modality::kText, 0, 100},
                                        {Modality::kVision, 100, 500},
                                        {Modality::kText, 500, 560},
                                        {Modality::kVision, 560, 1000},
                                        {Modality::kText, 1000, 1100}});
  DynamicSpec atom;
  atom.last_q = 128;
  EXPECT_EQ(runtime::estimateRowRuns(atom, layout, 1100), (Runs{{972, 1100}}));
  atom.query_modality = static_cast<int>(Modality::kText);
  EXPECT_EQ(runtime::estimateRowRuns(atom, layout, 1100), (Runs{{532, 560}, {1000, 1100}}));
  atom.query_modality = static_cast<int>(Modality::kVision);
  EXPECT_EQ(runtime::estimateRowRuns(atom, layout, 1100), (Runs{{872, 1000}}));
  atom.last_q = 1024;  // more than vision's 840 queries
  EXPECT_EQ(runtime::estimateRowRuns(atom, layout, 1100), (Runs{{100, 500}, {560, 1000}}));
  atom.query_modality = static_cast<int>(Modality::kOther);  // none: no rows
  EXPECT_EQ(runtime::estimateRowRuns(atom, layout, 1100), Runs{});
  // 40 one-token text spans between vision: more runs than the estimator takes.
  std::vector<Span> many;
  for (int64_t i = 0; i < 40; ++i) {
    many.push_back({Modality::kVision, 2 * i, 2 * i + 1});
    many.push_back({Modality::kText, 2 * i + 1, 2 * i + 2});
  }
  atom.query_modality = static_cast<int>(Modality::kText);
  atom.last_q = 64;
  try {
    runtime::estimateRowRuns(atom, Layout(many), 80);
    ADD_FAILURE() << "40 runs accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("vertical_slash.last_q"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("allowed: up to 32"), std::string::npos) << e.what();
  }
}

TEST(DynamicPlanGpu, RunWithoutWorkspaceIsAClearError) {
  PERMJIT_REQUIRE_GPU();
  Runtime runtime;
  Plan plan = runtime.plan(vsHead(64, 64), {.head_dim = 128});
  RunArgs args;
  alignas(256) static char fake[256];
  args.q = args.k = args.v = fake;
  args.o = fake;
  args.lse = reinterpret_cast<float*>(fake);
  args.heads = 1;
  args.seq_len = 128;
  args.head_dim = 128;
  try {
    plan.run(args);
    FAIL() << "ran without a workspace";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("workspace"), std::string::npos) << e.what();
  }
  args.workspace = fake;
  args.workspace_bytes = 256;
  try {
    plan.run(args);
    FAIL() << "ran with a too small workspace";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("workspace_bytes"), std::string::npos) << e.what();
  }
}

struct DynamicCase {
  std::string name;
  Pattern pattern;
  Layout layout;
  int64_t seq_len;
  int head_dim = 128;
  DType dtype = DType::kBF16;
  int64_t batch = 1, heads = 2, kv_heads = 2;
  TensorLayout tensor_layout = TensorLayout::kBSHD;
  bool sampled_reference = false;  // too long for the full reference: sampled rows
};
void PrintTo(const DynamicCase& c, std::ostream* os) { *os << c.name; }

std::vector<DynamicCase> dynamicCases() {
  const Layout mixed(std::vector<Span>{{Modality::kText, 0, 100},
                                       {Modality::kVision, 100, 500},
                                       {Modality::kText, 500, 560},
                                       {Modality::kVision, 560, 1000},
                                       {Modality::kText, 1000, 1100}});
  return {
      {"vs_bf16_hd128_gqa_batch2", vsHead(96, 160), {}, 1000, 128, DType::kBF16, 2, 4, 2},
      {"vs_fp16_hd64_bhsd",
       vsHead(70, 130, 100),
       {},
       777,
       64,
       DType::kFP16,
       1,
       2,
       2,
       TensorLayout::kBHSD},
      {"vs_with_sink_and_local",
       causal() & (sink(16) | local(40) | vertical_slash(50, 120)),
       {},
       1300},
      {"vs_sets_larger_than_seq", vsHead(5000, 5000, 300), {}, 333},
      {"vs_last_q_257", vsHead(128, 256, 257), {}, 1500},
      {"q_boundary_vs_vision_local_text",
       q_boundary({{Modality::kVision, causal() & vertical_slash(80, 150)},
                   {Modality::kText, causal() & local(64)}}),
       mixed, 1100},
      // The paper's Q-Boundary: each modality its own vertical_slash, estimated from its own
      // last queries, on five interleaved spans (text's last 64 queries span two of them).
      {"q_boundary_vs_per_modality_5_spans",
       q_boundary({{Modality::kVision, causal() & vertical_slash(80, 150, 64)},
                   {Modality::kText, causal() & (sink(8) | vertical_slash(40, 110, 128))}}),
       mixed, 1100, 128, DType::kBF16, 1, 2, 2},
      {"q_boundary_vs_per_modality_fp16_hd64",
       q_boundary({{Modality::kVision, causal() & vertical_slash(60, 100, 32)},
                   {Modality::kText, causal() & vertical_slash(50, 120, 64)}}),
       mixed, 1100, 64, DType::kFP16, 1, 2, 2, TensorLayout::kBHSD},
      // Text has 45 queries, fewer than its last_q: it estimates from all of them.
      {"q_boundary_vs_small_modality",
       q_boundary({{Modality::kVision, causal() & vertical_slash(64, 128, 64)},
                   {Modality::kText, causal() & vertical_slash(40, 90, 64)}}),
       Layout(std::vector<Span>{
           {Modality::kText, 0, 20}, {Modality::kVision, 20, 990}, {Modality::kText, 990, 1015}}),
       1015},
      // Text's last 64 queries lie 8564 positions apart, wider than the estimator's shared
      // diagonal window: their diagonal scores add to the global array directly.
      {"q_boundary_vs_wide_modality_rows",
       q_boundary({{Modality::kVision, causal() & vertical_slash(64, 128, 64)},
                   {Modality::kText, causal() & vertical_slash(64, 128, 64)}}),
       Layout(std::vector<Span>{{Modality::kText, 0, 3000},
                                {Modality::kVision, 3000, 11500},
                                {Modality::kText, 11500, 11550}}),
       11550, 128, DType::kBF16, 1, 2, 2, TensorLayout::kBSHD, true},
  };
}

// The sets of atom `atom` (verticalSlashAtoms order).
const std::vector<int64_t>& atomSet(const DynamicIndices& sets, size_t atom, bool slash) {
  if (atom == 0) return slash ? sets.slash : sets.vertical;
  return slash ? sets.later_atoms.at(atom - 1).slash : sets.later_atoms.at(atom - 1).vertical;
}

class DynamicGpu : public ::testing::TestWithParam<DynamicCase> {};

TEST_P(DynamicGpu, MatchesTheReferenceOfTheChosenSets) {
  PERMJIT_REQUIRE_GPU();
  const DynamicCase& c = GetParam();
  Runtime& runtime = testing::gpuRuntime();
  Plan plan = runtime.plan(
      c.pattern,
      {.head_dim = c.head_dim, .dtype = c.dtype, .layout = c.layout, .seq_len = c.seq_len});
  ASSERT_TRUE(plan.isDynamic());
  runtime::CheckConfig config;
  config.batch = c.batch;
  config.heads = c.heads;
  config.kv_heads = c.kv_heads;
  config.seq_len = c.seq_len;
  config.layout = c.layout;
  config.tensor_layout = c.tensor_layout;
  config.seed = 23;
  config.full_reference_limit = 2e9;
  runtime::CheckResult result = runtime::checkPlan(runtime, plan, c.pattern, config);
  std::printf("%-34s kept %.4f rel L2 %.3e lse max diff %.2e\n", c.name.c_str(),
              result.kept_fraction, result.rel_l2, result.lse_max_abs);
  EXPECT_EQ(result.full_reference, !c.sampled_reference);
  EXPECT_FALSE(result.nan_found) << "NaN/Inf in the output: an element was not written";
  EXPECT_LT(result.rel_l2, runtime::toleranceFor(c.dtype));
  EXPECT_LT(result.lse_max_abs, 5e-2);
  ASSERT_EQ(result.estimated.size(), static_cast<size_t>(c.batch * c.heads));
  const std::vector<DynamicSpec>& atoms = plan.spec().dynamic;
  for (const DynamicIndices& sets : result.estimated) {
    ASSERT_EQ(sets.later_atoms.size() + 1, atoms.size());
    for (size_t a = 0; a < atoms.size(); ++a) {
      const DynamicSpec& dyn = atoms[a];
      const std::vector<int64_t>& vertical = atomSet(sets, a, false);
      const std::vector<int64_t>& slash = atomSet(sets, a, true);
      EXPECT_EQ(static_cast<int64_t>(vertical.size()), std::min(dyn.vertical, c.seq_len)) << a;
      EXPECT_EQ(static_cast<int64_t>(slash.size()), std::min(dyn.slash, c.seq_len)) << a;
      // The always-chosen columns and diagonals come first in ascending order.
      for (int64_t i = 0; i < std::min({dyn.keep_columns, dyn.vertical, c.seq_len}); ++i) {
        EXPECT_EQ(vertical[static_cast<size_t>(i)], i);
      }
      for (int64_t i = 0; i < std::min({dyn.keep_diagonals, dyn.slash, c.seq_len}); ++i) {
        EXPECT_EQ(slash[static_cast<size_t>(i)], i);
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Plans, DynamicGpu, ::testing::ValuesIn(dynamicCases()),
                         [](const auto& info) { return info.param.name; });

TEST(DynamicGpuEstimator, FindsPlantedColumnsAndDiagonal) {
  PERMJIT_REQUIRE_GPU();
  Runtime& runtime = testing::gpuRuntime();
  // 30 forced columns + 10 free; 100 forced diagonals + 20 free.
  const Pattern pattern = vsHead(40, 120, 64);
  Plan plan = runtime.plan(pattern, {.head_dim = 128});
  runtime::CheckConfig config;
  config.heads = 2;
  config.seq_len = 2048;
  config.seed = 5;
  config.planted_vertical = {300, 777, 1500};
  config.planted_slash = 600;
  config.full_reference_limit = 2e9;
  runtime::CheckResult result = runtime::checkPlan(runtime, plan, pattern, config);
  EXPECT_LT(result.rel_l2, runtime::toleranceFor(DType::kBF16));
  ASSERT_EQ(result.estimated.size(), 2u);
  for (const DynamicIndices& sets : result.estimated) {
    for (int64_t column : config.planted_vertical) {
      EXPECT_TRUE(std::binary_search(sets.vertical.begin(), sets.vertical.end(), column))
          << "planted column " << column << " not chosen";
    }
    EXPECT_TRUE(std::binary_search(sets.slash.begin(), sets.slash.end(), config.planted_slash))
        << "planted diagonal " << config.planted_slash << " not chosen";
  }
}

// Q-Boundary with one vertical_slash per modality: columns and diagonals planted differently in
// the vision and in the text rows are each recovered by their own modality's atom, and not by
// the other's. Each atom has exactly 3 free columns (30 are always kept) and 1 free diagonal
// (100 always kept): the planted ones must be those. Layouts: text's last 64 queries in one
// span, in two spans 864 positions apart, and in two spans 8564 apart (wider than the
// estimator's shared diagonal window: its diagonal scores go to global memory).
struct PlantedCase {
  std::string name;
  Layout layout;
  int64_t seq_len;
  std::vector<int64_t> vision_columns, text_columns;
};
void PrintTo(const PlantedCase& c, std::ostream* os) { *os << c.name; }

class PlantedPerModalityGpu : public ::testing::TestWithParam<PlantedCase> {};

TEST_P(PlantedPerModalityGpu, EachAtomRecoversItsOwnModalitysStructure) {
  PERMJIT_REQUIRE_GPU();
  const PlantedCase& c = GetParam();
  Runtime& runtime = testing::gpuRuntime();
  const Pattern pattern = q_boundary({{Modality::kVision, causal() & vertical_slash(33, 101, 64)},
                                      {Modality::kText, causal() & vertical_slash(33, 101, 64)}});
  Plan plan = runtime.plan(pattern, {.head_dim = 128, .layout = c.layout, .seq_len = c.seq_len});
  runtime::CheckConfig config;
  config.heads = 2;
  config.seq_len = c.seq_len;
  config.layout = c.layout;
  config.seed = 7;
  config.planted_by_modality = {{Modality::kVision, c.vision_columns, 600},
                                {Modality::kText, c.text_columns, 400}};
  config.full_reference_limit = 2e9;
  runtime::CheckResult result = runtime::checkPlan(runtime, plan, pattern, config);
  EXPECT_LT(result.rel_l2, runtime::toleranceFor(DType::kBF16));
  ASSERT_EQ(result.estimated.size(), 2u);
  for (const DynamicIndices& sets : result.estimated) {
    ASSERT_EQ(sets.later_atoms.size(), 1u);
    for (size_t atom = 0; atom < 2; ++atom) {
      const runtime::CheckConfig::PlantedRows& mine = config.planted_by_modality[atom];
      const runtime::CheckConfig::PlantedRows& other = config.planted_by_modality[1 - atom];
      const std::vector<int64_t>& vertical = atomSet(sets, atom, false);
      const std::vector<int64_t>& slash = atomSet(sets, atom, true);
      for (int64_t column : mine.vertical) {
        EXPECT_TRUE(std::binary_search(vertical.begin(), vertical.end(), column))
            << modalityName(mine.rows) << ": planted column " << column << " not chosen";
      }
      for (int64_t column : other.vertical) {
        EXPECT_FALSE(std::binary_search(vertical.begin(), vertical.end(), column))
            << modalityName(mine.rows) << ": chose the other modality's column " << column;
      }
      EXPECT_TRUE(std::binary_search(slash.begin(), slash.end(), mine.slash))
          << modalityName(mine.rows) << ": planted diagonal " << mine.slash << " not chosen";
      EXPECT_FALSE(std::binary_search(slash.begin(), slash.end(), other.slash))
          << modalityName(mine.rows) << ": chose the other modality's diagonal " << other.slash;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, PlantedPerModalityGpu,
    ::testing::Values(PlantedCase{"five_spans",
                                  Layout(std::vector<Span>{{Modality::kText, 0, 200},
                                                           {Modality::kVision, 200, 900},
                                                           {Modality::kText, 900, 1000},
                                                           {Modality::kVision, 1000, 1800},
                                                           {Modality::kText, 1800, 1990}}),
                                  1990,
                                  {300, 777, 1500},
                                  {150, 950, 1200}},
                      PlantedCase{"text_rows_in_two_runs",
                                  Layout(std::vector<Span>{{Modality::kText, 0, 200},
                                                           {Modality::kVision, 200, 900},
                                                           {Modality::kText, 900, 1000},
                                                           {Modality::kVision, 1000, 1800},
                                                           {Modality::kText, 1800, 1830}}),
                                  1830,
                                  {300, 777, 1500},
                                  {150, 500, 940}},
                      PlantedCase{"text_rows_wider_than_the_window",
                                  Layout(std::vector<Span>{{Modality::kText, 0, 3000},
                                                           {Modality::kVision, 3000, 11500},
                                                           {Modality::kText, 11500, 11530}}),
                                  11530,
                                  {300, 7000, 10000},
                                  {150, 950, 2500}}),
    [](const auto& info) { return info.param.name; });

// The C API runs a dynamic plan through its workspace exactly as the C++ API does: same
// kernels, same inputs, bitwise the same output.
TEST(DynamicGpuCApi, RunMatchesTheCppApiBitwise) {
  PERMJIT_REQUIRE_GPU();
  const Pattern pattern = causal() & (sink(8) | vertical_slash(48, 96, 64));
  const int64_t seq_len = 1000, heads = 2, head_dim = 128;
  Plan plan = testing::gpuRuntime().plan(pattern, {.head_dim = head_dim});

  permjit_runtime_options_t runtime_options;
  permjit_runtime_options_init(&runtime_options);
  const std::string cache_dir = testing::freshCacheDir("dynamic-capi");
  runtime_options.cache_dir = cache_dir.c_str();
  permjit_runtime_t c_runtime = nullptr;
  ASSERT_EQ(permjit_runtime_create(&runtime_options, &c_runtime), PERMJIT_OK)
      << permjit_last_error();
  permjit_plan_options_t plan_options;
  permjit_plan_options_init(&plan_options);
  plan_options.head_dim = head_dim;
  const std::string json = patternToJson(pattern).dump();
  permjit_plan_t c_plan = nullptr;
  ASSERT_EQ(permjit_plan_create(c_runtime, json.c_str(), &plan_options, &c_plan), PERMJIT_OK)
      << permjit_last_error();
  int dynamic = 0;
  ASSERT_EQ(permjit_plan_is_dynamic(c_plan, &dynamic), PERMJIT_OK);
  ASSERT_EQ(dynamic, 1);
  size_t ws_bytes = 0;
  ASSERT_EQ(permjit_plan_workspace_bytes(c_plan, 1, heads, seq_len, &ws_bytes), PERMJIT_OK);
  ASSERT_EQ(ws_bytes, plan.workspaceBytes(1, heads, seq_len));

  auto driver = runtime::Driver::open();
  driver->check(driver->cuCtxSetCurrent(driver->primaryContext(0)), "cuCtxSetCurrent");
  const size_t elems = static_cast<size_t>(seq_len * heads * head_dim);
  std::mt19937 rng(12345);
  std::uniform_real_distribution<float> uniform(-2.0f, 2.0f);
  auto randomInput = [&] {
    std::vector<uint16_t> bits(elems);
    for (uint16_t& x : bits) x = runtime::floatToHalfBits(uniform(rng), DType::kBF16);
    auto buffer = std::make_unique<runtime::DeviceBuffer>(driver, elems * 2);
    buffer->upload(bits.data(), elems * 2);
    return buffer;
  };
  auto q = randomInput(), k = randomInput(), v = randomInput();
  runtime::DeviceBuffer o_cpp(driver, elems * 2), o_c(driver, elems * 2);
  runtime::DeviceBuffer lse(driver, static_cast<size_t>(heads * seq_len) * 4);
  runtime::DeviceBuffer ws(driver, ws_bytes);
  o_cpp.fill(0xff);
  o_c.fill(0x7f);

  RunArgs args;
  args.q = q->data();
  args.k = k->data();
  args.v = v->data();
  args.o = o_cpp.data();
  args.lse = static_cast<float*>(lse.data());
  args.heads = heads;
  args.seq_len = seq_len;
  args.head_dim = head_dim;
  args.workspace = ws.data();
  args.workspace_bytes = ws_bytes;
  plan.run(args);

  permjit_run_args_t c_args;
  permjit_run_args_init(&c_args);
  c_args.q = q->data();
  c_args.k = k->data();
  c_args.v = v->data();
  c_args.o = o_c.data();
  c_args.lse = static_cast<float*>(lse.data());
  c_args.heads = heads;
  c_args.seq_len = seq_len;
  c_args.head_dim = head_dim;
  c_args.workspace = ws.data();
  c_args.workspace_bytes = ws_bytes - 1;
  EXPECT_EQ(permjit_plan_run(c_plan, &c_args, nullptr), PERMJIT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(permjit_last_error()).find("workspace_bytes"), std::string::npos)
      << permjit_last_error();
  c_args.workspace_bytes = ws_bytes;
  ASSERT_EQ(permjit_plan_run(c_plan, &c_args, nullptr), PERMJIT_OK) << permjit_last_error();
  driver->check(driver->cuStreamSynchronize(nullptr), "cuStreamSynchronize");

  std::vector<uint16_t> out_cpp(elems), out_c(elems);
  o_cpp.download(out_cpp.data(), elems * 2);
  o_c.download(out_c.data(), elems * 2);
  EXPECT_TRUE(out_cpp == out_c) << "the C API's output differs from the C++ API's";

  // reuse_estimate: the attention alone, over the sets the last run left in the workspace.
  o_c.fill(0x7f);
  c_args.reuse_estimate = 1;
  ASSERT_EQ(permjit_plan_run(c_plan, &c_args, nullptr), PERMJIT_OK) << permjit_last_error();
  driver->check(driver->cuStreamSynchronize(nullptr), "cuStreamSynchronize");
  o_c.download(out_c.data(), elems * 2);
  EXPECT_TRUE(out_cpp == out_c) << "reuse_estimate changed the output";
  permjit_plan_destroy(c_plan);
  permjit_runtime_destroy(c_runtime);
}

}  // namespace
}  // namespace permjit
