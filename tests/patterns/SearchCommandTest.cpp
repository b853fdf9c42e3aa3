// `permjit search` run in-process through the CLI library (tools/permjit, permjit_cli).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "Cli.h"
#include "PlantedHeads.h"
#include "permjit/dsl/Json.h"
#include "permjit/patterns/ModelConfig.h"
#include "permjit/patterns/Npy.h"
#include "permjit/patterns/Safetensors.h"
#include "permjit/permjit.h"

namespace permjit::patterns {
namespace {

namespace fs = std::filesystem;
using namespace planted;

struct Outcome {
  int code;
  std::string err;
};

// `permjit search ARGS` in-process, with its stderr (messages and progress).
Outcome searchWithStderr(std::vector<std::string> args) {
  args.insert(args.begin(), "search");
  ::testing::internal::CaptureStderr();
  int code = cli::dispatch(args);
  return {code, ::testing::internal::GetCapturedStderr()};
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A fresh directory per test under the temp dir, removed at the end.
class SearchCommandFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           (std::string("permjit_search_cmd_") +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

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

// --device gpu: the GPU search behind the same command. Without a GPU it fails naming what is
// missing (exit 1) and writes nothing; with one, values beyond float16's range are refused
// naming the element (exit 2) unless --dtype bf16, and the config is written.
TEST_F(SearchCommandFiles, DeviceGpu) {
  const Planted planted = plantedHeads();  // the local head's x^2 reaches 147456 > 65504
  writeNpy(path("q.npy"), {2, kS, kD}, planted.q.data());
  writeNpy(path("k.npy"), {2, kS, kD}, planted.k.data());
  const std::vector<std::string> base = {
      "--q", path("q.npy"), "--k", path("k.npy"), "--scale", "1",  "--prefix",
      "8",   "--suffix",    "16",  "--device",    "gpu",     "-o", path("config.json")};
  EXPECT_EQ(runSearch({"--q", path("q.npy"), "--k", path("k.npy"), "--device", "tpu", "-o",
                       path("config.json")}),
            2);
  EXPECT_EQ(runSearch({"--q", path("q.npy"), "--k", path("k.npy"), "--dtype", "bf16", "-o",
                       path("config.json")}),
            2);  // --dtype is the GPU search's
  Outcome fp16 = searchWithStderr(base);
  if (!Runtime::deviceUnavailableReason().empty()) {
    EXPECT_EQ(fp16.code, 1) << fp16.err;
    EXPECT_NE(fp16.err.find("CUDA driver"), std::string::npos) << fp16.err;
    EXPECT_FALSE(fs::exists(path("config.json")));
    return;
  }
  EXPECT_EQ(fp16.code, 2) << fp16.err;
  EXPECT_NE(fp16.err.find("outside float16's range"), std::string::npos) << fp16.err;
  EXPECT_FALSE(fs::exists(path("config.json")));
  std::vector<std::string> bf16 = base;
  bf16.insert(bf16.end(), {"--dtype", "bf16"});
  Outcome written = searchWithStderr(bf16);
  ASSERT_EQ(written.code, 0) << written.err;
  EXPECT_EQ(loadModelConfig(path("config.json")).num_heads, 2);
  EXPECT_NE(written.err.find("[search] layer 0:"), std::string::npos) << written.err;
}

// Random float32 calibration tensors: a dense candidate's recall summed in floating point came
// out as 1.0000000000459934 and the config was refused after the whole search.
TEST_F(SearchCommandFiles, RandomFloat32InputsWriteAConfig) {
  const int64_t heads = 2, S = 512, D = 64;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> q(heads * S * D), k(heads * S * D);
  for (float& x : q) x = normal(rng);
  for (float& x : k) x = normal(rng);
  writeNpy(path("q.npy"), {heads, S, D}, q.data());
  writeNpy(path("k.npy"), {heads, S, D}, k.data());
  Outcome result =
      searchWithStderr({"--q", path("q.npy"), "--k", path("k.npy"), "-o", path("config.json")});
  ASSERT_EQ(result.code, 0) << result.err;
  ModelConfig config = loadModelConfig(path("config.json"));
  EXPECT_EQ(config.num_heads, heads);
  ASSERT_EQ(config.layers.size(), 1u);
  for (const HeadSpec& head : config.layers[0].heads) {
    ASSERT_TRUE(head.recall.has_value());
    EXPECT_LE(*head.recall, 1.0);
    EXPECT_GE(*head.recall, 0.0);
  }
}

TEST_F(SearchCommandFiles, MergeMismatchesAreRefusedBeforeTheSearch) {
  const Planted planted = plantedHeads();
  const std::string q = path("q.npy"), k = path("k.npy"), out = path("config.json");
  writeNpy(q, {2, kS, kD}, planted.q.data());
  writeNpy(k, {2, kS, kD}, planted.k.data());
  // The layout options last, so that a test can replace them.
  auto search = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--scale", "1"});
    if (std::find(args.begin(), args.end(), "--suffix") == args.end()) {
      args.insert(args.end(), {"--prefix", "8", "--suffix", "16"});
    }
    return searchWithStderr(args);
  };
  ASSERT_EQ(search({"--q", q, "--k", k, "--model", "planted", "-o", out}).code, 0);
  const std::string before = readFile(out);

  // Each mismatch names the field and both values, and comes before any search progress.
  auto expectRefused = [&](std::vector<std::string> args, const std::string& message) {
    args.insert(args.end(), {"--merge", "-o", out});
    Outcome result = search(args);
    EXPECT_EQ(result.code, 2) << result.err;
    EXPECT_NE(result.err.find("--merge " + out + ": " + message), std::string::npos) << result.err;
    EXPECT_EQ(result.err.find("candidate recall"), std::string::npos) << result.err;
    EXPECT_EQ(readFile(out), before);
  };
  expectRefused({"--q", q, "--k", k, "--layer", "1", "--model", "other"},
                "model 'planted' differs from this search's 'other'");
  writeNpy(path("q1.npy"), {1, kS, kD}, planted.q.data());
  writeNpy(path("k1.npy"), {1, kS, kD}, planted.k.data());
  expectRefused({"--q", path("q1.npy"), "--k", path("k1.npy"), "--layer", "1"},
                "num_heads 2 differs from this search's 1");
  expectRefused({"--q", q, "--k", k, "--layer", "1", "--prefix", "8", "--suffix", "32"},
                R"(layout_rules {"kind":"text_vision_text","prefix":8,"suffix":16} differ from )"
                R"(this search's {"kind":"text_vision_text","prefix":8,"suffix":32})");
  expectRefused({"--q", q, "--k", k, "--layer", "1", "--recall-budget", "0.9"},
                "search.recall_budget 0.95 differs from this search's 0.9");
  expectRefused({"--q", q, "--k", k, "--q", q, "--k", k, "--layer", "1"},
                "search.calibration_inputs 1 differs from this search's 2");

  // Matching: the layer is added, the model name kept without --model.
  Outcome merged = search({"--q", q, "--k", k, "--layer", "1", "--merge", "-o", out});
  ASSERT_EQ(merged.code, 0) << merged.err;
  ModelConfig config = loadModelConfig(out);
  EXPECT_EQ(config.model, "planted");
  EXPECT_EQ(config.layers.size(), 2u);
}

TEST_F(SearchCommandFiles, AFailureAfterTheSearchKeepsItsResults) {
  const Planted planted = plantedHeads();
  const std::string q = path("q.npy"), k = path("k.npy");
  writeNpy(q, {2, kS, kD}, planted.q.data());
  writeNpy(k, {2, kS, kD}, planted.k.data());
  // A missing output directory is refused before the search.
  Outcome missing =
      searchWithStderr({"--q", q, "--k", k, "--scale", "1", "-o", path("nowhere/config.json")});
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("nowhere does not exist"), std::string::npos) << missing.err;
  EXPECT_EQ(missing.err.find("candidate recall"), std::string::npos) << missing.err;
  // An output that cannot be written only shows after the search: the results survive.
  fs::create_directories(path("taken"));
  Outcome result = searchWithStderr({"--q", q, "--k", k, "--scale", "1", "--prefix", "8",
                                     "--suffix", "16", "--model", "planted", "-o", path("taken")});
  EXPECT_EQ(result.code, 2);
  const std::string kept = path("taken") + ".search-results.json";
  EXPECT_NE(result.err.find("the search results are kept in " + kept), std::string::npos)
      << result.err;
  ASSERT_TRUE(fs::exists(kept)) << result.err;
  nlohmann::json json = nlohmann::json::parse(readFile(kept));
  EXPECT_EQ(json["model"], "planted");
  ASSERT_EQ(json["heads"].size(), 2u);
  const nlohmann::json& head0 = json["heads"][0];
  EXPECT_EQ(head0["candidates"][head0["chosen"].get<size_t>()]["type"], "grid") << json.dump();
}

}  // namespace
}  // namespace permjit::patterns

namespace permjit::patterns {
namespace {

// A capture directory as python/permjit/transformers.py writes it: layers 0 and 1, two inputs
// each with their own layout file.
class SearchCaptureFiles : public SearchCommandFiles {
 protected:
  void writeCapture(bool manifest) {
    const Planted planted = plantedHeads();
    nlohmann::json inputs = nlohmann::json::array(), layers = nlohmann::json::object();
    for (int n = 0; n < 2; ++n) {
      const std::string layout = "layout_000" + std::to_string(n) + ".json";
      std::ofstream(path(layout)) << layoutToJson(Layout::textVisionText(kS, kPrefix, kSuffix));
      inputs.push_back({{"seq_len", kS}, {"layout", layout}});
    }
    for (int layer = 0; layer < 2; ++layer) {
      fs::create_directories(dir_ / ("layer_" + std::to_string(layer)));
      nlohmann::json q = nlohmann::json::array(), k = nlohmann::json::array();
      for (int n = 0; n < 2; ++n) {
        const std::string qn =
            "layer_" + std::to_string(layer) + "/q_000" + std::to_string(n) + ".npy";
        const std::string kn =
            "layer_" + std::to_string(layer) + "/k_000" + std::to_string(n) + ".npy";
        writeNpy(path(qn), {2, kS, kD}, planted.q.data());
        writeNpy(path(kn), {2, kS, kD}, planted.k.data());
        q.push_back(qn);
        k.push_back(kn);
      }
      layers[std::to_string(layer)] = {{"q", q}, {"k", k}};
    }
    if (manifest) {
      std::ofstream(path("capture.json")) << nlohmann::json{{"inputs", inputs}, {"layers", layers}};
    }
  }
};

TEST_F(SearchCaptureFiles, EveryLayerOfACaptureIntoOneConfig) {
  for (bool manifest : {true, false}) {
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    writeCapture(manifest);
    Outcome run = searchWithStderr(
        {"--capture", dir_.string(), "--scale", "1", "--model", "m", "-o", path("config.json")});
    ASSERT_EQ(run.code, 0) << run.err;
    const ModelConfig config = loadModelConfig(path("config.json"));
    ASSERT_EQ(config.layers.size(), 2u) << "manifest " << manifest;
    EXPECT_EQ(config.layout_rules.kind, LayoutRules::Kind::kRequest);
    for (const LayerConfig& layer : config.layers) {
      EXPECT_EQ(layer.heads[0].type, HeadType::kGrid);
      EXPECT_EQ(layer.heads[1].type, HeadType::kAShape);
    }
    EXPECT_EQ(config.search->calibration_inputs, 2);
    EXPECT_NE(run.err.find("2/2 layers"), std::string::npos) << run.err;
    EXPECT_NE(run.err.find("ETA"), std::string::npos) << run.err;
  }
  // One layer of it, with a fixed layout rule instead of the captured layouts.
  Outcome one = searchWithStderr({"--capture", dir_.string(), "--layers", "1", "--scale", "1",
                                  "--prefix", "8", "--suffix", "16", "-o", path("one.json")});
  ASSERT_EQ(one.code, 0) << one.err;
  const ModelConfig config = loadModelConfig(path("one.json"));
  ASSERT_EQ(config.layers.size(), 1u);
  EXPECT_EQ(config.layers[0].layer, 1);
  EXPECT_EQ(config.layout_rules.kind, LayoutRules::Kind::kTextVisionText);
  EXPECT_EQ(runSearch({"--capture", dir_.string(), "--layers", "7", "-o", path("x.json")}), 2);
  EXPECT_EQ(runSearch({"--capture", dir_.string(), "--layers", "x", "-o", path("x.json")}), 2);
  EXPECT_EQ(runSearch({"--capture", dir_.string(), "--q", "q.npy", "-o", path("x.json")}), 2);
  EXPECT_EQ(runSearch({"--capture", path("missing"), "-o", path("x.json")}), 2);
}

// The same capture in one safetensors file: the same config as the directory gives.
TEST_F(SearchCaptureFiles, ASafetensorsCaptureGivesTheDirectorysConfig) {
  writeCapture(true);
  ASSERT_EQ(runSearch({"--capture", dir_.string(), "--scale", "1", "-o", path("dir.json")}), 0);
  const Planted planted = plantedHeads();
  std::map<std::string, SafetensorToWrite> tensors;
  for (int layer = 0; layer < 2; ++layer) {
    for (int n = 0; n < 2; ++n) {
      const std::string base = "layer_" + std::to_string(layer) + "/";
      tensors[base + "q_000" + std::to_string(n)] = {{2, kS, kD}, planted.q.data()};
      tensors[base + "k_000" + std::to_string(n)] = {{2, kS, kD}, planted.k.data()};
    }
  }
  const std::string layout = layoutToJson(Layout::textVisionText(kS, kPrefix, kSuffix)).dump();
  writeSafetensors(path("capture.safetensors"), tensors,
                   {{"layout_0000", layout}, {"layout_0001", layout}});
  Outcome run = searchWithStderr(
      {"--capture", path("capture.safetensors"), "--scale", "1", "-o", path("file.json")});
  ASSERT_EQ(run.code, 0) << run.err;
  const ModelConfig from_dir = loadModelConfig(path("dir.json"));
  const ModelConfig from_file = loadModelConfig(path("file.json"));
  EXPECT_EQ(modelConfigToJson(from_dir), modelConfigToJson(from_file));
  // A tensor outside the naming scheme is refused naming it.
  tensors["embedding"] = {{1}, planted.q.data()};
  writeSafetensors(path("odd.safetensors"), tensors);
  Outcome odd = searchWithStderr({"--capture", path("odd.safetensors"), "-o", path("x.json")});
  EXPECT_EQ(odd.code, 2);
  EXPECT_NE(odd.err.find("tensor 'embedding'; allowed: layer_<L>/q_<N>"), std::string::npos)
      << odd.err;
}

TEST_F(SearchCaptureFiles, BadLayersFailNamingTheFileAndKeepTheSearchedOnes) {
  writeCapture(true);
  // Layer 1's second key file holds a NaN: layer 0 was searched and is kept beside the output.
  const Planted planted = plantedHeads();
  std::vector<float> k = planted.k;
  k[41] = NAN;
  writeNpy(path("layer_1/k_0001.npy"), {2, kS, kD}, k.data());
  Outcome nan =
      searchWithStderr({"--capture", dir_.string(), "--scale", "1", "-o", path("config.json")});
  EXPECT_NE(nan.code, 0);
  EXPECT_NE(nan.err.find("layer_1/k_0001.npy: element 41 is nan"), std::string::npos) << nan.err;
  EXPECT_FALSE(fs::exists(path("config.json")));
  ASSERT_TRUE(fs::exists(path("config.json.search-results.json")));
  EXPECT_NE(readFile(path("config.json.search-results.json")).find("\"layer\": 0"),
            std::string::npos);
  // Layer 1 with three heads: the shapes must agree with the first layer's.
  std::vector<float> three(3 * kS * kD, 0.5f);
  writeNpy(path("layer_1/q_0000.npy"), {3, kS, kD}, three.data());
  writeNpy(path("layer_1/k_0000.npy"), {3, kS, kD}, three.data());
  Outcome shapes =
      searchWithStderr({"--capture", dir_.string(), "--scale", "1", "-o", path("config.json")});
  EXPECT_NE(shapes.code, 0);
  EXPECT_NE(shapes.err.find("layer_1/q_0000.npy: 3 heads"), std::string::npos) << shapes.err;
  EXPECT_NE(shapes.err.find("must agree across inputs and layers"), std::string::npos)
      << shapes.err;
  EXPECT_FALSE(fs::exists(path("config.json")));
  // One input without its layout file while the other has one: no rule fits both.
  writeCapture(true);
  fs::remove(path("layout_0001.json"));
  std::ofstream(path("capture.json"))
      << R"({"inputs": [{"seq_len": 384, "layout": "layout_0000.json"}, {"seq_len": 384,)"
      << R"( "layout": null}], "layers": {"0": {"q": ["layer_0/q_0000.npy", "layer_0/q_0001.npy"],)"
      << R"( "k": ["layer_0/k_0000.npy", "layer_0/k_0001.npy"]}}})";
  Outcome mixed = searchWithStderr({"--capture", dir_.string(), "-o", path("config.json")});
  EXPECT_EQ(mixed.code, 2);
  EXPECT_NE(mixed.err.find("q_0001.npy has no layout while other inputs have one"),
            std::string::npos)
      << mixed.err;
  // Without the manifest, a key file without its query file is refused naming it.
  fs::remove(path("capture.json"));
  fs::remove(path("layer_0/q_0001.npy"));
  Outcome orphan = searchWithStderr({"--capture", dir_.string(), "-o", path("config.json")});
  EXPECT_EQ(orphan.code, 2);
  EXPECT_NE(orphan.err.find("k_0001.npy has no q_0001.npy beside it"), std::string::npos)
      << orphan.err;
  EXPECT_FALSE(fs::exists(path("config.json")));
}

}  // namespace
}  // namespace permjit::patterns
