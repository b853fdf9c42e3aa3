// The key split, shared by every kernel family (KernelArgs.h has the workspace layout and the
// why): a heavy row tile's visited column tiles are cut into chunks of consecutive visited
// tiles, one CTA each; every chunk stores its softmax state and a combine kernel merges them.
//   key_split_count    a warp per row tile counts the tiles its scan visits (TileScanner::
//                      count_all); row tiles above min_tiles become candidates;
//   key_split_plan     one CTA: chunk length = the pass's visited tiles / target_ctas (at least
//                      min_tiles / 2), doubled until every split tile's chunks fit the slots;
//                      writes the split tiles and the extra CTAs' work;
//   split_role         which row tile and which chunk a CTA of the attention launch runs;
//   store_split_state  after the mainloop of a chunk: its state into the chunk's slot, and the
//                      CTA ends there (no epilogue);
//   key_split_combine  (pj_attention_fwd.cuh, beside the epilogue it ends in) a CTA per split
//                      tile merges its chunks' states in chunk order, so the result does not
//                      depend on which chunk finished first, and runs the ordinary epilogue.
#pragma once

#include "permjit/codegen/KernelArgs.h"
#include "pj_pattern.cuh"

namespace permjit {
namespace dev {

// A CTA's share of the attention launch: row tile `row_tile` of (batch, head) `bh`, visited
// column tiles skip .. skip + limit - 1 of it, and, when split, its chunk and the tile's slots.
struct SplitRole {
  unsigned bh;  // batch * heads + head (unsigned: b and h divide as blockIdx.x did before)
  int row_tile;
  int skip, limit;
  int tile;  // KeySplitTile index; -1: the row tile is not split
  int chunk, slot;
};

// The CTA's role in shared memory: thread 0 stores it after split_role and every consumer
// thread reads it back after the mainloop, so that none of it stays in registers there.
__device__ __forceinline__ SplitRole& shared_split_role() {
  __shared__ SplitRole role;
  return role;
}

// Whether this CTA's `produced`-th visited tile (from 0) is still in its chunk: the chunk's end
// is read from shared memory (the producer has no register to spare). Always without the split.
template <bool KeySplit>
__device__ __forceinline__ bool within_chunk(int produced) {
  if constexpr (KeySplit) {
    return produced < shared_split_role().limit;
  } else {
    return true;
  }
}

__device__ __forceinline__ KeySplitHeader* split_header(const KeySplitArgs& s) {
  return reinterpret_cast<KeySplitHeader*>(s.workspace);
}
__device__ __forceinline__ KeySplitTile* split_tile_table(const KeySplitArgs& s) {
  return reinterpret_cast<KeySplitTile*>(s.workspace + kSplitTilesOffset);
}

// The role of this CTA; false for an extra CTA without work (it exits). Grid rows below
// extra_rows are the extra CTAs (dispatched first: their chunks belong to the heaviest tiles),
// the others the row tiles from the last one (heavy-first) as without a split. Warp-uniform.
// Without KeySplit (the kernel has no split code), every CTA is its row tile's only one.
template <bool KeySplit>
__device__ __forceinline__ bool split_role(const AttentionArgs& args, SplitRole& role) {
  const KeySplitArgs& s = args.split;
  const int y = static_cast<int>(blockIdx.y);
  role.skip = 0;
  role.limit = 0x7fffffff;
  role.tile = -1;
  role.chunk = 0;
  role.slot = 0;
  if (!KeySplit || s.workspace == nullptr) {
    role.bh = blockIdx.x;
    role.row_tile = gridDim.y - 1 - y;
    return true;
  }
  const KeySplitTile* tiles = split_tile_table(s);
  if (y < s.extra_rows) {
    const int e = y * gridDim.x + blockIdx.x;
    if (e >= split_header(s)->extra) return false;
    const KeySplitWork w = reinterpret_cast<const KeySplitWork*>(s.workspace + kSplitWorkOffset)[e];
    role.tile = w.tile;
    role.chunk = w.chunk;
  } else {
    role.bh = blockIdx.x;
    role.row_tile = gridDim.y - 1 - y;
    // Is this row tile split? A warp looks through the (few) split tiles 32 at a time.
    const int n = split_header(s)->tiles, lane = threadIdx.x & 31;
    for (int base = 0; base < n; base += 32) {
      const int i = base + lane;
      const bool hit = i < n && tiles[i].bh == role.bh && tiles[i].row_tile == role.row_tile;
      const unsigned hits = __ballot_sync(0xffffffffu, hit);
      if (hits != 0) {
        role.tile = base + __ffs(hits) - 1;
        break;
      }
    }
    if (role.tile < 0) return true;
  }
  const KeySplitTile t = tiles[role.tile];
  role.bh = static_cast<unsigned>(t.bh);
  role.row_tile = t.row_tile;
  role.slot = t.slot;
  role.skip = role.chunk * t.chunk_tiles;
  // The last chunk runs to the scan's end, so no visited tile can fall after every chunk.
  role.limit = role.chunk == t.chunks - 1 ? 0x7fffffff : t.chunk_tiles;
  return true;
}

// key_split_count: grid (batch * heads, row tiles / warps per CTA).
template <class Cfg, class Pattern>
__device__ __forceinline__ void key_split_count(const AttentionArgs& args) {
  const KeySplitArgs& s = args.split;
  const int lane = threadIdx.x & 31;
  const int row_tile = blockIdx.y * (blockDim.x / 32) + threadIdx.x / 32;
  if (row_tile >= s.row_tiles) return;
  const sem::Bounds qb = sem::tile_bounds(args.rows, row_tile);
  if (qb.count == 0) return;
  const sem::DynamicSets dyn = dynamic_sets(args);
  TileScanner<Pattern, Cfg::kBlockN> scanner;
  const int visited = scanner.count_all(args.cols, dyn, qb, args.params, lane);
  if (lane != 0) return;
  KeySplitHeader* h = split_header(s);
  atomicAdd(&h->visited, static_cast<unsigned long long>(visited));
  if (visited > s.min_tiles) {
    const int i = atomicAdd(&h->candidates, 1);
    if (i < kSplitMaxCandidates) {
      KeySplitCandidate* c =
          reinterpret_cast<KeySplitCandidate*>(s.workspace + kSplitCandidatesOffset);
      c[i] = KeySplitCandidate{static_cast<int>(blockIdx.x), row_tile, visited, 0};
    }
  }
}

// key_split_plan: one CTA of 1024 threads, candidate i on thread i.
__device__ __forceinline__ void key_split_plan(const AttentionArgs& args) {
  static_assert(kSplitMaxCandidates == 1024, "key_split_plan: one candidate per thread");
  __shared__ int warp_sums[32];
  const KeySplitArgs& s = args.split;
  KeySplitHeader* h = split_header(s);
  const int t = threadIdx.x;
  const int candidates = h->candidates;
  if (candidates > kSplitMaxCandidates || candidates == 0) {
    // Many heavy row tiles keep the machine busy without a split (and there is no room to
    // choose among them deterministically); none: nothing to split.
    if (t == 0) h->tiles = h->extra = 0;
    return;
  }
  const KeySplitCandidate c =
      t < candidates
          ? reinterpret_cast<const KeySplitCandidate*>(s.workspace + kSplitCandidatesOffset)[t]
          : KeySplitCandidate{0, 0, 0, 0};
  const unsigned long long visited = h->visited;
  long long chunk = static_cast<long long>((visited + s.target_ctas - 1) / s.target_ctas);
  chunk = chunk > (s.min_tiles + 1) / 2 ? chunk : (s.min_tiles + 1) / 2;
  chunk = chunk > 1 ? chunk : 1;
  int chunks = 1, slots = 0;
  for (;;) {
    chunks = c.visited > chunk ? static_cast<int>((c.visited + chunk - 1) / chunk) : 1;
    chunks = chunks < kSplitMaxChunks ? chunks : kSplitMaxChunks;
    // Capped, the chunks are longer; none may be left empty (100 tiles in 32 chunks of 4
    // would leave 7): as many as chunks of that length need.
    const int chunk_len = (c.visited + chunks - 1) / chunks;
    chunks = (c.visited + chunk_len - 1) / chunk_len;
    block_scan(chunks > 1 ? chunks : 0, warp_sums, slots);
    if (slots <= kSplitSlots) break;
    chunk *= 2;
  }
  int split_tiles = 0, extra = 0, unused = 0;
  const bool split = chunks > 1;
  // Exclusive prefix sums over the candidates: each split tile's slots, index and work entries.
  const int slot_count = split ? chunks : 0, work_count = split ? chunks - 1 : 0;
  const int slot = block_scan(slot_count, warp_sums, unused) - slot_count;
  const int index = block_scan(split ? 1 : 0, warp_sums, split_tiles) - (split ? 1 : 0);
  const int work = block_scan(work_count, warp_sums, extra) - work_count;
  if (split) {
    const int chunk_tiles = (c.visited + chunks - 1) / chunks;
    split_tile_table(s)[index] =
        KeySplitTile{c.bh, c.row_tile, chunks, chunk_tiles, slot, {0, 0, 0}};
    KeySplitWork* w = reinterpret_cast<KeySplitWork*>(s.workspace + kSplitWorkOffset);
    for (int z = 1; z < chunks; ++z) w[work + z - 1] = KeySplitWork{index, z};
  }
  if (t == 0) {
    h->tiles = split_tiles;
    h->extra = extra;
  }
}

// The floats of a chunk's state per thread: O (this thread's fragments), then row max and
// partial row sum of its 2 * kMT rows. Element e of thread t lies at e * threads + t of the
// slot (coalesced); threads = the threads that hold the state.
template <class Cfg>
struct SplitState {
  static constexpr int kFrag = Cfg::kMT * Cfg::kDT * 4;
  static constexpr int kThreads = Cfg::kBlockM / Cfg::kWarpRows * 32;
  __device__ static float* slot(const KeySplitArgs& s, int index) {
    return reinterpret_cast<float*>(s.workspace + kSplitPartialOffset) +
           index * keySplitSlotFloats(Cfg::kBlockM, Cfg::kHeadDim);
  }
  __device__ static int max_at(int mt, int half) { return kFrag + mt * 4 + half; }
  __device__ static int sum_at(int mt, int half) { return kFrag + mt * 4 + 2 + half; }
};

// store_split_state, after the mainloop: a CTA whose row tile is split stores its chunk's state
// (thread t of the state's threads) and returns false: the combine kernel finishes the tile.
template <class Cfg, class State>
__device__ __forceinline__ bool store_split_state(const AttentionArgs& args, const SplitRole& role,
                                                  const State& st, int t) {
  if (role.tile < 0) return true;
  using S = SplitState<Cfg>;
  float* mine = S::slot(args.split, role.slot + role.chunk) + t;
  const float* o = &st.acc_o[0][0][0];
#pragma unroll
  for (int e = 0; e < S::kFrag; ++e) __stcg(mine + e * S::kThreads, o[e]);
#pragma unroll
  for (int mt = 0; mt < Cfg::kMT; ++mt) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      __stcg(mine + S::max_at(mt, half) * S::kThreads, st.row_max[mt][half]);
      __stcg(mine + S::sum_at(mt, half) * S::kThreads, st.row_sum[mt][half]);
    }
  }
  return false;
}

// The chunks of split tile `tile` merged into `st` (thread t), in chunk order: each row's
// maximum over the chunks first, then the weighted sums.
template <class Cfg, class State>
__device__ __forceinline__ void combine_split_states(const KeySplitArgs& s,
                                                     const KeySplitTile& tile, State& st, int t,
                                                     float scale_log2) {
  using S = SplitState<Cfg>;
  const long long slot_floats = keySplitSlotFloats(Cfg::kBlockM, Cfg::kHeadDim);
  const float* base = S::slot(s, tile.slot) + t;
#pragma unroll
  for (int mt = 0; mt < Cfg::kMT; ++mt) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      float m = neg_inf();
      for (int chunk = 0; chunk < tile.chunks; ++chunk) {
        m = fmaxf(m, __ldcg(base + chunk * slot_floats + S::max_at(mt, half) * S::kThreads));
      }
      st.row_max[mt][half] = m;
      st.row_sum[mt][half] = 0.f;
    }
  }
  float* acc = &st.acc_o[0][0][0];
#pragma unroll
  for (int e = 0; e < S::kFrag; ++e) acc[e] = 0.f;
  for (int chunk = 0; chunk < tile.chunks; ++chunk) {
    const float* from = base + chunk * slot_floats;
    float w[Cfg::kMT][2];
#pragma unroll
    for (int mt = 0; mt < Cfg::kMT; ++mt) {
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const float m = __ldcg(from + S::max_at(mt, half) * S::kThreads);
        // A row this chunk kept nothing of (max -inf) weighs 0, without exp2(-inf + inf).
        w[mt][half] = m == neg_inf() ? 0.f : exp2_approx((m - st.row_max[mt][half]) * scale_log2);
        st.row_sum[mt][half] += __ldcg(from + S::sum_at(mt, half) * S::kThreads) * w[mt][half];
      }
    }
#pragma unroll
    for (int e = 0; e < S::kFrag; ++e) {
      acc[e] += __ldcg(from + e * S::kThreads) * w[e / (Cfg::kDT * 4)][(e & 3) >> 1];
    }
  }
}

}  // namespace dev
}  // namespace permjit
