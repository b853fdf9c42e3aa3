#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "ExpectError.h"
#include "permjit/dsl/Reference.h"
#include "permjit/patterns/HeadTypes.h"
#include "permjit/patterns/Npy.h"
#include "permjit/patterns/Search.h"

namespace permjit::patterns {
namespace {

using permjit::testing::expectError;

// Two planted heads over a text(8) / vision / text(16) layout, D = 3, softmax scale 1:
//  head 0 (grid, stride 7, phase_q 2, phase_k 5): vision rows of residue 2 attend uniformly
//    (their whole row is needed: horizontal lines); every other row puts nearly all its mass
//    on the vision keys of residue 5 (vertical lines).
//  head 1 (local): logits -lambda (q - k)^2, a Gaussian window of sigma 4 (99% within 12).
constexpr int64_t kS = 384, kPrefix = 8, kSuffix = 16, kD = 3;
constexpr int64_t kStride = 7, kPhaseQ = 2, kPhaseK = 5;

struct Planted {
  std::vector<float> q, k;  // [2, S, D]
};

Planted plantedHeads() {
  Planted p;
  p.q.assign(2 * kS * kD, 0.0f);
  p.k.assign(2 * kS * kD, 0.0f);
  const double a = std::sqrt(12.0);
  auto vision = [](int64_t x) { return x >= kPrefix && x < kS - kSuffix; };
  for (int64_t x = 0; x < kS; ++x) {
    bool hline = vision(x) && (x - kPrefix) % kStride == kPhaseQ;
    bool vline = vision(x) && (x - kPrefix) % kStride == kPhaseK;
    p.q[x * kD] = hline ? 0.0f : static_cast<float>(a);
    p.k[x * kD] = vline ? static_cast<float>(a) : 0.0f;
    // -lambda (q - k)^2 = q.k with q = (1, x, x^2) and k = (-lambda x^2, 2 lambda x, -lambda).
    const double lambda = 1.0 / (2 * 4.0 * 4.0);
    float* q1 = &p.q[(kS + x) * kD];
    float* k1 = &p.k[(kS + x) * kD];
    q1[0] = 1.0f;
    q1[1] = static_cast<float>(x);
    q1[2] = static_cast<float>(x * x);
    k1[0] = static_cast<float>(-lambda * x * x);
    k1[1] = static_cast<float>(2 * lambda * x);
    k1[2] = static_cast<float>(-lambda);
  }
  return p;
}

CalibrationInput inputOf(const Planted& p) {
  CalibrationInput in;
  in.q = p.q.data();
  in.k = p.k.data();
  in.heads = 2;
  in.kv_heads = 2;
  in.seq_len = kS;
  in.head_dim = kD;
  in.layout = Layout::textVisionText(kS, kPrefix, kSuffix);
  return in;
}

TEST(Search, PicksThePlantedGridAndLocalHeads) {
  const Planted planted = plantedHeads();
  SearchOptions options;
  options.scale = 1.0;
  std::vector<HeadSearchResult> results = searchHeads({inputOf(planted)}, options);
  ASSERT_EQ(results.size(), 2u);

  const HeadSpec& grid = results[0].best().head;
  EXPECT_EQ(grid.type, HeadType::kGrid) << headSummary(grid);
  EXPECT_EQ(grid.stride, kStride);
  EXPECT_EQ(grid.phase_q, kPhaseQ);
  EXPECT_EQ(grid.phase_k, kPhaseK);
  EXPECT_GT(results[0].best().recall, 0.99);

  const HeadSpec& local = results[1].best().head;
  EXPECT_EQ(local.type, HeadType::kAShape) << headSummary(local);
  EXPECT_EQ(local.local, kS / 32);  // the smallest window already holds 99% of the mass
  EXPECT_GT(results[1].best().recall, 0.98);

  // Dense is always a candidate with recall 1 and density 1.
  for (const HeadSearchResult& r : results) {
    bool saw_dense = false;
    for (const CandidateScore& s : r.scores) {
      if (s.dense) {
        saw_dense = true;
        EXPECT_NEAR(s.recall, 1.0, 1e-6);
        EXPECT_NEAR(s.density, 1.0, 1e-12);
      }
    }
    EXPECT_TRUE(saw_dense);
  }

  ModelConfig config =
      configFromSearch(results, "planted", 5,
                       {LayoutRules::Kind::kTextVisionText, kPrefix, kSuffix}, options, kS, 1);
  EXPECT_EQ(parseModelConfig(dumpModelConfig(config)), config);
  EXPECT_EQ(patternFor(config, 5, 0),
            grid_head({kStride, kPhaseQ, kPhaseK, SpanRef::modality(Modality::kVision), grid.sink,
                       grid.local, kSuffix}));
}

// The closed-form phase scores agree with brute force over every phase pair via keptMask.
TEST(Search, SearchedPhasesAreTheBestByTheReferenceMask) {
  const Planted planted = plantedHeads();
  CalibrationInput in = inputOf(planted);
  in.seq_len = 64;  // a shorter prefix of the same rows (causal: independent of later rows)
  in.layout = Layout::textVisionText(64, kPrefix, 10);
  std::vector<float> q(planted.q.begin(), planted.q.begin() + 64 * kD);
  std::vector<float> k(planted.k.begin(), planted.k.begin() + 64 * kD);
  in.q = q.data();
  in.k = k.data();
  in.heads = in.kv_heads = 1;
  HeadSpec grid;
  grid.type = HeadType::kGrid;
  grid.stride = 3;
  grid.sink = 2;
  grid.local = 3;
  grid.trailing_text_rows = 10;
  SearchOptions options;
  options.scale = 1.0;
  options.candidates = {{grid, true}};
  const CandidateScore searched = searchHeads({in}, options)[0].best();
  double best_brute = 0.0;
  for (int64_t pq = 0; pq < 3; ++pq) {
    for (int64_t pk = 0; pk < 3; ++pk) {
      HeadSpec fixed = grid;
      fixed.phase_q = pq;
      fixed.phase_k = pk;
      options.candidates = {{fixed, false}};
      best_brute = std::max(best_brute, searchHeads({in}, options)[0].best().recall);
    }
  }
  EXPECT_NEAR(searched.recall, best_brute, 1e-9);
}

CandidateScore score(double recall, double density, bool dense = false) {
  CandidateScore s;
  s.recall = recall;
  s.density = density;
  s.dense = dense;
  return s;
}

TEST(Search, ChoiceRuleTakesTheCheapestWithinBudgetAndUpgradesOnlyForRealGains) {
  // Cheapest within 0.95 of the best (1.0) is index 1 (0.955); index 2 adds 0.005: no;
  // index 3 adds 0.035: yes; dense (index 4) is never an upgrade.
  std::vector<CandidateScore> s = {score(0.5, 0.05), score(0.955, 0.10), score(0.96, 0.15),
                                   score(0.99, 0.30), score(1.0, 1.0, true)};
  EXPECT_EQ(chooseCandidate(s, 0.95, 0.01), 3u);
  EXPECT_EQ(chooseCandidate(s, 0.95, 0.05), 1u);
  EXPECT_EQ(chooseCandidate(s, 0.5, 0.5), 0u);
  // Nothing sparse within budget: dense.
  EXPECT_EQ(chooseCandidate({score(0.5, 0.1), score(1.0, 1.0, true)}, 0.95, 0.01), 1u);
  // Equal cost: the higher recall.
  EXPECT_EQ(
      chooseCandidate({score(0.96, 0.2), score(0.97, 0.2), score(1.0, 1.0, true)}, 0.95, 0.01), 1u);
  expectError([] { chooseCandidate({}, 0.95, 0.01); }, ErrorCategory::kInvalidArgument, {"scores"});
}

TEST(Search, RejectsBadOptionsAndShapes) {
  const Planted planted = plantedHeads();
  CalibrationInput in = inputOf(planted);
  SearchOptions options;
  options.recall_budget = 1.5;
  expectError([&] { searchHeads({in}, options); }, ErrorCategory::kInvalidArgument,
              {"recall_budget", "(0, 1]"});
  options = SearchOptions{};
  CalibrationInput gqa = in;
  gqa.kv_heads = 3;
  expectError([&] { searchHeads({gqa}, options); }, ErrorCategory::kInvalidArgument,
              {"inputs[0]", "not a multiple of kv_heads 3"});
  CalibrationInput other = in;
  other.head_dim = 4;
  expectError(
      [&] {
        searchHeads({in, other}, options);
      },
      ErrorCategory::kInvalidArgument, {"inputs[1]", "differ"});
  HeadSpec vs;
  vs.type = HeadType::kVerticalSlash;
  vs.vertical = vs.slash = vs.last_q = 4;
  options.candidates = {{vs, false}};
  expectError([&] { searchHeads({in}, options); }, ErrorCategory::kUnsupported,
              {"candidates[0]", "vertical_slash"});
  expectError([] { searchHeads({}, SearchOptions{}); }, ErrorCategory::kInvalidArgument,
              {"inputs"});
}

TEST(Search, ParsesCandidateFiles) {
  auto c = parseCandidates(R"({"permjit_search_candidates": 1, "candidates": [
      {"type": "dense"}, {"type": "a_shape", "sink": 4, "local": 32},
      {"type": "grid", "stride": 14, "sink": 4, "local": 32},
      {"type": "grid", "stride": 14, "phase_q": 1, "phase_k": 2}]})",
                           "c.json");
  ASSERT_EQ(c.size(), 4u);
  EXPECT_FALSE(c[1].search_phases);
  EXPECT_TRUE(c[2].search_phases);
  EXPECT_FALSE(c[3].search_phases);
  EXPECT_EQ(c[3].head.phase_k, 2);
  expectError([] { parseCandidates(R"({"candidates": []})", "c.json"); },
              ErrorCategory::kInvalidPattern, {"c.json", "permjit_search_candidates"});
  expectError(
      [] {
        parseCandidates(R"({"permjit_search_candidates": 1, "candidates": [{"type": "x"}]})",
                        "c.json");
      },
      ErrorCategory::kInvalidPattern, {"c.json: candidates[0].type", "allowed: dense"});
}

// Runs the CLI entry with a vector of arguments.
int runSearch(std::vector<std::string> args) {
  args.insert(args.begin(), "search");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return runSearchCommand(static_cast<int>(argv.size()), argv.data());
}

TEST(Search, CommandWritesAConfigAndRejectsBadArguments) {
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
  // Well-formed arguments, bad data: exit 1.
  std::vector<float> flat(kS);
  const std::string bad = (dir / "flat.npy").string();
  writeNpy(bad, {kS}, flat.data());
  EXPECT_EQ(runSearch({"--q", bad, "--k", k, "-o", out}), 1);
  EXPECT_EQ(runSearch({"--q", q, "--k", k, "-o", out, "--prefix", "1000"}), 1);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace permjit::patterns
