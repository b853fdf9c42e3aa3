// The patterns of the benchmark table (names shared with bench/baselines.py --pattern) and
// their exact kept-pair counts.
//
// The CPU reference (dsl Reference.h) is O(S^2), far too slow at 1M tokens, so every pattern
// here also has a per-row closed form (O(S) in all): each row keeps a union of at most two
// key intervals (sink, local window) plus residue lines, counted by inclusion-exclusion.
// tests/bench/KeptPairsTest.cpp checks every form against the reference's keptPair on small
// shapes. The mask functions of bench/baselines.py mirror the same definitions.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "permjit/compiler/KernelSpec.h"
#include "permjit/dsl/Error.h"
#include "permjit/dsl/Pattern.h"
#include "permjit/dsl/Reference.h"
#include "permjit/patterns/HeadTypes.h"

namespace permjit::bench {

// The parameters of every bench pattern (A-shape sink 128 / local 4096; the
// MMInference grid head stride 14, sink 1024, local 1024, 812 leading and 60 trailing text
// tokens). Tests shrink them to check the counts on small shapes.
struct PatternParams {
  int64_t sink = 128, local = 4096;  // A-shape, tri-shape, text rows of the boundary heads
  int64_t last_q = 64;               // tri-shape: dense last query rows
  int64_t stride = 14, grid_sink = 1024, grid_local = 1024;  // grid head (vision rows)
  int64_t phase_q = 0, phase_k = 0;                          // grid head phases
  // grid_estimated: the grid head with stride and phases estimated per input among these
  std::vector<int64_t> estimate_strides = {7, 14, 16, 28};
  int64_t prefix = 812, trailing = 60;    // text before the vision span / after the last one
  int64_t mid_text = 512;                 // mixed layout: text between its two vision spans
  int64_t cross_sink = 1024;              // boundary_2d text->vision block: the first vision tokens
  int64_t vertical = 1000, slash = 6096;  // vertical_slash (MInference defaults)
};

struct BenchPattern {
  std::string name;
  Pattern pattern;
  Layout layout;
};

// The static patterns, in table order; the dynamic ones ("vertical_slash",
// "vertical_slash_structured", "grid_estimated")
// are added by the bench binary when the runtime can plan them.
inline const std::vector<std::string>& staticPatternNames() {
  static const std::vector<std::string> names = {"dense", "ashape",    "trishape",
                                                 "grid",  "qboundary", "boundary2d"};
  return names;
}

// text [0, prefix) | vision | text mid_text tokens around S/2 | vision | text last `trailing`:
// two images (or video clips) with text around and between them, the mixed-modality input the
// boundary heads are for.
inline Layout mixedLayout(int64_t seq_len, const PatternParams& p) {
  auto span = [](Modality kind, int64_t begin, int64_t end) {
    Span out;
    out.kind = kind;
    out.begin = begin;
    out.end = end;
    return out;
  };
  const int64_t mid = seq_len / 2;
  return Layout({span(Modality::kText, 0, p.prefix),
                 span(Modality::kVision, p.prefix, mid - p.mid_text / 2),
                 span(Modality::kText, mid - p.mid_text / 2, mid + p.mid_text / 2),
                 span(Modality::kVision, mid + p.mid_text / 2, seq_len - p.trailing),
                 span(Modality::kText, seq_len - p.trailing, seq_len)});
}

inline patterns::GridHeadParams gridParams(const PatternParams& p, int64_t trailing) {
  patterns::GridHeadParams g;
  g.stride = p.stride;
  g.phase_q = p.phase_q;
  g.phase_k = p.phase_k;
  g.sink = p.grid_sink;
  g.local = p.grid_local;
  g.trailing_text_rows = trailing;
  return g;
}

// Throws Error(kInvalidArgument) for an unknown name.
inline BenchPattern benchPattern(const std::string& name, int64_t seq_len,
                                 const PatternParams& p = {}) {
  using namespace patterns;
  if (name == "dense") return {name, dense(), Layout()};
  if (name == "ashape") return {name, a_shape(p.sink, p.local), Layout()};
  if (name == "trishape") return {name, tri_shape(p.sink, p.local, p.last_q), Layout()};
  if (name == "grid") {
    return {name, grid_head(gridParams(p, p.trailing)),
            Layout::textVisionText(seq_len, p.prefix, p.trailing)};
  }
  if (name == "qboundary") {
    // Text queries: A-shape; vision queries: the grid head (lines on vision-local ranks).
    return {name,
            q_boundary_head({{Modality::kText, a_shape(p.sink, p.local)},
                             {Modality::kVision, grid_head(gridParams(p, 0))}}),
            mixedLayout(seq_len, p)};
  }
  if (name == "boundary2d") {
    // Each (query, key) modality block in its modality-local coordinates: text->text A-shape,
    // vision->vision grid head, vision->text everything earlier, text->vision the first
    // cross_sink vision tokens.
    return {name,
            boundary_2d_head({{{Modality::kText, Modality::kText}, a_shape(p.sink, p.local)},
                              {{Modality::kVision, Modality::kVision}, grid_head(gridParams(p, 0))},
                              {{Modality::kVision, Modality::kText}, full()},
                              {{Modality::kText, Modality::kVision}, sink(p.cross_sink)}}),
            mixedLayout(seq_len, p)};
  }
  // The same head; the bench feeds it structured inputs (permjit_bench.cpp, fillStructured).
  if (name == "vertical_slash" || name == "vertical_slash_structured") {
    return {name, vertical_slash_head(p.vertical, p.slash, p.last_q), Layout()};
  }
  // The paper's Q-Boundary with an estimated head per modality: vision and text queries each
  // choose their own vertical_slash sets from their own last queries (mixed layout).
  if (name == "qboundary_vertical_slash") {
    return {
        name,
        q_boundary_head({{Modality::kVision, vertical_slash_head(p.vertical, p.slash, p.last_q)},
                         {Modality::kText, vertical_slash_head(p.vertical, p.slash, p.last_q)}}),
        mixedLayout(seq_len, p)};
  }
  if (name == "grid_estimated") {
    GridHeadParams g = gridParams(p, p.trailing);
    g.estimate_strides = p.estimate_strides;
    return {name, grid_head(g), Layout::textVisionText(seq_len, p.prefix, p.trailing)};
  }
  throw Error(ErrorCategory::kInvalidArgument,
              "pattern: '" + name +
                  "'; allowed: dense, ashape, trishape, grid, qboundary, boundary2d, "
                  "vertical_slash, vertical_slash_structured, qboundary_vertical_slash, "
                  "grid_estimated");
}

// Tiles the bench's tuner tries after the default, most promising first (the tuner crosses
// each with the pass splits the pattern allows and keeps the first max_candidates).
inline std::vector<TileConfig> benchTiles() {
  return {TileConfig{128, 128, 8, 2}, TileConfig{64, 64, 4, 2}, TileConfig{128, 64, 4, 3},
          TileConfig{64, 128, 4, 2}, TileConfig{128, 32, 4, 2}};
}

namespace detail {

// Positions x in [lo, hi) with x mod stride == phase (lo, hi >= 0; 0 <= phase < stride).
inline int64_t residues(int64_t lo, int64_t hi, int64_t stride, int64_t phase = 0) {
  if (hi <= lo) return 0;
  lo += stride - phase;  // x == phase (mod stride)  <=>  x + stride - phase == 0 (mod stride)
  hi += stride - phase;
  return (hi + stride - 1) / stride - (lo + stride - 1) / stride;
}

// Keys k <= q kept by sink | local (q, k in one coordinate system): [0, min(sink, lo)) and
// [lo, q] with lo = max(0, q - local + 1), disjoint by construction.
inline int64_t sinkLocalRow(int64_t q, int64_t sink, int64_t local) {
  const int64_t lo = std::max<int64_t>(0, q - local + 1);
  return (q + 1 - lo) + std::min(sink, lo);
}

// Per position: modality and how many positions of each modality come before it.
class PositionIndex {
 public:
  PositionIndex(const Layout& layout, int64_t seq_len) : modality_(seq_len) {
    for (auto& b : before_) b.assign(static_cast<size_t>(seq_len) + 1, 0);
    for (const Span& span : layout.normalized(seq_len)) {
      for (int64_t x = span.begin; x < span.end; ++x) modality_[x] = span.kind;
    }
    for (int64_t x = 0; x < seq_len; ++x) {
      for (int m = 0; m < 3; ++m) before_[m][x + 1] = before_[m][x] + (int(modality_[x]) == m);
    }
  }
  Modality at(int64_t x) const { return modality_[x]; }
  int64_t before(Modality m, int64_t x) const { return before_[int(m)][x]; }  // in [0, x)
  int64_t rank(int64_t x) const { return before(modality_[x], x); }

 private:
  std::vector<Modality> modality_;
  std::array<std::vector<int64_t>, 3> before_;
};

// The grid head's row q in original coordinates, lines on vision-local ranks:
// sink | local | hline(q) | vline(k), all causal.
inline int64_t gridRow(const PositionIndex& index, int64_t q, const PatternParams& p) {
  const int64_t s = p.stride;
  if (index.at(q) == Modality::kVision && index.rank(q) % s == p.phase_q) return q + 1;
  const int64_t lo = std::max<int64_t>(0, q - p.grid_local + 1);
  const int64_t sink_end = std::min(p.grid_sink, lo);
  auto lines = [&](int64_t a, int64_t b) {  // vline keys among positions [a, b)
    return residues(index.before(Modality::kVision, a), index.before(Modality::kVision, b), s,
                    p.phase_k);
  };
  const int64_t window = sinkLocalRow(q, p.grid_sink, p.grid_local);
  return window + lines(0, q + 1) - lines(0, sink_end) - lines(lo, q + 1);
}

// The grid head on one modality's local coordinates (every position is on the span).
inline int64_t gridLocalRow(int64_t rq, const PatternParams& p) {
  const int64_t s = p.stride;
  if (rq % s == p.phase_q) return rq + 1;
  const int64_t lo = std::max<int64_t>(0, rq - p.grid_local + 1);
  const int64_t sink_end = std::min(p.grid_sink, lo);
  return sinkLocalRow(rq, p.grid_sink, p.grid_local) + residues(0, rq + 1, s, p.phase_k) -
         residues(0, sink_end, s, p.phase_k) - residues(lo, rq + 1, s, p.phase_k);
}

}  // namespace detail

// Exact number of kept (q, k) pairs of a static bench pattern at seq_len (one head), O(S).
inline double keptPairs(const std::string& name, int64_t seq_len, const PatternParams& p = {}) {
  using detail::sinkLocalRow;
  const BenchPattern bench = benchPattern(name, seq_len, p);  // validates the name
  const int64_t S = seq_len;
  int64_t total = 0;
  if (name == "dense") return 0.5 * double(S) * double(S + 1);
  if (name == "ashape" || name == "trishape") {
    for (int64_t q = 0; q < S; ++q) {
      total += name == "trishape" && q >= S - p.last_q ? q + 1 : sinkLocalRow(q, p.sink, p.local);
    }
    return double(total);
  }
  const detail::PositionIndex index(bench.layout, S);
  if (name == "grid") {
    for (int64_t q = 0; q < S; ++q) {
      total += q >= S - p.trailing ? q + 1 : detail::gridRow(index, q, p);
    }
    return double(total);
  }
  if (name == "qboundary") {
    for (int64_t q = 0; q < S; ++q) {
      total += index.at(q) == Modality::kText ? sinkLocalRow(q, p.sink, p.local)
                                              : detail::gridRow(index, q, p);
    }
    return double(total);
  }
  if (name == "boundary2d") {
    for (int64_t q = 0; q < S; ++q) {
      const int64_t rq = index.rank(q);
      const int64_t text_keys = index.before(Modality::kText, q + 1);
      const int64_t vision_keys = index.before(Modality::kVision, q + 1);
      if (index.at(q) == Modality::kText) {
        total += sinkLocalRow(rq, p.sink, p.local) + std::min(p.cross_sink, vision_keys);
      } else {
        total += detail::gridLocalRow(rq, p) + text_keys;
      }
    }
    return double(total);
  }
  throw Error(ErrorCategory::kInvalidArgument,
              "pattern: '" + name +
                  "' has no closed-form count (dynamic); count its estimated "
                  "indices with verticalSlashKeptPairs or estimatedGridKeptPairs");
}

// Kept pairs of causal & vertical_slash for one head's estimated indices (dsl/Reference.h).
using ::permjit::verticalSlashKeptPairs;

// Kept pairs of the qboundary_vertical_slash bench head for one head's estimate: each atom's
// sets over the rows of its modality (atoms by modality: vision, then text).
inline double qboundaryVerticalSlashKeptPairs(const DynamicIndices& head, int64_t seq_len,
                                              const PatternParams& p = {}) {
  if (head.later_atoms.size() != 1) {
    throw Error(ErrorCategory::kInvalidArgument,
                "qboundary_vertical_slash: needs two atoms' sets (vision, text), got " +
                    std::to_string(head.later_atoms.size() + 1));
  }
  double total = 0;
  for (const Span& span : mixedLayout(seq_len, p).normalized(seq_len)) {
    if (span.kind == Modality::kOther) continue;  // no branch: nothing kept
    const bool vision = span.kind == Modality::kVision;
    total += double(verticalSlashKeptPairsInRows(
        vision ? head.vertical : head.later_atoms[0].vertical,
        vision ? head.slash : head.later_atoms[0].slash, span.begin, span.end));
  }
  return total;
}

// Kept pairs of the grid_estimated bench head for one head's estimate: the grid head with the
// chosen stride and phases.
inline double estimatedGridKeptPairs(const GridChoice& choice, int64_t seq_len,
                                     PatternParams p = {}) {
  p.stride = choice.stride;
  p.phase_q = choice.phase_q;
  p.phase_k = choice.phase_k;
  return keptPairs("grid", seq_len, p);
}

}  // namespace permjit::bench
