// The closed-form kept-pair counts of the benchmark (bench/BenchPatterns.h) equal the CPU
// reference's count, pair by pair, on small shapes with shrunken parameters (so every term -
// sink, window, lines, trailing rows, modality blocks - is active), and on one shape with the
// bench's own parameters.
#include <gtest/gtest.h>

#include <random>

#include "BenchPatterns.h"
#include "permjit/dsl/Reference.h"

namespace permjit::bench {
namespace {

PatternParams smallParams() {
  PatternParams p;
  p.sink = 5;
  p.local = 37;
  p.last_q = 9;
  p.stride = 7;
  p.grid_sink = 11;
  p.grid_local = 23;
  p.prefix = 50;
  p.trailing = 13;
  p.mid_text = 40;
  p.cross_sink = 17;
  return p;
}

double referenceCount(const BenchPattern& bench, int64_t seq_len,
                      const DynamicIndices* indices = nullptr) {
  double kept = 0;
  for (int64_t q = 0; q < seq_len; ++q)
    for (int64_t k = 0; k <= q; ++k) {
      kept += keptPair(bench.pattern, bench.layout, seq_len, q, k, indices);
    }
  // No pattern of the bench keeps a pair above the diagonal.
  for (int64_t q = 0; q < seq_len; q += 37) {
    for (int64_t k = q + 1; k < seq_len; k += 5) {
      EXPECT_FALSE(keptPair(bench.pattern, bench.layout, seq_len, q, k, indices));
    }
  }
  return kept;
}

TEST(KeptPairs, EveryStaticPatternMatchesTheReference) {
  const PatternParams p = smallParams();
  for (const std::string& name : staticPatternNames()) {
    for (int64_t seq_len : {300, 577, 1000}) {
      BenchPattern bench = benchPattern(name, seq_len, p);
      ASSERT_NO_THROW(validate(bench.pattern, bench.layout, seq_len)) << name;
      EXPECT_EQ(keptPairs(name, seq_len, p), referenceCount(bench, seq_len))
          << name << " at S = " << seq_len;
    }
  }
}

TEST(KeptPairs, TheBenchParametersMatchTheReference) {
  const int64_t seq_len = 3000;  // with the bench's windows: sink, window and lines all active
  PatternParams p;
  p.local = 700;  // below S so the A-shape is not dense
  for (const std::string& name : staticPatternNames()) {
    BenchPattern bench = benchPattern(name, seq_len, p);
    EXPECT_EQ(keptPairs(name, seq_len, p), referenceCount(bench, seq_len)) << name;
  }
}

TEST(KeptPairs, DenseAndSparsityOrderAtScale) {
  const int64_t s = 1 << 20;
  EXPECT_EQ(keptPairs("dense", s), 0.5 * double(s) * double(s + 1));
  // The grid head keeps about 1/14 of the vision rows in full plus 1/14 of the columns.
  double fraction = keptPairs("grid", s) / keptPairs("dense", s);
  EXPECT_GT(fraction, 0.10);
  EXPECT_LT(fraction, 0.16);
  EXPECT_LT(keptPairs("ashape", s), keptPairs("trishape", s));
}

TEST(KeptPairs, GridWithPhasesAndTheEstimatedGridMatchTheReference) {
  PatternParams p = smallParams();
  for (auto [pq, pk] : {std::pair<int64_t, int64_t>{3, 5}, {6, 0}, {0, 6}}) {
    p.phase_q = pq;
    p.phase_k = pk;
    for (const char* name : {"grid", "qboundary", "boundary2d"}) {
      BenchPattern bench = benchPattern(name, 577, p);
      EXPECT_EQ(keptPairs(name, 577, p), referenceCount(bench, 577))
          << name << " phases " << pq << ", " << pk;
    }
  }
  // The estimated grid head counts as the grid head of its choice.
  p = smallParams();
  p.estimate_strides = {5, 7, 9};
  BenchPattern bench = benchPattern("grid_estimated", 600, p);
  EXPECT_TRUE(isDynamic(bench.pattern));
  DynamicIndices indices;
  indices.grid = GridChoice{9, 4, 8};
  EXPECT_EQ(estimatedGridKeptPairs(*indices.grid, 600, p), referenceCount(bench, 600, &indices));
  EXPECT_THROW(keptPairs("grid_estimated", 600, p), Error);
}

TEST(KeptPairs, VerticalSlashFormulaMatchesTheReference) {
  const int64_t seq_len = 400;
  BenchPattern bench = benchPattern("vertical_slash", seq_len);
  std::mt19937 rng(7);
  for (int trial = 0; trial < 5; ++trial) {
    DynamicIndices indices;
    std::uniform_int_distribution<int64_t> position(0, seq_len - 1);
    for (int i = 0; i < 30; ++i) indices.vertical.push_back(position(rng));
    for (int i = 0; i < 20; ++i) indices.slash.push_back(position(rng) / (trial + 1));
    indices.slash.push_back(0);
    // The reference takes each index once; the formula must not double count repeats.
    std::sort(indices.vertical.begin(), indices.vertical.end());
    indices.vertical.erase(std::unique(indices.vertical.begin(), indices.vertical.end()),
                           indices.vertical.end());
    std::sort(indices.slash.begin(), indices.slash.end());
    indices.slash.erase(std::unique(indices.slash.begin(), indices.slash.end()),
                        indices.slash.end());
    std::vector<int64_t> repeated = indices.vertical;
    repeated.push_back(indices.vertical.front());
    EXPECT_EQ(verticalSlashKeptPairs(repeated, indices.slash, seq_len),
              referenceCount(bench, seq_len, &indices));
  }
  EXPECT_THROW(keptPairs("vertical_slash", seq_len), Error);
  EXPECT_THROW(benchPattern("nope", seq_len), Error);
}

// The per-modality head: vision rows count the first atom's sets, text rows the second's.
TEST(KeptPairs, QBoundaryVerticalSlashFormulaMatchesTheReference) {
  const int64_t seq_len = 1500;
  PatternParams p;
  p.prefix = 100;
  p.mid_text = 120;
  p.trailing = 40;
  BenchPattern bench = benchPattern("qboundary_vertical_slash", seq_len, p);
  std::mt19937 rng(11);
  std::uniform_int_distribution<int64_t> position(0, seq_len - 1);
  DynamicIndices indices;
  indices.later_atoms.resize(1);
  for (int i = 0; i < 40; ++i) {
    indices.vertical.push_back(position(rng));
    indices.later_atoms[0].vertical.push_back(position(rng));
  }
  for (int i = 0; i < 25; ++i) {
    indices.slash.push_back(position(rng) / 3);
    indices.later_atoms[0].slash.push_back(position(rng) / 5);
  }
  for (auto* set : {&indices.vertical, &indices.slash, &indices.later_atoms[0].vertical,
                    &indices.later_atoms[0].slash}) {
    std::sort(set->begin(), set->end());
    set->erase(std::unique(set->begin(), set->end()), set->end());
  }
  EXPECT_EQ(qboundaryVerticalSlashKeptPairs(indices, seq_len, p),
            double(referenceCount(bench, seq_len, &indices)));
}

}  // namespace
}  // namespace permjit::bench
