// The MMInference head types as plain DSL patterns (no kernels here): what one attention head
// keeps. Every builder checks its parameters and throws Error(kInvalidPattern) naming the
// parameter and its allowed range. All head types are causal.
//
//   a_shape(sink, local)                 causal & (sink | local)
//   tri_shape(sink, local, last_q_rows)  causal & (sink | local | rows(last(last_q_rows)))
//   grid_head({stride, phase_q, phase_k, span, sink, local, trailing_text_rows})
//                                        causal & (sink | local | rows(last(trailing)) |
//                                                  grid(stride, phase_q, phase_k, span))
//                                        with estimate_strides set: the grid is
//                                        grid_estimated(estimate_strides, estimate_last_q, span),
//                                        stride and phases chosen per input (dynamic)
//   vertical_slash_head(v, s, last_q)    causal & vertical_slash(v, s, last_q)   (dynamic)
//   dense()                              causal
//   full()                               every pair (only meaningful as a boundary_2d block,
//                                        where boundary_2d_head's causal decides)
//   q_boundary_head({m: head})           rows of modality m keep what `head` keeps
//   boundary_2d_head({(mq, mk): head})   causal & boundary_2d(...): each block's head reads
//                                        modality-local coordinates (see Pattern.h)
#pragma once

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "permjit/dsl/Pattern.h"

namespace permjit::patterns {

// Largest position-like parameter (sink, window, row counts, stride): positions are int on
// the device (sem::kPosInf = 2^30 - 1 is reserved for "unbounded").
constexpr int64_t kMaxPositionParam = (int64_t{1} << 30) - 2;

struct GridHeadParams {
  int64_t stride = 14;  // [2, kMaxPositionParam]
  int64_t phase_q = 0;  // [0, stride)
  int64_t phase_k = 0;  // [0, stride)
  SpanRef span = SpanRef::modality(Modality::kVision);
  int64_t sink = 0;                // [0, kMaxPositionParam]
  int64_t local = 1;               // [1, kMaxPositionParam]: 1 keeps the diagonal
  int64_t trailing_text_rows = 0;  // [0, kMaxPositionParam]
  // Non-empty: estimate the stride (one of these) and both phases online; stride, phase_q and
  // phase_k are then unused.
  std::vector<int64_t> estimate_strides;
  int64_t estimate_last_q = 64;  // [1, 1024]
  bool operator==(const GridHeadParams&) const = default;
};

Pattern a_shape(int64_t sink, int64_t local);
Pattern tri_shape(int64_t sink, int64_t local, int64_t last_q_rows);
Pattern grid_head(const GridHeadParams& params);
Pattern vertical_slash_head(int64_t vertical, int64_t slash, int64_t last_q);
Pattern dense();
Pattern full();
// Heads may not themselves be boundary heads (the DSL forbids nested boundaries).
Pattern q_boundary_head(const std::map<Modality, Pattern>& by_query_modality);
Pattern boundary_2d_head(const std::map<std::pair<Modality, Modality>, Pattern>& by_block);

}  // namespace permjit::patterns
