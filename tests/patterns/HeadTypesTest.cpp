#include <gtest/gtest.h>

#include "ExpectError.h"
#include "permjit/dsl/Reference.h"
#include "permjit/patterns/HeadTypes.h"

namespace permjit::patterns {
namespace {

using permjit::testing::expectError;

// Every pair of the mask agrees with `expected(q, k)`.
template <class F>
void expectMask(const Pattern& p, const Layout& layout, int64_t S, F expected) {
  std::vector<uint8_t> mask = keptMask(p, layout, S);
  for (int64_t q = 0; q < S; ++q) {
    for (int64_t k = 0; k < S; ++k) {
      ASSERT_EQ(mask[q * S + k] != 0, expected(q, k)) << p.str() << " q=" << q << " k=" << k;
    }
  }
}

TEST(HeadTypes, AShapeKeepsSinkAndWindowCausally) {
  const Layout none;
  Pattern p = a_shape(2, 3);
  expectMask(p, none, 8, [](int64_t q, int64_t k) { return k <= q && (k < 2 || q - k < 3); });
  // Hand-checked row 7: keys 0, 1 (sink) and 5, 6, 7 (window).
  std::vector<uint8_t> mask = keptMask(p, none, 8);
  std::vector<uint8_t> row7(mask.begin() + 56, mask.end());
  EXPECT_EQ(row7, (std::vector<uint8_t>{1, 1, 0, 0, 0, 1, 1, 1}));
  // No sink: just the window.
  expectMask(a_shape(0, 1), none, 5, [](int64_t q, int64_t k) { return k == q; });
}

TEST(HeadTypes, TriShapeAddsTrailingRows) {
  expectMask(tri_shape(1, 2, 2), Layout(), 8,
             [](int64_t q, int64_t k) { return k <= q && (k < 1 || q - k < 2 || q >= 6); });
}

TEST(HeadTypes, GridHeadMatchesTheMMInferenceReferenceSemantics) {
  const int64_t S = 24, vs = 3, ve = 20, s = 4, pq = 1, pk = 2, sink_n = 1, local_w = 2, t = 4;
  const Layout layout = Layout::textVisionText(S, vs, S - ve);
  Pattern p = grid_head({s, pq, pk, SpanRef::modality(Modality::kVision), sink_n, local_w, t});
  expectMask(p, layout, S, [&](int64_t q, int64_t k) {
    bool hline = q >= vs && q < ve && (q - vs) % s == pq;
    bool vline = k >= vs && k < ve && (k - vs) % s == pk;
    return k <= q && (k < sink_n || q - k < local_w || q >= S - t || hline || vline);
  });
  // Hand-checked: (q=4, k=0) sink; (q=9, k=5) vertical line at 3+2; (q=10, k=8) is on no
  // line, outside sink and window; row 4 = 3+1 is a horizontal line: (4, 2) kept.
  EXPECT_TRUE(keptPair(p, layout, S, 4, 0));
  EXPECT_TRUE(keptPair(p, layout, S, 9, 5));
  EXPECT_FALSE(keptPair(p, layout, S, 10, 8));
  EXPECT_TRUE(keptPair(p, layout, S, 4, 2));
  EXPECT_FALSE(keptPair(p, layout, S, 4, 5));  // causal
}

TEST(HeadTypes, GridHeadWithoutSinkOrTrailingRowsAndExplicitRange) {
  Pattern p = grid_head({3, 0, 2, SpanRef::range(2, 11), 0, 1, 0});
  expectMask(p, Layout(), 12, [](int64_t q, int64_t k) {
    bool hline = q >= 2 && q < 11 && (q - 2) % 3 == 0;
    bool vline = k >= 2 && k < 11 && (k - 2) % 3 == 2;
    return k <= q && (q == k || hline || vline);
  });
}

TEST(HeadTypes, DenseIsCausalAndVerticalSlashIsDynamic) {
  EXPECT_EQ(dense(), causal());
  Pattern vs = vertical_slash_head(2, 1, 4);
  EXPECT_TRUE(isDynamic(vs));
  DynamicIndices dyn{{0, 3}, {0}};
  std::vector<uint8_t> mask = keptMask(vs, Layout(), 6, &dyn);
  for (int64_t q = 0; q < 6; ++q) {
    for (int64_t k = 0; k < 6; ++k) {
      EXPECT_EQ(mask[q * 6 + k] != 0, k <= q && (k == 0 || k == 3 || k == q)) << q << "," << k;
    }
  }
}

TEST(HeadTypes, QBoundaryGivesEachQueryModalityItsHead) {
  const Layout layout = Layout::textVisionText(12, 2, 3);  // text [0,2) vision [2,9) text [9,12)
  Pattern p = q_boundary_head({{Modality::kVision, a_shape(0, 2)}, {Modality::kText, dense()}});
  expectMask(p, layout, 12, [](int64_t q, int64_t k) {
    bool vision_row = q >= 2 && q < 9;
    return k <= q && (!vision_row || q - k < 2);
  });
}

TEST(HeadTypes, Boundary2DUsesLocalCoordinatesAndOriginalCausality) {
  const Layout layout = Layout::textVisionText(12, 2, 3);
  // vision->vision: a grid over vision-local ranks (stride 3, phase_k 1); text->vision: every
  // earlier vision key; text->text: window 1 in text-local ranks. Others: nothing.
  Pattern p = boundary_2d_head(
      {{{Modality::kVision, Modality::kVision}, grid_head({3, 0, 1, SpanRef::all(), 0, 1, 0})},
       {{Modality::kText, Modality::kVision}, full()},
       {{Modality::kText, Modality::kText}, a_shape(0, 1)}});
  auto modality = [](int64_t x) { return x >= 2 && x < 9 ? 'v' : 't'; };
  auto rank = [](int64_t x) { return x < 2 ? x : x < 9 ? x - 2 : x - 7; };
  expectMask(p, layout, 12, [&](int64_t q, int64_t k) {
    if (k > q) return false;
    char mq = modality(q), mk = modality(k);
    if (mq == 'v' && mk == 'v') return rank(q) == rank(k) || rank(q) % 3 == 0 || rank(k) % 3 == 1;
    if (mq == 't' && mk == 'v') return true;
    if (mq == 't' && mk == 't') return rank(q) == rank(k);
    return false;
  });
  // The prefix text rows never see the later vision keys (original-order causality).
  EXPECT_FALSE(keptPair(p, layout, 12, 1, 2));
  EXPECT_TRUE(keptPair(p, layout, 12, 10, 2));
}

TEST(HeadTypes, ParameterErrorsNameTheParameterAndRange) {
  const auto kInvalid = ErrorCategory::kInvalidPattern;
  expectError([] { a_shape(-1, 4); }, kInvalid, {"a_shape.sink", "-1", "allowed: [0, "});
  expectError([] { a_shape(0, 0); }, kInvalid, {"a_shape.local", "allowed: [1, "});
  expectError([] { tri_shape(0, 4, 0); }, kInvalid, {"tri_shape.last_q_rows", "allowed: [1, "});
  expectError([] { grid_head({1, 0, 0}); }, kInvalid, {"grid_head.stride", "allowed: [2, "});
  expectError([] { grid_head({4, 4, 0}); }, kInvalid, {"grid_head.phase_q", "allowed: [0, 3]"});
  expectError([] { grid_head({4, 0, -1}); }, kInvalid, {"grid_head.phase_k", "allowed: [0, 3]"});
  expectError(
      [] {
        grid_head({4, 0, 0, SpanRef::modality(Modality::kVision), 0, 0});
      },
      kInvalid, {"grid_head.local", "allowed: [1, "});
  expectError(
      [] {
        grid_head({4, 0, 0, SpanRef::modality(Modality::kVision), 0, 1, -2});
      },
      kInvalid, {"grid_head.trailing_text_rows", "allowed: [0, "});
  SpanRef bad_span = SpanRef::modality(Modality::kVision);
  bad_span.mod = static_cast<Modality>(7);
  expectError(
      [&] {
        grid_head({4, 0, 0, bad_span});
      },
      kInvalid, {"grid_head.span", "allowed: vision, text, other"});
  expectError([] { vertical_slash_head(0, 1, 1); }, kInvalid,
              {"vertical_slash_head.vertical", "allowed: [1, "});
  expectError([] { vertical_slash_head(1, 1, 0); }, kInvalid, {"vertical_slash_head.last_q"});
  expectError([] { q_boundary_head({}); }, kInvalid, {"q_boundary_head", "vision, text, other"});
  expectError([] { boundary_2d_head({}); }, kInvalid, {"boundary_2d_head"});
  expectError(
      [] {
        q_boundary_head({{Modality::kText, q_boundary_head({{Modality::kText, dense()}})}});
      },
      kInvalid, {"q_boundary_head.text", "cannot nest", "allowed: a_shape"});
  expectError(
      [] {
        boundary_2d_head(
            {{{Modality::kText, Modality::kText}, q_boundary_head({{Modality::kText, dense()}})}});
      },
      kInvalid, {"boundary_2d_head.text->text", "cannot nest"});
}

}  // namespace
}  // namespace permjit::patterns
