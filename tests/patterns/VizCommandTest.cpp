// `permjit viz` run in-process through the CLI library (tools/permjit, permjit_cli).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "Cli.h"
#include "PngTestSupport.h"
#include "permjit/dsl/Json.h"
#include "permjit/patterns/HeadTypes.h"
#include "permjit/patterns/ModelConfig.h"
#include "permjit/permjit.h"

namespace permjit::patterns {
namespace {

namespace fs = std::filesystem;

std::string tempPath(const std::string& name) {
  return (fs::temp_directory_path() / ("permjit_viz_cmd_" + name)).string();
}

const Layout kLayout = Layout::textVisionText(256, 16, 16);
const Pattern kGrid = grid_head({7, 2, 5, SpanRef::modality(Modality::kVision), 4, 8, 16});

// Runs `permjit viz ARGS` in-process; returns the exit code.
int runViz(std::vector<std::string> args) {
  args.insert(args.begin(), "viz");
  return cli::dispatch(args);
}

struct Outcome {
  int code;
  std::string err;
};

Outcome vizWithStderr(std::vector<std::string> args) {
  args.insert(args.begin(), "viz");
  ::testing::internal::CaptureStderr();
  int code = cli::dispatch(args);
  return {code, ::testing::internal::GetCapturedStderr()};
}

TEST(VizCommand, DrawsPatternFilesAndConfigHeads) {
  const std::string pattern_path = tempPath("pattern.json");
  std::ofstream(pattern_path) << dumpPatternFile({"grid head", kGrid, kLayout});
  const std::string out = tempPath("cmd.png");
  EXPECT_EQ(runViz({pattern_path, "--seq-len", "256", "-o", out}), 0);
  EXPECT_EQ(readPng(out).height, 6 + 512);

  ModelConfig config;
  config.model = "m";
  config.num_heads = 1;
  config.layout_rules = {LayoutRules::Kind::kTextVisionText, 16, 16, Layout()};
  HeadSpec h;
  h.type = HeadType::kGrid;
  h.stride = 7;
  h.phase_k = 3;
  config.layers.push_back({2, {h}});
  const std::string config_path = tempPath("config.json");
  saveModelConfig(config, config_path);
  EXPECT_EQ(runViz({"--config", config_path, "--layer", "2", "--head", "0", "--seq-len", "128",
                    "--max-pixels", "128", "--passes", "single", "-o", out}),
            0);
  EXPECT_EQ(readPng(out).width, 2 * (6 + 128) + 16);

  EXPECT_EQ(runViz({"--help"}), 0);
  EXPECT_EQ(runViz({pattern_path, "-o", out}), 2);           // no --seq-len
  EXPECT_EQ(runViz({pattern_path, "--seq-len", "256"}), 2);  // no -o
  EXPECT_EQ(runViz({"--seq-len", "256", "-o", out}), 2);     // no pattern
  EXPECT_EQ(runViz({pattern_path, "--seq-len", "0", "-o", out}), 2);
  EXPECT_EQ(runViz({pattern_path, "--seq-len", "256", "--head", "1", "-o", out}), 2);
  // Bad input (a missing file, a layer the config does not have): exit 2, like every subcommand.
  EXPECT_EQ(runViz({"/nonexistent.json", "--seq-len", "256", "-o", out}), 2);
  EXPECT_EQ(runViz({"--config", config_path, "--layer", "0", "--seq-len", "128", "-o", out}), 2);
  for (const auto& p : {pattern_path, out, config_path}) fs::remove(p);
}

// viz draws the plan `permjit compile` / `run` build with the same options: by default (pass
// split auto) a grid head's two passes, one panel each.
TEST(VizCommand, DrawsThePlanCompileAndRunBuild) {
  const std::string pattern_path = tempPath("plan.json");
  std::ofstream(pattern_path) << dumpPatternFile({"grid_head", kGrid, kLayout});
  RuntimeOptions runtime_options;
  runtime_options.host_only = true;
  runtime_options.arch = "sm_90a";
  runtime_options.disable_cache = true;
  Runtime runtime(runtime_options);
  PlanOptions plan_options;
  plan_options.layout = kLayout;
  plan_options.seq_len = 256;
  plan_options.name = "grid_head";
  const int passes = runtime.plan(kGrid, plan_options).numPasses();
  ASSERT_EQ(passes, 2);

  const std::string out = tempPath("plan.png");
  const int band = 6, panel = 512, gap = 16;
  Outcome drawn = vizWithStderr({pattern_path, "--seq-len", "256", "-o", out});
  ASSERT_EQ(drawn.code, 0) << drawn.err;
  EXPECT_EQ(readPng(out).width, (1 + passes) * (band + panel) + passes * gap);
  EXPECT_NE(drawn.err.find("panel 2: pass 1 of 2"), std::string::npos) << drawn.err;
  EXPECT_NE(drawn.err.find("panel 3: pass 2 of 2"), std::string::npos) << drawn.err;

  Outcome single =
      vizWithStderr({pattern_path, "--seq-len", "256", "--passes", "single", "-o", out});
  ASSERT_EQ(single.code, 0) << single.err;
  EXPECT_EQ(readPng(out).width, 2 * (band + panel) + gap);
  EXPECT_NE(single.err.find("panel 2: pass 1 of 1"), std::string::npos) << single.err;
  EXPECT_EQ(runViz({pattern_path, "--seq-len", "256", "--tile", "64x64x4x2", "-o", out}), 0);

  Outcome bad_passes =
      vizWithStderr({pattern_path, "--seq-len", "256", "--passes", "three", "-o", out});
  EXPECT_EQ(bad_passes.code, 2);
  EXPECT_NE(bad_passes.err.find("--passes: 'three'; allowed: auto, single, lines"),
            std::string::npos)
      << bad_passes.err;
  Outcome bad_dim =
      vizWithStderr({pattern_path, "--seq-len", "256", "--head-dim", "96", "-o", out});
  EXPECT_EQ(bad_dim.code, 2);
  EXPECT_NE(bad_dim.err.find("head_dim"), std::string::npos) << bad_dim.err;

  // A dynamic pattern is refused naming its atom.
  const std::string estimated_path = tempPath("estimated.json");
  std::ofstream(estimated_path) << dumpPatternFile(
      {"estimated", causal() & (sink(4) | local(8) | grid_estimated({7, 14})), kLayout});
  Outcome estimated = vizWithStderr({estimated_path, "--seq-len", "256", "-o", out});
  EXPECT_EQ(estimated.code, 2);
  EXPECT_NE(estimated.err.find("grid_estimated (candidate strides 7, 14)"), std::string::npos)
      << estimated.err;
  EXPECT_EQ(estimated.err.find("vertical_slash"), std::string::npos) << estimated.err;
  for (const auto& p : {pattern_path, estimated_path, out}) fs::remove(p);
}

}  // namespace
}  // namespace permjit::patterns
