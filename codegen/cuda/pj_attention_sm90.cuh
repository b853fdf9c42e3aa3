// The sm_90a family's attention mainloop (Hopper: H100, H200): warp-specialized, with warpgroup
// MMA and TMA. One CTA owns one BlockM-row tile (128 or 192) of the permuted row space of one
// (batch, head), like the sm_80 family, and visits the same column tiles (pj_pattern.cuh's
// TileScanner); what differs is how the work is spread:
//   warpgroup 0 (producer, setmaxnreg down): scans the column tiles and loads Q once, then K and
//     V of each visited tile into a `Stages`-deep shared-memory ring. A tile of kBlock rows at
//     positions lo + i * step loads with one TMA box per 64 columns through the run's tensor
//     map for that step (TmaArgs: a residue class of the grid permutation is a strided box,
//     not a gather); partial tiles, gathered columns and tensors TMA cannot address load with
//     cp.async instead. K and V have full and empty mbarriers of their own, with the tile's
//     index, TMA and full/partial bits in a word beside each slot;
//   warpgroups 1 .. BlockM / 64 (consumers, setmaxnreg up): 64 query rows each. Per step j:
//     compute_qk      S_{j+1} = Q K_{j+1}^T, wgmma.mma_async m64nBlockNk16 from shared memory,
//     accumulate_pv   issued together with O += P_j V_j (wgmma m64nHeadDimk16, P from
//                     registers, V from shared memory as the transposed operand);
//     apply_mask      on S_{j+1} once it has landed, for partial tiles (sm80::apply_mask: a
//                     consumer warp's 16 rows hold S in the m16n8 fragment layout);
//     online_softmax  softmax_scores while O += P_j V_j still runs, then rescale_o;
//   K_{j+1} is released as soon as S_{j+1} has landed, V_j once O has. The two consumer
//   warpgroups run unsynchronized: the schedulers already overlap one's softmax with the
//   other's MMAs (an explicit ping-pong through named barriers measured 1-6% slower; see
//   docs/design.md). At the end the shared epilogue (sm80::epilogue: normalize, LSE, merge
//   through the softmax statistics, stores).
// Shared-memory tiles are [HeadDim / 64 column blocks][rows][64 elements], 128-byte rows with
// the 16-byte chunk XOR-swizzled by (row & 7): the layout wgmma's 128-byte swizzle mode reads
// and TMA's 128-byte swizzle writes.
#pragma once

#include "pj_attention_fwd.cuh"
#include "pj_sm90.cuh"

namespace permjit {
namespace dev {

namespace sm90 {

// Byte offset of 16-byte chunk `chunk` of row `row` in a [kColBlocks][Rows][64] tile.
template <int Rows>
__device__ __forceinline__ unsigned tile_offset(int row, int chunk) {
  return static_cast<unsigned>((chunk >> 3) * Rows * 128 + row * 128 +
                               (((chunk & 7) ^ (row & 7)) << 4));
}
}  // namespace sm90

template <class DTypeT, int HeadDim, int BlockM, int BlockN, int Stages>
struct Sm90Config {
  using DType = DTypeT;
  static constexpr int kHeadDim = HeadDim;
  static constexpr int kBlockM = BlockM;
  static constexpr int kBlockN = BlockN;
  static constexpr int kStages = Stages;
  static constexpr int kConsumerGroups = BlockM / 64;  // consumer warpgroups of 64 rows each
  static constexpr int kProducerThreads = 128;
  static constexpr int kConsumerThreads = 128 * kConsumerGroups;
  static constexpr int kThreads = kProducerThreads + kConsumerThreads;
  static constexpr int kColBlocks = HeadDim / 64;  // 128-byte column blocks of a row
  static constexpr int kChunks = HeadDim / 8;      // 16-byte chunks per row
  static constexpr int kQBytes = kBlockM * HeadDim * 2;
  static constexpr int kKVBytes = BlockN * HeadDim * 2;
  // The sm_80 phase functions' view of one consumer warp: 16 rows, one m16 fragment.
  static constexpr int kWarpRows = 16;
  static constexpr int kMT = 1;
  static constexpr int kNT = BlockN / 8;
  static constexpr int kDT = HeadDim / 8;
  // Registers per thread after setmaxnreg, within the 64K file: the consumers hold S, P, O and
  // the softmax state; 56 is what the producer's scan and cp.async fallback need without spilling
  // at block_n 128 (ptxas -v; 40 spills). Two consumer groups get 224 (128 * 56 + 256 * 224),
  // three get 152 (128 * 56 + 384 * 152 = 65536): enough for head dim 64 only, where O is 32
  // registers instead of 64 (the family's checkSpec refuses 192 rows with head dim 128).
  static constexpr int kProducerRegisters = 56;
  static constexpr int kConsumerRegisters = kConsumerGroups == 2 ? 224 : 152;
  static_assert(kProducerThreads * kProducerRegisters + kConsumerThreads * kConsumerRegisters <=
                    65536,
                "registers: the warpgroups' setmaxnreg budgets exceed the register file");
  // q_full, then full and empty barriers per slot for K and V, then the slots' tile and warp
  // verdict words (8 + 40 * Stages bytes used, the rest slack).
  static constexpr int kBarrierBytes = 16 + Stages * 44;
  // Q, the K and V rings, then the barriers and the tile words; 1024 bytes of slack to align
  // the tiles to the swizzle atom.
  static constexpr int kSmemBytes = 1024 + kQBytes + 2 * Stages * kKVBytes + kBarrierBytes;
  // The epilogue stages output row `row` in the Q tile's own layout: a consumer warp writes
  // only the Q rows its warpgroup's wgmma read, so the groups need not wait for each other.
  __device__ static unsigned staged_offset(int row, int chunk) {
    return sm90::tile_offset<kBlockM>(row, chunk);
  }

  static_assert(HeadDim == 64 || HeadDim == 128, "head_dim: allowed 64, 128");
  static_assert(BlockM == 128 || (BlockM == 192 && HeadDim == 64),
                "block_m: allowed 128, and 192 with head_dim 64");
  static_assert(BlockN == 64 || BlockN == 128, "block_n: allowed 64, 128");
  static_assert(Stages >= 2 && Stages <= 3, "stages: allowed 2, 3");
};

namespace sm90 {

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

// The map of `maps` serving row step `step` whose box covers the tile (count == Rows, every
// coordinate inside the map's extent), or -1: then the tile loads with cp.async.
__device__ __forceinline__ int tma_map_for(const int (&steps)[kTmaSteps],
                                           const int (&extents)[kTmaSteps], const sem::Bounds& b,
                                           int rows) {
  if (b.count != rows) return -1;
#pragma unroll
  for (int i = 0; i < kTmaSteps; ++i) {
    if (steps[i] == b.step && b.lo / b.step + rows <= extents[i]) return i;
  }
  return -1;
}

// A tile of Rows positions b.lo + i * b.step of (batch, head) through a 5-D map: one box per
// 64-element column block, into the [kColBlocks][Rows][64] swizzled layout (the map's 128-byte
// swizzle is the layout tile_offset writes).
template <class Cfg, int Rows>
__device__ __forceinline__ void tma_load_tile(unsigned smem, const TensorMap& map, unsigned bar,
                                              const sem::Bounds& b, int head, int batch) {
#pragma unroll
  for (int cb = 0; cb < Cfg::kColBlocks; ++cb) {
    tma_load_5d(smem + cb * Rows * 128, &map, bar, cb * 64, b.lo % b.step, b.lo / b.step, head,
                batch);
  }
}

// The ring: Q once, then K and V tiles in `Stages` slots each, with a full and an empty
// mbarrier per slot and tensor, so a consumer can release K of a tile (after S = Q K^T) while
// its V is still being read (O += P V runs a step behind; see Forward).
template <class Cfg>
struct Ring {
  unsigned q, k, v;    // tile bases (1024-byte aligned)
  unsigned bars;       // q_full, then k_full, k_empty, v_full, v_empty [Stages] each
  volatile int* tile;  // per slot: tile << 2 | tma << 1 | full; -1 when the scan is exhausted
  // Per slot, for a partial tile: bit w set when consumer warp w's rows are ALL on it (with a
  // full column count), bit 16 + w when they are NONE (warp_verdicts; up to 12 consumer warps).
  volatile int* verdicts;
  // The slot words' handoff, ordered by slot s's K barriers: the producer's thread 0 publishes
  // them before its arrival on k_full(s) (release), a consumer warp reads them after its wait on
  // k_full(s) (acquire) and before its arrival on k_empty(s), which the producer waits for before
  // publishing into the slot again. compute-sanitizer's racecheck does not model mbarrier
  // ordering and reports these two functions' accesses (bench/sanitize_gpu.sh names them).
  __device__ __forceinline__ void publish_slot(int s, int tile_word, int verdict_word) const {
    tile[s] = tile_word;
    verdicts[s] = verdict_word;
  }
  __device__ __forceinline__ void read_slot(int s, int& tile_word, int& verdict_word) const {
    tile_word = __shfl_sync(0xffffffffu, tile[s], 0);  // warp-uniform, visibly
    verdict_word = __shfl_sync(0xffffffffu, verdicts[s], 0);
  }
  __device__ __forceinline__ unsigned k_stage(int s) const { return k + s * Cfg::kKVBytes; }
  __device__ __forceinline__ unsigned v_stage(int s) const { return v + s * Cfg::kKVBytes; }
  __device__ __forceinline__ unsigned q_full() const { return bars; }
  __device__ __forceinline__ unsigned k_full(int s) const { return bars + 8 + 8 * s; }
  __device__ __forceinline__ unsigned k_empty(int s) const {
    return bars + 8 + 8 * (Cfg::kStages + s);
  }
  __device__ __forceinline__ unsigned v_full(int s) const {
    return bars + 8 + 8 * (2 * Cfg::kStages + s);
  }
  __device__ __forceinline__ unsigned v_empty(int s) const {
    return bars + 8 + 8 * (3 * Cfg::kStages + s);
  }
};

// Every full barrier completes on kProducerThreads + 1 arrivals and, for a TMA tile, its bytes:
// each producer thread arrives once (when its cp.async copies have landed, or at once for a
// TMA tile), and thread 0 once more: before a TMA copy, announcing its bytes; after cp.async
// copies, plainly. Thread 0 writes a slot's tile word before its own first arrival.
__device__ __forceinline__ void producer_announce(unsigned bar, bool tma, unsigned bytes,
                                                  int ptid) {
  if (tma && ptid == 0) mbarrier_arrive_expect_tx(bar, bytes);
}
__device__ __forceinline__ void producer_arrive(unsigned bar, bool tma, int ptid) {
  if (tma) {
    mbarrier_arrive(bar);
  } else {
    cp_async_mbarrier_arrive(bar);
    if (ptid == 0) mbarrier_arrive(bar);
  }
}

// produce_kv: K or V rows of column tile `tile` (bounds kb) into a ring slot, by TMA (map >= 0,
// thread 0 alone) or cp.async (every producer thread; gathered columns always).
template <class Cfg, class Pattern>
__device__ __forceinline__ void produce_tile(unsigned smem, const TensorMap* map, unsigned bar,
                                             const char* base, long long row_bytes, int tile,
                                             const sem::Bounds& kb, const sem::DynamicSets& dyn,
                                             int kv_head, int batch, int ptid) {
  if (map != nullptr) {
    if (ptid == 0) tma_load_tile<Cfg, Cfg::kBlockN>(smem, *map, bar, kb, kv_head, batch);
  } else if constexpr (Pattern::kGatherCols) {
    const int* idx = dyn.col_list + tile * Cfg::kBlockN;
    load_rows<Cfg, Cfg::kBlockN>(smem, base, row_bytes, kb.count, ptid,
                                 [idx](int r) { return __ldg(idx + r); });
  } else {
    load_rows<Cfg, Cfg::kBlockN>(smem, base, row_bytes, kb.count, ptid,
                                 [kb](int r) { return kb.lo + r * kb.step; });
  }
}

// compute_qk: S[64 x BlockN] = Q[64 rows of this warpgroup] K^T, issued and committed; the
// caller waits (wgmma_wait) before reading s.
template <class Cfg>
__device__ __forceinline__ void issue_qk(float (&s)[Cfg::kBlockN / 2], unsigned q_rows,
                                         unsigned k_tile) {
  using T = typename Cfg::DType;
#pragma unroll
  for (int kk = 0; kk < Cfg::kHeadDim / 16; ++kk) {
    const unsigned block = kk >> 2, within = (kk & 3) * 32;
    const uint64_t a = smem_descriptor(q_rows + block * Cfg::kBlockM * 128 + within, 16, 1024);
    const uint64_t b = smem_descriptor(k_tile + block * Cfg::kBlockN * 128 + within, 16, 1024);
    wgmma_ss<Cfg::kBlockN, T>(s, a, b, kk > 0 ? 1 : 0);
  }
  wgmma_commit();
}

// accumulate_pv: O[64 x HeadDim] += P[64 x BlockN] V, P as packed A fragments (pack_p), issued
// and committed.
template <class Cfg>
__device__ __forceinline__ void issue_pv(float (&o)[Cfg::kHeadDim / 2],
                                         const unsigned (&pf)[Cfg::kBlockN / 16][4],
                                         unsigned v_tile) {
  using T = typename Cfg::DType;
#pragma unroll
  for (int kn = 0; kn < Cfg::kBlockN / 16; ++kn) {
    // Keys 16 kn .. 16 kn + 15: two 8-row groups (stride 1024 bytes); the next 64 columns of
    // the head dim are the next column block (BlockN rows of 128 bytes further).
    const uint64_t b = smem_descriptor(v_tile + kn * 16 * 128, Cfg::kBlockN * 128, 1024);
    wgmma_rs<Cfg::kHeadDim, T>(o, pf[kn], b, 1);
  }
  wgmma_commit();
}

// P (this warp's S fragments after the softmax) as wgmma A fragments of 16 keys each.
template <class Cfg>
__device__ __forceinline__ void pack_p(unsigned (&pf)[Cfg::kBlockN / 16][4],
                                       const float (&p)[Cfg::kNT][4]) {
  using T = typename Cfg::DType;
#pragma unroll
  for (int kn = 0; kn < Cfg::kBlockN / 16; ++kn) {
    pf[kn][0] = pack2<T>(p[2 * kn][0], p[2 * kn][1]);
    pf[kn][1] = pack2<T>(p[2 * kn][2], p[2 * kn][3]);
    pf[kn][2] = pack2<T>(p[2 * kn + 1][0], p[2 * kn + 1][1]);
    pf[kn][3] = pack2<T>(p[2 * kn + 1][2], p[2 * kn + 1][3]);
  }
}

// online_softmax, split in two so that O += P V of the previous tile can run during the first
// part: softmax_scores turns S into P and updates the running max and sum, returning each
// row's correction; rescale_o applies it to O once that product has landed.
template <class Cfg>
__device__ __forceinline__ void softmax_scores(float (&s)[Cfg::kNT][4], sm80::RowState<Cfg>& st,
                                               float scale_log2, float (&correction)[2]) {
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    float mx = st.row_max[0][half];
#pragma unroll
    for (int nt = 0; nt < Cfg::kNT; ++nt) {
      mx = fmaxf(mx, fmaxf(s[nt][half * 2], s[nt][half * 2 + 1]));
    }
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
    mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
    // A row with nothing kept yet keeps max -inf; subtract 0 then so exp2 gives 0, not NaN.
    const float max_scaled = mx == neg_inf() ? 0.f : mx * scale_log2;
    correction[half] = exp2_approx(st.row_max[0][half] * scale_log2 - max_scaled);
    st.row_max[0][half] = mx;
    float sum = 0.f;
#pragma unroll
    for (int nt = 0; nt < Cfg::kNT; ++nt) {
#pragma unroll
      for (int c = 0; c < 2; ++c) {
        const float p = exp2_approx(fmaf(s[nt][half * 2 + c], scale_log2, -max_scaled));
        s[nt][half * 2 + c] = p;
        sum += p;
      }
    }
    st.row_sum[0][half] = st.row_sum[0][half] * correction[half] + sum;
  }
}

template <class Cfg>
__device__ __forceinline__ void rescale_o(float (&o)[Cfg::kHeadDim / 2],
                                          const float (&correction)[2]) {
#pragma unroll
  for (int dt = 0; dt < Cfg::kDT; ++dt) {
    o[dt * 4 + 0] *= correction[0];
    o[dt * 4 + 1] *= correction[0];
    o[dt * 4 + 2] *= correction[1];
    o[dt * 4 + 3] *= correction[1];
  }
}

// The verdicts of the consumer warps' rows (16 each, sem::sub_bounds) on a partial column tile,
// one classification per lane of the producer warp (lane w: warp w), as Ring::verdicts bits. The
// producer has the tile's bounds at hand and spare issue slots; in a consumer the classification
// would spill (it runs while S, O and P are all live).
template <class Cfg, class Pattern>
__device__ __forceinline__ int warp_verdicts(const sem::Bounds& qb, const sem::Bounds& kb,
                                             const int* params, const sem::DynamicSets& dyn,
                                             int lane) {
  sem::Tri verdict = sem::kSome;
  if (lane < Cfg::kConsumerThreads / 32) {
    const sem::Bounds rows = sem::sub_bounds(qb, lane * Cfg::kWarpRows, Cfg::kWarpRows);
    verdict = sm80::warp_verdict<Cfg, Pattern>(rows, kb, params, dyn);
  }
  const unsigned all = __ballot_sync(0xffffffffu, verdict == sem::kAll);
  const unsigned none = __ballot_sync(0xffffffffu, verdict == sem::kNone);
  static_assert(Cfg::kConsumerThreads / 32 <= 16, "verdicts: 16 bits per kind");
  return static_cast<int>((all & 0xffffu) | (none & 0xffffu) << 16);
}

__device__ __forceinline__ sem::Tri verdict_of(int verdicts, int consumer_warp) {
  if ((verdicts >> consumer_warp) & 1) return sem::kAll;
  if ((verdicts >> (16 + consumer_warp)) & 1) return sem::kNone;
  return sem::kSome;
}

// K's release once S of slot s has landed (the mask reads nothing of the slot), then apply_mask
// for a partial tile (tile word `tile`).
template <class Cfg, class Pattern>
__device__ __forceinline__ void mask_and_release(sm80::ScoreTile<Cfg>& acc_s,
                                                 const sem::Coord (&qc)[1][2], int tile,
                                                 int verdicts, int cwarp, const Ring<Cfg>& ring,
                                                 int s, const AttentionArgs& args,
                                                 const int* params, const sem::DynamicSets& dyn,
                                                 int lane) {
  __syncwarp();
  if (lane == 0) mbarrier_arrive(ring.k_empty(s));
  if (tile & 1) return;  // a full tile
  sm80::apply_mask<Cfg, Pattern>(acc_s, qc, verdict_of(verdicts, cwarp), args.cols, tile >> 2,
                                 params, dyn, lane);
}

// KeySplit: the kernel has the key split (pj_key_split.cuh); without it, none of its code.
struct Forward {
  template <class Cfg, class Pattern, bool KeySplit = false>
  static __device__ __forceinline__ void run(const AttentionArgs& args, const TmaArgs& tma,
                                             const int* params) {
    constexpr int kStages = Cfg::kStages;
    extern __shared__ __align__(128) unsigned char smem_raw[];

    SplitRole role;  // heavy-first row tiles, after a key split's extra CTAs (sm_80 family's)
    if (!split_role<KeySplit>(args, role)) return;
    // The producer's scan and the consumers' end read the role there (after the barrier below).
    if constexpr (KeySplit) {
      if (threadIdx.x == 0) shared_split_role() = role;
    }
    const int b = role.bh / args.heads, h = role.bh % args.heads;
    const int kv_head = h / (args.heads / args.kv_heads);
    const sem::Bounds qb = sem::tile_bounds(args.rows, role.row_tile);
    if (qb.count == 0) return;

    const int tid = threadIdx.x, lane = tid & 31;
    const int warp = __shfl_sync(0xffffffffu, tid / 32, 0);  // warp-uniform, visibly
    const HeadView view = head_view(args, b, h);
    const sem::DynamicSets dyn = dynamic_sets(args);

    const unsigned raw = smem_addr(smem_raw);
    const unsigned base = (raw + 1023u) & ~1023u;
    unsigned char* smem = smem_raw + (base - raw);
    Ring<Cfg> ring;
    ring.q = base;
    ring.k = ring.q + Cfg::kQBytes;
    ring.v = ring.k + kStages * Cfg::kKVBytes;
    ring.bars = ring.v + kStages * Cfg::kKVBytes;
    ring.tile = reinterpret_cast<volatile int*>(smem + (ring.bars + 8 + 32 * kStages - base));
    ring.verdicts = ring.tile + kStages;

    if (tid == 0) {
      mbarrier_init(ring.q_full(), Cfg::kProducerThreads + 1);
      for (int s = 0; s < kStages; ++s) {
        mbarrier_init(ring.k_full(s), Cfg::kProducerThreads + 1);
        mbarrier_init(ring.v_full(s), Cfg::kProducerThreads + 1);
        mbarrier_init(ring.k_empty(s), Cfg::kConsumerThreads / 32);  // a lane per warp
        mbarrier_init(ring.v_empty(s), Cfg::kConsumerThreads / 32);
      }
      fence_barrier_init();
    }
    __syncthreads();

    if (warp < 4) {
      // ---- Producer warpgroup: Q, then K and V of each visited column tile.
      setmaxnreg_dec<Cfg::kProducerRegisters>();
      const int ptid = tid;
      const int q_map = tma_map_for(tma.q_step, tma.q_extent, qb, Cfg::kBlockM);
      producer_announce(ring.q_full(), q_map >= 0, Cfg::kQBytes, ptid);
      if (q_map >= 0) {
        if (ptid == 0) {
          tma_load_tile<Cfg, Cfg::kBlockM>(ring.q, tma.q[q_map], ring.q_full(), qb, h, b);
        }
      } else {
        load_rows<Cfg, Cfg::kBlockM>(ring.q, view.q, view.q_row, qb.count, ptid,
                                     [qb](int r) { return qb.lo + r * qb.step; });
      }
      producer_arrive(ring.q_full(), q_map >= 0, ptid);
      TileScanner<Pattern, Cfg::kBlockN, KeySplit> scanner;
      scanner.skip = role.skip;
      for (int it = 0;; ++it) {
        const int s = it % kStages;
        const unsigned parity = ((it / kStages) - 1) & 1;
        if (it >= kStages) mbarrier_wait(ring.k_empty(s), parity);
        int tile;
        sem::Bounds kb;
        bool full;
        const bool more = within_chunk<KeySplit>(it) &&
                          scanner.next(args.cols, dyn, qb, params, lane, tile, kb, full);
        const int map = !more || Pattern::kGatherCols
                            ? -1
                            : tma_map_for(tma.kv_step, tma.kv_extent, kb, Cfg::kBlockN);
        const bool by_tma = map >= 0;
        const int verdicts =
            more && !full ? warp_verdicts<Cfg, Pattern>(qb, kb, params, dyn, lane) : 0;
        if (ptid == 0) {
          ring.publish_slot(s, more ? (tile << 2 | (by_tma ? 2 : 0) | static_cast<int>(full)) : -1,
                            verdicts);
        }
        producer_announce(ring.k_full(s), by_tma, Cfg::kKVBytes, ptid);
        if (more) {
          produce_tile<Cfg, Pattern>(ring.k_stage(s), by_tma ? &tma.k[map] : nullptr,
                                     ring.k_full(s), view.k, view.k_row, tile, kb, dyn, kv_head, b,
                                     ptid);
        }
        producer_arrive(ring.k_full(s), by_tma, ptid);
        if (!more) break;
        if (it >= kStages) mbarrier_wait(ring.v_empty(s), parity);
        producer_announce(ring.v_full(s), by_tma, Cfg::kKVBytes, ptid);
        produce_tile<Cfg, Pattern>(ring.v_stage(s), by_tma ? &tma.v[map] : nullptr, ring.v_full(s),
                                   view.v, view.v_row, tile, kb, dyn, kv_head, b, ptid);
        producer_arrive(ring.v_full(s), by_tma, ptid);
      }
      cp_async_wait<0>();
      return;
    }

    // ---- Consumer warpgroups. Step j issues S_{j+1} = Q K_{j+1}^T and O += P_j V_j together,
    // then turns S_{j+1} into P_{j+1} while O += P_j V_j still runs (FlashAttention-3's
    // intra-warpgroup overlap), and rescales O once it has landed.
    setmaxnreg_inc<Cfg::kConsumerRegisters>();
    const int cwarp = warp - 4;    // 0 .. 4 * kConsumerGroups - 1
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

    mbarrier_wait(ring.q_full(), 0);
    mbarrier_wait(ring.k_full(0), 0);
    int current, current_verdicts;
    ring.read_slot(0, current, current_verdicts);
    if (current >= 0) {
      fence_proxy_async();  // cp.async writes (Q, K_0) before wgmma reads them
      sm80::ScoreTile<Cfg> acc_s;
      float(&sflat)[Cfg::kBlockN / 2] =
          *reinterpret_cast<float(*)[Cfg::kBlockN / 2]>(&acc_s[0][0][0]);
      wgmma_fence();
      issue_qk<Cfg>(sflat, q_rows, ring.k_stage(0));
      wgmma_wait<0>();
      fence_registers(sflat);
      mask_and_release<Cfg, Pattern>(acc_s, qc, current, current_verdicts, cwarp, ring, 0, args,
                                     params, dyn, lane);
      float correction[2];
      softmax_scores<Cfg>(acc_s[0], st, scale_log2, correction);
      unsigned pf[Cfg::kBlockN / 16][4];
      pack_p<Cfg>(pf, acc_s[0]);

      int j = 0;
      for (;; ++j) {
        const int s = j % kStages, s1 = (j + 1) % kStages;
        mbarrier_wait(ring.k_full(s1), ((j + 1) / kStages) & 1);
        int next, next_verdicts;
        ring.read_slot(s1, next, next_verdicts);
        mbarrier_wait(ring.v_full(s), (j / kStages) & 1);
        if (next < 0) break;
        if (!(current & 2) || !(next & 2)) fence_proxy_async();
        wgmma_fence();
        issue_qk<Cfg>(sflat, q_rows, ring.k_stage(s1));
        issue_pv<Cfg>(o, pf, ring.v_stage(s));
        wgmma_wait<1>();  // S_{j+1} has landed; O += P_j V_j may still run
        fence_registers(sflat);
        mask_and_release<Cfg, Pattern>(acc_s, qc, next, next_verdicts, cwarp, ring, s1, args,
                                       params, dyn, lane);
        softmax_scores<Cfg>(acc_s[0], st, scale_log2, correction);
        wgmma_wait<0>();
        fence_registers(o);
        __syncwarp();
        if (lane == 0) mbarrier_arrive(ring.v_empty(s));
        rescale_o<Cfg>(o, correction);
        pack_p<Cfg>(pf, acc_s[0]);
        current = next;
      }
      // The last tile's O += P V.
      const int s = j % kStages;
      if (!(current & 2)) fence_proxy_async();
      wgmma_fence();
      issue_pv<Cfg>(o, pf, ring.v_stage(s));
      wgmma_wait<0>();
      fence_registers(o);
      __syncwarp();
      if (lane == 0) mbarrier_arrive(ring.v_empty(s));
    }
    // A key split chunk leaves its state to key_split_combine.
    if constexpr (KeySplit) {
      if (!store_split_state<Cfg>(args, shared_split_role(), st, tid - Cfg::kProducerThreads)) {
        return;
      }
    }
    // This warpgroup's wgmma has read its Q rows before any of its warps stages output there
    // (staged_offset keeps each group in its own rows).
    if (group == 0) {
      named_barrier_sync<2, 128>();
    } else if (group == 1) {
      named_barrier_sync<3, 128>();
    } else {
      named_barrier_sync<4, 128>();
    }
    sm80::epilogue<Cfg>(args, st, qb, smem, b, h, warp_row0, lane, scale_log2);
  }
};

}  // namespace sm90

template <class Cfg, class Pattern, bool KeySplit>
__device__ __forceinline__ void attention_forward_sm90(const AttentionArgs& args,
                                                       const TmaArgs& tma) {
  sm90::Forward::run<Cfg, Pattern, KeySplit>(args, tma, args.params);
}

template <class Cfg, class Pattern, int kPhaseQSlot, int kPhaseKSlot>
__device__ __forceinline__ void attention_forward_estimated_grid_sm90(const AttentionArgs& args,
                                                                      const TmaArgs& tma) {
  estimated_grid_forward<sm90::Forward, Cfg, Pattern, kPhaseQSlot, kPhaseKSlot>(args, tma);
}

}  // namespace dev
}  // namespace permjit
