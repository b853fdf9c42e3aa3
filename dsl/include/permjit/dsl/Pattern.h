// The permjit pattern DSL: value types a user writes to say which (query, key) pairs a sparse
// attention head keeps. No MLIR and no CUDA here; the compiler imports these values.
//
//   using namespace permjit;
//   Pattern head = causal() & (sink(1024) | local(1024) | rows(SpanRef::last(60)) |
//                              grid(/*stride=*/14, /*phase_q=*/0, /*phase_k=*/0));
//
// Semantics (the CPU reference in Reference.h is the executable definition):
//   causal()               k <= q
//   sink(n)                k < n                      (no causality of its own)
//   local(w)               0 <= q - k < w
//   rows(span)             q in span                  (whole rows)
//   block(qs, ks)          q in qs and k in ks
//   hlines(s, p, span)     q in span and residue(q) == p   (whole rows)
//   vlines(s, p, span)     k in span and residue(k) == p   (whole columns)
//   grid(s, pq, pk, span)  hlines(s, pq, span) | vlines(s, pk, span)
//   vertical_slash(v, s, last_q)  dynamic: v key columns and s diagonals q - k = c, estimated
//                          per input from the last last_q queries (needs DynamicIndices)
//   grid_estimated({s1, s2, ...}, last_q, span)  dynamic: grid(s, pq, pk, span) with the stride
//                          s one of the candidates and both phases chosen per input and head
//                          (needs DynamicIndices::grid; runtime/README: the online estimator)
//   a | b, a & b           union, intersection
//   q_boundary({m: p})     rows of modality m keep what p keeps (p in original coordinates)
//   boundary_2d({(mq, mk): p})  pairs with q of modality mq and k of modality mk keep what p
//                          keeps in modality-local coordinates (q' = rank of q among mq
//                          positions, k' likewise), as if on a sequence of just that modality
//   permute(p, axes, by)   the same kept set as p; a hint that fixes the permutation plan
// residue(x) for a span: for SpanRef::modality(m), the rank of x among m's positions mod s
// (the MMInference grid: (x - vision_start) mod s for one vision span); for SpanRef::range(b,e),
// (x - b) mod s; for SpanRef::all(), x mod s; for SpanRef::last(n), (x - (S - n)) mod s.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "permjit/dsl/Error.h"

namespace permjit {

enum class Modality { kVision = 0, kText = 1, kOther = 2 };
const char* modalityName(Modality m);  // "vision" | "text" | "other"
Modality parseModality(const std::string& name, const std::string& field);  // throws Error

// Optional frame geometry of a vision span: frames x height x width patch tokens.
struct FrameGeometry {
  int64_t frames = 0, height = 0, width = 0;
  bool operator==(const FrameGeometry&) const = default;
};

struct Span {
  Modality kind = Modality::kText;
  int64_t begin = 0, end = 0;  // [begin, end)
  std::optional<FrameGeometry> frames;
  bool operator==(const Span&) const = default;
};

// Ordered, non-overlapping modality spans. Positions not covered by any span are `other`.
class Layout {
 public:
  Layout() = default;
  explicit Layout(std::vector<Span> spans);  // checks order/overlap/emptiness, throws Error
  const std::vector<Span>& spans() const { return spans_; }
  // Checks the spans fit a sequence of seq_len positions; throws Error naming the span.
  void validate(int64_t seq_len) const;
  // The spans covering [0, seq_len) exactly: gaps filled with `other` spans.
  std::vector<Span> normalized(int64_t seq_len) const;
  // Modality of a position and its rank among that modality's positions.
  Modality modalityAt(int64_t pos, int64_t seq_len) const;
  int64_t localRank(int64_t pos, int64_t seq_len) const;
  int64_t countOf(Modality m, int64_t seq_len) const;
  bool has(Modality m, int64_t seq_len) const { return countOf(m, seq_len) > 0; }
  std::string str() const;
  bool operator==(const Layout&) const = default;

  // Convenience: [0, prefix) text, [prefix, S - suffix) vision, [S - suffix, S) text.
  static Layout textVisionText(int64_t seq_len, int64_t prefix, int64_t suffix);

 private:
  std::vector<Span> spans_;
};

// A set of positions along one axis, resolved against a layout and sequence length.
struct SpanRef {
  enum class Kind { kAll, kRange, kModality, kLast };
  Kind kind = Kind::kAll;
  int64_t begin = 0, end = 0;  // kRange
  // kModality. (Not named `modality`: that name is the factory function below.)
  Modality mod = Modality::kVision;
  int64_t count = 0;  // kLast: the last `count` positions
  static SpanRef all();
  static SpanRef range(int64_t begin, int64_t end);
  static SpanRef modality(Modality m);
  static SpanRef last(int64_t count);
  std::string str() const;
  bool operator==(const SpanRef&) const = default;
};

enum class PermuteAxes { kRows, kCols, kBoth };
const char* permuteAxesName(PermuteAxes axes);  // "rows" | "cols" | "both"
struct PermuteBy {
  enum class Kind { kResidue, kModality };
  Kind kind = Kind::kResidue;
  int64_t stride = 1;                                   // kResidue
  SpanRef span = SpanRef::modality(Modality::kVision);  // kResidue: the permuted span
  std::vector<Modality> order;  // kModality: gather order (default vision, text, other)
  bool operator==(const PermuteBy&) const = default;
};

// Immutable pattern tree with value semantics (nodes are shared, never mutated).
class Pattern {
 public:
  enum class Kind {
    kCausal,
    kSink,
    kLocal,
    kGrid,
    kVLines,
    kHLines,
    kRows,
    kVerticalSlash,
    kGridEstimated,
    kBlock,
    kUnion,
    kIntersect,
    kQBoundary,
    kBoundary2D,
    kPermute,
  };
  struct Node;

  Kind kind() const;
  const Node& node() const { return *node_; }
  std::string str() const;  // one-line, re-readable DSL text, e.g. "causal() & (sink(1024) | ...)"
  bool operator==(const Pattern& other) const;  // structural equality

  explicit Pattern(std::shared_ptr<const Node> node) : node_(std::move(node)) {}

 private:
  std::shared_ptr<const Node> node_;
};

// Bounds every pattern obeys, however it is built (the DSL, JSON, a search): readers, the
// compiler and the planner walk patterns recursively, and their work grows with the children
// of one node. Error(kInvalidPattern) naming the limit otherwise.
constexpr int kMaxPatternDepth = 512;         // nodes on the longest root-to-atom path
constexpr size_t kMaxPatternChildren = 4096;  // parts of one union or intersect, after flattening

struct Pattern::Node {
  Kind kind;
  int depth = 1;  // of the subtree rooted here (an atom: 1)
  // Integer parameters by kind: sink{n}, local{window}, grid{stride, phase_q, phase_k},
  // vlines/hlines{stride, phase}, vertical_slash{vertical, slash, last_q}.
  int64_t n = 0, window = 0, stride = 1, phase_q = 0, phase_k = 0, phase = 0;
  int64_t vertical = 0, slash = 0, last_q = 0;  // last_q: vertical_slash and grid_estimated
  std::vector<int64_t> strides;                 // grid_estimated: the candidate strides
  SpanRef span, q_span, k_span;                 // grid/lines/rows: span; block: q_span, k_span
  std::vector<Pattern> children;                // union/intersect; permute: children[0]
  std::map<Modality, Pattern> by_q;             // q_boundary
  std::map<std::pair<Modality, Modality>, Pattern> by_q_k;  // boundary_2d
  PermuteAxes axes = PermuteAxes::kBoth;                    // permute
  PermuteBy by;                                             // permute
};

// Atoms. Each validates its own arguments and throws Error naming the parameter.
Pattern causal();
Pattern sink(int64_t n);
Pattern local(int64_t window);
Pattern grid(int64_t stride, int64_t phase_q, int64_t phase_k,
             SpanRef span = SpanRef::modality(Modality::kVision));
Pattern vlines(int64_t stride, int64_t phase, SpanRef span = SpanRef::modality(Modality::kVision));
Pattern hlines(int64_t stride, int64_t phase, SpanRef span = SpanRef::modality(Modality::kVision));
Pattern rows(SpanRef span);
Pattern vertical_slash(int64_t vertical, int64_t slash, int64_t last_q = 64);
// Strides: 1..kMaxGridCandidates distinct values in [2, kMaxEstimatedGridStride].
constexpr int kMaxGridCandidates = 8;
constexpr int64_t kMaxEstimatedGridStride = 1024;
Pattern grid_estimated(std::vector<int64_t> strides, int64_t last_q = 64,
                       SpanRef span = SpanRef::modality(Modality::kVision));
Pattern block(SpanRef q_span, SpanRef k_span);

// Combinators. union_of/intersect_of throw on an empty list; they (and | and &) flatten nested
// nodes of their own kind, and a one-element list gives that element, so a | b | c is one union
// of three and equal patterns compare equal. permute stores an empty modality order as the
// default (vision, text, other).
Pattern operator|(const Pattern& a, const Pattern& b);
Pattern operator&(const Pattern& a, const Pattern& b);
Pattern union_of(std::vector<Pattern> parts);
Pattern intersect_of(std::vector<Pattern> parts);
Pattern q_boundary(std::map<Modality, Pattern> by_query_modality);
Pattern boundary_2d(std::map<std::pair<Modality, Modality>, Pattern> by_modality_pair);
Pattern permute(Pattern pattern, PermuteAxes axes, PermuteBy by);

// Checks a pattern against a layout and sequence length: spans past the sequence, phases vs
// strides, boundary patterns naming a modality the layout lacks, nested boundaries. Throws
// Error(kInvalidPattern) naming the field (e.g. "q_boundary: modality 'vision' ...").
void validate(const Pattern& pattern, const Layout& layout, int64_t seq_len);

// True when the pattern (or any part) needs per-input estimated indices (vertical_slash,
// grid_estimated).
bool isDynamic(const Pattern& pattern);

// What the online grid estimator chose for one (batch, head): grid(stride, phase_q, phase_k).
struct GridChoice {
  int64_t stride = 0, phase_q = 0, phase_k = 0;
  bool operator==(const GridChoice&) const = default;
};

// The query rows of each vertical_slash atom, in atom order: the modality of the q_boundary
// branch the atom lies in (its estimator reads that modality's last queries), or nullopt for an
// atom outside q_boundary (all queries). A pattern holds one vertical_slash, or one per
// q_boundary modality (validate); atoms are ordered by modality (vision, text, other). Empty
// without vertical_slash.
std::vector<std::optional<Modality>> verticalSlashAtoms(const Pattern& pattern);

// The pattern's grid_estimated atom, or nullptr when it has none.
const Pattern::Node* findEstimatedGrid(const Pattern& pattern);

// The pattern with its grid_estimated atom replaced by grid(choice.stride, choice.phase_q,
// choice.phase_k, span): the static pattern a run with that choice computes. Throws
// Error(kInvalidPattern) when the pattern has no grid_estimated atom or the choice is out of
// range (naming the field).
Pattern withGridChoice(const Pattern& pattern, const GridChoice& choice);

// The positions [begin, end) of the grid_estimated atom's span for this layout and length: the
// estimator samples query rows there and scores key residues inside it. Throws
// Error(kInvalidPattern) when the span is not one contiguous range (a modality with several
// spans) or is empty.
std::pair<int64_t, int64_t> estimatedGridRange(const Pattern::Node& grid, const Layout& layout,
                                               int64_t seq_len);

}  // namespace permjit
