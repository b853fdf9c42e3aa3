// Tile shapes and tile loads shared by every kernel that stages [rows][head_dim] tiles of Q, K
// or V in shared memory: the attention mainloop and the online estimators. Rows are XOR-swizzled
// in 16-byte chunks (chunk ^ (row & 7)), so ldmatrix and cp.async are bank-conflict free
// without padding. Freestanding for NVRTC: builtins, inline PTX (pj_sm80.cuh) and the shared
// tile semantics only.
#pragma once

#include "pj_sm80.cuh"

namespace permjit {
namespace dev {

// Byte offset of 16-byte chunk `chunk` of row `row` in a swizzled [rows][HeadDim] tile.
template <int HeadDim>
__device__ __forceinline__ unsigned swizzle(int row, int chunk) {
  return static_cast<unsigned>((row * (HeadDim / 8) + (chunk ^ (row & 7))) * 16);
}

// One CTA's tile shape: BlockM query rows, BlockN keys per step, Warps warps, a Stages-deep
// K/V ring.
template <class DTypeT, int HeadDim, int BlockM, int BlockN, int Warps, int Stages>
struct AttentionConfig {
  using DType = DTypeT;
  static constexpr int kHeadDim = HeadDim;
  static constexpr int kBlockM = BlockM;
  static constexpr int kBlockN = BlockN;
  static constexpr int kWarps = Warps;
  static constexpr int kStages = Stages;
  static constexpr int kThreads = Warps * 32;
  static constexpr int kWarpRows = BlockM / Warps;  // query rows per warp
  static constexpr int kMT = kWarpRows / 16;        // m16 fragments per warp
  static constexpr int kNT = BlockN / 8;            // n8 fragments of S per row group
  static constexpr int kDT = HeadDim / 8;           // n8 fragments of O per row group
  static constexpr int kChunks = HeadDim / 8;       // 16-byte chunks per row
  static constexpr int kQBytes = BlockM * HeadDim * 2;
  static constexpr int kKVBytes = BlockN * HeadDim * 2;
  static constexpr int kSmemBytes = kQBytes + 2 * Stages * kKVBytes;
  // Where the epilogue stages chunk `chunk` of output row `row`: the Q tile's own layout, so a
  // warp writes only the Q rows it alone read.
  __device__ static unsigned staged_offset(int row, int chunk) {
    return swizzle<HeadDim>(row, chunk);
  }

  static_assert(HeadDim == 64 || HeadDim == 128, "head_dim: allowed 64, 128");
  static_assert(BlockM % Warps == 0 && (kWarpRows == 16 || kWarpRows == 32),
                "block_m / warps: allowed 16, 32");
  static_assert(BlockN % 16 == 0 && BlockN <= 128, "block_n: a multiple of 16 up to 128");
  static_assert(Stages >= 2 && Stages <= 4, "stages: allowed 2..4");
  static_assert((BlockM * kChunks) % kThreads == 0 && (BlockN * kChunks) % kThreads == 0 &&
                    kThreads % kChunks == 0,
                "tile loads must divide evenly among the threads");
};

// cp.async Rows rows of a tile into shared memory. Row r of the tile is original position
// lo + r * step when r < count; padding rows are zero-filled without touching global memory.
template <class Cfg, int Rows>
__device__ __forceinline__ void load_tile(unsigned smem, const char* base, long long row_bytes,
                                          int lo, int step, int count, int tid) {
  constexpr int kRowsPerPass = Cfg::kThreads / Cfg::kChunks;
  const int chunk = tid % Cfg::kChunks;
#pragma unroll
  for (int i = 0; i < Rows / kRowsPerPass; ++i) {
    const int row = tid / Cfg::kChunks + i * kRowsPerPass;
    const bool valid = row < count;
    const char* src =
        base + (valid ? static_cast<long long>(lo + row * step) * row_bytes : 0) + chunk * 16;
    cp_async_16(smem + swizzle<Cfg::kHeadDim>(row, chunk), src, valid ? 16 : 0);
  }
}

// cp.async Rows rows gathered through an index list: row r of the tile is position idx[r]
// when r < count (the estimated vertical columns of a dynamic plan).
template <class Cfg, int Rows>
__device__ __forceinline__ void load_tile_gather(unsigned smem, const char* base,
                                                 long long row_bytes, const int* idx, int count,
                                                 int tid) {
  constexpr int kRowsPerPass = Cfg::kThreads / Cfg::kChunks;
  const int chunk = tid % Cfg::kChunks;
#pragma unroll
  for (int i = 0; i < Rows / kRowsPerPass; ++i) {
    const int row = tid / Cfg::kChunks + i * kRowsPerPass;
    const bool valid = row < count;
    const char* src =
        base + (valid ? static_cast<long long>(__ldg(idx + row)) * row_bytes : 0) + chunk * 16;
    cp_async_16(smem + swizzle<Cfg::kHeadDim>(row, chunk), src, valid ? 16 : 0);
  }
}

// Inclusive block-wide scan of one int per thread, for blocks of 1024 threads (the estimator's
// top-k, the key split's plan); `total` gets the sum. Uses 32 ints of shared memory at `tmp`.
__device__ __forceinline__ int block_scan(int v, int* tmp, int& total) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
  for (int off = 1; off < 32; off <<= 1) {
    const int n = __shfl_up_sync(0xffffffffu, v, off);
    if (lane >= off) v += n;
  }
  if (lane == 31) tmp[warp] = v;
  __syncthreads();
  if (warp == 0) {
    int w = tmp[lane];
#pragma unroll
    for (int off = 1; off < 32; off <<= 1) {
      const int n = __shfl_up_sync(0xffffffffu, w, off);
      if (lane >= off) w += n;
    }
    tmp[lane] = w;
  }
  __syncthreads();
  total = tmp[31];
  const int before = warp > 0 ? tmp[warp - 1] : 0;
  __syncthreads();
  return v + before;
}

}  // namespace dev
}  // namespace permjit
