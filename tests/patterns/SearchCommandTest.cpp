// `permjit search` run in-process through the CLI library (tools/permjit, permjit_cli).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "Cli.h"
#include "PlantedHeads.h"
#include "permjit/patterns/ModelConfig.h"
#include "permjit/patterns/Npy.h"

namespace permjit::patterns {
namespace {

using namespace planted;

// Runs `permjit search ARGS` in-process; returns the exit code.
int runSearch(std::vector<std::string> args) {
  args.insert(args.begin(), "search");
  return cli::dispatch(args);
}

TEST(SearchCommand, WritesAConfigAndRejectsBadArguments) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / "permjit_search_cmd";
  fs::create_directories(dir);
  const Planted planted = plantedHeads();
  const std::string q = (dir / "q.npy").string(), k = (dir / "k.npy").string();
  writeNpy(q, {2, kS, kD}, planted.q.data());
  writeNpy(k, {2, kS, kD}, planted.k.data());
  const std::string out = (dir / "config.json").string();
  ASSERT_EQ(runSearch({"--q", q, "--k", k, "--layer", "3", "--scale", "1", "--prefix", "8",
                       "--suffix", "16", "--model", "planted", "-o", out}),
            0);
  ModelConfig config = loadModelConfig(out);
  EXPECT_EQ(config.model, "planted");
  EXPECT_EQ(config.num_heads, 2);
  ASSERT_EQ(config.layers.size(), 1u);
  EXPECT_EQ(config.layers[0].layer, 3);
  EXPECT_EQ(config.layers[0].heads[0].type, HeadType::kGrid);
  EXPECT_EQ(config.layers[0].heads[1].type, HeadType::kAShape);
  ASSERT_TRUE(config.search.has_value());
  EXPECT_EQ(config.search->calibration_seq_len, kS);

  // --merge adds a layer to the existing file.
  ASSERT_EQ(runSearch({"--q", q, "--k", k, "--layer", "1", "--scale", "1", "--prefix", "8",
                       "--suffix", "16", "--model", "planted", "--merge", "-o", out}),
            0);
  EXPECT_EQ(loadModelConfig(out).layers.size(), 2u);

  EXPECT_EQ(runSearch({"--help"}), 0);
  EXPECT_EQ(runSearch({"--q", q, "-o", out}), 2);                       // no --k
  EXPECT_EQ(runSearch({"--q", q, "--k", k}), 2);                        // no -o
  EXPECT_EQ(runSearch({"--q", q, "--k", k, "-o", out, "--bogus"}), 2);  // unknown option
  EXPECT_EQ(runSearch({"--q", q, "--k", k, "-o", out, "--recall-budget", "2"}), 2);
  EXPECT_EQ(runSearch({"--q", q, "--k", k, "-o", out, "--layer", "x"}), 2);
  EXPECT_EQ(runSearch({"--q", q, "--k", k, "-o", out, "--layout", "l.json", "--prefix", "1"}), 2);
  // Well-formed arguments, bad data: exit 2 (bad input), like every subcommand.
  std::vector<float> flat(kS);
  const std::string bad = (dir / "flat.npy").string();
  writeNpy(bad, {kS}, flat.data());
  EXPECT_EQ(runSearch({"--q", bad, "--k", k, "-o", out}), 2);
  EXPECT_EQ(runSearch({"--q", q, "--k", k, "-o", out, "--prefix", "1000"}), 2);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace permjit::patterns
