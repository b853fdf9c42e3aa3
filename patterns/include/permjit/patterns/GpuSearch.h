// The offline per-head pattern search (Search.h) on the GPU, with permjit's own kernels, for
// calibration inputs at the lengths models run (S up to 1M):
//   - dense attention of every head with its log-sum-exp (LSE) per row;
//   - a candidate's recall for row q is exp(lse_candidate(q) - lse_dense(q)): the share of the
//     row's softmax mass the candidate keeps. So each candidate costs one sparse attention run
//     with LSE out, never an S x S mask;
//   - grid candidates with open phases: one walk over the causal keys (the residue-mass
//     kernel) bins every row's mass by key residue for all their strides at once; the phase
//     recall table of Search.h's closed form follows from those sums, and its best pair is
//     the candidate's phases and recall;
//   - density (kept pairs / causal pairs): the same kernels on zero queries and keys, where
//     every kept key has weight 1, so exp(lse(q)) is row q's kept count; vertical_slash heads
//     count the indices their estimator chose.
// The choice rule is chooseCandidate's, so CPU and GPU searches of the same inputs agree.
#pragma once

#include <cstdint>
#include <vector>

#include "permjit/patterns/Search.h"
#include "permjit/permjit.h"

namespace permjit::patterns {

// The longest calibration input the GPU search takes.
constexpr int64_t kMaxGpuSearchSeqLen = int64_t{1} << 20;

struct GpuSearchOptions {
  // The inputs are rounded to this type for the kernels (bf16 captures of a bf16 model are
  // exact in either); float16 holds |x| <= 65504, larger values are an error naming the element.
  DType dtype = DType::kFP16;
  int device_ordinal = 0;  // the device of `runtime` (its buffers live in its primary context)
};

// defaultCandidates plus, since the GPU search estimates per input, two vertical_slash heads
// (MInference's shape scaled to S: vertical S/32 and S/16 columns, slash S/16 and S/8
// diagonals, last_q 64).
std::vector<SearchCandidate> defaultGpuCandidates(const Layout& layout, int64_t seq_len);

// searchHeads' contract (inputs, options, results, errors) on `runtime`'s device. Candidates
// may include vertical_slash heads. head_dim up to 128 (padded with zeros to 64 or 128, which
// leaves every q.k unchanged). Error(kDriverError) on a host-only runtime.
std::vector<HeadSearchResult> searchHeadsGpu(Runtime& runtime,
                                             const std::vector<CalibrationInput>& inputs,
                                             const SearchOptions& options,
                                             const GpuSearchOptions& gpu = {});

}  // namespace permjit::patterns
