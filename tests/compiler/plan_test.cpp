// Segment tables: every permuted index space is a bijection onto [0, S) (plus padding), and
// tile_bounds agrees with map_index on every tile.
#include "permjit/compiler/Plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "permjit/dsl/Error.h"

namespace permjit {
namespace {

Layout randomLayout(std::mt19937& rng, int64_t seq_len) {
  std::vector<Span> spans;
  int64_t pos = std::uniform_int_distribution<int64_t>(0, seq_len / 8)(rng);
  int kinds = 0;
  while (pos < seq_len) {
    int64_t len = std::uniform_int_distribution<int64_t>(1, std::max<int64_t>(1, seq_len / 4))(rng);
    int64_t end = std::min(seq_len, pos + len);
    Modality kind = (kinds++ % 2) ? Modality::kText : Modality::kVision;
    spans.push_back(Span{kind, pos, end, std::nullopt});
    pos = end + std::uniform_int_distribution<int64_t>(0, 3)(rng);  // gaps are `other`
  }
  return Layout(spans);
}

void checkBijection(const sem::SegmentTable& tab, const Layout& layout, int64_t seq_len) {
  ASSERT_EQ(tab.total % tab.tile, 0);
  std::vector<int> seen(seq_len, 0);
  for (int p = 0; p < tab.total; ++p) {
    sem::Coord c = sem::map_index(tab, p);
    if (c.pos < 0) continue;
    ASSERT_LT(c.pos, seq_len);
    ++seen[c.pos];
    EXPECT_EQ(c.modality, static_cast<int>(layout.modalityAt(c.pos, seq_len))) << c.pos;
    EXPECT_EQ(c.local, layout.localRank(c.pos, seq_len)) << c.pos;
  }
  for (int64_t x = 0; x < seq_len; ++x) ASSERT_EQ(seen[x], 1) << "position " << x;
  for (int t = 0; t < tab.total / tab.tile; ++t) {
    sem::Bounds b = sem::tile_bounds(tab, t);
    std::vector<sem::Coord> valid;
    for (int p = t * tab.tile; p < (t + 1) * tab.tile; ++p) {
      sem::Coord c = sem::map_index(tab, p);
      if (c.pos >= 0) valid.push_back(c);
    }
    ASSERT_EQ(b.count, static_cast<int>(valid.size())) << "tile " << t;
    for (size_t i = 0; i < valid.size(); ++i) {
      EXPECT_EQ(valid[i].pos, b.lo + static_cast<int>(i) * b.step);
      EXPECT_EQ(valid[i].local, b.llo + static_cast<int>(i) * b.step);
      EXPECT_EQ(valid[i].modality, b.modality);
    }
    if (b.count > 0) {
      EXPECT_EQ(b.hi, valid.back().pos);
      EXPECT_EQ(b.lhi, valid.back().local);
    }
    // A warp's rows of the tile: positions first .. first + n - 1 of the valid ones.
    for (int first : {0, 3, tab.tile / 2, tab.tile - 1}) {
      const int n = 5;
      sem::Bounds w = sem::sub_bounds(b, first, n);
      const int want = std::clamp(static_cast<int>(valid.size()) - first, 0, n);
      ASSERT_EQ(w.count, want) << "tile " << t << " first " << first;
      if (want == 0) continue;
      EXPECT_EQ(w.lo, valid[first].pos);
      EXPECT_EQ(w.llo, valid[first].local);
      EXPECT_EQ(w.hi, valid[first + want - 1].pos);
      EXPECT_EQ(w.lhi, valid[first + want - 1].local);
      EXPECT_EQ(w.step, b.step);
    }
  }
}

TEST(SegmentTable, BijectionForEveryRecipeKind) {
  std::mt19937 rng(12345);
  // params: 0 stride, 1 range begin, 2 range end
  for (int iter = 0; iter < 200; ++iter) {
    int64_t seq_len = std::uniform_int_distribution<int64_t>(1, 400)(rng);
    Layout layout = randomLayout(rng, seq_len);
    int stride = std::uniform_int_distribution<int>(1, 20)(rng);
    int b = std::uniform_int_distribution<int>(0, static_cast<int>(seq_len))(rng);
    int e = std::uniform_int_distribution<int>(b, static_cast<int>(seq_len) + 5)(rng);
    std::vector<int> params = {stride, b, e};
    std::vector<MapRecipe> recipes(5);
    recipes[1].modality_order = {1, 0, 2};
    recipes[2].residue_stride_slot = 0;
    recipes[2].residue_modality = sem::kVision;
    recipes[3].residue_stride_slot = 0;
    recipes[3].residue_begin_slot = 1;
    recipes[3].residue_end_slot = 2;
    recipes[4] = recipes[2];
    recipes[4].modality_order = {0, 1, 2};
    for (int tile : {16, 32, 64}) {
      for (const MapRecipe& r : recipes) {
        SCOPED_TRACE(testing::Message()
                     << "iter " << iter << " S " << seq_len << " layout " << layout.str()
                     << " stride " << stride << " tile " << tile);
        sem::SegmentTable tab;
        try {
          tab = buildSegmentTable(r, params, layout, seq_len, tile);
        } catch (const Error& err) {
          EXPECT_EQ(err.category(), ErrorCategory::kUnsupported) << err.what();
          continue;
        }
        checkBijection(tab, layout, seq_len);
        if (HasFatalFailure()) return;
      }
    }
  }
}

TEST(SegmentTable, GatherOrdersByModality) {
  Layout layout({Span{Modality::kText, 0, 10, std::nullopt},
                 Span{Modality::kVision, 10, 20, std::nullopt},
                 Span{Modality::kText, 20, 30, std::nullopt}});
  MapRecipe r;
  r.modality_order = {sem::kVision, sem::kText, sem::kOther};
  sem::SegmentTable tab = buildSegmentTable(r, {}, layout, 30, 16);
  ASSERT_EQ(tab.count, 3);
  EXPECT_EQ(tab.seg[0].modality, sem::kVision);
  EXPECT_EQ(tab.seg[1].begin, 0);
  EXPECT_EQ(tab.seg[2].begin, 20);
  EXPECT_EQ(tab.seg[2].local_begin, 10);
  EXPECT_EQ(tab.total, 48);
}

TEST(SegmentTable, ResidueClassesAreContiguous) {
  Layout layout({Span{Modality::kVision, 0, 30, std::nullopt}});
  MapRecipe r;
  r.residue_stride_slot = 0;
  r.residue_modality = sem::kVision;
  sem::SegmentTable tab = buildSegmentTable(r, {3}, layout, 30, 4);
  // 3 classes of 10 positions, each padded to 12: class 1 starts at permuted index 12.
  EXPECT_EQ(tab.total, 36);
  EXPECT_EQ(sem::map_index(tab, 12).pos, 1);
  EXPECT_EQ(sem::map_index(tab, 13).pos, 4);
  EXPECT_EQ(sem::map_index(tab, 10).pos, -1);
}

TEST(SegmentTable, TooManySegmentsNamesTheLimit) {
  std::vector<Span> spans;
  for (int i = 0; i < 40; ++i) {
    spans.push_back(
        Span{i % 2 ? Modality::kText : Modality::kVision, i * 2, i * 2 + 1, std::nullopt});
  }
  Layout layout(spans);
  try {
    buildSegmentTable(MapRecipe{}, {}, layout, 100, 64);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kUnsupported);
    EXPECT_NE(std::string(e.what()).find("kMaxSegments"), std::string::npos) << e.what();
  }
}

TEST(SegmentTable, BadStrideIsAnError) {
  MapRecipe r;
  r.residue_stride_slot = 0;
  r.residue_modality = sem::kVision;
  EXPECT_THROW(buildSegmentTable(r, {0}, Layout(), 10, 16), Error);
  EXPECT_THROW(buildSegmentTable(r, {}, Layout(), 10, 16), Error);
}

}  // namespace
}  // namespace permjit
