// The host side of one call: bind a KernelSpec's param slots for a shape, build the permuted
// index spaces (segment tables), and interpret the predicate with the shared tile semantics
// (the same sem:: functions the generated CUDA calls).
#pragma once

#include <cstdint>
#include <vector>

#include "permjit/compiler/KernelSpec.h"
#include "permjit/compiler/TileSemantics.h"
#include "permjit/dsl/Pattern.h"

namespace permjit {

// Values of every param slot for (layout, seq_len). Throws Error(kInvalidArgument) for seq_len
// outside [1, 2^30) and Error(kInvalidPattern) for a layout that does not fit seq_len or a
// stride slot bound to a value < 1.
std::vector<int> bindParams(const KernelSpec& spec, const Layout& layout, int64_t seq_len);

// The permuted index space of one axis: the layout normalized over [0, S), spans split at the
// residue range, residue segments (stride from the param) for the selected parts, ordered
// originally or gathered by modality_order, each segment (each class of a residue segment)
// padded to `tile`. Throws Error(kUnsupported) past sem::kMaxSegments segments.
sem::SegmentTable buildSegmentTable(const MapRecipe& recipe, const std::vector<int>& params,
                                    const Layout& layout, int64_t seq_len, int tile);

// Per-element predicate of node `node`; padding coordinates (pos < 0) are never kept.
bool evalKeep(const KernelSpec& spec, int node, const std::vector<int>& params, const sem::Coord& q,
              const sem::Coord& k, const sem::DynamicSets* dyn = nullptr);

// Per-tile classification of node `node`; an all-padding tile (count 0) is kNone.
sem::Tri evalClassify(const KernelSpec& spec, int node, const std::vector<int>& params,
                      const sem::Bounds& q, const sem::Bounds& k,
                      const sem::DynamicSets* dyn = nullptr);

}  // namespace permjit
