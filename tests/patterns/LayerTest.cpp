// Layer plans without a GPU: host-only runtimes compile every head to cubin through the cache,
// heads of one structure share kernels, and bad input to LayerPlan::run and the layer C API is
// rejected before any launch with a message naming the field.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "ExpectError.h"
#include "LayerConfigs.h"
#include "permjit/patterns/Layer.h"
#include "permjit/permjit_layer_c.h"

namespace permjit::patterns {
namespace {
namespace fs = std::filesystem;
using permjit::testing::expectError;
using testing::mixedLayerJson;
constexpr auto kInvalid = ErrorCategory::kInvalidArgument;

class TempDir {
 public:
  TempDir() {
    path_ = (fs::temp_directory_path() /
             ("permjit-layer-test-" + std::to_string(getpid()) + "-" + std::to_string(next_++)))
                .string();
    fs::remove_all(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  static inline int next_ = 0;
  std::string path_;
};

// One cache for the tests that do not count compiles: each kernel compiles once per run.
const std::string& sharedCacheDir() {
  static TempDir dir;
  return dir.path();
}

RuntimeOptions hostOnly(const std::string& cache_dir) {
  RuntimeOptions options;
  options.host_only = true;
  options.arch = "sm_90a";
  options.cache_dir = cache_dir;
  options.disable_cache = false;
  return options;
}

Runtime& sharedRuntime() {
  static Runtime* runtime = new Runtime(hostOnly(sharedCacheDir()));
  return *runtime;
}

const LayerPlan& mixedLayer() {
  static LayerPlan* layer =
      new LayerPlan(planLayer(sharedRuntime(), parseModelConfig(mixedLayerJson()), 0, {}));
  return *layer;
}

// 16-byte aligned stand-ins: run() must reject or accept them before touching the device.
void* fakePointer(uintptr_t at) { return reinterpret_cast<void*>(at * 0x10000); }

LayerRunArgs validArgs(const LayerPlan& layer, int64_t seq_len) {
  LayerRunArgs args;
  args.q = fakePointer(1);
  args.k = fakePointer(2);
  args.v = fakePointer(3);
  args.o = fakePointer(4);
  args.heads = layer.numHeads();
  args.kv_heads = 2;
  args.seq_len = seq_len;
  args.workspace = fakePointer(5);
  args.workspace_bytes = layer.workspaceBytes(1, seq_len);
  return args;
}

TEST(LayerPlan, PlansEveryHeadToCubin) {
  ModelConfig config = parseModelConfig(mixedLayerJson());
  const LayerPlan& layer = mixedLayer();
  EXPECT_EQ(layer.layer(), 0);
  ASSERT_EQ(layer.numHeads(), 6);
  EXPECT_EQ(layer.numDistinctPlans(), 6);
  EXPECT_FALSE(layer.hasDynamicHeads());
  for (int64_t h = 0; h < layer.numHeads(); ++h) {
    const Plan& plan = layer.headPlan(h);
    EXPECT_EQ(layer.headPattern(h), patternFor(config, 0, static_cast<int>(h))) << h;
    EXPECT_EQ(plan.arch(), "sm_90a");
    EXPECT_FALSE(plan.canRun());
    EXPECT_EQ(plan.spec().head_dim, 128);
    for (int pass = 0; pass < plan.numPasses(); ++pass) {
      std::string cubin = plan.binary("cubin", pass);
      ASSERT_GE(cubin.size(), 4u) << "head " << h << " pass " << pass;
      EXPECT_EQ(cubin.substr(0, 4),
                "\x7f"
                "ELF")
          << "head " << h;
    }
  }
  // kAuto splits the grid head into two passes merged through the log-sum-exp.
  EXPECT_EQ(layer.headPlan(2).numPasses(), 2);
  EXPECT_TRUE(layer.hasMultiPassHeads());
  expectError([&] { layer.headPlan(6); }, kInvalid, {"head: 6 is out of range", "[0, 6)"});
}

// Heads that differ only in parameter values share compiled kernels: a 32-head layer of three
// head types compiles one kernel per distinct structure and pass, and equal heads share a Plan.
// (Every sink is nonzero: sink(0) keeps nothing and would make a structure of its own.)
TEST(LayerPlan, HeadsOfOneStructureCompileOnce) {
  std::string heads;
  for (int h = 0; h < 32; ++h) {
    if (!heads.empty()) heads += ",\n";
    if (h % 3 == 0) {
      heads += "{\"head\": " + std::to_string(h) + ", \"type\": \"dense\"}";
    } else if (h % 3 == 1) {
      heads += "{\"head\": " + std::to_string(h) +
               ", \"type\": \"a_shape\", \"sink\": " + std::to_string(16 * (1 + h % 4)) +
               ", \"local\": " + std::to_string(64 + h) + "}";
    } else {
      heads += "{\"head\": " + std::to_string(h) +
               ", \"type\": \"grid\", \"stride\": " + std::to_string(7 + h % 8) +
               ", \"phase_q\": " + std::to_string(h % 5) +
               ", \"phase_k\": " + std::to_string(h % 3) + ", \"sink\": 64, \"local\": 64}";
    }
  }
  ModelConfig config = parseModelConfig(
      R"({"permjit_model_config": 1, "model": "m", "num_heads": 32,
          "layout_rules": {"kind": "text_vision_text", "prefix": 10, "suffix": 10},
          "layers": [{"layer": 5, "heads": [)" +
      heads + "]}]}");
  TempDir dir;
  Runtime runtime(hostOnly(dir.path()));
  LayerPlan layer = planLayer(runtime, config, 5, {});
  std::map<std::string, int> passes_by_structure;
  std::set<std::string> kernels;  // names hash the generated source
  for (int64_t h = 0; h < 32; ++h) {
    const Plan& plan = layer.headPlan(h);
    passes_by_structure[plan.structureKey()] = plan.numPasses();
    for (int pass = 0; pass < plan.numPasses(); ++pass) kernels.insert(plan.kernelName(pass));
  }
  ASSERT_EQ(passes_by_structure.size(), 3u);
  uint64_t structure_passes = 0;
  for (const auto& [structure, passes] : passes_by_structure) structure_passes += passes;
  // At most one compile per structure and pass; fewer where two passes generate the same code
  // (the grid head's line-free pass is the a_shape kernel).
  EXPECT_EQ(runtime.cacheStats().compiles, kernels.size());
  EXPECT_LE(runtime.cacheStats().compiles, structure_passes);
  // Every dense head is the same pattern: one Plan (the others differ in values).
  EXPECT_EQ(&layer.headPlan(0).spec(), &layer.headPlan(3).spec());
  EXPECT_LT(layer.numDistinctPlans(), 32);
}

TEST(LayerPlan, UnknownLayerNamesTheConfiguredOnes) {
  ModelConfig config = parseModelConfig(mixedLayerJson());
  expectError([&] { planLayer(sharedRuntime(), config, 7, {}); }, kInvalid,
              {"layer: 7 is not in the config of 'layer-test'", "configured layers: 0"});
}

TEST(LayerPlan, BadPlanOptionsKeepTheirCategoryAndNameTheHead) {
  ModelConfig config = parseModelConfig(mixedLayerJson());
  LayerPlanOptions options;
  options.head_dim = 96;
  try {
    planLayer(sharedRuntime(), config, 0, options);
    ADD_FAILURE() << "head_dim 96 accepted";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("layer 0 head 0 (causal())"), std::string::npos)
        << error.what();
    EXPECT_NE(std::string(error.what()).find("head_dim"), std::string::npos) << error.what();
  }
}

TEST(LayerPlan, WorkspaceHoldsTheMergeBufferOfMultiPassHeads) {
  const LayerPlan& layer = mixedLayer();
  // No dynamic head: only the shared [batch, seq] fp32 lse buffer, 256-byte aligned.
  EXPECT_EQ(layer.workspaceBytes(1, 1000), 4096u);
  EXPECT_EQ(layer.workspaceBytes(2, 1001), 8192u);
  LayerPlanOptions single;
  single.pass_split = PassSplit::kSingle;
  LayerPlan one_pass = planLayer(sharedRuntime(), parseModelConfig(mixedLayerJson()), 0, single);
  EXPECT_FALSE(one_pass.hasMultiPassHeads());
  EXPECT_EQ(one_pass.workspaceBytes(4, 4096), 0u);
  expectError([&] { layer.workspaceBytes(0, 100); }, kInvalid, {"batch: 0", ">= 1"});
  expectError([&] { layer.workspaceBytes(1, 0); }, kInvalid, {"seq_len: 0", ">= 1"});
}

TEST(LayerRun, ValidArgumentsReachThePlansOnlyToFindNoDevice) {
  const LayerPlan& layer = mixedLayer();
  expectError([&] { layer.run(validArgs(layer, 1000)); }, ErrorCategory::kDriverError,
              {"no CUDA driver/GPU"});
  LayerRunArgs with_lse = validArgs(layer, 1000);
  with_lse.lse = static_cast<float*>(fakePointer(6));
  with_lse.batch = 2;
  with_lse.workspace_bytes = layer.workspaceBytes(2, 1000);
  expectError([&] { layer.run(with_lse); }, ErrorCategory::kDriverError, {"no CUDA driver/GPU"});
}

const char* at(const void* base, int64_t elements) {
  return static_cast<const char*>(base) + elements * 2;  // bf16
}

// Each head runs on its own slice: head stride offsets, the GQA kv head, whole-tensor strides.
TEST(LayerRun, HeadsRunOnTheirSlicesBshdGqa) {
  const LayerPlan& layer = mixedLayer();
  LayerRunArgs args = validArgs(layer, 1000);
  args.lse = static_cast<float*>(fakePointer(6));
  std::vector<LayerPlan::HeadRun> runs = layer.headRuns(args);
  ASSERT_EQ(runs.size(), 6u);
  const int64_t S = 1000, D = 128;
  for (int64_t h = 0; h < 6; ++h) {
    const RunArgs& run = runs[static_cast<size_t>(h)].args;
    EXPECT_EQ(runs[static_cast<size_t>(h)].head, h);
    EXPECT_EQ(run.q, at(args.q, h * D));
    EXPECT_EQ(run.o, at(args.o, h * D));
    EXPECT_EQ(run.k, at(args.k, (h / 3) * D)) << "head " << h << " reads kv head " << h / 3;
    EXPECT_EQ(run.v, at(args.v, (h / 3) * D));
    EXPECT_EQ(run.lse, args.lse + h * S);
    EXPECT_EQ(run.batch, 1);
    EXPECT_EQ(run.heads, 1);
    EXPECT_EQ(run.kv_heads, 1);
    EXPECT_EQ(run.seq_len, S);
    EXPECT_EQ(run.head_dim, D);
    EXPECT_EQ(run.tensor_layout, TensorLayout::kStrided);
    EXPECT_EQ(run.q_strides.seq, 6 * D);
    EXPECT_EQ(run.q_strides.batch, S * 6 * D);
    EXPECT_EQ(run.k_strides.seq, 2 * D);
    EXPECT_EQ(run.k_strides.batch, S * 2 * D);
    EXPECT_EQ(run.layout, Layout::textVisionText(S, 76, 32));
    EXPECT_EQ(run.workspace, nullptr);  // static heads
  }
}

// The caller's lse with batch > 1: one run per (head, batch element), each on its rows.
TEST(LayerRun, CallerLseWithBatchRunsEachBatchElementBhsd) {
  const LayerPlan& layer = mixedLayer();
  LayerRunArgs args = validArgs(layer, 1000);
  args.batch = 2;
  args.kv_heads = 3;
  args.tensor_layout = TensorLayout::kBHSD;
  args.lse = static_cast<float*>(fakePointer(6));
  args.workspace_bytes = layer.workspaceBytes(2, 1000);
  std::vector<LayerPlan::HeadRun> runs = layer.headRuns(args);
  ASSERT_EQ(runs.size(), 12u);
  const int64_t S = 1000, D = 128, H = 6, Hkv = 3;
  for (size_t i = 0; i < runs.size(); ++i) {
    const int64_t h = static_cast<int64_t>(i) / 2, b = static_cast<int64_t>(i) % 2;
    const RunArgs& run = runs[i].args;
    EXPECT_EQ(runs[i].head, h);
    EXPECT_EQ(run.batch, 1);
    EXPECT_EQ(run.q, at(args.q, (b * H + h) * S * D));
    EXPECT_EQ(run.o, at(args.o, (b * H + h) * S * D));
    EXPECT_EQ(run.k, at(args.k, (b * Hkv + h / 2) * S * D));
    EXPECT_EQ(run.lse, args.lse + (b * H + h) * S);
    EXPECT_EQ(run.q_strides.seq, D);
    EXPECT_EQ(run.q_strides.head, S * D);
  }
}

// Without lse, multi-pass heads merge through the workspace's [batch, seq] buffer.
TEST(LayerRun, MultiPassHeadsMergeThroughTheWorkspaceWithoutLse) {
  const LayerPlan& layer = mixedLayer();
  LayerRunArgs args = validArgs(layer, 1001);
  args.batch = 2;
  args.kv_heads = 1;
  args.workspace_bytes = layer.workspaceBytes(2, 1001);
  std::vector<LayerPlan::HeadRun> runs = layer.headRuns(args);
  ASSERT_EQ(runs.size(), 6u);
  for (const LayerPlan::HeadRun& run : runs) {
    EXPECT_EQ(run.args.batch, 2);
    EXPECT_EQ(run.args.k, args.k);
    bool merges = layer.headPlan(run.head).numPasses() > 1;
    EXPECT_EQ(run.args.lse, merges ? static_cast<float*>(args.workspace) : nullptr)
        << "head " << run.head;
  }
  EXPECT_EQ(runs[2].args.lse, static_cast<float*>(args.workspace));  // the grid head
}

TEST(LayerRun, StridedTensorsKeepTheirStrides) {
  const LayerPlan& layer = mixedLayer();
  LayerRunArgs args = validArgs(layer, 1000);
  args.tensor_layout = TensorLayout::kStrided;
  args.q_strides = {1 << 22, 6 * 256, 256};  // padded heads
  args.o_strides = {1000 * 6 * 128, 6 * 128, 128};
  args.k_strides = args.v_strides = {1 << 21, 128, 1000 * 128};  // [B, Hkv, S, D]
  std::vector<LayerPlan::HeadRun> runs = layer.headRuns(args);
  ASSERT_EQ(runs.size(), 6u);
  EXPECT_EQ(runs[4].args.q, at(args.q, 4 * 256));
  EXPECT_EQ(runs[4].args.o, at(args.o, 4 * 128));
  EXPECT_EQ(runs[4].args.k, at(args.k, 1 * 1000 * 128));
  EXPECT_EQ(runs[4].args.q_strides.seq, 6 * 256);
  EXPECT_EQ(runs[4].args.k_strides.seq, 128);
  EXPECT_EQ(runs[4].args.k_strides.batch, 1 << 21);
}

TEST(LayerRun, BadInputNamesTheField) {
  const LayerPlan& layer = mixedLayer();
  auto expectRunError = [&](auto edit, std::initializer_list<const char*> parts,
                            ErrorCategory category = kInvalid) {
    LayerRunArgs args = validArgs(layer, 1000);
    edit(args);
    expectError([&] { layer.run(args); }, category, parts);
  };
  expectRunError([](LayerRunArgs& a) { a.heads = 4; },
                 {"heads: 4 differs from the config's num_heads 6", "allowed: 6"});
  expectRunError([](LayerRunArgs& a) { a.q = nullptr; }, {"q: null pointer"});
  expectRunError([](LayerRunArgs& a) { a.k = nullptr; }, {"k: null pointer"});
  expectRunError([](LayerRunArgs& a) { a.v = nullptr; }, {"v: null pointer"});
  expectRunError([](LayerRunArgs& a) { a.o = nullptr; }, {"o: null pointer"});
  expectRunError([](LayerRunArgs& a) { a.kv_heads = 4; }, {"kv_heads: 4 does not divide heads 6"});
  expectRunError([](LayerRunArgs& a) { a.seq_len = 0; }, {"seq_len: 0", ">= 1"});
  expectRunError([](LayerRunArgs& a) { a.batch = 0; }, {"batch: 0", ">= 1"});
  expectRunError([](LayerRunArgs& a) { a.dtype = DType::kFP16; },
                 {"dtype: fp16 differs from the layer plan's bf16"});
  expectRunError([](LayerRunArgs& a) { a.workspace = nullptr; }, {"workspace: null pointer"});
  expectRunError([](LayerRunArgs& a) { a.workspace_bytes = 100; },
                 {"workspace_bytes: 100", "allowed: >= 4096", "LayerPlan::workspaceBytes"});
  expectRunError([](LayerRunArgs& a) { a.workspace = static_cast<char*>(a.workspace) + 16; },
                 {"workspace: pointer is not 256-byte aligned"});
  expectRunError(
      [](LayerRunArgs& a) {
        a.seq_len = 1001;
        a.workspace_bytes = 1 << 20;
        a.lse = static_cast<float*>(fakePointer(6));
      },
      {"lse: seq_len 1001", "multiple of 4", "lse null"});
  expectRunError(
      [](LayerRunArgs& a) {
        a.tensor_layout = TensorLayout::kStrided;
        a.q_strides = a.o_strides = {1000 * 6 * 128, 6 * 128, 12};
        a.k_strides = a.v_strides = {1000 * 2 * 128, 2 * 128, 128};
      },
      {"q_strides.head: 12 elements", "multiples of 8"});
  // text_vision_text with 76 + 32 text tokens cannot lay out 100 positions.
  expectRunError(
      [](LayerRunArgs& a) {
        a.seq_len = 100;
        a.workspace_bytes = 1 << 20;
      },
      {"layout: ", "prefix 76 + suffix 32", "seq_len 100"});
}

TEST(LayerRun, RequestLayoutRulesNeedTheRequestsLayout) {
  LayerPlanOptions single;
  single.pass_split = PassSplit::kSingle;
  LayerPlan layer = planLayer(
      sharedRuntime(), parseModelConfig(mixedLayerJson(R"({"kind": "request"})")), 0, single);
  LayerRunArgs args = validArgs(layer, 1000);
  expectError([&] { layer.run(args); }, kInvalid, {"layout: ", "kind 'request'"});
  args.layout = Layout::textVisionText(1000, 100, 50);
  expectError([&] { layer.run(args); }, ErrorCategory::kDriverError, {"no CUDA driver/GPU"});
  EXPECT_EQ(layer.requestLayout(1000, &*args.layout), *args.layout);
}

// vertical_slash heads are dynamic plans: the layer carves each one's workspace slice.
TEST(LayerPlan, VerticalSlashHeadsGetWorkspaceSlices) {
  ModelConfig config = parseModelConfig(
      R"({"permjit_model_config": 1, "model": "m", "num_heads": 3,
          "layout_rules": {"kind": "text_vision_text", "prefix": 10, "suffix": 10},
          "layers": [{"layer": 2, "heads": [
            {"head": 0, "type": "dense"},
            {"head": 1, "type": "vertical_slash", "vertical": 64, "slash": 128, "last_q": 64},
            {"head": 2, "type": "vertical_slash", "vertical": 32, "slash": 64, "last_q": 64}]}]})");
  {
    LayerPlan layer = planLayer(sharedRuntime(), config, 2, {});
    ASSERT_TRUE(layer.hasDynamicHeads());
    EXPECT_FALSE(layer.headPlan(0).isDynamic());
    EXPECT_TRUE(layer.headPlan(1).isDynamic());
    const size_t one = layer.headPlan(1).workspaceBytes(2, 1, 1024);
    const size_t two = layer.headPlan(2).workspaceBytes(2, 1, 1024);
    EXPECT_GT(one, 0u);
    auto align = [](size_t bytes) { return (bytes + 255) / 256 * 256; };
    EXPECT_EQ(layer.headWorkspaceOffset(1, 2, 1024), 0u);
    EXPECT_EQ(layer.headWorkspaceOffset(2, 2, 1024), align(one));
    size_t lse = layer.hasMultiPassHeads() ? align(2 * 1024 * 4) : 0;
    EXPECT_EQ(layer.workspaceBytes(2, 1024), align(one) + align(two) + lse);
  }
}

// ---- The C API.

TEST(LayerCApi, CreatesQueriesAndRejectsBadInputWithMessages) {
  permjit_runtime_options_t options;
  permjit_runtime_options_init(&options);
  options.host_only = 1;
  options.arch = "sm_90a";
  options.cache_dir = sharedCacheDir().c_str();
  options.disable_cache = 0;
  permjit_runtime_t runtime = nullptr;
  ASSERT_EQ(permjit_runtime_create(&options, &runtime), PERMJIT_OK) << permjit_last_error();

  std::string json = mixedLayerJson();
  permjit_layer_plan_t layer = nullptr;
  ASSERT_EQ(permjit_layer_plan_create_from_json(runtime, json.c_str(), 0, nullptr, &layer),
            PERMJIT_OK)
      << permjit_last_error();
  EXPECT_STREQ(permjit_last_error(), "");
  int64_t heads = 0;
  ASSERT_EQ(permjit_layer_plan_num_heads(layer, &heads), PERMJIT_OK);
  EXPECT_EQ(heads, 6);
  size_t bytes = 0;
  ASSERT_EQ(permjit_layer_plan_workspace_bytes(layer, 1, 1000, &bytes), PERMJIT_OK);
  EXPECT_EQ(bytes, 4096u);
  EXPECT_EQ(permjit_layer_plan_workspace_bytes(layer, 0, 1000, &bytes),
            PERMJIT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(permjit_last_error()).find("batch: 0"), std::string::npos);

  permjit_layer_run_args_t args;
  permjit_layer_run_args_init(&args);
  EXPECT_EQ(args.batch, 1);
  args.q = fakePointer(1);
  args.k = fakePointer(2);
  args.v = fakePointer(3);
  args.o = fakePointer(4);
  args.heads = 5;
  args.seq_len = 1000;
  args.workspace = fakePointer(5);
  args.workspace_bytes = bytes;
  EXPECT_EQ(permjit_layer_plan_run(layer, &args, nullptr), PERMJIT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(
      std::string(permjit_last_error()).find("heads: 5 differs from the config's num_heads 6"),
      std::string::npos)
      << permjit_last_error();
  args.heads = 6;
  args.tensor_layout = static_cast<permjit_tensor_layout_t>(9);
  EXPECT_EQ(permjit_layer_plan_run(layer, &args, nullptr), PERMJIT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(permjit_last_error()).find("tensor_layout: 9"), std::string::npos);
  args.tensor_layout = PERMJIT_LAYOUT_BHSD;
  args.num_spans = 1;
  EXPECT_EQ(permjit_layer_plan_run(layer, &args, nullptr), PERMJIT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(permjit_last_error()).find("spans: null"), std::string::npos);
  args.num_spans = 0;
  args.workspace_bytes = 8;
  EXPECT_EQ(permjit_layer_plan_run(layer, &args, nullptr), PERMJIT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(permjit_last_error()).find("workspace_bytes: 8"), std::string::npos);
  args.workspace_bytes = bytes;
  EXPECT_EQ(permjit_layer_plan_run(layer, &args, nullptr), PERMJIT_ERROR_DRIVER);
  EXPECT_NE(std::string(permjit_last_error()).find("no CUDA driver/GPU"), std::string::npos);
  EXPECT_EQ(permjit_layer_plan_run(nullptr, &args, nullptr), PERMJIT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(permjit_last_error()).find("layer: null"), std::string::npos);
  EXPECT_EQ(permjit_layer_plan_run(layer, nullptr, nullptr), PERMJIT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(permjit_last_error()).find("args: null"), std::string::npos);
  permjit_layer_plan_destroy(layer);

  // Creation failures: each status and message.
  permjit_layer_plan_t none = reinterpret_cast<permjit_layer_plan_t>(&heads);
  EXPECT_EQ(permjit_layer_plan_create_from_json(runtime, json.c_str(), 3, nullptr, &none),
            PERMJIT_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(none, nullptr);
  EXPECT_NE(std::string(permjit_last_error()).find("layer: 3 is not in the config"),
            std::string::npos)
      << permjit_last_error();
  EXPECT_EQ(permjit_layer_plan_create_from_json(nullptr, json.c_str(), 0, nullptr, &none),
            PERMJIT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(permjit_last_error()).find("runtime: null"), std::string::npos);
  EXPECT_EQ(permjit_layer_plan_create_from_json(runtime, "{not json", 0, nullptr, &none),
            PERMJIT_ERROR_INVALID_PATTERN);
  EXPECT_NE(std::string(permjit_last_error()).find("config: invalid JSON"), std::string::npos);
  EXPECT_EQ(permjit_layer_plan_create(runtime, "/nonexistent/model.json", 0, nullptr, &none),
            PERMJIT_ERROR_IO);
  EXPECT_NE(std::string(permjit_last_error()).find("/nonexistent/model.json"), std::string::npos);
  EXPECT_EQ(permjit_layer_plan_create(runtime, nullptr, 0, nullptr, &none),
            PERMJIT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(permjit_last_error()).find("config_path: null"), std::string::npos);
  permjit_plan_options_t plan_options;
  permjit_plan_options_init(&plan_options);
  plan_options.pass_split = static_cast<permjit_pass_split_t>(7);
  EXPECT_EQ(permjit_layer_plan_create_from_json(runtime, json.c_str(), 0, &plan_options, &none),
            PERMJIT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(permjit_last_error()).find("options.pass_split: 7"), std::string::npos);

  // From a file, with options: one pass everywhere, so no workspace.
  TempDir dir;
  fs::create_directories(dir.path());
  std::string path = dir.path() + "/model.json";
  std::ofstream(path) << json;
  plan_options.pass_split = PERMJIT_PASSES_SINGLE;
  ASSERT_EQ(permjit_layer_plan_create(runtime, path.c_str(), 0, &plan_options, &layer), PERMJIT_OK)
      << permjit_last_error();
  ASSERT_EQ(permjit_layer_plan_workspace_bytes(layer, 2, 1000, &bytes), PERMJIT_OK);
  EXPECT_EQ(bytes, 0u);
  permjit_layer_plan_destroy(layer);
  permjit_layer_plan_destroy(nullptr);

  // A vertical_slash head: a dynamic plan with a workspace.
  std::string vs = R"({"permjit_model_config": 1, "model": "m", "num_heads": 1,
      "layout_rules": {"kind": "request"}, "layers": [{"layer": 0, "heads": [
      {"head": 0, "type": "vertical_slash", "vertical": 64, "slash": 64, "last_q": 64}]}]})";
  permjit_status_t status =
      permjit_layer_plan_create_from_json(runtime, vs.c_str(), 0, nullptr, &layer);
  ASSERT_EQ(status, PERMJIT_OK) << permjit_last_error();
  ASSERT_EQ(permjit_layer_plan_workspace_bytes(layer, 1, 1024, &bytes), PERMJIT_OK);
  EXPECT_GT(bytes, 0u);
  permjit_layer_plan_destroy(layer);
  permjit_runtime_destroy(runtime);
}

}  // namespace
}  // namespace permjit::patterns
