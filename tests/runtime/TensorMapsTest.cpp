// The sm90a family's TMA tensor maps (runtime/lib/TensorMaps.cpp): which row steps a pass's
// tables get maps for, and (on a GPU's driver) that maps are encoded for ordinary layouts and
// left absent, for the cp.async path, where TMA cannot address a tensor.
#include <gtest/gtest.h>

#include <cstring>

#include "RequireGpu.h"
#include "permjit/runtime/TensorMaps.h"

namespace permjit::runtime {
namespace {

sem::Segment segment(int kind, int begin, int end, int stride) {
  sem::Segment s{};
  s.kind = kind;
  s.begin = begin;
  s.end = end;
  s.stride = stride;
  return s;
}

// The grid head's permuted column space: text, a vision span in residue classes of 14, text.
sem::SegmentTable gridTable(int seq_len, int tile) {
  sem::SegmentTable t{};
  t.tile = tile;
  t.count = 3;
  t.seg[0] = segment(sem::kIdentity, 0, 812, 1);
  t.seg[1] = segment(sem::kResidue, 812, seq_len - 60, 14);
  t.seg[2] = segment(sem::kIdentity, seq_len - 60, seq_len, 1);
  return t;
}

sem::SegmentTable identityTable(int seq_len, int tile) {
  sem::SegmentTable t{};
  t.tile = tile;
  t.count = 1;
  t.seg[0] = segment(sem::kIdentity, 0, seq_len, 1);
  return t;
}

TEST(TensorMaps, StepsOfATableCoverTheMostPositionsFirst) {
  int steps[kTmaSteps];
  tableSteps(gridTable(32768, 64), steps);
  EXPECT_EQ(steps[0], 14);  // 31896 positions in residue classes
  EXPECT_EQ(steps[1], 1);   // 872 in identity segments
  tableSteps(identityTable(1000, 64), steps);
  EXPECT_EQ(steps[0], 1);
  EXPECT_EQ(steps[1], 0);  // absent
}

class TensorMapsGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    PERMJIT_REQUIRE_GPU();
    driver_ = Driver::open();
    driver_->check(driver_->cuCtxSetCurrent(driver_->primaryContext(0)), "cuCtxSetCurrent");
    driver_->check(driver_->cuMemAlloc_v2(&memory_, kBytes), "cuMemAlloc");
  }
  void TearDown() override {
    if (memory_ != 0) driver_->cuMemFree_v2(memory_);
  }

  // BSHD [2, 4096, heads, 128] Q and [2, 4096, 2, 128] K, V, all in one allocation.
  AttentionArgs args(long long q_seq_stride) const {
    AttentionArgs a;
    std::memset(&a, 0, sizeof a);
    a.batch = 2;
    a.heads = 4;
    a.kv_heads = 2;
    a.seq_len = 4096;
    a.q = reinterpret_cast<const void*>(memory_);
    a.k = reinterpret_cast<const void*>(memory_ + kBytes / 2);
    a.v = reinterpret_cast<const void*>(memory_ + kBytes / 2 + kBytes / 4);
    const long long q[3] = {4096 * q_seq_stride, q_seq_stride, 128};
    const long long kv[3] = {4096 * 2 * 128, 2 * 128, 128};
    std::memcpy(a.q_stride, q, sizeof q);
    std::memcpy(a.k_stride, kv, sizeof kv);
    std::memcpy(a.v_stride, kv, sizeof kv);
    a.rows = identityTable(4096, 128);
    a.cols = gridTable(4096, 64);
    return a;
  }

  static constexpr size_t kBytes = size_t{64} << 20;
  std::shared_ptr<Driver> driver_;
  CUdeviceptr memory_ = 0;
};

TEST_F(TensorMapsGpu, EncodesAMapPerStepOfEachTable) {
  const TmaArgs tma = encodeTmaArgs(*driver_, args(4 * 128), DType::kBF16, 128, 128, 64);
  EXPECT_EQ(tma.q_step[0], 1);
  EXPECT_EQ(tma.q_extent[0], 4096);
  EXPECT_EQ(tma.q_step[1], 0);
  EXPECT_EQ(tma.kv_step[0], 14);
  EXPECT_EQ(tma.kv_extent[0], 4096 / 14);
  EXPECT_EQ(tma.kv_step[1], 1);
  EXPECT_EQ(tma.kv_extent[1], 4096);
}

TEST_F(TensorMapsGpu, LeavesOutATensorWhoseRowsTmaCannotAddress) {
  // A row stride of 513 elements (1026 bytes) is no multiple of 16 bytes: Q has no map (its
  // tiles load with cp.async), K and V keep theirs.
  const TmaArgs tma = encodeTmaArgs(*driver_, args(4 * 128 + 1), DType::kFP16, 128, 128, 64);
  EXPECT_EQ(tma.q_step[0], 0);
  EXPECT_EQ(tma.q_extent[0], 0);
  EXPECT_EQ(tma.kv_step[0], 14);
}

}  // namespace
}  // namespace permjit::runtime
