// KernelSpec: the plain C++ description of one sparse-attention kernel that the compiler's
// pipeline emits and the code generator consumes. No MLIR types appear here.
//
// Split between STRUCTURE (what changes the generated code: dtype, head dim, tile config, the
// shape of the predicate expression and of the index-map recipes) and PARAMETERS (values that
// are kernel arguments: strides, phases, spans, windows, sequence length). Two specs with the
// same structure_key() render the same CUDA source, so they share one compiled kernel.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "permjit/compiler/TileSemantics.h"

namespace permjit {

enum class DType { kBF16, kFP16 };
const char* dtypeName(DType dtype);  // "bf16" | "fp16"

// How one CTA is shaped. block_m rows of queries per CTA, block_n keys per inner step.
struct TileConfig {
  int block_m = 128;
  int block_n = 64;
  int warps = 4;
  int stages = 2;
  bool operator==(const TileConfig&) const = default;
};

// The primitive predicates of the tile IR. Each has a per-element form and a per-tile
// three-valued classifier in TileSemantics.h (sem::*_keep / sem::*_classify).
enum class ExprOp {
  kTrue,
  kFalse,
  kAnd,        // children
  kOr,         // children
  kNot,        // children[0]
  kDiag,       // slots[0] <= q - k < slots[1]
  kQRange,     // slots[0] <= q < slots[1]
  kKRange,     // slots[0] <= k < slots[1]
  kQMod,       // (q - slots[0]) mod slots[1] == slots[2]
  kKMod,       // (k - slots[0]) mod slots[1] == slots[2]
  kQModality,  // modality(q) == modality
  kKModality,  // modality(k) == modality
  kKInSet,     // k is an estimated vertical column (dynamic set sem::kVerticalSet)
  kDiagInSet,  // q - k is an estimated slash offset (dynamic set sem::kSlashSet)
};
const char* exprOpName(ExprOp op);

struct ExprNode {
  ExprOp op = ExprOp::kTrue;
  // Atoms read modality-local coordinates (rank among the positions of their modality)
  // instead of original positions; set for atoms under a 2D-boundary block.
  bool local = false;
  int slots[3] = {-1, -1, -1};  // indices into KernelSpec::params
  int modality = -1;            // sem::ModalityCode for kQModality / kKModality
  std::vector<int> children;    // indices into KernelSpec::nodes
};

// What a param slot is for, where a later stage must find it (the lowering marks it; names are
// only for printing). kGridPhaseQ / kGridPhaseK: the q / k phase of a grid, into which the
// kernels of a grid_estimated pattern read the estimated phases (GridEstimateSpec).
enum class ParamRole { kNone, kGridPhaseQ, kGridPhaseK };
const char* paramRoleName(ParamRole role);  // "none" | "grid_phase_q" | "grid_phase_k"

// A runtime parameter. Its value is bound per call: a constant of the pattern, or derived from
// the call's shape (e.g. the first trailing text row S - n, or, inside a 2D-boundary block, the
// first of the last n positions of a modality: count(modality) - n). See bindParams in Plan.h.
struct ParamSlot {
  enum class Kind { kConst, kSeqLenMinus, kModalityCountMinus, kInf };
  Kind kind = Kind::kConst;
  int value = 0;      // kConst: the value; kSeqLenMinus / kModalityCountMinus: n
  int modality = -1;  // kModalityCountMinus: sem::ModalityCode
  std::string name;   // for printing and diagnostics, e.g. "grid.stride"
  ParamRole role = ParamRole::kNone;
  int bind(int seq_len, const int modality_counts[sem::kNumModalities]) const {
    switch (kind) {
      case Kind::kConst:
        return value;
      case Kind::kSeqLenMinus:
        return seq_len - value;
      case Kind::kModalityCountMinus:
        return modality_counts[modality] - value;
      case Kind::kInf:
        return sem::kPosInf;
    }
    return value;
  }
};

// How to build the segment table of one axis from (layout, sequence length, params, tile):
//   1. the layout's spans, normalized to cover [0, S) (gaps become `other` spans);
//   2. spans selected for residue permutation (those of residue_modality, or the part of each
//      span inside [residue_begin, residue_end)) become residue segments with the stride param;
//   3. segments keep original order, or, when modality_order is not empty, are gathered by
//      modality in that order (original order inside a modality).
struct MapRecipe {
  // Columns only: the axis is the estimated vertical columns in ascending order, gathered from
  // the run's workspace (dynamic plans); every other field is then unused.
  bool gather_vertical = false;
  std::vector<int> modality_order;  // sem::ModalityCode values; empty = original order
  int residue_stride_slot = -1;     // -1: no residue permutation on this axis
  int residue_modality = -1;        // permute spans of this modality, or ...
  int residue_begin_slot = -1;      // ... the explicit range [begin, end) (slots)
  int residue_end_slot = -1;
  bool isIdentity() const {
    return !gather_vertical && modality_order.empty() && residue_stride_slot < 0;
  }
};

// One launch. Pairs kept by pass i are those where nodes[expr_root] holds; passes after the
// first merge into the running output through the softmax statistics (log-sum-exp), so the
// passes' kept sets are disjoint (the compiler builds them so: a later pass excludes what an
// earlier one keeps) and their union is the pattern. Every pass writes every row (o = 0,
// lse = -inf for a row it keeps nothing of), so the passes run in order, each after the last.
struct PassSpec {
  MapRecipe rows;
  MapRecipe cols;
  int expr_root = -1;
  int atom = 0;  // dynamic plans: the vertical_slash atom (KernelSpec::dynamic) whose sets it reads
};

// A vertical_slash atom's per-input sets: `vertical` key columns and `slash` diagonal offsets
// q - k, chosen on the GPU inside every run from the attention of the last `last_q` queries
// (of modality query_modality when the atom serves one q_boundary branch; of all queries for
// -1). The first `keep_columns` columns and the `keep_diagonals` diagonals nearest the main one
// are always chosen, as in MInference. Values, not structure: they size the run's workspace.
struct DynamicSpec {
  int64_t vertical = 0, slash = 0, last_q = 64;
  int64_t keep_columns = 30, keep_diagonals = 100;
  int query_modality = -1;  // sem::ModalityCode, or -1: all queries
  bool operator==(const DynamicSpec&) const = default;
};

// A grid_estimated pattern's online choice (compileGridCandidate): this spec is the grid of
// stride strides[candidate]; its kernels read phase_q and phase_k from the run's workspace into
// param slots phase_q_slot / phase_k_slot and run only for the (batch, head)s whose estimate
// chose this candidate. The slots are structure; the strides and candidate are values.
struct GridEstimateSpec {
  std::vector<int> strides;
  int candidate = 0;
  int64_t last_q = 64;
  int phase_q_slot = -1, phase_k_slot = -1;
  bool operator==(const GridEstimateSpec&) const = default;
};

struct KernelSpec {
  int head_dim = 128;
  DType dtype = DType::kBF16;
  TileConfig tile;
  std::vector<ExprNode> nodes;
  std::vector<PassSpec> passes;
  std::vector<ParamSlot> params;
  // One per vertical_slash atom, in atom order (by query modality); empty without one.
  std::vector<DynamicSpec> dynamic;
  std::optional<GridEstimateSpec> grid_estimate;  // set iff the pattern has a grid_estimated
  // Pattern name for kernel naming and diagnostics (not part of the structure).
  std::string name = "pattern";

  // Everything that changes the generated code, as a canonical string (param values excluded).
  std::string structureKey() const;
  // Human-readable multi-line dump (the `--emit spec` stage).
  std::string str() const;
  // Needs a per-run workspace and estimator launches.
  bool isDynamic() const { return !dynamic.empty() || grid_estimate.has_value(); }
};

}  // namespace permjit
