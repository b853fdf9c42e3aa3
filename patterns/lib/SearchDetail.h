// What the CPU search (Search.cpp) and the GPU search (GpuSearch.cpp) share: input checks, the
// candidate list, span offsets and the closed-form phase recall of grid candidates.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "permjit/patterns/Search.h"

namespace permjit::patterns::detail {

// Error(kInvalidArgument) for bad options, null or disagreeing inputs, non-finite values and
// seq_len above max_seq_len (`why` says what bounds it).
void checkInputs(const std::vector<CalibrationInput>& inputs, const SearchOptions& options,
                 int64_t max_seq_len, const std::string& why);

// options.candidates, or `defaults` when empty, each checked (parameter ranges; search_phases
// only on grid heads). Dynamic candidates are Error(kUnsupported) unless allow_vertical_slash,
// which admits vertical_slash heads (and nothing else dynamic).
std::vector<SearchCandidate> resolveCandidates(const SearchOptions& options,
                                               std::vector<SearchCandidate> defaults,
                                               bool allow_vertical_slash);

// Offset of each position inside a span in original coordinates (Pattern.h residue(x)), or -1
// outside the span.
std::vector<int64_t> spanOffsets(const SpanRef& span, const Layout& layout, int64_t S);

// One grid candidate's attention mass on one input, grouped by query residue class c (class s:
// rows off the span; trailing rows are apart): M[c * s + r] = sum over the class's rows of the
// row's sink/local mass plus its mass on span keys of residue r outside sink/local.
// The same sums with every kept pair weighing 1 (M counts pairs, full[c] is the class's causal
// pairs) give the candidate's kept pairs instead of its kept mass.
struct PhaseSums {
  int64_t stride = 0;
  std::vector<double> M;     // (s + 1) x s
  std::vector<double> full;  // s + 1: what a class's rows keep on a horizontal line (mass: 1
                             // per row; pairs: q + 1 per row)
  double trailing = 0.0;     // what the trailing rows keep (they keep every key)
};

// Adds (T + full[pq] + sum_{c != pq} M[c][pk]) / divisor to table[pq * s + pk]: the recall with
// divisor S, the density with divisor S (S + 1) / 2 on pair counts.
void addPhaseRecalls(const PhaseSums& sums, double divisor, std::vector<double>& table);

// The kept-pair sums of a grid candidate's walk (sink, local, span, trailing rows, stride) on a
// layout: no attention needed, O(S s).
PhaseSums phasePairSums(const HeadSpec& grid, const Layout& layout, int64_t S);

// Recall and density are fractions in [0, 1]; computed in floating point they can leave it by
// rounding, so they are clamped where computed.
double clampFraction(double x);

// The result of one head from its candidates' concrete heads and mean scores, with the choice
// rule applied and the recall and density annotations set.
HeadSearchResult headResult(int64_t head, const std::vector<HeadSpec>& concrete,
                            const std::vector<double>& recall, const std::vector<double>& density,
                            const SearchOptions& options);

}  // namespace permjit::patterns::detail
