// The CPU reference: the executable definition of what a Pattern keeps, and float64 attention
// over an explicit mask. Small and obviously correct rather than fast; every GPU result and
// every compiler plan is checked against it.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "permjit/dsl/Pattern.h"

namespace permjit {

// One vertical_slash atom's estimated sets: kept key columns and kept diagonal offsets q - k
// (>= 0), in original positions.
struct VerticalSlashSets {
  std::vector<int64_t> vertical;
  std::vector<int64_t> slash;
};

// Per-input indices of a dynamic pattern. vertical / slash: the sets of its vertical_slash atom
// (vertical: kept key columns; slash: kept diagonal offsets q - k, >= 0), or of its first atom
// when it holds one per q_boundary modality; later_atoms: the sets of the others, in the order
// of verticalSlashAtoms (by query modality: vision, text, other). grid: what a grid_estimated
// atom chose (set for grid_estimated patterns, empty otherwise).
struct DynamicIndices {
  std::vector<int64_t> vertical;
  std::vector<int64_t> slash;
  std::vector<VerticalSlashSets> later_atoms;
  std::optional<GridChoice> grid;
  // grid_estimated, informational: each candidate stride's score (its vertical lines' attention
  // mass above chance, a share of the scored rows), in the pattern's candidate order.
  std::vector<double> grid_scores;
};

// Whether the pattern keeps the pair (q, k) of a sequence of seq_len positions. Semantics are
// those of Pattern.h; boundary_2d evaluates its block pattern in modality-local coordinates.
// Throws Error(kInvalidArgument) for q or k outside [0, seq_len), Error(kInvalidPattern) for a
// layout that does not fit seq_len, Error(kInvalidArgument) for a vertical_slash reached with
// dyn == nullptr or a grid_estimated reached without dyn->grid.
// Costs O(spans + |dyn|) per call: use keptMask for many pairs.
bool keptPair(const Pattern& pattern, const Layout& layout, int64_t seq_len, int64_t q, int64_t k,
              const DynamicIndices* dyn = nullptr);

// The seq_len x seq_len mask, row q major (mask[q * seq_len + k] is 1 when kept). dyn indices
// must lie in [0, seq_len) (Error(kInvalidArgument) otherwise).
std::vector<uint8_t> keptMask(const Pattern& pattern, const Layout& layout, int64_t seq_len,
                              const DynamicIndices* dyn = nullptr);

// The mask rows of the given queries: like keptMask restricted to `rows`, O(seq_len) per row
// after one O(seq_len) table build (for long sequences where the whole mask is too big).
std::vector<std::vector<uint8_t>> keptRows(const Pattern& pattern, const Layout& layout,
                                           int64_t seq_len, const std::vector<int64_t>& rows,
                                           const DynamicIndices* dyn = nullptr);

// Kept pairs of causal & vertical_slash for one head's estimated indices: columns v and
// diagonals d (q - k = d) kept wherever k <= q < seq_len. sum_v (S - v) + sum_d (S - d) minus the
// pairs on both, one per (v, d) with v + d < S; repeated indices count once. O((|V| + |D|) log).
int64_t verticalSlashKeptPairs(std::vector<int64_t> vertical, std::vector<int64_t> slash,
                               int64_t seq_len);
// The same, counted over the query rows [q_begin, q_end) only (one modality's span of a
// q_boundary with a vertical_slash per modality).
int64_t verticalSlashKeptPairsInRows(std::vector<int64_t> vertical, std::vector<int64_t> slash,
                                     int64_t q_begin, int64_t q_end);

struct AttentionShape {
  int64_t batch, heads, kv_heads, seq_len, head_dim;
};

// out = softmax(scale * q.k^T masked) v in float64 with a max-subtracted softmax.
// q/out: [batch, heads, seq_len, head_dim]; k/v: [batch, kv_heads, seq_len, head_dim];
// lse: [batch, heads, seq_len], natural log of the sum of exp(scale * q.k) over kept keys
// (may be null). mask: seq_len x seq_len as from keptMask, shared by every batch and head (null
// keeps every pair). GQA: head h reads kv head h / (heads / kv_heads). Rows with no kept key
// give out = 0 and lse = -inf. Throws Error(kInvalidArgument) on a bad shape or null tensor.
void referenceAttention(const AttentionShape& shape, const double* q, const double* k,
                        const double* v, const uint8_t* mask, double scale, double* out,
                        double* lse);

}  // namespace permjit
