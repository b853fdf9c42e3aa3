#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "ExpectError.h"
#include "PngTestSupport.h"
#include "permjit/dsl/Json.h"
#include "permjit/dsl/Reference.h"
#include "permjit/patterns/HeadTypes.h"
#include "permjit/patterns/ModelConfig.h"
#include "permjit/patterns/Viz.h"

namespace permjit::patterns {
namespace {

namespace fs = std::filesystem;
using permjit::testing::expectError;

std::string tempPath(const std::string& name) {
  return (fs::temp_directory_path() / ("permjit_viz_" + name)).string();
}

// Black pixels (kept pairs) of the panel starting at x0.
int64_t blackPixels(const Png& png, int x0, int y0, int size) {
  int64_t n = 0;
  for (int y = y0; y < y0 + size; ++y) {
    for (int x = x0; x < x0 + size; ++x) n += png.at(x, y)[0] == 0 && png.at(x, y)[1] == 0;
  }
  return n;
}

const int64_t kS = 256;
const Layout kLayout = Layout::textVisionText(kS, 16, 16);
const Pattern kGrid = grid_head({7, 2, 5, SpanRef::modality(Modality::kVision), 4, 8, 16});

// The compiler options of a plan for (layout, seq_len) with the given pass split.
CompileOptions planFor(const Layout& layout, int64_t seq_len,
                       PassSplit split = PassSplit::kSingle) {
  CompileOptions plan;
  plan.layout = layout;
  plan.seq_len = seq_len;
  plan.pass_split = split;
  return plan;
}

// A length whose maps would not fit in memory is refused by name (2^29 died in bad_alloc).
TEST(Viz, RefusesLengthsPastItsBound) {
  const int64_t S = kMaxVizSeqLen + 1;
  permjit::testing::expectError(
      [&] { writePatternPng(causal(), planFor(Layout(), S), "/nonexistent/never.png"); },
      ErrorCategory::kInvalidArgument, {"seq_len: 16777217; allowed: at most 16777216"});
}

TEST(Viz, PlannedOrderGathersGridLinesIntoBands) {
  std::vector<PassOrder> passes = plannedOrder(kGrid, planFor(kLayout, kS));
  ASSERT_EQ(passes.size(), 1u);
  const PassOrder& order = passes[0];
  for (const auto* axis : {&order.rows, &order.cols}) {
    std::vector<int64_t> sorted = *axis;
    std::sort(sorted.begin(), sorted.end());
    for (int64_t i = 0; i < kS; ++i) ASSERT_EQ(sorted[i], i);  // a permutation
  }
  // The vertical line's keys (vision, residue 5) are one contiguous run of columns.
  std::vector<int64_t> where;
  for (int64_t j = 0; j < kS; ++j) {
    int64_t x = order.cols[j];
    if (x >= 16 && x < kS - 16 && (x - 16) % 7 == 5) where.push_back(j);
  }
  ASSERT_FALSE(where.empty());
  EXPECT_EQ(where.back() - where.front() + 1, static_cast<int64_t>(where.size()));
  EXPECT_NE(order.description.find("residue classes of stride 7 over vision"), std::string::npos)
      << order.description;
}

TEST(Viz, WritesAValidPngWithTheSameKeptSetInBothPanels) {
  const std::string path = tempPath("grid.png");
  VizResult r = writePatternPng(kGrid, planFor(kLayout, kS), path);
  const int zoom = 512 / kS, panel = kS * zoom, band = 6, gap = 16;
  EXPECT_EQ(r.cell, 1);
  EXPECT_EQ(r.width, 2 * (band + panel) + gap);
  EXPECT_EQ(r.height, band + panel);
  Png png = readPng(path);
  EXPECT_EQ(png.width, r.width);
  EXPECT_EQ(png.height, r.height);
  std::vector<uint8_t> mask = keptMask(kGrid, kLayout, kS);
  const int64_t kept = std::count(mask.begin(), mask.end(), 1);
  EXPECT_EQ(blackPixels(png, band, band, panel), kept * zoom * zoom);
  EXPECT_EQ(blackPixels(png, 2 * band + panel + gap, band, panel), kept * zoom * zoom);
  // Bands: the first row is text (blue), row 100 is vision (orange).
  EXPECT_EQ(png.at(0, band)[2], 185);
  EXPECT_EQ(png.at(0, band + 100 * zoom)[0], 230);
  fs::remove(path);
}

TEST(Viz, DownsamplesLongSequencesExactlyOrBySampling) {
  const int64_t S = 2000;
  const Layout layout = Layout::textVisionText(S, 40, 40);
  const Pattern p = grid_head({14, 0, 3, SpanRef::modality(Modality::kVision), 16, 32, 40});
  for (int64_t exact_limit : {int64_t{8192}, int64_t{100}}) {
    VizOptions options;
    options.max_panel_pixels = 100;
    options.exact_limit = exact_limit;
    const std::string path = tempPath("long.png");
    VizResult r = writePatternPng(p, planFor(layout, S), path, options);
    EXPECT_EQ(r.cell, 20);
    Png png = readPng(path);
    EXPECT_EQ(png.width, 2 * (6 + 100) + 16);
    EXPECT_EQ(png.height, 6 + 100);
    // The diagonal cells are partly kept (grey), the top-right corner is empty (white).
    EXPECT_LT(png.at(6 + 50, 6 + 50)[0], 255);
    EXPECT_EQ(png.at(6 + 99, 6)[0], 255);
    fs::remove(path);
  }
}

// A split plan (line-free terms, then the grid lines over their residue order): one panel per
// pass, each with the pairs that pass computes; disjoint, together the pattern.
TEST(Viz, SplitPlanDrawsOnePanelPerPassWithItsOwnPairs) {
  const std::string path = tempPath("split.png");
  VizResult r = writePatternPng(kGrid, planFor(kLayout, kS, PassSplit::kSplitLines), path);
  ASSERT_EQ(r.passes.size(), 2u);
  const int zoom = 512 / kS, panel = kS * zoom, band = 6, gap = 16;
  EXPECT_EQ(r.width, 3 * (band + panel) + 2 * gap);
  EXPECT_NE(r.passes[0].find("pass 1 of 2: rows: original order; cols: original order"),
            std::string::npos)
      << r.passes[0];
  EXPECT_NE(r.passes[1].find("pass 2 of 2 (merged through the LSE"), std::string::npos)
      << r.passes[1];
  EXPECT_NE(r.passes[1].find("residue classes of stride 7 over vision"), std::string::npos)
      << r.passes[1];
  Png png = readPng(path);
  std::vector<uint8_t> mask = keptMask(kGrid, kLayout, kS);
  const int64_t kept = std::count(mask.begin(), mask.end(), 1);
  EXPECT_EQ(blackPixels(png, band, band, panel), kept * zoom * zoom);
  const int64_t first = blackPixels(png, 2 * band + panel + gap, band, panel);
  const int64_t second = blackPixels(png, 3 * band + 2 * (panel + gap), band, panel);
  EXPECT_GT(first, 0);
  EXPECT_GT(second, 0);
  EXPECT_EQ(first + second, kept * zoom * zoom);
  fs::remove(path);
}

TEST(Viz, RejectsDynamicPatternsNamingTheAtom) {
  const std::string path = tempPath("x.png");
  expectError([&] { writePatternPng(vertical_slash_head(4, 4, 8), planFor(Layout(), 64), path); },
              ErrorCategory::kUnsupported, {"vertical_slash", "without the vertical_slash term"});
  const Pattern estimated = causal() & (sink(4) | local(8) | grid_estimated({7, 14}));
  try {
    writePatternPng(estimated, planFor(kLayout, kS), path);
    ADD_FAILURE() << "grid_estimated drawn";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.category(), ErrorCategory::kUnsupported);
    EXPECT_NE(what.find("grid_estimated (candidate strides 7, 14)"), std::string::npos) << what;
    EXPECT_NE(what.find("draw a static grid instead"), std::string::npos) << what;
    EXPECT_EQ(what.find("vertical_slash"), std::string::npos) << what;
  }
}

TEST(Viz, RejectsBadOptionsAndUnwritablePaths) {
  VizOptions tiny;
  tiny.max_panel_pixels = 4;
  expectError([&] { writePatternPng(dense(), planFor(Layout(), 64), tempPath("x.png"), tiny); },
              ErrorCategory::kInvalidArgument, {"max_panel_pixels", "[16, 8192]"});
  expectError([] { writePatternPng(dense(), planFor(Layout(), 64), "/nonexistent/dir/x.png"); },
              ErrorCategory::kIo, {"/nonexistent/dir/x.png"});
  expectError([] { writePatternPng(kGrid, planFor(kLayout, 8), tempPath("x.png")); },
              ErrorCategory::kInvalidPattern, {});
}

}  // namespace
}  // namespace permjit::patterns
