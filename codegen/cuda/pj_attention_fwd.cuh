// FlashAttention-2 style forward pass over permuted index spaces, written once for every
// pattern. A pattern contributes only a `Pattern` policy type:
//   static constexpr bool kGatherCols;  // columns: the estimated vertical columns (dynamic)
//   static bool keep(const sem::Coord& q, const sem::Coord& k, const int* params,
//                    const sem::DynamicSets& dyn);
//   static sem::Tri classify(const sem::Bounds& q, const sem::Bounds& k, const int* params,
//                            const sem::DynamicSets& dyn);
//
// One CTA owns one row tile of the permuted row space (args.rows) of one (batch, head). Each
// warp owns kWarpRows = BlockM / Warps consecutive rows (one or two m16 fragments). The CTA
// visits only the column tiles of args.cols that Pattern::classify does not call NONE, found
// with warp-wide ballots (every warp scans redundantly, so the scan needs no barrier). Rows and
// columns are gathered from and scattered to their original positions while loading/storing:
// the permutation is index arithmetic, tensors are never reordered.
//
// Per column tile: S = Q K^T with mma.sync m16n8k16 (Q and K fragments from ldmatrix.x4),
// mask (skipped for full ALL tiles), online softmax in fp32 registers with exp2 of pre-scaled
// logits, P converted in registers to A fragments (no shared-memory round trip), O += P V with
// V fragments from ldmatrix.x4.trans. K/V tiles stream through a `Stages`-deep cp.async ring.
// Shared memory rows are XOR-swizzled in 16-byte chunks (chunk ^ (row & 7)), so ldmatrix and
// cp.async are bank-conflict free without padding.
#pragma once

#include "permjit/codegen/KernelArgs.h"
#include "pj_sm80.cuh"

namespace permjit {
namespace dev {

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

  static_assert(HeadDim == 64 || HeadDim == 128, "head_dim: allowed 64, 128");
  static_assert(BlockM % Warps == 0 && (kWarpRows == 16 || kWarpRows == 32),
                "block_m / warps: allowed 16, 32");
  static_assert(BlockN % 16 == 0 && BlockN <= 256, "block_n: a multiple of 16 up to 256");
  static_assert(Stages >= 2 && Stages <= 4, "stages: allowed 2..4");
  static_assert((BlockM * kChunks) % kThreads == 0 && (BlockN * kChunks) % kThreads == 0 &&
                    kThreads % kChunks == 0,
                "tile loads must divide evenly among the threads");
};

// Byte offset of 16-byte chunk `chunk` of row `row` in a swizzled [rows][HeadDim] tile.
template <int HeadDim>
__device__ __forceinline__ unsigned swizzle(int row, int chunk) {
  return static_cast<unsigned>((row * (HeadDim / 8) + (chunk ^ (row & 7))) * 16);
}

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

// K or V rows of column tile `tile` (bounds kb) into a ring slot.
template <class Cfg, class Pattern>
__device__ __forceinline__ void load_kv_tile(unsigned smem, const char* base, long long row_bytes,
                                             int tile, const sem::Bounds& kb,
                                             const sem::DynamicSets& dyn, int tid) {
  if constexpr (Pattern::kGatherCols) {
    load_tile_gather<Cfg, Cfg::kBlockN>(smem, base, row_bytes, dyn.col_list + tile * Cfg::kBlockN,
                                        kb.count, tid);
  } else {
    load_tile<Cfg, Cfg::kBlockN>(smem, base, row_bytes, kb.lo, kb.step, kb.count, tid);
  }
}

// Bounds of column tile t: of the permuted column space, or of the gathered columns.
template <class Pattern, int BlockN>
__device__ __forceinline__ sem::Bounds column_bounds(const sem::SegmentTable& cols,
                                                     const sem::DynamicSets& dyn, int t) {
  if constexpr (Pattern::kGatherCols) {
    return sem::gathered_bounds(dyn, t, BlockN);
  } else {
    return sem::tile_bounds(cols, t);
  }
}

// Walks the visited (non-NONE) column tiles of one row tile in order. Lane i classifies tile
// base + i; one ballot yields the next 32 tiles' verdicts, and all set bits are consumed before
// the next ballot. The popped tile's Bounds come from its classifying lane by shuffle.
template <class Pattern, int BlockN>
struct TileScanner {
  int base = 0;
  unsigned pending = 0;
  unsigned full_bits = 0;
  sem::Bounds mine;  // bounds of tile base - 32 + lane

  __device__ __forceinline__ bool next(const sem::SegmentTable& cols, const sem::DynamicSets& dyn,
                                       const sem::Bounds& qb, const int* params, int lane,
                                       int& tile, sem::Bounds& kb, bool& full) {
    const int tiles =
        Pattern::kGatherCols ? (dyn.col_count + BlockN - 1) / BlockN : cols.total / BlockN;
    while (pending == 0) {
      if (base >= tiles) return false;
      const int t = base + lane;
      bool visit = false, all = false;
      if (t < tiles) {
        mine = column_bounds<Pattern, BlockN>(cols, dyn, t);
        if (mine.count > 0) {
          const sem::Tri c = Pattern::classify(qb, mine, params, dyn);
          visit = c != sem::kNone;
          all = c == sem::kAll && mine.count == BlockN;
        }
      }
      pending = __ballot_sync(0xffffffffu, visit);
      full_bits = __ballot_sync(0xffffffffu, all);
      base += 32;
    }
    const int bit = __ffs(pending) - 1;
    pending &= pending - 1;
    tile = base - 32 + bit;
    full = (full_bits >> bit) & 1u;
    kb.lo = __shfl_sync(0xffffffffu, mine.lo, bit);
    kb.step = __shfl_sync(0xffffffffu, mine.step, bit);
    kb.count = __shfl_sync(0xffffffffu, mine.count, bit);
    kb.llo = __shfl_sync(0xffffffffu, mine.llo, bit);
    kb.modality = __shfl_sync(0xffffffffu, mine.modality, bit);
    kb.hi = __shfl_sync(0xffffffffu, mine.hi, bit);
    kb.lhi = __shfl_sync(0xffffffffu, mine.lhi, bit);
    return true;
  }
};

// `params` is args.params, or a copy with the estimated grid's phases (below).
template <class Cfg, class Pattern>
__device__ __forceinline__ void attention_forward(const AttentionArgs& args, const int* params) {
  using T = typename Cfg::DType;
  constexpr int D = Cfg::kHeadDim, kMT = Cfg::kMT, kNT = Cfg::kNT, kDT = Cfg::kDT;
  constexpr int kStages = Cfg::kStages;
  extern __shared__ __align__(128) unsigned char smem[];

  // Heavy-first: blockIdx.x (fastest dispatch) runs over (batch, head), blockIdx.y over row
  // tiles from the last one (most keys under causal-like patterns) to the first.
  const int row_tile = gridDim.y - 1 - blockIdx.y;
  const int b = blockIdx.x / args.heads, h = blockIdx.x % args.heads;
  const sem::Bounds qb = sem::tile_bounds(args.rows, row_tile);
  if (qb.count == 0) return;  // an all-padding row tile owns no output rows

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int kvh = h / (args.heads / args.kv_heads);
  const char* q_base = static_cast<const char*>(args.q) +
                       2 * (b * args.q_stride[kStrideBatch] + h * args.q_stride[kStrideHead]);
  const char* k_base = static_cast<const char*>(args.k) +
                       2 * (b * args.k_stride[kStrideBatch] + kvh * args.k_stride[kStrideHead]);
  const char* v_base = static_cast<const char*>(args.v) +
                       2 * (b * args.v_stride[kStrideBatch] + kvh * args.v_stride[kStrideHead]);
  const long long q_row = 2 * args.q_stride[kStrideSeq];
  const long long k_row = 2 * args.k_stride[kStrideSeq];
  const long long v_row = 2 * args.v_stride[kStrideSeq];

  // The estimator's sets of this (batch, head); unused (null) by static patterns.
  sem::DynamicSets dyn;
  {
    const unsigned char* ws = args.workspace + blockIdx.x * args.ws_head_bytes;
    dyn.flag[sem::kVerticalSet] = ws + args.ws_col_flag;
    dyn.flag[sem::kSlashSet] = ws + args.ws_diag_flag;
    dyn.prefix[sem::kVerticalSet] = reinterpret_cast<const int*>(ws + args.ws_col_prefix);
    dyn.prefix[sem::kSlashSet] = reinterpret_cast<const int*>(ws + args.ws_diag_prefix);
    dyn.col_list = reinterpret_cast<const int*>(ws + args.ws_col_list);
    dyn.col_count = args.col_count;
    dyn.size = args.seq_len;
  }

  const unsigned s_q = smem_addr(smem);
  const unsigned s_k = s_q + Cfg::kQBytes;
  const unsigned s_v = s_k + kStages * Cfg::kKVBytes;

  // Prologue: Q joins the first cp.async group; the first Stages-1 visited K/V tiles follow.
  load_tile<Cfg, Cfg::kBlockM>(s_q, q_base, q_row, qb.lo, qb.step, qb.count, tid);
  // One scanner runs kStages - 1 tiles ahead of the compute loop; the loop learns its tiles
  // from a small ring of (tile index << 1 | full), -1 once the scan is exhausted.
  TileScanner<Pattern, Cfg::kBlockN> scanner;
  int ahead[kStages - 1];
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    int tile;
    sem::Bounds kb;
    bool full;
    ahead[s] = -1;
    if (scanner.next(args.cols, dyn, qb, params, lane, tile, kb, full)) {
      ahead[s] = tile << 1 | static_cast<int>(full);
      load_kv_tile<Cfg, Pattern>(s_k + s * Cfg::kKVBytes, k_base, k_row, tile, kb, dyn, tid);
      load_kv_tile<Cfg, Pattern>(s_v + s * Cfg::kKVBytes, v_base, v_row, tile, kb, dyn, tid);
    }
    cp_async_commit();
  }

  // This thread's query rows: mt * 16 + lane / 4 + 8 * half within the warp's rows.
  const int warp_row0 = warp * Cfg::kWarpRows;
  sem::Coord qc[kMT][2];
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int r = warp_row0 + mt * 16 + (lane >> 2) + 8 * half;
      qc[mt][half].pos = r < qb.count ? qb.lo + r * qb.step : -1;
      qc[mt][half].local = qb.llo + r * qb.step;
      qc[mt][half].modality = qb.modality;
    }
  }

  // Per-lane ldmatrix addresses. A fragment's 16-byte chunk is 2 * step + c (c in {0, 1}), so
  // its swizzled chunk (2 * step + c) ^ (row & 7) equals ((c ^ (row & 7)) ^ 2 * step): one
  // lane-invariant byte offset XORed with a compile-time constant. Row steps of 16 keep row & 7.
  constexpr int kRowBytes = D * 2;
  const unsigned q_frag = s_q + (warp_row0 + (lane & 15)) * kRowBytes;
  const unsigned q_chunk = ((lane >> 4) ^ (lane & 7)) * 16;
  const unsigned k_frag = ((lane & 7) + ((lane >> 4) << 3)) * kRowBytes;
  const unsigned k_chunk = (((lane >> 3) & 1) ^ (lane & 7)) * 16;
  const unsigned v_frag = ((lane & 7) + (((lane >> 3) & 1) << 3)) * kRowBytes;
  const unsigned v_chunk = ((lane >> 4) ^ (lane & 7)) * 16;

  const float scale_log2 = args.scale_log2;
  float acc_o[kMT][kDT][4];
  float row_max[kMT][2], row_sum[kMT][2];
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
    for (int dt = 0; dt < kDT; ++dt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) acc_o[mt][dt][e] = 0.f;
    }
    row_max[mt][0] = row_max[mt][1] = neg_inf();
    row_sum[mt][0] = row_sum[mt][1] = 0.f;
  }

  for (int it = 0;; ++it) {
    const int current = ahead[0];
    if (current < 0) break;
#pragma unroll
    for (int s = 0; s + 1 < kStages - 1; ++s) ahead[s] = ahead[s + 1];
    {
      // Refill the slot consumed in the previous iteration (the barrier closing that iteration
      // makes it free).
      int tile;
      sem::Bounds nb;
      bool nfull;
      ahead[kStages - 2] = -1;
      if (scanner.next(args.cols, dyn, qb, params, lane, tile, nb, nfull)) {
        ahead[kStages - 2] = tile << 1 | static_cast<int>(nfull);
        const int slot = (it + kStages - 1) % kStages;
        load_kv_tile<Cfg, Pattern>(s_k + slot * Cfg::kKVBytes, k_base, k_row, tile, nb, dyn, tid);
        load_kv_tile<Cfg, Pattern>(s_v + slot * Cfg::kKVBytes, v_base, v_row, tile, nb, dyn, tid);
      }
      cp_async_commit();
    }
    cp_async_wait<kStages - 1>();
    __syncthreads();
    const unsigned sk = s_k + (it % kStages) * Cfg::kKVBytes;
    const unsigned sv = s_v + (it % kStages) * Cfg::kKVBytes;

    // S = Q K^T.
    float acc_s[kMT][kNT][4];
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
      for (int nt = 0; nt < kNT; ++nt) {
#pragma unroll
        for (int e = 0; e < 4; ++e) acc_s[mt][nt][e] = 0.f;
      }
    }
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      unsigned qf[kMT][4];
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) {
        ldmatrix_x4(qf[mt], q_frag + mt * 16 * kRowBytes + (q_chunk ^ (kk * 32)));
      }
#pragma unroll
      for (int np = 0; np < kNT / 2; ++np) {
        unsigned kf[4];
        ldmatrix_x4(kf, sk + k_frag + np * 16 * kRowBytes + (k_chunk ^ (kk * 32)));
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt) {
          mma_16816<T>(acc_s[mt][2 * np], qf[mt], kf[0], kf[1]);
          mma_16816<T>(acc_s[mt][2 * np + 1], qf[mt], kf[2], kf[3]);
        }
      }
    }

    // Mask: only tiles that are not ALL with a full column count pay for the predicate.
    if (!(current & 1)) {
      // Partial tiles are rare (pattern edges), so their bounds are recomputed here rather
      // than carried through the ring in registers.
      const int col_tile = current >> 1;
      const sem::Bounds kb = column_bounds<Pattern, Cfg::kBlockN>(args.cols, dyn, col_tile);
#pragma unroll
      for (int nt = 0; nt < kNT; ++nt) {
#pragma unroll
        for (int c = 0; c < 2; ++c) {
          const int col = nt * 8 + (lane & 3) * 2 + c;
          sem::Coord kc;
          if constexpr (Pattern::kGatherCols) {
            kc.pos = col < kb.count ? __ldg(dyn.col_list + col_tile * Cfg::kBlockN + col) : -1;
          } else {
            kc.pos = col < kb.count ? kb.lo + col * kb.step : -1;
          }
          kc.local = kb.llo + col * kb.step;
          kc.modality = kb.modality;
#pragma unroll
          for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
            for (int half = 0; half < 2; ++half) {
              if (kc.pos < 0 || !Pattern::keep(qc[mt][half], kc, params, dyn)) {
                acc_s[mt][nt][half * 2 + c] = neg_inf();
              }
            }
          }
        }
      }
    }

    // Online softmax on pre-scaled logits: p = 2^(s * scale_log2 - max * scale_log2).
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        float mx = row_max[mt][half];
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt) {
          mx = fmaxf(mx, fmaxf(acc_s[mt][nt][half * 2], acc_s[mt][nt][half * 2 + 1]));
        }
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        // A row with nothing kept yet keeps max -inf; subtract 0 then so exp2 gives 0, not NaN.
        const float max_scaled = mx == neg_inf() ? 0.f : mx * scale_log2;
        const float correction = exp2_approx(row_max[mt][half] * scale_log2 - max_scaled);
        row_max[mt][half] = mx;
        float sum = 0.f;
#pragma unroll
        for (int nt = 0; nt < kNT; ++nt) {
#pragma unroll
          for (int c = 0; c < 2; ++c) {
            const float p = exp2_approx(fmaf(acc_s[mt][nt][half * 2 + c], scale_log2, -max_scaled));
            acc_s[mt][nt][half * 2 + c] = p;
            sum += p;
          }
        }
        row_sum[mt][half] = row_sum[mt][half] * correction + sum;
#pragma unroll
        for (int dt = 0; dt < kDT; ++dt) {
          acc_o[mt][dt][half * 2] *= correction;
          acc_o[mt][dt][half * 2 + 1] *= correction;
        }
      }
    }

    // O += P V; the S accumulators of two adjacent n8 fragments form one A fragment.
#pragma unroll
    for (int kn = 0; kn < Cfg::kBlockN / 16; ++kn) {
      unsigned pf[kMT][4];
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) {
        pf[mt][0] = pack2<T>(acc_s[mt][2 * kn][0], acc_s[mt][2 * kn][1]);
        pf[mt][1] = pack2<T>(acc_s[mt][2 * kn][2], acc_s[mt][2 * kn][3]);
        pf[mt][2] = pack2<T>(acc_s[mt][2 * kn + 1][0], acc_s[mt][2 * kn + 1][1]);
        pf[mt][3] = pack2<T>(acc_s[mt][2 * kn + 1][2], acc_s[mt][2 * kn + 1][3]);
      }
#pragma unroll
      for (int dp = 0; dp < kDT / 2; ++dp) {
        unsigned vf[4];
        ldmatrix_x4_trans(vf, sv + v_frag + kn * 16 * kRowBytes + (v_chunk ^ (dp * 32)));
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt) {
          mma_16816<T>(acc_o[mt][2 * dp], pf[mt], vf[0], vf[1]);
          mma_16816<T>(acc_o[mt][2 * dp + 1], pf[mt], vf[2], vf[3]);
        }
      }
    }
    __syncthreads();  // every warp is done with this slot before it is refilled
  }
  cp_async_wait<0>();  // no copy may still target shared memory (e.g. when no tile was visited)
  __syncthreads();

  // Epilogue. Normalize, then stage the warp's O rows in its own (now unused) Q rows of shared
  // memory so that global stores are 16-byte and coalesced.
  constexpr float kLn2 = 0.6931471805599453f;
  float lse_row[kMT][2];
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      float l = row_sum[mt][half];
      l += __shfl_xor_sync(0xffffffffu, l, 1);
      l += __shfl_xor_sync(0xffffffffu, l, 2);
      const float inv = l > 0.f ? 1.f / l : 0.f;
      lse_row[mt][half] =
          l > 0.f ? (row_max[mt][half] * scale_log2 + __log2f(l)) * kLn2 : neg_inf();
      const int r = warp_row0 + mt * 16 + (lane >> 2) + 8 * half;
#pragma unroll
      for (int dt = 0; dt < kDT; ++dt) {
        const unsigned packed =
            pack2<T>(acc_o[mt][dt][half * 2] * inv, acc_o[mt][dt][half * 2 + 1] * inv);
        *reinterpret_cast<unsigned*>(smem + swizzle<D>(r, dt) + (lane & 3) * 4) = packed;
      }
    }
  }
  __syncwarp();

  // Lane i settles row warp_row0 + i: its LSE and, in merge mode, the weights of the old and
  // the new partial result.
  float my_lse = neg_inf();
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const float v = __shfl_sync(0xffffffffu, lse_row[mt][half], (lane & 7) * 4);
      if ((lane >> 4) == mt && ((lane >> 3) & 1) == half) my_lse = v;
    }
  }
  const bool merge = args.merge != 0 && args.lse != nullptr;
  float w_old = 0.f, w_new = 1.f;
  const int my_row = warp_row0 + lane;
  if (lane < Cfg::kWarpRows && my_row < qb.count && args.lse != nullptr) {
    float* lse_ptr = args.lse + (static_cast<long long>(b) * args.heads + h) * args.seq_len +
                     qb.lo + my_row * qb.step;
    float out = my_lse;
    if (merge) {
      const float old = *lse_ptr;
      const float mx = fmaxf(old, my_lse);
      if (mx == neg_inf()) {
        w_new = 0.f;
      } else {
        const float e_old = expf(old - mx), e_new = expf(my_lse - mx);
        const float total = e_old + e_new;
        w_old = e_old / total;
        w_new = e_new / total;
        out = mx + logf(total);
      }
    }
    *lse_ptr = out;
  }

  char* o_base = static_cast<char*>(args.o) +
                 2 * (b * args.o_stride[kStrideBatch] + h * args.o_stride[kStrideHead]);
  const long long o_row = 2 * args.o_stride[kStrideSeq];
#pragma unroll
  for (int i = 0; i < Cfg::kWarpRows * Cfg::kChunks / 32; ++i) {
    const int idx = i * 32 + lane;
    const int r = idx / Cfg::kChunks, chunk = idx % Cfg::kChunks;
    const float wo = __shfl_sync(0xffffffffu, w_old, r);
    const float wn = __shfl_sync(0xffffffffu, w_new, r);
    const int row = warp_row0 + r;
    if (row >= qb.count) continue;
    uint4 val = *reinterpret_cast<const uint4*>(smem + swizzle<D>(row, chunk));
    uint4* dst =
        reinterpret_cast<uint4*>(o_base + static_cast<long long>(qb.lo + row * qb.step) * o_row) +
        chunk;
    if (merge) {
      const uint4 old = *dst;
      const unsigned o4[4] = {old.x, old.y, old.z, old.w};
      unsigned n4[4] = {val.x, val.y, val.z, val.w};
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        float ol, oh, nl, nh;
        unpack2<T>(o4[j], ol, oh);
        unpack2<T>(n4[j], nl, nh);
        n4[j] = pack2<T>(wo * ol + wn * nl, wo * oh + wn * nh);
      }
      val = make_uint4(n4[0], n4[1], n4[2], n4[3]);
    }
    *dst = val;
  }
}

template <class Cfg, class Pattern>
__device__ __forceinline__ void attention_forward(const AttentionArgs& args) {
  attention_forward<Cfg, Pattern>(args, args.params);
}

// A grid_estimated pattern: one launch per candidate stride (each with that stride's bound
// params and segment tables). The online estimator wrote, per (batch, head), the chosen
// candidate and both phases (runtime/Workspace.h, GridChoiceWord); a CTA of another candidate
// exits at once, the chosen one runs with the phases in their param slots.
template <class Cfg, class Pattern, int kPhaseQSlot, int kPhaseKSlot>
__device__ __forceinline__ void attention_forward_estimated_grid(const AttentionArgs& args) {
  __shared__ int chosen_params[sem::kMaxParams];
  const int* choice = reinterpret_cast<const int*>(
      args.workspace + blockIdx.x * args.ws_head_bytes + args.ws_grid_choice);
  const int candidate = choice[kGridChoiceCandidate];
  if (candidate != args.grid_candidate) return;
  const int phase_q = choice[kGridChoicePhaseQ], phase_k = choice[kGridChoicePhaseK];
  for (int i = threadIdx.x; i < sem::kMaxParams; i += blockDim.x) {
    chosen_params[i] = i == kPhaseQSlot ? phase_q : (i == kPhaseKSlot ? phase_k : args.params[i]);
  }
  __syncthreads();
  attention_forward<Cfg, Pattern>(args, chosen_params);
}

}  // namespace dev
}  // namespace permjit
