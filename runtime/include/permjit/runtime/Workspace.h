// Layout of a dynamic plan's device workspace (RunArgs::workspace): one block per (batch, head)
// holding the online estimator's statistics and scores and the index sets it chooses. The
// estimator kernels (codegen/cuda/pj_estimate.cuh) and the attention kernels read the same
// offsets; Plan::estimatedIndices copies the sets back from them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "permjit/codegen/CudaSource.h"
#include "permjit/compiler/KernelSpec.h"
#include "permjit/dsl/Pattern.h"

namespace permjit::runtime {

// Byte offsets inside one head's block; every region starts 256-byte aligned.
// The scored rows are sample_rows grid sample rows (0 for vertical_slash), then last_q last rows.
// A head with several vertical_slash atoms has one such block per atom: atom a's regions lie
// a * atom_bytes further (the sizes below are the largest over the atoms).
struct WorkspaceLayout {
  int64_t seq_len = 0, last_q = 0, chunks = 0, vertical = 0, slash = 0;
  int64_t atoms = 1;        // vertical_slash atoms (1 for grid_estimated)
  size_t atom_bytes = 0;    // bytes of one atom's regions, a multiple of 256
  int64_t sample_rows = 0;  // at most this many; a run may sample fewer (gridSampleRange)
  size_t partial = 0;       // float2 [chunks][rows]: per-chunk running (max, sum) of a row
  size_t lse = 0;           // float [rows]: log-sum-exp (log2 domain, scaled) of each row
  size_t col_score = 0;     // float [seq_len]: attention mass of each key column
  size_t diag_score = 0;    // float [seq_len]: attention mass of each diagonal offset q - k
  size_t col_bitmap = 0;    // uint32 [(seq_len + 31) / 32]: chosen vertical columns, a bit each
  size_t diag_bitmap = 0;   // uint32 [(seq_len + 31) / 32]: chosen slash offsets, a bit each
  size_t col_prefix = 0;    // int [seq_len + 1]: chosen columns before each position
  size_t diag_prefix = 0;   // int [seq_len + 1]: chosen offsets below each offset
  size_t col_list = 0;      // int [vertical]: chosen columns, ascending
  size_t diag_pairs = 0;    // uint32 [8][slash_pair_words(seq_len)]: the slash set's pair arrays
  // grid_estimated only (0 otherwise):
  size_t grid_bins = 0;    // float [candidates][kGridBinsPerCandidate]: mass per key residue
  size_t grid_mass = 0;    // float [candidates]: each candidate's captured mass above chance
  size_t grid_choice = 0;  // int [kGridChoiceWords]: the chosen candidate, stride, phases
  size_t row_capture = 0;  // float [sample_rows]: each sample row's mass on the chosen lines
  size_t head_bytes = 0;   // bytes of one (batch, head) block (atoms * atom_bytes)
};

// Throws Error(kInvalidArgument) for seq_len < 1, Error(kInvalidArgument) for a static spec.
WorkspaceLayout workspaceLayout(const KernelSpec& spec, int64_t seq_len);

// The grid estimator's sample rows for a span ending at grid_end: the last
// min(gridSampleRows(strides), grid_end rounded down to 64) positions before grid_end, as
// (first, count), count a multiple of 64. Rows before the span's begin are scored but ignored
// for the query phase. Throws Error(kInvalidArgument) when grid_end < 64.
int64_t gridSampleRows(const std::vector<int>& strides);
std::pair<int64_t, int64_t> gridSampleRange(const std::vector<int>& strides, int64_t grid_end);
// The estimate rows of a vertical_slash atom: the last min(last_q, count) queries of its
// modality (of every query for query_modality -1) as runs [begin, end) of consecutive
// positions, ascending; none when the modality has no query. Throws Error(kUnsupported) when
// they fall in more than kMaxEstimateRuns runs.
std::vector<std::pair<int64_t, int64_t>> estimateRowRuns(const DynamicSpec& atom,
                                                         const Layout& layout, int64_t seq_len);

// A static spec's key-split workspace (codegen/KernelArgs.h: header, candidates, split tiles,
// work, then kSplitSlots chunk states of block_m * (head_dim + 8) floats): the same
// for every shape. 0 for a dynamic spec, whose workspace holds the estimator's sets.
size_t keySplitWorkspaceBytes(const KernelSpec& spec);

// batch * heads * head_bytes; 0 for a static spec.
size_t dynamicWorkspaceBytes(const KernelSpec& spec, int64_t batch, int64_t heads, int64_t seq_len);

}  // namespace permjit::runtime
