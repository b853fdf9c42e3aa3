// A mixed layer (dense, a_shape, grid, tri_shape, q_boundary, boundary_2d heads) run in one
// call on the GPU with GQA at lengths that are not tile multiples; every head of every batch
// element checked in full against the float64 CPU reference. Skipped with the reason where
// there is no CUDA driver or GPU.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "LayerConfigs.h"
#include "RequireGpu.h"
#include "permjit/patterns/LayerCheck.h"
#include "permjit/runtime/AttentionCheck.h"

namespace permjit::patterns {
namespace {

struct LayerGpuCase {
  std::string name;
  int64_t seq_len;
  int64_t batch;
  int64_t kv_heads;
  TensorLayout tensor_layout;
  bool with_lse;  // false: the grid heads merge their passes through the workspace
  int head_dim = 128;
  DType dtype = DType::kBF16;
};

void PrintTo(const LayerGpuCase& c, std::ostream* os) { *os << c.name; }

class LayerGpu : public ::testing::TestWithParam<LayerGpuCase> {};

TEST_P(LayerGpu, EveryHeadMatchesTheCpuReference) {
  PERMJIT_REQUIRE_GPU();
  const LayerGpuCase& c = GetParam();
  RuntimeOptions options;
  options.cache_dir = (std::filesystem::temp_directory_path() / "permjit-gpu-test-cache").string();
  static Runtime* runtime = new Runtime(options);  // one runtime (and context) for all cases
  LayerPlanOptions layer_options;
  layer_options.head_dim = c.head_dim;
  layer_options.dtype = c.dtype;
  LayerPlan layer = planLayer(*runtime, parseModelConfig(testing::mixedLayerWithDynamicHeadsJson()),
                              0, layer_options);
  ASSERT_EQ(layer.headPlan(2).numPasses(), 2);  // the grid head merges two passes
  ASSERT_TRUE(layer.headPlan(0).isDynamic());   // vertical_slash: estimated inside run
  ASSERT_TRUE(layer.headPlan(1).isDynamic());   // grid with estimate_strides: likewise
  LayerCheckConfig config;
  config.batch = c.batch;
  config.kv_heads = c.kv_heads;
  config.seq_len = c.seq_len;
  config.tensor_layout = c.tensor_layout;
  config.with_lse = c.with_lse;
  config.seed = 5;
  config.full_reference_limit = 1e10;  // every case here is checked in full
  LayerCheckResult result = checkLayer(layer, config);
  EXPECT_TRUE(result.full_reference);
  ASSERT_EQ(result.heads.size(), 6u);
  const double tolerance = runtime::toleranceFor(c.dtype);
  for (const HeadCheck& head : result.heads) {
    std::printf("%-28s head %lld kept %.4f rel L2 %.3e lse max diff %.2e\n", c.name.c_str(),
                static_cast<long long>(head.head), head.kept_fraction, head.rel_l2,
                head.lse_max_abs);
    EXPECT_EQ(head.rows_checked, c.batch * c.seq_len) << "head " << head.head;
    EXPECT_FALSE(head.nan_found) << "head " << head.head << ": an element was not written";
    EXPECT_LT(head.rel_l2, tolerance) << "head " << head.head;
    if (c.with_lse) {
      EXPECT_LT(head.lse_max_abs, 5e-2) << "head " << head.head;
    }
  }
  EXPECT_TRUE(result.passed(tolerance));
}

INSTANTIATE_TEST_SUITE_P(
    Layers, LayerGpu,
    ::testing::Values(
        LayerGpuCase{"s1000_gqa3_bshd_lse", 1000, 1, 2, TensorLayout::kBSHD, true},
        // Caller's lse with batch 2: each head runs once per batch element.
        LayerGpuCase{"s1000_batch2_bhsd_lse_fp16_hd64", 1000, 2, 3, TensorLayout::kBHSD, true, 64,
                     DType::kFP16},
        // seq_len 1001 cannot take a caller lse; the workspace holds the merge buffer.
        LayerGpuCase{"s1001_batch2_gqa6_workspace_lse", 1001, 2, 1, TensorLayout::kBSHD, false}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace permjit::patterns
