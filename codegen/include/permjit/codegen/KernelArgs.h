// AttentionArgs: the single by-value parameter of every generated attention kernel.
//
// Freestanding like TileSemantics.h (no standard headers) because the NVRTC source embeds it
// verbatim; the host fills the same struct and passes its address to cuLaunchKernel. Keep it
// under 4 KB (the classic kernel-parameter limit); static_assert below.
#pragma once

#include "permjit/compiler/TileSemantics.h"

namespace permjit {

// Element strides of one tensor as {batch, seq, head}; head_dim is contiguous. Covers both
// [B, S, H, D] and [B, H, S, D].
enum StrideAxis : int { kStrideBatch = 0, kStrideSeq = 1, kStrideHead = 2 };

// The online grid estimator's choice per (batch, head): ints at EstimateArgs::ws_grid_choice.
enum GridChoiceWord : int {
  kGridChoiceCandidate = 0,  // index into the candidate strides
  kGridChoiceStride = 1,
  kGridChoicePhaseQ = 2,
  kGridChoicePhaseK = 3,
  kGridChoiceWords = 4
};

// Residue bins per candidate stride in the grid estimator's workspace: >= the largest stride
// (Pattern.h kMaxEstimatedGridStride).
constexpr int kGridBinsPerCandidate = 1024;

// Runs of consecutive positions an estimator's rows may fall in (EstimateArgs::row_runs): the
// last last_q queries of a modality interleaved with others.
constexpr int kMaxEstimateRuns = 32;

// Key split: a row tile that visits many more column tiles than the others (tri-shape's dense
// last rows at 1M walk every key tile while the other rows visit a few) is one CTA's serial
// work, longer than the rest of the kernel. With a key split its visited column tiles are cut
// into consecutive chunks, one CTA each; every chunk's CTA stores its unnormalized O and
// softmax state (per thread, in the mainloop's fragment order) in a slot of the split
// workspace, and a combine kernel merges a tile's chunks and runs the ordinary epilogue.
// Per pass, inside the run: key_split_count (a warp per row tile counts its visited tiles;
// the heavy ones become candidates), key_split_plan (one CTA chooses the chunks and the extra
// CTAs' work), the attention launch with KeySplitArgs::extra_rows leading grid rows of extra
// CTAs, then key_split_combine (a CTA per split tile). Bytes of the workspace
// (runtime/Workspace.h keySplitWorkspaceBytes):
//   [0, 64)                  KeySplitHeader
//   kSplitCandidatesOffset   KeySplitCandidate[kSplitMaxCandidates]
//   kSplitTilesOffset        KeySplitTile[kSplitMaxTiles]  (the split row tiles)
//   kSplitWorkOffset         KeySplitWork[kSplitSlots]     (chunk z >= 1 of a split tile per CTA)
//   kSplitPartialOffset      float[kSplitSlots][block_m * (head_dim + 8)] (a chunk's state)
constexpr int kSplitMaxCandidates = 1024;        // more heavy row tiles than this: no split
constexpr int kSplitSlots = 128;                 // chunks of all split tiles together
constexpr int kSplitMaxTiles = kSplitSlots / 2;  // a split tile has two chunks or more
constexpr int kSplitMaxChunks = 32;              // chunks of one row tile
struct KeySplitHeader {
  unsigned long long visited;  // column tiles visited by every row tile (the pass's work)
  int candidates;              // row tiles visiting more than min_tiles (may exceed the max)
  int tiles;                   // split row tiles (KeySplitTile entries)
  int extra;                   // extra CTAs with work (KeySplitWork entries)
  int pad[11];
};
struct KeySplitCandidate {
  int bh, row_tile, visited, pad;
};
struct KeySplitTile {
  int bh, row_tile, chunks, chunk_tiles, slot, pad[3];
};
struct KeySplitWork {
  int tile, chunk;  // KeySplitTile index, chunk index (>= 1; chunk 0 is the row tile's own CTA)
};
constexpr long long kSplitCandidatesOffset = 64;
constexpr long long kSplitTilesOffset =
    kSplitCandidatesOffset +
    kSplitMaxCandidates * static_cast<long long>(sizeof(KeySplitCandidate));
constexpr long long kSplitWorkOffset =
    kSplitTilesOffset + kSplitMaxTiles * static_cast<long long>(sizeof(KeySplitTile));
constexpr long long kSplitPartialOffset =
    (kSplitWorkOffset + kSplitSlots * static_cast<long long>(sizeof(KeySplitWork)) + 255) / 256 *
    256;
// Floats of one slot: O (block_m x head_dim over the threads that hold it) and four softmax
// words (row max and partial sum of two rows) per thread, at most 8 per row in both families.
PJ_HD constexpr long long keySplitSlotFloats(int block_m, int head_dim) {
  return static_cast<long long>(block_m) * (head_dim + 8);
}

struct KeySplitArgs {
  unsigned char* workspace;  // null: this launch does not split
  int min_tiles;             // a row tile visiting more column tiles may be split
  int target_ctas;           // key_split_plan sizes chunks so the work spreads over this many
  int row_tiles;             // of the pass (rows.total / block_m)
  int extra_rows;            // leading grid rows of extra CTAs (attention launch)
  int pad[2];                // 32 bytes: the segment tables after it keep their 16-byte alignment
};

struct AttentionArgs {
  // q, o: [batch, seq_len, heads, head_dim]-shaped through their strides; k, v likewise with
  // kv_heads. Element type is the kernel's dtype (bf16 or fp16).
  const void* q;
  const void* k;
  const void* v;
  void* o;
  // Natural-log log-sum-exp per row, [batch, heads, seq_len] contiguous; may be null unless
  // merge != 0 (merging needs the previous passes' statistics).
  float* lse;
  long long q_stride[3];
  long long k_stride[3];
  long long v_stride[3];
  long long o_stride[3];
  int batch;
  int heads;
  int kv_heads;  // GQA: head h reads kv head h / (heads / kv_heads)
  int seq_len;
  // Softmax scale pre-multiplied by log2(e): the kernel exponentiates with exp2.
  float scale_log2;
  // Nonzero for passes after the first: combine this pass's result with the o/lse already in
  // memory through log-sum-exp.
  int merge;
  int params[sem::kMaxParams];  // bound KernelSpec::params
  // Dynamic plans: the run's workspace, one block of ws_head_bytes per (batch, head), and the
  // byte offsets of the estimator's sets inside a block (runtime/Workspace.h). Null otherwise.
  const unsigned char* workspace;
  long long ws_head_bytes;
  long long ws_col_bitmap, ws_diag_bitmap, ws_col_prefix, ws_diag_prefix, ws_col_list;
  long long ws_diag_pairs;  // the slash set's pair arrays (sem::slash_pair_word)
  int col_count;            // chosen vertical columns per head (min(vertical, seq_len))
  // grid_estimated plans: the byte offset of the estimator's choice (kGridChoice* ints) in a
  // (batch, head) block, and which candidate stride this launch computes.
  long long ws_grid_choice;
  KeySplitArgs split;  // static plans given a workspace; workspace null otherwise
  int grid_candidate;
  sem::SegmentTable rows;  // permuted row space; rows.tile == block_m
  sem::SegmentTable cols;  // permuted column space; cols.tile == block_n
};

// A CUDA tensor map (the driver's CUtensorMap) as kernels see it: 128 opaque bytes, aligned as
// CUDA 13 aligns it (128 bytes; TMA needs 64). The host encodes it with cuTensorMapEncodeTiled
// (runtime/lib/TensorMaps.cpp).
struct alignas(128) TensorMap {
  unsigned long long opaque[16];
};

// TmaArgs: the second by-value parameter of the sm90a family's attention kernels: tensor maps
// that load whole Q (block_m rows) and K/V (block_n rows) tiles with the Tensor Memory
// Accelerator. A tile of the permuted space is the positions lo + i * step (sem::Bounds); one
// map per (tensor, step) views a (batch, head)'s rows as 5-D {head_dim, step, rows / step,
// heads, batch}, so position lo + i * step is coordinate (.., lo % step, lo / step + i, ..): a
// residue class of the grid permutation is a box of consecutive coordinates, no gather. Steps
// of 0 mark absent maps (a tensor whose strides TMA cannot express); tiles without a map, with
// fewer valid positions than the box, or reaching past `*_extent` load with cp.async.
constexpr int kTmaSteps = 2;
struct TmaArgs {
  TensorMap q[kTmaSteps];
  TensorMap k[kTmaSteps];
  TensorMap v[kTmaSteps];
  int q_step[kTmaSteps];    // the row step map i serves (0: absent)
  int kv_step[kTmaSteps];   // K and V maps share their steps (both present or both absent)
  int q_extent[kTmaSteps];  // dimension 2 of map i: coordinates lo / step + i below this
  int kv_extent[kTmaSteps];
};

// EstimateArgs: the single by-value parameter of the online vertical_slash estimator's kernels
// (pj_estimate.cuh). Offsets are bytes inside one (batch, head) block of the workspace
// (runtime/Workspace.h); q and k as in AttentionArgs.
struct EstimateArgs {
  const void* q;
  const void* k;
  long long q_stride[3];
  long long k_stride[3];
  unsigned char* workspace;
  long long ws_head_bytes;
  long long ws_partial, ws_lse, ws_col_score, ws_diag_score;
  long long ws_col_bitmap, ws_diag_bitmap, ws_col_prefix, ws_diag_prefix, ws_col_list;
  long long ws_diag_pairs;  // the slash set's pair arrays (sem::slash_pair_word)
  int heads;
  int kv_heads;
  int seq_len;
  int last_q;                        // estimate rows after the sample rows (<= seq_len)
  int chunks;                        // key chunks of kEstimateChunk keys
  int vertical, slash;               // set sizes (<= seq_len)
  int keep_columns, keep_diagonals;  // always chosen: the first columns, the nearest diagonals
  float scale_log2;
  // Extra query rows scored before the last last_q ones: sample_rows (a multiple of 64)
  // positions from sample_first. 0 for vertical_slash.
  int sample_first, sample_rows;
  int diag_scores;  // nonzero: estimate_scores also sums diagonals (vertical_slash)
  // The last_q estimate rows as runs of consecutive positions: run i starts at position
  // run_first[i] and estimate row run_row[i] (run_row[0] = 0), runs in ascending order.
  int row_runs;
  int run_first[kMaxEstimateRuns];
  int run_row[kMaxEstimateRuns];
  // Nonzero: estimate_scores sums a chunk's diagonals in shared memory (the rows' position
  // spread + 511 offsets; the launch sized it), else into the global scores.
  int diag_window;
  // grid_estimated: the span [grid_begin, grid_end), the candidate strides, and the outputs.
  int grid_begin, grid_end;
  int grid_candidates;
  int grid_strides[8];
  long long ws_grid_bins;    // floats [candidates][1024]: span column mass per key residue
  long long ws_grid_mass;    // floats: per candidate, the captured mass above chance
  long long ws_grid_choice;  // kGridChoiceWords ints
  long long ws_row_capture;  // floats per sample row: mass on the chosen vertical lines
};

// ResidueMassArgs: the single by-value parameter of the offline search's residue-mass kernel
// (pj_search.cuh). For each (batch, head) and every stride s of the launch it sums the causal
// softmax probabilities P[q, k] = exp(scale q.k - lse[q]) of the rows before first_trailing,
// split three ways: keys in the sink or the local window go to the row's base mass; keys on
// the span (offsets[k] >= 0) go to table[class_s(q)][offsets[k] % s], where class_s(q) is
// offsets[q] % s for rows on the span and s for the others; other keys count nowhere.
constexpr int kMaxResidueStrides = 32;
constexpr int kMaxResidueRowBins = 640;  // sum of a launch's strides (shared memory per row)

struct ResidueMassArgs {
  const void* q;  // q_stride / k_stride in elements, as EstimateArgs
  const void* k;
  long long q_stride[3];
  long long k_stride[3];
  const float* lse;    // [batch * heads][seq_len], natural log (the dense run's)
  const int* offsets;  // [seq_len]: the position's offset on the span, -1 off it
  double* tables;      // [batch * heads][table_elems], accumulated (zeroed by the caller)
  float* base;         // [batch * heads][seq_len]: each row's sink and local mass (stored)
  long long table_elems;
  int heads, kv_heads, seq_len;
  int sink, local, first_trailing;
  float scale_log2;
  int strides_count;
  int row_bins;  // sum of strides, rounded up to odd (bank spread of the per-row bins)
  int strides[kMaxResidueStrides];
  int bin_offset[kMaxResidueStrides];    // first bin of stride i in a row's bins
  int table_offset[kMaxResidueStrides];  // first element of stride i's (s + 1) x s table
};

static_assert(sizeof(AttentionArgs) + sizeof(TmaArgs) <= 4096,
              "AttentionArgs and TmaArgs must fit the 4 KB parameter limit");

}  // namespace permjit
