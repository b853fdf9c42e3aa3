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
                    "--max-pixels", "128", "-o", out}),
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

}  // namespace
}  // namespace permjit::patterns
