#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <tuple>

#include "ExpectError.h"
#include "PlantedHeads.h"
#include "SearchDetail.h"
#include "permjit/dsl/Reference.h"
#include "permjit/patterns/HeadTypes.h"
#include "permjit/patterns/Npy.h"
#include "permjit/patterns/Search.h"

namespace permjit::patterns {
namespace {

using permjit::testing::expectError;
using namespace planted;

// Q/K [heads, S, D] over a text-vision-text layout (prefix / suffix text positions).
CalibrationInput inputOf(const std::vector<float>& q, const std::vector<float>& k, int64_t heads,
                         int64_t seq_len, int64_t head_dim, int64_t prefix = 0,
                         int64_t suffix = 0) {
  CalibrationInput in;
  in.q = q.data();
  in.k = k.data();
  in.heads = in.kv_heads = heads;
  in.seq_len = seq_len;
  in.head_dim = head_dim;
  in.layout = Layout::textVisionText(seq_len, prefix, suffix);
  return in;
}

CalibrationInput inputOf(const Planted& p) {
  return inputOf(p.q, p.k, 2, kS, kD, kPrefix, kSuffix);
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

// A NaN in a capture once made every recall NaN and the choice walk past the end of its list.
TEST(Search, NonFiniteInputsAreRejectedNamingTheElement) {
  const int64_t heads = 1, S = 16, D = 8;
  std::vector<float> q(heads * S * D, 0.5f), k(heads * S * D, 0.25f);
  CalibrationInput in = inputOf(q, k, heads, S, D);
  q[0] = std::numeric_limits<float>::quiet_NaN();
  expectError([&] { searchHeads({in}, SearchOptions{}); }, ErrorCategory::kInvalidArgument,
              {"inputs[0].q: element 0 is nan; allowed: finite values only"});
  q[0] = 0.5f;
  k[3] = std::numeric_limits<float>::infinity();
  expectError([&] { searchHeads({in}, SearchOptions{}); }, ErrorCategory::kInvalidArgument,
              {"inputs[0].k: element 3 is inf"});
  in.seq_len = kMaxSearchSeqLen + 1;  // S = 100,000 once asked for 40 GB
  expectError([&] { searchHeads({in}, SearchOptions{}); }, ErrorCategory::kInvalidArgument,
              {"inputs[0]: seq_len 32769; allowed: at most 32768"});
  std::vector<CandidateScore> scores(2);
  scores[1].recall = std::numeric_limits<double>::quiet_NaN();
  expectError([&] { chooseCandidate(scores, 0.95, 0.01); }, ErrorCategory::kInvalidArgument,
              {"scores[1]: recall nan"});
}

// Random float32 Q/K [2, 512, 64]: every recall and density is a fraction in [0, 1] (the
// dense candidate's float sums used to exceed 1 by rounding) and the config validates.
TEST(Search, ScoresOfRandomInputsStayFractions) {
  const int64_t heads = 2, S = 512, D = 64;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> q(heads * S * D), k(heads * S * D);
  for (float& x : q) x = normal(rng);
  for (float& x : k) x = normal(rng);
  CalibrationInput in = inputOf(q, k, heads, S, D);
  SearchOptions options;
  std::vector<HeadSearchResult> results = searchHeads({in, in}, options);
  for (const HeadSearchResult& r : results) {
    for (const CandidateScore& score : r.scores) {
      EXPECT_GE(score.recall, 0.0) << headSummary(score.head);
      EXPECT_LE(score.recall, 1.0) << headSummary(score.head);
      EXPECT_GE(score.density, 0.0) << headSummary(score.head);
      EXPECT_LE(score.density, 1.0) << headSummary(score.head);
    }
  }
  EXPECT_NO_THROW(configFromSearch(results, "random", 0, {LayoutRules::Kind::kTextVisionText, 0, 0},
                                   options, S, 2));
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

// Found by tests/fuzz (fuzz_search_candidates): a type that is not a string escaped as
// nlohmann::json's type_error instead of a permjit::Error naming the field.
TEST(Search, CandidateTypeOfTheWrongJsonType) {
  for (const char* type : {"32", "null", "[\"grid\"]", "{\"grid\": 1}"}) {
    const std::string text = std::string(R"({"permjit_search_candidates": 1, "candidates": [)") +
                             R"({"type": )" + type + R"(, "stride": 14}]})";
    expectError([&] { parseCandidates(text, "c.json"); }, ErrorCategory::kInvalidPattern,
                {"c.json: candidates[0].type"});
  }
}

}  // namespace
}  // namespace permjit::patterns

namespace permjit::patterns {
namespace {

// The GPU search's densities of phase-searched grids: the pair-count sums give every
// (phase_q, phase_k)'s kept pairs, equal to the reference mask's count.
TEST(Search, PhasePairSumsCountTheReferenceMask) {
  const int64_t S = 301;
  const Layout layout = Layout::textVisionText(S, 17, 23);
  for (auto [stride, sink, local, trailing] :
       {std::tuple<int64_t, int64_t, int64_t, int64_t>{7, 5, 9, 23},
        {4, 0, 1, 0},
        {13, 40, 60, 10}}) {
    HeadSpec grid;
    grid.type = HeadType::kGrid;
    grid.stride = stride;
    grid.sink = sink;
    grid.local = local;
    grid.trailing_text_rows = trailing;
    std::vector<double> table(stride * stride, 0.0);
    detail::addPhaseRecalls(detail::phasePairSums(grid, layout, S), 1.0, table);
    for (int64_t pq = 0; pq < stride; pq += 3) {
      for (int64_t pk = 0; pk < stride; pk += 2) {
        HeadSpec concrete = grid;
        concrete.phase_q = pq;
        concrete.phase_k = pk;
        const std::vector<uint8_t> mask = keptMask(headPattern(concrete), layout, S);
        const double kept = double(std::count(mask.begin(), mask.end(), uint8_t{1}));
        EXPECT_EQ(table[pq * stride + pk], kept) << headSummary(concrete);
      }
    }
  }
}

}  // namespace
}  // namespace permjit::patterns
