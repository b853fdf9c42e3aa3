// The column-bit forms of the atoms (sem::diag_bits, krange_bits, kmod_bits, span_bits, and the
// estimated diagonals' slash_bits) against their per-element predicates, on every
// lane of random tiles: positions lo + col * step of every step the segment tables make (1, a grid
// stride, others), counts that are not multiples of 8, both fragment counts (block_n 64 and 128),
// and parameters up to the unbounded kPosInf.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "HostDynamicSets.h"
#include "permjit/compiler/TileSemantics.h"

namespace permjit::sem {
namespace {

// The word the per-element predicate gives: bit j for column col(j) when keep(col).
template <class Keep>
unsigned elementBits(int lane, int n8, int count, Keep keep) {
  unsigned bits = 0;
  for (int j = 0; j < 2 * n8; ++j) {
    const int col = (j >> 1) * 8 + (lane & 3) * 2 + (j & 1);
    if (col < count && keep(col)) bits |= 1u << j;
  }
  return bits;
}

struct Tile {
  int lo, step, count, n8;
};

class ColumnBitsTest : public ::testing::Test {
 protected:
  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  Tile tile() {
    Tile t;
    const int steps[] = {1, 1, 2, 3, 7, 14, 16};
    t.step = steps[uniform(0, 6)];
    t.n8 = uniform(0, 1) ? 16 : 8;
    t.count = uniform(0, 3) == 0 ? uniform(0, 8 * t.n8) : 8 * t.n8;
    t.lo = uniform(0, 5000);
    return t;
  }
  // A bound near the tile's positions, or far away, or unbounded.
  int bound(int around) {
    switch (uniform(0, 5)) {
      case 0:
        return kPosInf;
      case 1:
        return -uniform(0, 1 << 20);
      case 2:
        return uniform(0, 1 << 20);
      default:
        return around + uniform(-300, 300);
    }
  }
  std::mt19937 rng_{20261201};
};

TEST_F(ColumnBitsTest, DiagonalIsAnIntervalOfColumns) {
  for (int trial = 0; trial < 20000; ++trial) {
    const Tile t = tile();
    const int q = t.lo + uniform(-400, 2400);
    const int lo = uniform(0, 1) ? 0 : bound(q - t.lo), hi = bound(q - t.lo);
    for (int lane = 0; lane < 4; ++lane) {
      const ColumnLanes c = column_lanes(lane, t.n8, t.count);
      const unsigned want = elementBits(
          lane, t.n8, t.count, [&](int col) { return diag_keep(q, t.lo + col * t.step, lo, hi); });
      ASSERT_EQ(diag_bits(c, q, t.lo, t.step, lo, hi) & valid_bits(c), want)
          << "q " << q << " lo " << t.lo << " step " << t.step << " count " << t.count << " n8 "
          << t.n8 << " diag [" << lo << ", " << hi << ") lane " << lane;
    }
  }
}

TEST_F(ColumnBitsTest, KeyRangeIsAnIntervalOfColumns) {
  for (int trial = 0; trial < 20000; ++trial) {
    const Tile t = tile();
    const int b = uniform(0, 2) == 0 ? 0 : bound(t.lo), e = bound(t.lo + 600);
    for (int lane = 0; lane < 4; ++lane) {
      const ColumnLanes c = column_lanes(lane, t.n8, t.count);
      const unsigned want = elementBits(
          lane, t.n8, t.count, [&](int col) { return range_keep(t.lo + col * t.step, b, e); });
      ASSERT_EQ(krange_bits(c, t.lo, t.step, b, e) & valid_bits(c), want)
          << "lo " << t.lo << " step " << t.step << " count " << t.count << " range [" << b << ", "
          << e << ")";
    }
  }
}

TEST_F(ColumnBitsTest, KeyResidueOnEveryStep) {
  for (int trial = 0; trial < 20000; ++trial) {
    const Tile t = tile();
    const int stride = uniform(1, 40), base = uniform(-50, 3000);
    // Out-of-range phases keep nothing, like mod_keep.
    const int phase = uniform(0, 9) == 0 ? stride + uniform(0, 3) : uniform(0, stride - 1);
    for (int lane = 0; lane < 4; ++lane) {
      const ColumnLanes c = column_lanes(lane, t.n8, t.count);
      const unsigned want = elementBits(lane, t.n8, t.count, [&](int col) {
        return mod_keep(t.lo + col * t.step, base, stride, phase);
      });
      ASSERT_EQ(kmod_bits(c, t.lo, t.step, base, stride, phase) & valid_bits(c), want)
          << "lo " << t.lo << " step " << t.step << " count " << t.count << " base " << base
          << " stride " << stride << " phase " << phase;
    }
  }
}

TEST_F(ColumnBitsTest, SpansAndValidBits) {
  for (int n8 : {1, 2, 8, 16}) {
    for (int count = 0; count <= 8 * n8; ++count) {
      for (int lane = 0; lane < 4; ++lane) {
        const ColumnLanes c = column_lanes(lane, n8, count);
        EXPECT_EQ(valid_bits(c), elementBits(lane, n8, count, [](int) { return true; }));
        for (int a = -2; a <= 8 * n8 + 2; a += 3) {
          for (int b = a; b <= 8 * n8 + 4; b += 5) {
            EXPECT_EQ(span_bits(c, a, b),
                      elementBits(lane, n8, count, [&](int col) { return col >= a && col < b; }))
                << "n8 " << n8 << " count " << count << " lane " << lane << " [" << a << ", " << b
                << ")";
          }
        }
      }
    }
  }
}

// Random sets of every density (empty, sparse, runs, nearly full) on a sequence whose length is
// not a multiple of 32; tiles that reach past both ends (negative offsets, positions >= size).
TEST_F(ColumnBitsTest, EstimatedSetsFromTheBitmaps) {
  for (int trial = 0; trial < 400; ++trial) {
    const int size = uniform(1, 3000);
    const double density = std::vector<double>{0.0, 0.01, 0.3, 0.97, 1.0}[uniform(0, 4)];
    std::vector<int64_t> chosen[2];
    for (int set = 0; set < 2; ++set) {
      int x = 0;
      while (x < size) {
        // Runs of one verdict, as the estimator's diagonals near the main one come.
        const int run = uniform(1, 40);
        const bool keep = std::bernoulli_distribution(density)(rng_);
        for (int i = 0; i < run && x < size; ++i, ++x) {
          if (keep) chosen[set].push_back(x);
        }
      }
    }
    testing_detail::HostDynamicSets sets(chosen[0], chosen[1], size);
    const DynamicSets& d = sets.view;
    for (int x = -40; x < size + 40; ++x) {
      const bool want =
          x >= 0 && x < size && std::binary_search(chosen[1].begin(), chosen[1].end(), int64_t(x));
      ASSERT_EQ(set_keep(d, kSlashSet, x), want) << "x " << x;
    }
    for (int tiles = 0; tiles < 50; ++tiles) {
      Tile t = tile();
      t.lo = uniform(-200, size + 50);
      t.n8 = std::vector<int>{4, 8, 16}[uniform(0, 2)];  // block_n 32, 64, 128
      t.count = std::min(t.count, 8 * t.n8);
      const int q = t.lo + uniform(-300, 2 * size);
      for (int lane = 0; lane < 4; ++lane) {
        const ColumnLanes c = column_lanes(lane, t.n8, t.count);
        const unsigned want_s = elementBits(lane, t.n8, t.count, [&](int col) {
          return set_keep(d, kSlashSet, q - (t.lo + col * t.step));
        });
        ASSERT_EQ(slash_bits(c, d, q, t.lo, t.step) & valid_bits(c), want_s)
            << "size " << size << " q " << q << " lo " << t.lo << " step " << t.step << " count "
            << t.count << " n8 " << t.n8 << " lane " << lane;
      }
    }
  }
}

}  // namespace
}  // namespace permjit::sem
