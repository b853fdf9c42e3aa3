// The sm_80 family's attention mainloop: FlashAttention-2 style, over permuted index spaces,
// written once for every pattern (the pattern side, shared with other families, is
// pj_pattern.cuh). It runs on every GPU from sm_80 on (A100, L40, consumer cards, and Hopper
// through its sm_90a cubin).
//
// One CTA owns one row tile of the permuted row space (args.rows) of one (batch, head). Each
// warp owns kWarpRows = BlockM / Warps consecutive rows (one or two m16 fragments). The CTA
// visits only the column tiles of args.cols that Pattern::classify does not call NONE
// (TileScanner). Rows and columns are gathered from and scattered to their original positions
// while loading/storing: the permutation is index arithmetic, tensors are never reordered.
//
// Per visited column tile, in named phases:
//   produce_kv      K/V tiles into a `Stages`-deep cp.async ring, Stages - 1 tiles ahead;
//   compute_qk      S = Q K^T with mma.sync m16n8k16 (Q and K fragments from ldmatrix.x4);
//   apply_mask      the pattern's predicate, skipped for full ALL tiles;
//   online_softmax  running max and sum in fp32 registers, exp2 of pre-scaled logits;
//   accumulate_pv   O += P V, P converted in registers to A fragments (no shared-memory round
//                   trip), V fragments from ldmatrix.x4.trans;
// and once per CTA:
//   epilogue        normalize, LSE, merge into an earlier pass's output through the softmax
//                   statistics, 16-byte coalesced stores.
#pragma once

#include "permjit/codegen/KernelArgs.h"
#include "pj_key_split.cuh"
#include "pj_pattern.cuh"

namespace permjit {
namespace dev {
namespace sm80 {

// Per-lane ldmatrix byte offsets. A fragment's 16-byte chunk is 2 * step + c (c in {0, 1}), so
// its swizzled chunk (2 * step + c) ^ (row & 7) equals ((c ^ (row & 7)) ^ 2 * step): one
// lane-invariant byte offset XORed with a compile-time constant. Row steps of 16 keep row & 7.
template <class Cfg>
struct FragmentOffsets {
  static constexpr int kRowBytes = Cfg::kHeadDim * 2;
  unsigned q_frag, q_chunk, k_frag, k_chunk, v_frag, v_chunk;

  __device__ __forceinline__ FragmentOffsets(unsigned s_q, int warp_row0, int lane) {
    q_frag = s_q + (warp_row0 + (lane & 15)) * kRowBytes;
    q_chunk = ((lane >> 4) ^ (lane & 7)) * 16;
    k_frag = ((lane & 7) + ((lane >> 4) << 3)) * kRowBytes;
    k_chunk = (((lane >> 3) & 1) ^ (lane & 7)) * 16;
    v_frag = ((lane & 7) + (((lane >> 3) & 1) << 3)) * kRowBytes;
    v_chunk = ((lane >> 4) ^ (lane & 7)) * 16;
  }
};

// The running softmax state and the O accumulator of one thread's rows.
template <class Cfg>
struct RowState {
  float acc_o[Cfg::kMT][Cfg::kDT][4];
  float row_max[Cfg::kMT][2], row_sum[Cfg::kMT][2];

  __device__ __forceinline__ void init() {
#pragma unroll
    for (int mt = 0; mt < Cfg::kMT; ++mt) {
#pragma unroll
      for (int dt = 0; dt < Cfg::kDT; ++dt) {
#pragma unroll
        for (int e = 0; e < 4; ++e) acc_o[mt][dt][e] = 0.f;
      }
      row_max[mt][0] = row_max[mt][1] = neg_inf();
      row_sum[mt][0] = row_sum[mt][1] = 0.f;
    }
  }
};

template <class Cfg>
using ScoreTile = float[Cfg::kMT][Cfg::kNT][4];

// produce_kv: K and V rows of column tile `tile` (bounds kb) into ring slot `slot`.
template <class Cfg, class Pattern>
__device__ __forceinline__ void produce_kv(unsigned s_k, unsigned s_v, int slot,
                                           const HeadView& view, int tile, const sem::Bounds& kb,
                                           const sem::DynamicSets& dyn, int tid) {
  load_kv_tile<Cfg, Pattern>(s_k + slot * Cfg::kKVBytes, view.k, view.k_row, tile, kb, dyn, tid);
  load_kv_tile<Cfg, Pattern>(s_v + slot * Cfg::kKVBytes, view.v, view.v_row, tile, kb, dyn, tid);
}

// compute_qk: S = Q K^T for the warp's rows and the ring slot at `sk`.
template <class Cfg>
__device__ __forceinline__ void compute_qk(ScoreTile<Cfg>& acc_s, const FragmentOffsets<Cfg>& f,
                                           unsigned sk) {
  using T = typename Cfg::DType;
  constexpr int kMT = Cfg::kMT, kNT = Cfg::kNT, kRowBytes = FragmentOffsets<Cfg>::kRowBytes;
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
    for (int nt = 0; nt < kNT; ++nt) {
#pragma unroll
      for (int e = 0; e < 4; ++e) acc_s[mt][nt][e] = 0.f;
    }
  }
#pragma unroll
  for (int kk = 0; kk < Cfg::kHeadDim / 16; ++kk) {
    unsigned qf[kMT][4];
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt) {
      ldmatrix_x4(qf[mt], f.q_frag + mt * 16 * kRowBytes + (f.q_chunk ^ (kk * 32)));
    }
#pragma unroll
    for (int np = 0; np < kNT / 2; ++np) {
      unsigned kf[4];
      ldmatrix_x4(kf, sk + f.k_frag + np * 16 * kRowBytes + (f.k_chunk ^ (kk * 32)));
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) {
        mma_16816<T>(acc_s[mt][2 * np], qf[mt], kf[0], kf[1]);
        mma_16816<T>(acc_s[mt][2 * np + 1], qf[mt], kf[2], kf[3]);
      }
    }
  }
}

// The verdict of one warp's rows (`warp_rows`, sem::sub_bounds of the row tile) on a partial
// column tile (bounds kb), for apply_mask: a tile is partial for the CTA when its row halves
// differ (tri-shape's dense last rows beside sink-and-local ones), and then each warp's rows are
// mostly ALL or NONE alone. ALL only for a full column count (padding columns need the mask).
template <class Cfg, class Pattern>
__device__ __forceinline__ sem::Tri warp_verdict(const sem::Bounds& warp_rows,
                                                 const sem::Bounds& kb, const int* params,
                                                 const sem::DynamicSets& dyn) {
  if (warp_rows.count == 0 || kb.count == 0) return sem::kSome;
  const sem::Tri verdict = Pattern::classify(warp_rows, kb, params, dyn);
  return verdict == sem::kAll && kb.count < Cfg::kBlockN ? sem::kSome : verdict;
}

// apply_mask: -inf where the pattern drops a pair of column tile `col_tile`. A warp whose rows
// are ALL (`verdict`, warp_verdict) keeps its scores, one that is NONE drops them all: one
// classification instead of a predicate per element. Partial tiles are rare (pattern edges), so
// their bounds are recomputed here rather than carried through the ring in registers. Each row
// fragment's kept columns come as one word from Pattern::keep_bits, a few integer operations per
// atom (sem::ColumnLanes); the per-element predicate, in the mma fragment layout 32 evaluations
// per row, cost more than the tile's MMAs on tiles with a partial edge (measured on the H200:
// docs/design.md, masks). Gathered columns (kGatherCols) are no progression: there the predicate
// runs per element, in a loop that is not unrolled so that the pattern's code appears kMT * 2
// times in the kernel, not kMT * 2 * kNT * 2 (ptxas time on a complex pattern: docs/design.md,
// cold compile). The bits are applied with compile-time indices.
template <class Cfg, class Pattern>
__device__ __forceinline__ void apply_mask(ScoreTile<Cfg>& acc_s,
                                           const sem::Coord (&qc)[Cfg::kMT][2], sem::Tri verdict,
                                           const sem::SegmentTable& cols, int col_tile,
                                           const int* params, const sem::DynamicSets& dyn,
                                           int lane) {
  static_assert(Cfg::kNT * 2 <= 32, "one 32-bit mask per row fragment");
  if (verdict == sem::kAll) return;
  const sem::Bounds kb = column_bounds<Pattern, Cfg::kBlockN>(cols, dyn, col_tile);
  const sem::ColumnLanes lanes = sem::column_lanes(lane, Cfg::kNT, kb.count);
#pragma unroll
  for (int mt = 0; mt < Cfg::kMT; ++mt) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      unsigned kept = 0;  // a NONE warp keeps nothing: the same selects, with no predicate
      if (verdict != sem::kNone) {
        if constexpr (Pattern::kGatherCols) {
          const sem::Coord& q = qc[mt][half];
          kept = sem::each_bits(lanes, [&](int col) {
            sem::Coord kc;
            kc.pos = __ldg(dyn.col_list + col_tile * Cfg::kBlockN + col);
            kc.local = kb.llo + col * kb.step;
            kc.modality = kb.modality;
            return Pattern::keep(q, kc, params, dyn);
          });
        } else {
          kept = Pattern::keep_bits(qc[mt][half], kb, lanes, params, dyn) & sem::valid_bits(lanes);
        }
      }
#pragma unroll
      for (int nt = 0; nt < Cfg::kNT; ++nt) {
#pragma unroll
        for (int c = 0; c < 2; ++c) {
          if (!((kept >> (nt * 2 + c)) & 1u)) acc_s[mt][nt][half * 2 + c] = neg_inf();
        }
      }
    }
  }
}

// online_softmax: S becomes P = 2^(s * scale_log2 - max * scale_log2); the running max, the
// running sum and O are rescaled by the change of the max.
template <class Cfg>
__device__ __forceinline__ void online_softmax(ScoreTile<Cfg>& acc_s, RowState<Cfg>& st,
                                               float scale_log2) {
#pragma unroll
  for (int mt = 0; mt < Cfg::kMT; ++mt) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      float mx = st.row_max[mt][half];
#pragma unroll
      for (int nt = 0; nt < Cfg::kNT; ++nt) {
        mx = fmaxf(mx, fmaxf(acc_s[mt][nt][half * 2], acc_s[mt][nt][half * 2 + 1]));
      }
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
      mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
      // A row with nothing kept yet keeps max -inf; subtract 0 then so exp2 gives 0, not NaN.
      const float max_scaled = mx == neg_inf() ? 0.f : mx * scale_log2;
      const float correction = exp2_approx(st.row_max[mt][half] * scale_log2 - max_scaled);
      st.row_max[mt][half] = mx;
      float sum = 0.f;
#pragma unroll
      for (int nt = 0; nt < Cfg::kNT; ++nt) {
#pragma unroll
        for (int c = 0; c < 2; ++c) {
          const float p = exp2_approx(fmaf(acc_s[mt][nt][half * 2 + c], scale_log2, -max_scaled));
          acc_s[mt][nt][half * 2 + c] = p;
          sum += p;
        }
      }
      st.row_sum[mt][half] = st.row_sum[mt][half] * correction + sum;
#pragma unroll
      for (int dt = 0; dt < Cfg::kDT; ++dt) {
        st.acc_o[mt][dt][half * 2] *= correction;
        st.acc_o[mt][dt][half * 2 + 1] *= correction;
      }
    }
  }
}

// accumulate_pv: O += P V; the S accumulators of two adjacent n8 fragments form one A fragment.
template <class Cfg>
__device__ __forceinline__ void accumulate_pv(RowState<Cfg>& st, const ScoreTile<Cfg>& acc_s,
                                              const FragmentOffsets<Cfg>& f, unsigned sv) {
  using T = typename Cfg::DType;
  constexpr int kMT = Cfg::kMT, kRowBytes = FragmentOffsets<Cfg>::kRowBytes;
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
    for (int dp = 0; dp < Cfg::kDT / 2; ++dp) {
      unsigned vf[4];
      ldmatrix_x4_trans(vf, sv + f.v_frag + kn * 16 * kRowBytes + (f.v_chunk ^ (dp * 32)));
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) {
        mma_16816<T>(st.acc_o[mt][2 * dp], pf[mt], vf[0], vf[1]);
        mma_16816<T>(st.acc_o[mt][2 * dp + 1], pf[mt], vf[2], vf[3]);
      }
    }
  }
}

// epilogue: normalize, then stage the warp's O rows in its own (now unused) Q rows of shared
// memory (Cfg::staged_offset, the family's Q layout) so that global stores are 16-byte and
// coalesced. Lane i settles row warp_row0 + i: its LSE and, in merge mode, the weights of the old
// and the new partial result.
template <class Cfg>
__device__ __forceinline__ void epilogue(const AttentionArgs& args, const RowState<Cfg>& st,
                                         const sem::Bounds& qb, unsigned char* smem, int b, int h,
                                         int warp_row0, int lane, float scale_log2) {
  using T = typename Cfg::DType;
  constexpr int kMT = Cfg::kMT;
  constexpr float kLn2 = 0.6931471805599453f;
  float lse_row[kMT][2];
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      float l = st.row_sum[mt][half];
      l += __shfl_xor_sync(0xffffffffu, l, 1);
      l += __shfl_xor_sync(0xffffffffu, l, 2);
      const float inv = l > 0.f ? 1.f / l : 0.f;
      lse_row[mt][half] =
          l > 0.f ? (st.row_max[mt][half] * scale_log2 + __log2f(l)) * kLn2 : neg_inf();
      const int r = warp_row0 + mt * 16 + (lane >> 2) + 8 * half;
#pragma unroll
      for (int dt = 0; dt < Cfg::kDT; ++dt) {
        const unsigned packed =
            pack2<T>(st.acc_o[mt][dt][half * 2] * inv, st.acc_o[mt][dt][half * 2 + 1] * inv);
        *reinterpret_cast<unsigned*>(smem + Cfg::staged_offset(r, dt) + (lane & 3) * 4) = packed;
      }
    }
  }
  __syncwarp();

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

  const OutputView view = output_view(args, b, h);
#pragma unroll
  for (int i = 0; i < Cfg::kWarpRows * Cfg::kChunks / 32; ++i) {
    const int idx = i * 32 + lane;
    const int r = idx / Cfg::kChunks, chunk = idx % Cfg::kChunks;
    const float wo = __shfl_sync(0xffffffffu, w_old, r);
    const float wn = __shfl_sync(0xffffffffu, w_new, r);
    const int row = warp_row0 + r;
    if (row >= qb.count) continue;
    uint4 val = *reinterpret_cast<const uint4*>(smem + Cfg::staged_offset(row, chunk));
    uint4* dst = reinterpret_cast<uint4*>(view.o + static_cast<long long>(qb.lo + row * qb.step) *
                                                       view.o_row) +
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

// The mainloop: `params` is args.params, or a copy with the estimated grid's phases
// (estimated_grid_forward).
// KeySplit: the kernel has the key split (pj_key_split.cuh); without it, none of its code.
struct Forward {
  template <class Cfg, class Pattern, bool KeySplit = false>
  static __device__ __forceinline__ void run(const AttentionArgs& args, const int* params) {
    constexpr int kStages = Cfg::kStages;
    extern __shared__ __align__(128) unsigned char smem[];

    // Heavy-first: blockIdx.x (fastest dispatch) runs over (batch, head), blockIdx.y over row
    // tiles from the last one (most keys under causal-like patterns) to the first; with a key
    // split, extra CTAs for chunks of the heaviest tiles come before them (split_role).
    SplitRole role;
    if (!split_role<KeySplit>(args, role)) return;
    if constexpr (KeySplit) {
      if (threadIdx.x == 0) shared_split_role() = role;  // the scan and the end read it there
      __syncthreads();
    }
    const int b = role.bh / args.heads, h = role.bh % args.heads;
    const sem::Bounds qb = sem::tile_bounds(args.rows, role.row_tile);
    if (qb.count == 0) return;  // an all-padding row tile owns no output rows

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const HeadView view = head_view(args, b, h);
    const sem::DynamicSets dyn = dynamic_sets(args);

    const unsigned s_q = smem_addr(smem);
    const unsigned s_k = s_q + Cfg::kQBytes;
    const unsigned s_v = s_k + kStages * Cfg::kKVBytes;

    // Prologue: Q joins the first cp.async group; the first Stages-1 visited K/V tiles follow.
    load_tile<Cfg, Cfg::kBlockM>(s_q, view.q, view.q_row, qb.lo, qb.step, qb.count, tid);
    // One scanner runs kStages - 1 tiles ahead of the compute loop; the loop learns its tiles
    // from a small ring of words tile index << 3 | this warp's verdict (sem::Tri, partial tiles
    // only: warp_verdict, computed here where S is not live) << 1 | full; -1 once the scan is
    // exhausted.
    const int warp_row0 = warp * Cfg::kWarpRows;
    const sem::Bounds warp_rows = sem::sub_bounds(qb, warp_row0, Cfg::kWarpRows);
    auto tile_word = [&](int tile, const sem::Bounds& kb, bool full) {
      const sem::Tri verdict =
          full ? sem::kAll : warp_verdict<Cfg, Pattern>(warp_rows, kb, params, dyn);
      return tile << 3 | static_cast<int>(verdict) << 1 | static_cast<int>(full);
    };
    TileScanner<Pattern, Cfg::kBlockN, KeySplit> scanner;
    scanner.skip = role.skip;

    int ahead[kStages - 1];
#pragma unroll
    for (int s = 0; s < kStages - 1; ++s) {
      int tile;
      sem::Bounds kb;
      bool full;
      ahead[s] = -1;
      if (within_chunk<KeySplit>(s) &&
          scanner.next(args.cols, dyn, qb, params, lane, tile, kb, full)) {
        ahead[s] = tile_word(tile, kb, full);
        produce_kv<Cfg, Pattern>(s_k, s_v, s, view, tile, kb, dyn, tid);
      }
      cp_async_commit();
    }

    // This thread's query rows: mt * 16 + lane / 4 + 8 * half within the warp's rows.
    sem::Coord qc[Cfg::kMT][2];
#pragma unroll
    for (int mt = 0; mt < Cfg::kMT; ++mt) {
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int r = warp_row0 + mt * 16 + (lane >> 2) + 8 * half;
        qc[mt][half].pos = r < qb.count ? qb.lo + r * qb.step : -1;
        qc[mt][half].local = qb.llo + r * qb.step;
        qc[mt][half].modality = qb.modality;
      }
    }
    const FragmentOffsets<Cfg> frags(s_q, warp_row0, lane);
    const float scale_log2 = args.scale_log2;
    RowState<Cfg> st;
    st.init();

    for (int it = 0;; ++it) {
      const int current = ahead[0];
      if (current < 0) break;
#pragma unroll
      for (int s = 0; s + 1 < kStages - 1; ++s) ahead[s] = ahead[s + 1];
      {
        // Refill the slot consumed in the previous iteration (the barrier closing that
        // iteration makes it free).
        int tile;
        sem::Bounds nb;
        bool nfull;
        ahead[kStages - 2] = -1;
        if (within_chunk<KeySplit>(it + kStages - 1) &&
            scanner.next(args.cols, dyn, qb, params, lane, tile, nb, nfull)) {
          ahead[kStages - 2] = tile_word(tile, nb, nfull);
          produce_kv<Cfg, Pattern>(s_k, s_v, (it + kStages - 1) % kStages, view, tile, nb, dyn,
                                   tid);
        }
        cp_async_commit();
      }
      cp_async_wait<kStages - 1>();
      __syncthreads();
      const unsigned sk = s_k + (it % kStages) * Cfg::kKVBytes;
      const unsigned sv = s_v + (it % kStages) * Cfg::kKVBytes;

      ScoreTile<Cfg> acc_s;
      compute_qk<Cfg>(acc_s, frags, sk);
      // Only tiles that are not ALL with a full column count pay for the predicate.
      if (!(current & 1)) {
        const auto verdict = static_cast<sem::Tri>((current >> 1) & 3);
        apply_mask<Cfg, Pattern>(acc_s, qc, verdict, args.cols, current >> 3, params, dyn, lane);
      }
      online_softmax<Cfg>(acc_s, st, scale_log2);
      accumulate_pv<Cfg>(st, acc_s, frags, sv);
      __syncthreads();  // every warp is done with this slot before it is refilled
    }
    cp_async_wait<0>();  // no copy may still target shared memory (e.g. when no tile was visited)
    __syncthreads();
    // A key split chunk leaves its state to key_split_combine.
    if constexpr (KeySplit) {
      if (!store_split_state<Cfg>(args, shared_split_role(), st, tid)) return;
    }
    epilogue<Cfg>(args, st, qb, smem, b, h, warp_row0, lane, scale_log2);
  }
};

}  // namespace sm80

// key_split_combine: one CTA per split tile (grid kSplitMaxTiles; those past the plan's count
// exit), of the threads that hold a mainloop's state (SplitState::kThreads), with block_m x
// head_dim x 2 bytes of dynamic shared memory for the epilogue's staging. Either family's Cfg:
// both keep O in the m16n8 fragment order per 16-row warp slice that sm80::epilogue reads.
template <class Cfg>
__device__ __forceinline__ void key_split_combine(const AttentionArgs& args) {
  extern __shared__ __align__(128) unsigned char smem[];
  const KeySplitArgs& s = args.split;
  if (static_cast<int>(blockIdx.x) >= split_header(s)->tiles) return;
  const KeySplitTile tile = split_tile_table(s)[blockIdx.x];
  const int t = threadIdx.x, lane = t & 31;
  sm80::RowState<Cfg> st;
  combine_split_states<Cfg>(s, tile, st, t, args.scale_log2);
  const sem::Bounds qb = sem::tile_bounds(args.rows, tile.row_tile);
  sm80::epilogue<Cfg>(args, st, qb, smem, tile.bh / args.heads, tile.bh % args.heads,
                      (t / 32) * Cfg::kWarpRows, lane, args.scale_log2);
}

template <class Cfg, class Pattern, bool KeySplit>
__device__ __forceinline__ void attention_forward(const AttentionArgs& args) {
  sm80::Forward::run<Cfg, Pattern, KeySplit>(args, args.params);
}

template <class Cfg, class Pattern, int kPhaseQSlot, int kPhaseKSlot>
__device__ __forceinline__ void attention_forward_estimated_grid(const AttentionArgs& args) {
  estimated_grid_forward<sm80::Forward, Cfg, Pattern, kPhaseQSlot, kPhaseKSlot>(args);
}

}  // namespace dev
}  // namespace permjit
