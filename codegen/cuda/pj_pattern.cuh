// The pattern side of the attention mainloop, shared by every kernel family: a (batch, head)'s
// tensor views, the estimator's dynamic sets, the column tiles a row tile visits (classified by
// the pattern's policy, found with warp ballots), K/V tile loads through the permuted or
// gathered column space, and the grid_estimated entry that swaps in the estimated phases.
// A pattern contributes only a `Pattern` policy type:
//   static constexpr bool kGatherCols;  // columns: the estimated vertical columns (dynamic)
//   static bool keep(const sem::Coord& q, const sem::Coord& k, const int* params,
//                    const sem::DynamicSets& dyn);
//   static sem::Tri classify(const sem::Bounds& q, const sem::Bounds& k, const int* params,
//                            const sem::DynamicSets& dyn);
#pragma once

#include "permjit/codegen/KernelArgs.h"
#include "pj_tile.cuh"

namespace permjit {
namespace dev {

// Byte views of one (batch, head)'s Q/K/V rows (GQA: K/V of its kv head). O has its own view
// (output_view), taken in the epilogue so its pointer is not live across the mainloop.
struct HeadView {
  const char* q;
  const char* k;
  const char* v;
  long long q_row, k_row, v_row;  // bytes per sequence position
};

struct OutputView {
  char* o;
  long long o_row;
};

__device__ __forceinline__ HeadView head_view(const AttentionArgs& args, int b, int h) {
  const int kvh = h / (args.heads / args.kv_heads);
  HeadView view;
  view.q = static_cast<const char*>(args.q) +
           2 * (b * args.q_stride[kStrideBatch] + h * args.q_stride[kStrideHead]);
  view.k = static_cast<const char*>(args.k) +
           2 * (b * args.k_stride[kStrideBatch] + kvh * args.k_stride[kStrideHead]);
  view.v = static_cast<const char*>(args.v) +
           2 * (b * args.v_stride[kStrideBatch] + kvh * args.v_stride[kStrideHead]);
  view.q_row = 2 * args.q_stride[kStrideSeq];
  view.k_row = 2 * args.k_stride[kStrideSeq];
  view.v_row = 2 * args.v_stride[kStrideSeq];
  return view;
}

__device__ __forceinline__ OutputView output_view(const AttentionArgs& args, int b, int h) {
  OutputView view;
  view.o = static_cast<char*>(args.o) +
           2 * (b * args.o_stride[kStrideBatch] + h * args.o_stride[kStrideHead]);
  view.o_row = 2 * args.o_stride[kStrideSeq];
  return view;
}

// The estimator's sets of CTA column blockIdx.x's (batch, head); unused (null) by static
// patterns.
__device__ __forceinline__ sem::DynamicSets dynamic_sets(const AttentionArgs& args) {
  sem::DynamicSets dyn;
  const unsigned char* ws = args.workspace + blockIdx.x * args.ws_head_bytes;
  dyn.bits[sem::kVerticalSet] = reinterpret_cast<const unsigned*>(ws + args.ws_col_bitmap);
  dyn.bits[sem::kSlashSet] = reinterpret_cast<const unsigned*>(ws + args.ws_diag_bitmap);
  for (int set = 0; set < 2; ++set) dyn.word_count[set] = sem::set_words(args.seq_len);
  dyn.slash_pairs = reinterpret_cast<const unsigned*>(ws + args.ws_diag_pairs);
  dyn.pair_words = sem::slash_pair_words(args.seq_len);
  dyn.prefix[sem::kVerticalSet] = reinterpret_cast<const int*>(ws + args.ws_col_prefix);
  dyn.prefix[sem::kSlashSet] = reinterpret_cast<const int*>(ws + args.ws_diag_prefix);
  dyn.col_list = reinterpret_cast<const int*>(ws + args.ws_col_list);
  dyn.col_count = args.col_count;
  dyn.size = args.seq_len;
  return dyn;
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

// Walks the visited (non-NONE) column tiles of one row tile in order, in two levels so that a
// row tile that visits few of many column tiles (a sparse head at 1M) does not classify them
// all: lane i first classifies group base + i, a run of kGroupTiles tiles taken as one tile
// (sem::run_bounds; a run across a segment or class boundary counts as SOME), and one ballot
// yields 32 groups' verdicts. A NONE group is skipped whole; the tiles of a SOME group are then
// classified one per lane; those of an ALL group are visited without classifying (ALL holds for
// every tile of the run). The popped tile's Bounds come from its lane by shuffle.
// With Skips (kernels with the key split), a chunk (KeySplitTile) first drops `skip` visited
// tiles, a ballot's worth at once, so a late chunk does not pop every tile before its own (in
// next(), so the scan is inlined once); the mainloop stops it after its chunk's count.
template <class Pattern, int BlockN, bool Skips = false>
struct TileScanner {
  static constexpr int kGroupTiles = 32;
  int group_base = 0;           // first group of the current 32-group window
  unsigned groups_pending = 0;  // visited groups of the window not yet expanded
  unsigned groups_all = 0;      // groups of the window classified ALL
  int tile_base = 0;            // first tile of the group being expanded
  unsigned pending = 0;         // visited tiles of that group not yet returned
  unsigned full_bits = 0;
  int skip = 0;      // visited tiles still to drop before the first returned (Skips only)
  sem::Bounds mine;  // bounds of tile tile_base + lane

  // Expands groups until one has visited tiles pending; false when the scan is exhausted.
  __device__ __forceinline__ bool refill(const sem::SegmentTable& cols, const sem::DynamicSets& dyn,
                                         const sem::Bounds& qb, const int* params, int lane) {
    const int tiles =
        Pattern::kGatherCols ? (dyn.col_count + BlockN - 1) / BlockN : cols.total / BlockN;
    const int groups = (tiles + kGroupTiles - 1) / kGroupTiles;
    while (pending == 0) {
      while (groups_pending == 0) {
        if (group_base >= groups) return false;
        const int g = group_base + lane;
        sem::Tri verdict = sem::kNone;
        if (g < groups) {
          sem::Bounds run;
          bool exact;
          if constexpr (Pattern::kGatherCols) {
            run = sem::gathered_bounds(dyn, g, kGroupTiles * BlockN);
            exact = true;
          } else {
            exact = sem::run_bounds(cols, g * kGroupTiles, kGroupTiles, run);
          }
          verdict = !exact ? sem::kSome
                           : (run.count > 0 ? Pattern::classify(qb, run, params, dyn) : sem::kNone);
        }
        groups_pending = __ballot_sync(0xffffffffu, verdict != sem::kNone);
        groups_all = __ballot_sync(0xffffffffu, verdict == sem::kAll);
        group_base += 32;
      }
      const int bit = __ffs(groups_pending) - 1;
      groups_pending &= groups_pending - 1;
      const bool group_all = (groups_all >> bit) & 1u;
      tile_base = (group_base - 32 + bit) * kGroupTiles;
      const int t = tile_base + lane;
      bool visit = false, all = false;
      if (t < tiles) {
        mine = column_bounds<Pattern, BlockN>(cols, dyn, t);
        if (mine.count > 0) {
          const sem::Tri c = group_all ? sem::kAll : Pattern::classify(qb, mine, params, dyn);
          visit = c != sem::kNone;
          all = c == sem::kAll && mine.count == BlockN;
        }
      }
      pending = __ballot_sync(0xffffffffu, visit);
      full_bits = __ballot_sync(0xffffffffu, all);
    }
    return true;
  }

  __device__ __forceinline__ bool next(const sem::SegmentTable& cols, const sem::DynamicSets& dyn,
                                       const sem::Bounds& qb, const int* params, int lane,
                                       int& tile, sem::Bounds& kb, bool& full) {
    for (;;) {
      if (!refill(cols, dyn, qb, params, lane)) return false;
      if (!Skips || skip == 0) break;
      const int here = __popc(pending);
      if (here <= skip) {
        skip -= here;
        pending = 0;
      } else {
        for (; skip > 0; --skip) pending &= pending - 1;
      }
    }
    const int bit = __ffs(pending) - 1;
    pending &= pending - 1;
    tile = tile_base + bit;
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

  // Visited tiles of the whole scan (key_split_count), without popping them one by one.
  __device__ __forceinline__ int count_all(const sem::SegmentTable& cols,
                                           const sem::DynamicSets& dyn, const sem::Bounds& qb,
                                           const int* params, int lane) {
    int visited = 0;
    while (refill(cols, dyn, qb, params, lane)) {
      visited += __popc(pending);
      pending = 0;
    }
    return visited;
  }
};

// A grid_estimated pattern: one launch per candidate stride (each with that stride's bound
// params and segment tables). The online estimator wrote, per (batch, head), the chosen
// candidate and both phases (runtime/Workspace.h, GridChoiceWord); a CTA of another candidate
// exits at once, the chosen one runs with the phases in their param slots. Forward is the
// kernel family's mainloop: a type with a static run<Cfg, Pattern>(args, extra..., params)
// (extra: the family's further kernel parameters, e.g. the sm90a family's TmaArgs).
template <class Forward, class Cfg, class Pattern, int kPhaseQSlot, int kPhaseKSlot, class... Extra>
__device__ __forceinline__ void estimated_grid_forward(const AttentionArgs& args,
                                                       const Extra&... extra) {
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
  Forward::template run<Cfg, Pattern>(args, extra..., chosen_params);
}

}  // namespace dev
}  // namespace permjit
