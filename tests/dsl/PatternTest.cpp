// Atom/combinator construction, argument checks, printing, equality and validate().
#include <gtest/gtest.h>

#include "ExpectError.h"
#include "permjit/dsl/Pattern.h"

namespace permjit {
namespace {

using testing::expectError;

const auto kBad = ErrorCategory::kInvalidPattern;
const SpanRef kVision = SpanRef::modality(Modality::kVision);

TEST(PatternTest, StrIsReadableDsl) {
  Pattern head = causal() & (sink(1024) | local(1024) | grid(14, 0, 0));
  EXPECT_EQ(head.str(), "causal() & (sink(1024) | local(1024) | grid(14, 0, 0, modality(vision)))");
  EXPECT_EQ(rows(SpanRef::last(60)).str(), "rows(last(60))");
  EXPECT_EQ(block(SpanRef::range(0, 4), SpanRef::all()).str(), "block(range(0, 4), all())");
  EXPECT_EQ(vertical_slash(1000, 6096).str(), "vertical_slash(1000, 6096, 64)");
  EXPECT_EQ(vlines(3, 1, SpanRef::all()).str(), "vlines(3, 1, all())");
  EXPECT_EQ(hlines(3, 2).str(), "hlines(3, 2, modality(vision))");
  EXPECT_EQ(q_boundary({{Modality::kVision, causal()}, {Modality::kText, sink(4)}}).str(),
            "q_boundary({vision: causal(), text: sink(4)})");
  EXPECT_EQ(boundary_2d({{{Modality::kVision, Modality::kText}, local(2) | sink(1)}}).str(),
            "boundary_2d({(vision, text): local(2) | sink(1)})");
  PermuteBy by;
  by.stride = 14;
  EXPECT_EQ(permute(grid(14, 0, 0), PermuteAxes::kBoth, by).str(),
            "permute(grid(14, 0, 0, modality(vision)), both, residue(14, modality(vision)))");
  PermuteBy by_modality;
  by_modality.kind = PermuteBy::Kind::kModality;
  EXPECT_EQ(permute(causal(), PermuteAxes::kRows, by_modality).str(),
            "permute(causal(), rows, modality(vision, text, other))");
  EXPECT_EQ(((sink(1) & causal()) | local(2)).str(), "(sink(1) & causal()) | local(2)");
}

TEST(PatternTest, UnionsFlattenAndCompareStructurally) {
  Pattern a = sink(1) | local(2) | causal();
  Pattern b = union_of({sink(1), union_of({local(2), causal()})});
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.node().children.size(), 3u);
  EXPECT_EQ(union_of({sink(3)}), sink(3));
  EXPECT_FALSE(a == (sink(1) | local(3) | causal()));
  EXPECT_FALSE(a == intersect_of({sink(1), local(2), causal()}));
  EXPECT_FALSE(grid(14, 0, 0) == grid(14, 0, 1));
  EXPECT_FALSE(grid(14, 0, 0) == grid(14, 0, 0, SpanRef::all()));
  EXPECT_EQ(q_boundary({{Modality::kText, causal()}}), q_boundary({{Modality::kText, causal()}}));
  EXPECT_FALSE(q_boundary({{Modality::kText, causal()}}) ==
               q_boundary({{Modality::kVision, causal()}}));
}

TEST(PatternTest, IsDynamic) {
  EXPECT_FALSE(isDynamic(causal() & (sink(4) | grid(14, 0, 0))));
  EXPECT_TRUE(isDynamic(causal() & (sink(4) | vertical_slash(10, 10))));
  EXPECT_TRUE(isDynamic(q_boundary({{Modality::kText, vertical_slash(10, 10)}})));
  EXPECT_TRUE(isDynamic(boundary_2d({{{Modality::kText, Modality::kText}, vertical_slash(1, 1)}})));
}

TEST(PatternTest, AtomsRejectBadArguments) {
  expectError([] { grid(0, 0, 0); }, kBad, {"grid.stride: must be >= 1, got 0"});
  expectError([] { grid(-2, 0, 0); }, kBad, {"grid.stride", "-2"});
  expectError([] { grid(14, 14, 0); }, kBad, {"grid.phase_q: must be in [0, stride=14), got 14"});
  expectError([] { grid(14, 0, -1); }, kBad, {"grid.phase_k", "[0, stride=14)"});
  expectError([] { vlines(3, 3); }, kBad, {"vlines.phase", "[0, stride=3)"});
  expectError([] { hlines(0, 0); }, kBad, {"hlines.stride"});
  expectError([] { local(-1); }, kBad, {"local.window: must be >= 0, got -1"});
  expectError([] { sink(-5); }, kBad, {"sink.n: must be >= 0, got -5"});
  expectError([] { SpanRef::last(-1); }, kBad, {"last", "n must be >= 0"});
  expectError([] { SpanRef::range(5, 4); }, kBad, {"range", "begin must be <= end"});
  expectError([] { SpanRef::range(-1, 4); }, kBad, {"range", "begin must be >= 0"});
  SpanRef raw;
  raw.kind = SpanRef::Kind::kRange;
  raw.begin = 9;
  raw.end = 3;
  expectError([&] { rows(raw); }, kBad, {"rows.span.range"});
  expectError([&] { block(SpanRef::all(), raw); }, kBad, {"block.k.range"});
  expectError([] { vertical_slash(0, 10); }, kBad, {"vertical_slash.vertical: must be >= 1"});
  expectError([] { vertical_slash(10, -1); }, kBad, {"vertical_slash.slash"});
  expectError([] { vertical_slash(10, 10, 0); }, kBad, {"vertical_slash.last_q"});
  expectError([] { union_of({}); }, kBad, {"union_of", "empty"});
  expectError([] { intersect_of({}); }, kBad, {"intersect_of", "empty"});
  expectError([] { q_boundary({}); }, kBad, {"q_boundary", "empty", "vision, text, other"});
  expectError([] { boundary_2d({}); }, kBad, {"boundary_2d", "empty"});
  PermuteBy by;
  by.stride = 0;
  expectError([&] { permute(causal(), PermuteAxes::kBoth, by); }, kBad,
              {"permute.by.stride: must be >= 1, got 0"});
  PermuteBy twice;
  twice.kind = PermuteBy::Kind::kModality;
  twice.order = {Modality::kText, Modality::kText};
  expectError([&] { permute(causal(), PermuteAxes::kRows, twice); }, kBad,
              {"permute.by.modality[1]", "twice"});
  expectError([] { parseModality("audio", "span.modality"); }, kBad,
              {"span.modality", "'audio'", "vision, text, other"});
}

TEST(PatternTest, ValidateAgainstLayout) {
  Layout text_only({Span{Modality::kText, 0, 100, std::nullopt}});
  Layout tvt = Layout::textVisionText(100, 10, 10);
  validate(causal() & (sink(4) | grid(14, 0, 0)), tvt, 100);
  validate(q_boundary({{Modality::kVision, causal()}, {Modality::kText, local(3)}}), tvt, 100);

  expectError(
      [&] {
        validate(q_boundary({{Modality::kVision, causal()}}), text_only, 100);
      },
      kBad, {"q_boundary: modality 'vision' is not in the layout (has: text)"});
  expectError(
      [&] {
        validate(boundary_2d({{{Modality::kText, Modality::kVision}, causal()}}), text_only, 100);
      },
      kBad, {"boundary_2d", "'vision' is not in the layout"});
  expectError([&] { validate(rows(SpanRef::range(0, 101)), tvt, 100); }, kBad,
              {"rows.span", "range(0, 101)", "past the sequence"});
  expectError([&] { validate(causal() & rows(SpanRef::last(101)), tvt, 100); }, kBad,
              {"intersect.of[1].rows.span", "last(101)"});
  expectError([&] { validate(causal(), tvt, 99); }, kBad, {"layout.spans[2].end", "seq_len=99"});
  expectError([&] { validate(causal(), tvt, 0); }, kBad, {"seq_len"});
  Pattern nested = q_boundary({{Modality::kText, q_boundary({{Modality::kText, causal()}})}});
  expectError([&] { validate(nested, tvt, 100); }, kBad,
              {"q_boundary.by.text.q_boundary", "inside a q_boundary"});
  Pattern nested_2d = boundary_2d(
      {{{Modality::kText, Modality::kText}, causal() & q_boundary({{Modality::kText, causal()}})}});
  expectError([&] { validate(nested_2d, tvt, 100); }, kBad, {"inside a boundary_2d"});
  // Inside a boundary_2d block the sequence is the block's modality: 20 text positions here.
  Pattern block_last = boundary_2d({{{Modality::kText, Modality::kText}, rows(SpanRef::last(21))}});
  expectError([&] { validate(block_last, tvt, 100); }, kBad, {"last(21)", "length 20"});
  validate(boundary_2d({{{Modality::kText, Modality::kText}, rows(SpanRef::last(20))}}), tvt, 100);
}

}  // namespace
}  // namespace permjit
