// Layout construction checks, normalization and position queries.
#include <gtest/gtest.h>

#include "ExpectError.h"
#include "permjit/dsl/Pattern.h"

namespace permjit {
namespace {

using testing::expectError;
const auto kBad = ErrorCategory::kInvalidPattern;

Span span(Modality m, int64_t begin, int64_t end) { return Span{m, begin, end, std::nullopt}; }

TEST(LayoutTest, QueriesOnInterleavedSpans) {
  // other [0,2), vision [2,5), text [5,7), vision [7,9), other [9,12)
  Layout layout(
      {span(Modality::kVision, 2, 5), span(Modality::kText, 5, 7), span(Modality::kVision, 7, 9)});
  layout.validate(12);
  std::vector<Span> norm = layout.normalized(12);
  ASSERT_EQ(norm.size(), 5u);
  EXPECT_EQ(norm[0], span(Modality::kOther, 0, 2));
  EXPECT_EQ(norm[4], span(Modality::kOther, 9, 12));
  EXPECT_EQ(layout.modalityAt(0, 12), Modality::kOther);
  EXPECT_EQ(layout.modalityAt(2, 12), Modality::kVision);
  EXPECT_EQ(layout.modalityAt(6, 12), Modality::kText);
  EXPECT_EQ(layout.modalityAt(8, 12), Modality::kVision);
  EXPECT_EQ(layout.modalityAt(9, 12), Modality::kOther);
  EXPECT_EQ(layout.localRank(7, 12), 3);
  EXPECT_EQ(layout.localRank(8, 12), 4);
  EXPECT_EQ(layout.localRank(10, 12), 3);
  EXPECT_EQ(layout.localRank(5, 12), 0);
  EXPECT_EQ(layout.countOf(Modality::kVision, 12), 5);
  EXPECT_EQ(layout.countOf(Modality::kText, 12), 2);
  EXPECT_EQ(layout.countOf(Modality::kOther, 12), 5);
  EXPECT_TRUE(layout.has(Modality::kText, 12));
  EXPECT_EQ(layout.str(), "layout(vision[2, 5), text[5, 7), vision[7, 9))");
  expectError([&] { layout.modalityAt(12, 12); }, ErrorCategory::kInvalidArgument, {"pos"});
}

TEST(LayoutTest, TextVisionText) {
  Layout layout = Layout::textVisionText(100, 10, 5);
  ASSERT_EQ(layout.spans().size(), 3u);
  EXPECT_EQ(layout.spans()[1], span(Modality::kVision, 10, 95));
  EXPECT_EQ(Layout::textVisionText(100, 0, 0).spans().size(), 1u);
  expectError([] { Layout::textVisionText(10, 6, 5); }, kBad, {"layout.prefix"});
}

TEST(LayoutTest, FrameGeometry) {
  Span video{Modality::kVision, 10, 110, FrameGeometry{2, 5, 10}};
  Layout layout({video});
  EXPECT_EQ(layout.str(), "layout(vision[10, 110) 2x5x10)");
  video.frames = FrameGeometry{2, 5, 11};
  expectError([&] { Layout{{video}}; }, kBad,
              {"layout.spans[0].frames", "end-begin=100", "2x5x11"});
  video.frames = FrameGeometry{0, 5, 10};
  expectError([&] { Layout{{video}}; }, kBad, {"layout.spans[0].frames", ">= 1"});
}

TEST(LayoutTest, RejectsBadSpans) {
  expectError([] { Layout{{span(Modality::kText, -1, 4)}}; }, kBad,
              {"layout.spans[0].begin: must be >= 0"});
  expectError([] { Layout{{span(Modality::kText, 4, 4)}}; }, kBad, {"layout.spans[0].end"});
  expectError(
      [] {
        Layout{{span(Modality::kText, 0, 4), span(Modality::kVision, 3, 8)}};
      },
      kBad, {"layout.spans[1].begin", "non-overlapping"});
  expectError(
      [] {
        Layout{{span(Modality::kText, 5, 8), span(Modality::kVision, 0, 3)}};
      },
      kBad, {"layout.spans[1].begin", "ordered"});
  Layout layout({span(Modality::kText, 0, 4), span(Modality::kVision, 4, 20)});
  expectError([&] { layout.validate(19); }, kBad, {"layout.spans[1].end", "seq_len=19"});
  expectError([&] { layout.normalized(10); }, kBad, {"layout.spans[1].end"});
}

}  // namespace
}  // namespace permjit
