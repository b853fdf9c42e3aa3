// The CPU reference against masks and attention values worked out by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "ExpectError.h"
#include "permjit/dsl/Reference.h"

namespace permjit {
namespace {

using testing::expectError;

const SpanRef kVision = SpanRef::modality(Modality::kVision);

Span span(Modality m, int64_t begin, int64_t end) { return Span{m, begin, end, std::nullopt}; }

// The mask as rows of '0'/'1', so a failure prints the whole picture.
std::vector<std::string> maskRows(const Pattern& p, const Layout& layout, int64_t seq_len,
                                  const DynamicIndices* dyn = nullptr) {
  std::vector<uint8_t> mask = keptMask(p, layout, seq_len, dyn);
  std::vector<std::string> rows;
  for (int64_t q = 0; q < seq_len; ++q) {
    std::string row;
    for (int64_t k = 0; k < seq_len; ++k) {
      row += mask[q * seq_len + k] ? '1' : '0';
      // keptPair answers from the layout directly, keptMask from tables: they must agree.
      EXPECT_EQ(keptPair(p, layout, seq_len, q, k, dyn), mask[q * seq_len + k] != 0)
          << p.str() << " q=" << q << " k=" << k;
    }
    rows.push_back(row);
  }
  return rows;
}

using Rows = std::vector<std::string>;

TEST(ReferenceTest, Causal) {
  EXPECT_EQ(maskRows(causal(), Layout(), 8),
            (Rows{"10000000", "11000000", "11100000", "11110000", "11111000", "11111100",
                  "11111110", "11111111"}));
}

TEST(ReferenceTest, SinkHasNoCausalityOfItsOwn) {
  EXPECT_EQ(maskRows(sink(2), Layout(), 4), (Rows{"1100", "1100", "1100", "1100"}));
}

TEST(ReferenceTest, SinkPlusLocal) {
  EXPECT_EQ(maskRows(causal() & (sink(2) | local(3)), Layout(), 8),
            (Rows{"10000000", "11000000", "11100000", "11110000", "11111000", "11011100",
                  "11001110", "11000111"}));
}

TEST(ReferenceTest, GridOverVisionSpanStrideNotDividing) {
  // vision [3, 13): ten positions, stride 3. Ranks 0,3,6,9 (positions 3,6,9,12) are residue 0;
  // ranks 2,5,8 (positions 5,8,11) are residue 2.
  Layout layout({span(Modality::kText, 0, 3), span(Modality::kVision, 3, 13)});
  const std::string all = "1111111111111111";
  const std::string cols_5_8_11 = "0000010010010000";
  const std::string cols_3_6_9_12 = "0001001001001000";
  Rows expected(16, cols_5_8_11);
  for (int q : {3, 6, 9, 12}) expected[q] = all;
  EXPECT_EQ(maskRows(grid(3, 0, 2, kVision), layout, 16), expected);

  Rows swapped(16, cols_3_6_9_12);
  for (int q : {5, 8, 11}) swapped[q] = all;
  EXPECT_EQ(maskRows(grid(3, 2, 0), layout, 16), swapped);
}

TEST(ReferenceTest, LinesOnRangeLastAndAll) {
  // hlines(2, 1, range(2, 8)): rows 3, 5, 7; intersected with local(3).
  EXPECT_EQ(maskRows(hlines(2, 1, SpanRef::range(2, 8)) & local(3), Layout(), 8),
            (Rows{"00000000", "00000000", "00000000", "01110000", "00000000", "00011100",
                  "00000000", "00000111"}));
  // vlines(2, 0, last(4)): columns 4 and 6.
  EXPECT_EQ(maskRows(vlines(2, 0, SpanRef::last(4)), Layout(), 8), Rows(8, "00001010"));
  // vlines(3, 1, all()): columns 1, 4, 7.
  EXPECT_EQ(maskRows(vlines(3, 1, SpanRef::all()), Layout(), 8), Rows(8, "01001001"));
}

TEST(ReferenceTest, RowsLast) {
  EXPECT_EQ(maskRows(rows(SpanRef::last(2)), Layout(), 8),
            (Rows{"00000000", "00000000", "00000000", "00000000", "00000000", "00000000",
                  "11111111", "11111111"}));
  EXPECT_EQ(maskRows(causal() & rows(SpanRef::last(2)), Layout(), 8),
            (Rows{"00000000", "00000000", "00000000", "00000000", "00000000", "00000000",
                  "11111110", "11111111"}));
}

TEST(ReferenceTest, Block) {
  Layout layout({span(Modality::kVision, 4, 6)});
  EXPECT_EQ(maskRows(block(SpanRef::range(1, 3), kVision), layout, 8),
            (Rows{"00000000", "00001100", "00001100", "00000000", "00000000", "00000000",
                  "00000000", "00000000"}));
}

// vision [0,3), text [3,5), vision [5,8): vision ranks 0..5 at positions 0,1,2,5,6,7.
Layout interleaved() {
  return Layout(
      {span(Modality::kVision, 0, 3), span(Modality::kText, 3, 5), span(Modality::kVision, 5, 8)});
}

TEST(ReferenceTest, QBoundaryInOriginalCoordinates) {
  Pattern p = q_boundary({{Modality::kVision, local(2)}, {Modality::kText, sink(1)}});
  EXPECT_EQ(maskRows(p, interleaved(), 8), (Rows{"10000000", "11000000", "01100000", "10000000",
                                                 "10000000", "00001100", "00000110", "00000011"}));
  // Residues of a modality span are ranks: odd vision ranks are positions 1, 5, 7.
  Pattern lines = q_boundary({{Modality::kText, vlines(2, 1, kVision)}});
  EXPECT_EQ(maskRows(lines, interleaved(), 8),
            (Rows{"00000000", "00000000", "00000000", "01000101", "01000101", "00000000",
                  "00000000", "00000000"}));
}

TEST(ReferenceTest, Boundary2DInLocalCoordinates) {
  // vision->vision: local(2) on ranks, continuous across the text gap (q=5 keeps k=2);
  // text->text: causal; text->vision: rows(last(1)) = the last text row (q=4) keeps all vision.
  Pattern p = boundary_2d({{{Modality::kVision, Modality::kVision}, local(2)},
                           {{Modality::kText, Modality::kText}, causal()},
                           {{Modality::kText, Modality::kVision}, rows(SpanRef::last(1))}});
  EXPECT_EQ(maskRows(p, interleaved(), 8), (Rows{"10000000", "11000000", "01100000", "00010000",
                                                 "11111111", "00100100", "00000110", "00000011"}));
  // Inside a block modality(m) is everything when m is that side's modality, else nothing.
  Pattern spans =
      boundary_2d({{{Modality::kVision, Modality::kText}, block(kVision, SpanRef::all())},
                   {{Modality::kText, Modality::kText}, rows(kVision)}});
  Rows expected(8, "00011000");
  expected[3] = expected[4] = "00000000";
  EXPECT_EQ(maskRows(spans, interleaved(), 8), expected);
}

TEST(ReferenceTest, VerticalSlash) {
  DynamicIndices dyn{{1}, {0, 3}};
  EXPECT_EQ(maskRows(vertical_slash(1, 2, 4), Layout(), 8, &dyn),
            (Rows{"10000000", "01000000", "01100000", "11010000", "01001000", "01100100",
                  "01010010", "01001001"}));
  expectError([] { keptMask(vertical_slash(1, 1), Layout(), 8); }, ErrorCategory::kInvalidArgument,
              {"vertical_slash", "DynamicIndices"});
  DynamicIndices out_of_range{{8}, {}};
  expectError([&] { keptMask(vertical_slash(1, 1), Layout(), 8, &out_of_range); },
              ErrorCategory::kInvalidArgument, {"DynamicIndices.vertical[0]", "seq_len=8"});
}

// One vertical_slash per q_boundary modality: each row reads its modality's atom (vision's is
// atom 0, text's the first of later_atoms), however the spans interleave.
TEST(ReferenceTest, VerticalSlashPerQueryModality) {
  Pattern p = q_boundary(
      {{Modality::kText, vertical_slash(1, 1, 4)}, {Modality::kVision, vertical_slash(1, 1, 4)}});
  EXPECT_EQ(verticalSlashAtoms(p),
            (std::vector<std::optional<Modality>>{Modality::kVision, Modality::kText}));
  DynamicIndices dyn{{1}, {0}, {VerticalSlashSets{{2}, {1}}}};
  EXPECT_EQ(maskRows(p, interleaved(), 8, &dyn),
            (Rows{"10000000", "01000000", "01100000", "00100000", "00110000", "01000100",
                  "01000010", "01000001"}));
  DynamicIndices one_atom{{1}, {0}};
  expectError([&] { keptMask(p, interleaved(), 8, &one_atom); }, ErrorCategory::kInvalidArgument,
              {"DynamicIndices.later_atoms: 0 entries", "2 vertical_slash atoms", "allowed: 1"});
  DynamicIndices extra{{1}, {0}, {VerticalSlashSets{{2}, {1}}}};
  expectError([&] { keptMask(vertical_slash(1, 1), Layout(), 8, &extra); },
              ErrorCategory::kInvalidArgument,
              {"DynamicIndices.later_atoms: 1 entries", "allowed: 0"});
  DynamicIndices bad{{1}, {0}, {VerticalSlashSets{{9}, {1}}}};
  expectError([&] { keptMask(p, interleaved(), 8, &bad); }, ErrorCategory::kInvalidArgument,
              {"DynamicIndices.later_atoms[0].vertical[0]", "seq_len=8"});
  // Validation: one atom per modality, none outside the branches when there are several.
  expectError(
      [] {
        validate(q_boundary({{Modality::kVision, vertical_slash(1, 1) | vertical_slash(2, 2)}}),
                 interleaved(), 8);
      },
      ErrorCategory::kInvalidPattern, {"q_boundary.by.vision", "one per query modality"});
  expectError(
      [] {
        validate(vertical_slash(1, 1) | q_boundary({{Modality::kText, vertical_slash(2, 2)}}),
                 interleaved(), 8);
      },
      ErrorCategory::kInvalidPattern, {"outside a q_boundary branch"});
}

TEST(ReferenceTest, PermuteKeepsTheSameSet) {
  Layout layout({span(Modality::kText, 0, 3), span(Modality::kVision, 3, 13)});
  Pattern p = causal() & (sink(2) | grid(3, 1, 2));
  PermuteBy by;
  by.stride = 3;
  EXPECT_EQ(keptMask(permute(p, PermuteAxes::kBoth, by), layout, 16), keptMask(p, layout, 16));
}

TEST(ReferenceTest, RejectsBadPositionsAndLayouts) {
  expectError([] { keptPair(causal(), Layout(), 8, 8, 0); }, ErrorCategory::kInvalidArgument,
              {"q", "seq_len=8"});
  expectError([] { keptPair(causal(), Layout(), 8, 0, -1); }, ErrorCategory::kInvalidArgument,
              {"k"});
  Layout too_long({span(Modality::kText, 0, 10)});
  expectError([&] { keptMask(causal(), too_long, 8); }, ErrorCategory::kInvalidPattern,
              {"layout.spans[0].end"});
}

TEST(ReferenceTest, MaskOfALongGridHeadIsQuick) {
  const int64_t S = 4096;
  Layout layout = Layout::textVisionText(S, 100, 60);
  Pattern head = causal() & (sink(64) | local(64) | rows(SpanRef::last(60)) | grid(14, 0, 0));
  std::vector<uint8_t> mask = keptMask(head, layout, S);
  // Spot-check against the grid head formula of docs/method.md on a few rows.
  for (int64_t q : {0L, 99L, 100L, 1000L, 2345L, S - 61, S - 1}) {
    for (int64_t k = 0; k < S; ++k) {
      bool in_vision_q = q >= 100 && q < S - 60, in_vision_k = k >= 100 && k < S - 60;
      bool expected =
          k <= q && (k < 64 || q - k < 64 || q >= S - 60 || (in_vision_q && (q - 100) % 14 == 0) ||
                     (in_vision_k && (k - 100) % 14 == 0));
      ASSERT_EQ(mask[q * S + k] != 0, expected) << "q=" << q << " k=" << k;
    }
  }
}

// ---- referenceAttention ---------------------------------------------------------------------

TEST(ReferenceAttentionTest, TinyHandComputation) {
  // S=2, D=1: q = [1, 2], k = [0, 1], v = [10, 20], causal, scale 0.5.
  // Row 0 keeps only k0: out = 10, lse = 0. Row 1: scores 0 and 1 -> weights 1/(1+e), e/(1+e).
  AttentionShape shape{1, 1, 1, 2, 1};
  double q[] = {1, 2}, k[] = {0, 1}, v[] = {10, 20}, out[2], lse[2];
  std::vector<uint8_t> mask = keptMask(causal(), Layout(), 2);
  referenceAttention(shape, q, k, v, mask.data(), 0.5, out, lse);
  const double e = std::exp(1.0);
  EXPECT_NEAR(out[0], 10.0, 1e-12);
  EXPECT_NEAR(lse[0], 0.0, 1e-12);
  EXPECT_NEAR(out[1], (10 + 20 * e) / (1 + e), 1e-12);
  EXPECT_NEAR(lse[1], std::log(1 + e), 1e-12);
}

TEST(ReferenceAttentionTest, RowsWithNothingKept) {
  AttentionShape shape{1, 1, 1, 2, 2};
  double q[] = {1, 2, 3, 4}, k[] = {1, 0, 0, 1}, v[] = {5, 6, 7, 8}, out[4], lse[2];
  uint8_t mask[] = {0, 0, 1, 1};
  referenceAttention(shape, q, k, v, mask, 1.0, out, lse);
  EXPECT_EQ(out[0], 0.0);
  EXPECT_EQ(out[1], 0.0);
  EXPECT_EQ(lse[0], -std::numeric_limits<double>::infinity());
  // Row 1: scores 3 and 4.
  double w0 = 1 / (1 + std::exp(1.0)), w1 = 1 - w0;
  EXPECT_NEAR(out[2], w0 * 5 + w1 * 7, 1e-12);
  EXPECT_NEAR(out[3], w0 * 6 + w1 * 8, 1e-12);
  EXPECT_NEAR(lse[1], 4 + std::log(1 + std::exp(-1.0)), 1e-12);
}

TEST(ReferenceAttentionTest, StableForLargeScores) {
  AttentionShape shape{1, 1, 1, 2, 1};
  double q[] = {1000, 1000}, k[] = {1, 1}, v[] = {1, 3}, out[2], lse[2];
  referenceAttention(shape, q, k, v, nullptr, 1.0, out, lse);
  EXPECT_NEAR(out[0], 2.0, 1e-12);
  EXPECT_NEAR(lse[0], 1000 + std::log(2.0), 1e-9);
}

TEST(ReferenceAttentionTest, GqaMatchesExpandedKvHeads) {
  // H=4 query heads over Hkv=2: heads 0,1 read kv head 0, heads 2,3 read kv head 1. The same
  // result must come from 4 kv heads holding copies.
  const int64_t B = 2, H = 4, Hkv = 2, S = 5, D = 3;
  std::vector<double> q(B * H * S * D), k(B * Hkv * S * D), v(B * Hkv * S * D);
  for (size_t i = 0; i < q.size(); ++i) q[i] = std::sin(0.37 * i);
  for (size_t i = 0; i < k.size(); ++i) k[i] = std::cos(0.51 * i);
  for (size_t i = 0; i < v.size(); ++i) v[i] = std::sin(1.3 * i + 0.2);
  std::vector<double> k4(B * H * S * D), v4(B * H * S * D);
  for (int64_t b = 0; b < B; ++b) {
    for (int64_t h = 0; h < H; ++h) {
      for (int64_t i = 0; i < S * D; ++i) {
        k4[(b * H + h) * S * D + i] = k[(b * Hkv + h / 2) * S * D + i];
        v4[(b * H + h) * S * D + i] = v[(b * Hkv + h / 2) * S * D + i];
      }
    }
  }
  std::vector<uint8_t> mask = keptMask(causal() & (sink(1) | local(2)), Layout(), S);
  std::vector<double> out(B * H * S * D), out4(out.size()), lse(B * H * S), lse4(lse.size());
  referenceAttention({B, H, Hkv, S, D}, q.data(), k.data(), v.data(), mask.data(), 0.7, out.data(),
                     lse.data());
  referenceAttention({B, H, H, S, D}, q.data(), k4.data(), v4.data(), mask.data(), 0.7, out4.data(),
                     lse4.data());
  EXPECT_EQ(out, out4);
  EXPECT_EQ(lse, lse4);
  // Heads 0 and 2 differ (different kv heads).
  EXPECT_NE(out[0], out[2 * S * D]);
}

TEST(ReferenceAttentionTest, RejectsBadShapes) {
  double x[4] = {};
  expectError(
      [&] {
        referenceAttention({1, 3, 2, 2, 1}, x, x, x, nullptr, 1, x, nullptr);
      },
      ErrorCategory::kInvalidArgument, {"kv_heads", "divide"});
  expectError(
      [&] {
        referenceAttention({1, 1, 1, 0, 1}, x, x, x, nullptr, 1, x, nullptr);
      },
      ErrorCategory::kInvalidArgument, {"seq_len"});
  expectError(
      [&] {
        referenceAttention({1, 1, 1, 2, 1}, nullptr, x, x, nullptr, 1, x, nullptr);
      },
      ErrorCategory::kInvalidArgument, {"null"});
}

}  // namespace
}  // namespace permjit
