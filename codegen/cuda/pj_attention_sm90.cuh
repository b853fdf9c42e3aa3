// The sm_90a family's attention mainloop (Hopper: H100, H200): warp-specialized, with warpgroup
// MMA. One CTA owns one 128-row tile of the permuted row space of one (batch, head), like the
// sm_80 family, and visits the same column tiles (pj_pattern.cuh's TileScanner); what differs
// is how the work is spread:
//   warpgroup 0 (producer, registers cut to 40 with setmaxnreg): scans the column tiles, loads
//     Q once and K/V tiles into a `Stages`-deep shared-memory ring with cp.async, gathering
//     rows from their original positions (permuted and gathered index spaces alike); each
//     stage's mbarrier completes when its copies have landed, with the tile's index and
//     full/partial verdict beside it;
//   warpgroups 1 and 2 (consumers, registers raised to 232): 64 query rows each.
//     compute_qk      S = Q K^T with wgmma.mma_async m64nBlockNk16, Q and K from shared memory;
//     apply_mask      the pattern's predicate on partial tiles (sm80::apply_mask: a consumer
//                     warp's 16 rows hold S in the m16n8 fragment layout of the sm_80 family);
//     online_softmax  sm80::online_softmax, in registers;
//     accumulate_pv   O += P V with wgmma m64nHeadDimk16, P from registers, V from shared
//                     memory (transposed operand);
//   then release the stage to the producer (an mbarrier per stage), and at the end the shared
//   epilogue (sm80::epilogue: normalize, LSE, merge through the softmax statistics, stores).
// Shared-memory tiles are [HeadDim / 64 column blocks][rows][64 elements], 128-byte rows with
// the 16-byte chunk XOR-swizzled by (row & 7): the layout wgmma's 128-byte swizzle mode reads.
#pragma once

#include "pj_attention_fwd.cuh"
#include "pj_sm90.cuh"

namespace permjit {
namespace dev {

template <class DTypeT, int HeadDim, int BlockN, int Stages>
struct Sm90Config {
  using DType = DTypeT;
  static constexpr int kHeadDim = HeadDim;
  static constexpr int kBlockM = 128;  // two consumer warpgroups of 64 rows
  static constexpr int kBlockN = BlockN;
  static constexpr int kStages = Stages;
  static constexpr int kThreads = 384;
  static constexpr int kProducerThreads = 128;
  static constexpr int kConsumerThreads = 256;
  static constexpr int kColBlocks = HeadDim / 64;  // 128-byte column blocks of a row
  static constexpr int kChunks = HeadDim / 8;      // 16-byte chunks per row
  static constexpr int kQBytes = kBlockM * HeadDim * 2;
  static constexpr int kKVBytes = BlockN * HeadDim * 2;
  // The sm_80 phase functions' view of one consumer warp: 16 rows, one m16 fragment.
  static constexpr int kWarpRows = 16;
  static constexpr int kMT = 1;
  static constexpr int kNT = BlockN / 8;
  static constexpr int kDT = HeadDim / 8;
  // Q, the K and V rings, then the barriers and the tile ring; 1024 bytes of slack to align
  // the tiles to the swizzle atom.
  static constexpr int kBarrierBytes = 64 + Stages * 24;
  static constexpr int kSmemBytes = 1024 + kQBytes + 2 * Stages * kKVBytes + kBarrierBytes;

  static_assert(HeadDim == 64 || HeadDim == 128, "head_dim: allowed 64, 128");
  static_assert(BlockN == 64 || BlockN == 128, "block_n: allowed 64, 128");
  static_assert(Stages >= 2 && Stages <= 3, "stages: allowed 2, 3");
};

namespace sm90 {

// Byte offset of 16-byte chunk `chunk` of row `row` in a [kColBlocks][Rows][64] tile.
template <int Rows>
__device__ __forceinline__ unsigned tile_offset(int row, int chunk) {
  return static_cast<unsigned>((chunk >> 3) * Rows * 128 + row * 128 +
                               (((chunk & 7) ^ (row & 7)) << 4));
}

// cp.async Rows rows by the producer warpgroup. Row r of the tile is position pos(r) when
// r < count; padding rows are zero-filled without touching global memory.
template <class Cfg, int Rows, class Position>
__device__ __forceinline__ void load_rows(unsigned smem, const char* base, long long row_bytes,
                                          int count, int ptid, Position pos) {
  constexpr int kRowsPerPass = Cfg::kProducerThreads / Cfg::kChunks;
  const int chunk = ptid % Cfg::kChunks;
#pragma unroll
  for (int i = 0; i < Rows / kRowsPerPass; ++i) {
    const int row = ptid / Cfg::kChunks + i * kRowsPerPass;
    const bool valid = row < count;
    const char* src =
        base + (valid ? static_cast<long long>(pos(row)) * row_bytes : 0) + chunk * 16;
    cp_async_16(smem + tile_offset<Rows>(row, chunk), src, valid ? 16 : 0);
  }
}

template <class Cfg, class Pattern>
__device__ __forceinline__ void produce_kv(unsigned s_k, unsigned s_v, const HeadView& view,
                                           int tile, const sem::Bounds& kb,
                                           const sem::DynamicSets& dyn, int ptid) {
  if constexpr (Pattern::kGatherCols) {
    const int* idx = dyn.col_list + tile * Cfg::kBlockN;
    auto pos = [idx](int r) { return __ldg(idx + r); };
    load_rows<Cfg, Cfg::kBlockN>(s_k, view.k, view.k_row, kb.count, ptid, pos);
    load_rows<Cfg, Cfg::kBlockN>(s_v, view.v, view.v_row, kb.count, ptid, pos);
  } else {
    auto pos = [kb](int r) { return kb.lo + r * kb.step; };
    load_rows<Cfg, Cfg::kBlockN>(s_k, view.k, view.k_row, kb.count, ptid, pos);
    load_rows<Cfg, Cfg::kBlockN>(s_v, view.v, view.v_row, kb.count, ptid, pos);
  }
}

template <class Cfg>
struct Ring {
  unsigned q, k, v;      // tile bases (1024-byte aligned)
  unsigned q_full;       // mbarrier: Q landed
  unsigned full, empty;  // mbarriers of stage 0 (8 bytes apart)
  volatile int* tile;    // per stage: tile << 1 | full, -1 when the scan is exhausted

  __device__ __forceinline__ unsigned k_stage(int s) const { return k + s * Cfg::kKVBytes; }
  __device__ __forceinline__ unsigned v_stage(int s) const { return v + s * Cfg::kKVBytes; }
  __device__ __forceinline__ unsigned full_bar(int s) const { return full + 8 * s; }
  __device__ __forceinline__ unsigned empty_bar(int s) const { return empty + 8 * s; }
};

// compute_qk: S[64 x BlockN] = Q[64 rows of this warpgroup] K^T.
template <class Cfg>
__device__ __forceinline__ void compute_qk(float (&s)[Cfg::kBlockN / 2], unsigned q_rows,
                                           unsigned k_tile) {
  using T = typename Cfg::DType;
  wgmma_fence();
#pragma unroll
  for (int kk = 0; kk < Cfg::kHeadDim / 16; ++kk) {
    const unsigned block = kk >> 2, within = (kk & 3) * 32;
    const uint64_t a = smem_descriptor(q_rows + block * Cfg::kBlockM * 128 + within, 16, 1024);
    const uint64_t b = smem_descriptor(k_tile + block * Cfg::kBlockN * 128 + within, 16, 1024);
    wgmma_ss<Cfg::kBlockN, T>(s, a, b, kk > 0 ? 1 : 0);
  }
  wgmma_commit();
  wgmma_wait<0>();
  fence_registers(s);
}

// accumulate_pv: O[64 x HeadDim] += P[64 x BlockN] V, P from this warp's S fragments.
template <class Cfg>
__device__ __forceinline__ void accumulate_pv(float (&o)[Cfg::kHeadDim / 2],
                                              const float (&p)[Cfg::kNT][4], unsigned v_tile) {
  using T = typename Cfg::DType;
  unsigned pf[Cfg::kBlockN / 16][4];
#pragma unroll
  for (int kn = 0; kn < Cfg::kBlockN / 16; ++kn) {
    pf[kn][0] = pack2<T>(p[2 * kn][0], p[2 * kn][1]);
    pf[kn][1] = pack2<T>(p[2 * kn][2], p[2 * kn][3]);
    pf[kn][2] = pack2<T>(p[2 * kn + 1][0], p[2 * kn + 1][1]);
    pf[kn][3] = pack2<T>(p[2 * kn + 1][2], p[2 * kn + 1][3]);
  }
  fence_registers(o);
  wgmma_fence();
#pragma unroll
  for (int kn = 0; kn < Cfg::kBlockN / 16; ++kn) {
    // Keys 16 kn .. 16 kn + 15: two 8-row groups (stride 1024 bytes); the next 64 columns of
    // the head dim are the next column block (BlockN rows of 128 bytes further).
    const uint64_t b = smem_descriptor(v_tile + kn * 16 * 128, Cfg::kBlockN * 128, 1024);
    wgmma_rs<Cfg::kHeadDim, T>(o, pf[kn], b, 1);
  }
  wgmma_commit();
  wgmma_wait<0>();
  fence_registers(o);
}

struct Forward {
  template <class Cfg, class Pattern>
  static __device__ __forceinline__ void run(const AttentionArgs& args, const int* params) {
    constexpr int kStages = Cfg::kStages;
    extern __shared__ __align__(128) unsigned char smem_raw[];

    const int row_tile = gridDim.y - 1 - blockIdx.y;  // heavy-first, as in the sm_80 family
    const int b = blockIdx.x / args.heads, h = blockIdx.x % args.heads;
    const sem::Bounds qb = sem::tile_bounds(args.rows, row_tile);
    if (qb.count == 0) return;

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const HeadView view = head_view(args, b, h);
    const sem::DynamicSets dyn = dynamic_sets(args);

    const unsigned raw = smem_addr(smem_raw);
    const unsigned base = (raw + 1023u) & ~1023u;
    unsigned char* smem = smem_raw + (base - raw);
    Ring<Cfg> ring;
    ring.q = base;
    ring.k = ring.q + Cfg::kQBytes;
    ring.v = ring.k + kStages * Cfg::kKVBytes;
    const unsigned bars = ring.v + kStages * Cfg::kKVBytes;
    ring.q_full = bars;
    ring.full = bars + 8;
    ring.empty = bars + 8 + 8 * kStages;
    ring.tile = reinterpret_cast<volatile int*>(smem + (bars + 8 + 16 * kStages - base));

    if (tid == 0) {
      mbarrier_init(ring.q_full, Cfg::kProducerThreads);
      for (int s = 0; s < kStages; ++s) {
        // Every producer thread's cp.async arrival, plus the tile word's writer.
        mbarrier_init(ring.full_bar(s), Cfg::kProducerThreads + 1);
        mbarrier_init(ring.empty_bar(s), Cfg::kConsumerThreads / 32);  // a lane per warp
      }
      fence_barrier_init();
    }
    __syncthreads();

    if (warp < 4) {
      // ---- Producer warpgroup.
      setmaxnreg_dec<56>();
      const int ptid = tid;
      load_rows<Cfg, Cfg::kBlockM>(ring.q, view.q, view.q_row, qb.count, ptid,
                                   [qb](int r) { return qb.lo + r * qb.step; });
      cp_async_mbarrier_arrive(ring.q_full);
      TileScanner<Pattern, Cfg::kBlockN> scanner;
      for (int it = 0;; ++it) {
        const int s = it % kStages;
        if (it >= kStages) mbarrier_wait(ring.empty_bar(s), ((it / kStages) - 1) & 1);
        int tile;
        sem::Bounds kb;
        bool full;
        const bool more = scanner.next(args.cols, dyn, qb, params, lane, tile, kb, full);
        if (more) {
          produce_kv<Cfg, Pattern>(ring.k_stage(s), ring.v_stage(s), view, tile, kb, dyn, ptid);
        }
        cp_async_mbarrier_arrive(ring.full_bar(s));
        if (ptid == 0) {
          ring.tile[s] = more ? (tile << 1 | static_cast<int>(full)) : -1;
          mbarrier_arrive(ring.full_bar(s));
        }
        if (!more) break;
      }
      cp_async_wait<0>();
      return;
    }

    // ---- Consumer warpgroups.
    setmaxnreg_inc<224>();
    const int cwarp = warp - 4;    // 0..7
    const int group = cwarp >> 2;  // consumer warpgroup: rows 64 group ..
    const int warp_row0 = cwarp * Cfg::kWarpRows;
    sem::Coord qc[1][2];
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int r = warp_row0 + (lane >> 2) + 8 * half;
      qc[0][half].pos = r < qb.count ? qb.lo + r * qb.step : -1;
      qc[0][half].local = qb.llo + r * qb.step;
      qc[0][half].modality = qb.modality;
    }
    const float scale_log2 = args.scale_log2;
    sm80::RowState<Cfg> st;
    st.init();
    float(&o)[Cfg::kHeadDim / 2] =
        *reinterpret_cast<float(*)[Cfg::kHeadDim / 2]>(&st.acc_o[0][0][0]);
    const unsigned q_rows = ring.q + group * 64 * 128;

    mbarrier_wait(ring.q_full, 0);
    for (int it = 0;; ++it) {
      const int s = it % kStages;
      mbarrier_wait(ring.full_bar(s), (it / kStages) & 1);
      const int current = ring.tile[s];
      if (current < 0) break;
      fence_proxy_async();  // the cp.async writes this thread waited for, before wgmma reads

      sm80::ScoreTile<Cfg> acc_s;
      float(&sflat)[Cfg::kBlockN / 2] =
          *reinterpret_cast<float(*)[Cfg::kBlockN / 2]>(&acc_s[0][0][0]);
      compute_qk<Cfg>(sflat, q_rows, ring.k_stage(s));
      if (!(current & 1)) {
        sm80::apply_mask<Cfg, Pattern>(acc_s, qc, args.cols, current >> 1, params, dyn, lane);
      }
      sm80::online_softmax<Cfg>(acc_s, st, scale_log2);
      accumulate_pv<Cfg>(o, acc_s[0], ring.v_stage(s));
      __syncwarp();
      if (lane == 0) mbarrier_arrive(ring.empty_bar(s));
    }
    // Both consumer warpgroups are done reading Q before either stages its output there.
    asm volatile("bar.sync 1, %0;\n" ::"n"(Cfg::kConsumerThreads) : "memory");
    sm80::epilogue<Cfg>(args, st, qb, smem, b, h, warp_row0, lane, scale_log2);
  }
};

}  // namespace sm90

template <class Cfg, class Pattern>
__device__ __forceinline__ void attention_forward_sm90(const AttentionArgs& args) {
  sm90::Forward::run<Cfg, Pattern>(args, args.params);
}

template <class Cfg, class Pattern, int kPhaseQSlot, int kPhaseKSlot>
__device__ __forceinline__ void attention_forward_estimated_grid_sm90(const AttentionArgs& args) {
  estimated_grid_forward<sm90::Forward, Cfg, Pattern, kPhaseQSlot, kPhaseKSlot>(args);
}

}  // namespace dev
}  // namespace permjit
