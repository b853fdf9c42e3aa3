#include "permjit/dsl/Reference.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace permjit {
namespace {

// One side (q or k) of the coordinates a node is evaluated in: the original sequence, or,
// inside a boundary_2d block, the sequence of just one modality's positions.
struct Axis {
  int64_t len;
  bool local;    // modality-local: every position has modality `mod` and is its own rank
  Modality mod;  // when local
  // Query axis: the q_boundary branch being evaluated (which vertical_slash atom applies).
  std::optional<Modality> branch = std::nullopt;
};

// The sets of atom `atom` (verticalSlashAtoms order) in dyn (checkAtomCount has run).
const std::vector<int64_t>& atomSet(const DynamicIndices& dyn, size_t atom, bool slash) {
  if (atom == 0) return slash ? dyn.slash : dyn.vertical;
  const VerticalSlashSets& sets = dyn.later_atoms.at(atom - 1);
  return slash ? sets.slash : sets.vertical;
}

// dyn has sets for every vertical_slash atom after the first, and no more.
void checkAtomCount(const DynamicIndices* dyn, size_t atoms) {
  if (dyn == nullptr) return;
  const size_t wanted = atoms > 1 ? atoms - 1 : 0;
  if (dyn->later_atoms.size() != wanted) {
    throw Error(ErrorCategory::kInvalidArgument,
                fmt::format("DynamicIndices.later_atoms: {} entries; the pattern has {} "
                            "vertical_slash atoms, so allowed: {}",
                            dyn->later_atoms.size(), atoms, wanted));
  }
}

// Which atom a vertical_slash reached through q_boundary branch `branch` is.
class AtomIndex {
 public:
  AtomIndex(const Pattern& pattern) : atoms_(verticalSlashAtoms(pattern)) {}
  size_t count() const { return atoms_.size(); }
  size_t of(const std::optional<Modality>& branch) const {
    if (atoms_.size() <= 1) return 0;
    auto it = std::find(atoms_.begin(), atoms_.end(), branch);
    if (it == atoms_.end()) {
      throw Error(ErrorCategory::kInternal, "keptPair: a vertical_slash atom outside the index");
    }
    return static_cast<size_t>(it - atoms_.begin());
  }

 private:
  std::vector<std::optional<Modality>> atoms_;
};

// dyn's grid choice, checked once here rather than per evaluated pair; null when it has none.
const GridChoice* checkedGrid(const DynamicIndices* dyn) {
  if (dyn == nullptr || !dyn->grid) return nullptr;
  const GridChoice& g = *dyn->grid;
  if (g.stride < 1 || g.phase_q < 0 || g.phase_q >= g.stride || g.phase_k < 0 ||
      g.phase_k >= g.stride) {
    throw Error(ErrorCategory::kInvalidArgument,
                fmt::format("DynamicIndices.grid: stride {}, phase_q {}, phase_k {}; allowed: "
                            "stride >= 1, phases in [0, stride)",
                            g.stride, g.phase_q, g.phase_k));
  }
  return &g;
}

// Precomputed per-position tables: what keptMask evaluates S*S pairs against.
class TableLookup {
 public:
  TableLookup(const Layout& layout, int64_t seq_len, const DynamicIndices* dyn,
              const AtomIndex& atoms)
      : modality_(seq_len),
        rank_(seq_len),
        has_dyn_(dyn != nullptr),
        grid_(checkedGrid(dyn)),
        atoms_(atoms) {
    for (const Span& s : layout.normalized(seq_len)) {
      int64_t& count = counts_[static_cast<int>(s.kind)];
      for (int64_t x = s.begin; x < s.end; ++x) {
        modality_[x] = s.kind;
        rank_[x] = count++;
      }
    }
    checkAtomCount(dyn, atoms.count());
    if (dyn != nullptr) {
      for (size_t a = 0; a < atoms.count(); ++a) {
        const std::string prefix = a == 0 ? "" : fmt::format("later_atoms[{}].", a - 1);
        vertical_.push_back(markIndices(atomSet(*dyn, a, false), seq_len, prefix + "vertical"));
        slash_.push_back(markIndices(atomSet(*dyn, a, true), seq_len, prefix + "slash"));
      }
    }
  }
  Modality modality(int64_t x) const { return modality_[x]; }
  int64_t rank(int64_t x) const { return rank_[x]; }
  int64_t count(Modality m) const { return counts_[static_cast<int>(m)]; }
  bool hasDyn() const { return has_dyn_; }
  bool vertical(const std::optional<Modality>& branch, int64_t k) const {
    return vertical_[atoms_.of(branch)][k] != 0;
  }
  bool slash(const std::optional<Modality>& branch, int64_t d) const {
    return slash_[atoms_.of(branch)][d] != 0;
  }
  const GridChoice* grid() const { return grid_; }

 private:
  static std::vector<uint8_t> markIndices(const std::vector<int64_t>& indices, int64_t seq_len,
                                          const std::string& name) {
    std::vector<uint8_t> marks(seq_len, 0);
    for (size_t i = 0; i < indices.size(); ++i) {
      if (indices[i] < 0 || indices[i] >= seq_len) {
        throw Error(ErrorCategory::kInvalidArgument,
                    fmt::format("DynamicIndices.{}[{}]: must be in [0, seq_len={}), got {}", name,
                                i, seq_len, indices[i]));
      }
      marks[indices[i]] = 1;
    }
    return marks;
  }

  std::vector<Modality> modality_;
  std::vector<int64_t> rank_;
  int64_t counts_[3] = {0, 0, 0};
  bool has_dyn_;
  const GridChoice* grid_;
  const AtomIndex& atoms_;
  std::vector<std::vector<uint8_t>> vertical_, slash_;  // per atom
};

// Answers the same questions straight from the layout: what one keptPair call needs.
class LayoutLookup {
 public:
  LayoutLookup(const Layout& layout, int64_t seq_len, const DynamicIndices* dyn,
               const AtomIndex& atoms)
      : layout_(layout), seq_len_(seq_len), dyn_(dyn), grid_(checkedGrid(dyn)), atoms_(atoms) {
    layout.validate(seq_len);
    checkAtomCount(dyn, atoms.count());
  }
  Modality modality(int64_t x) const { return layout_.modalityAt(x, seq_len_); }
  int64_t rank(int64_t x) const { return layout_.localRank(x, seq_len_); }
  int64_t count(Modality m) const { return layout_.countOf(m, seq_len_); }
  bool hasDyn() const { return dyn_ != nullptr; }
  bool vertical(const std::optional<Modality>& branch, int64_t k) const {
    const std::vector<int64_t>& set = atomSet(*dyn_, atoms_.of(branch), false);
    return std::find(set.begin(), set.end(), k) != set.end();
  }
  bool slash(const std::optional<Modality>& branch, int64_t d) const {
    const std::vector<int64_t>& set = atomSet(*dyn_, atoms_.of(branch), true);
    return std::find(set.begin(), set.end(), d) != set.end();
  }
  const GridChoice* grid() const { return grid_; }

 private:
  const Layout& layout_;
  int64_t seq_len_;
  const DynamicIndices* dyn_;
  const GridChoice* grid_;
  const AtomIndex& atoms_;
};

template <class Lookup>
class Evaluator {
 public:
  explicit Evaluator(const Lookup& lookup) : look_(lookup) {}

  bool keep(const Pattern::Node& n, const Axis& qa, const Axis& ka, int64_t q, int64_t k) const {
    using Kind = Pattern::Kind;
    switch (n.kind) {
      case Kind::kCausal:
        return k <= q;
      case Kind::kSink:
        return k < n.n;
      case Kind::kLocal:
        return q - k >= 0 && q - k < n.window;
      case Kind::kRows:
        return inSpan(n.span, qa, q);
      case Kind::kBlock:
        return inSpan(n.q_span, qa, q) && inSpan(n.k_span, ka, k);
      case Kind::kHLines:
        return onLine(n.span, n.stride, n.phase, qa, q);
      case Kind::kVLines:
        return onLine(n.span, n.stride, n.phase, ka, k);
      case Kind::kGrid:
        return onLine(n.span, n.stride, n.phase_q, qa, q) ||
               onLine(n.span, n.stride, n.phase_k, ka, k);
      case Kind::kVerticalSlash:
        if (!look_.hasDyn()) {
          throw Error(ErrorCategory::kInvalidArgument,
                      "vertical_slash: needs DynamicIndices (estimated vertical and slash "
                      "indices); got none");
        }
        return k <= q && (look_.vertical(qa.branch, k) || look_.slash(qa.branch, q - k));
      case Kind::kGridEstimated: {
        const GridChoice* g = look_.grid();
        if (g == nullptr) {
          throw Error(ErrorCategory::kInvalidArgument,
                      "grid_estimated: needs DynamicIndices::grid (the estimator's stride and "
                      "phases); got none");
        }
        return onLine(n.span, g->stride, g->phase_q, qa, q) ||
               onLine(n.span, g->stride, g->phase_k, ka, k);
      }
      case Kind::kUnion:
        for (const Pattern& child : n.children) {
          if (keep(child.node(), qa, ka, q, k)) return true;
        }
        return false;
      case Kind::kIntersect:
        for (const Pattern& child : n.children) {
          if (!keep(child.node(), qa, ka, q, k)) return false;
        }
        return true;
      case Kind::kPermute:
        return keep(n.children.at(0).node(), qa, ka, q, k);
      case Kind::kQBoundary: {
        auto it = n.by_q.find(modalityOf(qa, q));
        if (it == n.by_q.end()) return false;
        Axis branch = qa;
        branch.branch = it->first;
        return keep(it->second.node(), branch, ka, q, k);
      }
      case Kind::kBoundary2D: {
        Modality mq = modalityOf(qa, q), mk = modalityOf(ka, k);
        auto it = n.by_q_k.find({mq, mk});
        if (it == n.by_q_k.end()) return false;
        Axis lq{qa.local ? qa.len : look_.count(mq), true, mq};
        Axis lk{ka.local ? ka.len : look_.count(mk), true, mk};
        return keep(it->second.node(), lq, lk, localOf(qa, q), localOf(ka, k));
      }
    }
    throw Error(ErrorCategory::kInternal, "keptPair: pattern node of unknown kind");
  }

 private:
  Modality modalityOf(const Axis& a, int64_t x) const {
    return a.local ? a.mod : look_.modality(x);
  }
  int64_t localOf(const Axis& a, int64_t x) const { return a.local ? x : look_.rank(x); }

  bool inSpan(const SpanRef& s, const Axis& a, int64_t x) const {
    switch (s.kind) {
      case SpanRef::Kind::kAll:
        return true;
      case SpanRef::Kind::kRange:
        return x >= s.begin && x < s.end;
      case SpanRef::Kind::kModality:
        return modalityOf(a, x) == s.mod;
      case SpanRef::Kind::kLast:
        return x >= a.len - s.count;
    }
    return false;
  }

  // The residue base offset of a position inside the span (Pattern.h: residue(x)).
  int64_t offsetIn(const SpanRef& s, const Axis& a, int64_t x) const {
    switch (s.kind) {
      case SpanRef::Kind::kAll:
        return x;
      case SpanRef::Kind::kRange:
        return x - s.begin;
      case SpanRef::Kind::kModality:
        return localOf(a, x);
      case SpanRef::Kind::kLast:
        return x - (a.len - s.count);
    }
    return 0;
  }

  bool onLine(const SpanRef& s, int64_t stride, int64_t phase, const Axis& a, int64_t x) const {
    return inSpan(s, a, x) && offsetIn(s, a, x) % stride == phase;
  }

  const Lookup& look_;
};

void checkPosition(const char* name, int64_t x, int64_t seq_len) {
  if (x < 0 || x >= seq_len) {
    throw Error(ErrorCategory::kInvalidArgument,
                fmt::format("{}: must be in [0, seq_len={}), got {}", name, seq_len, x));
  }
}

void checkSeqLen(int64_t seq_len) {
  if (seq_len < 1) {
    throw Error(ErrorCategory::kInvalidArgument,
                fmt::format("seq_len: must be >= 1, got {}", seq_len));
  }
}

}  // namespace

bool keptPair(const Pattern& pattern, const Layout& layout, int64_t seq_len, int64_t q, int64_t k,
              const DynamicIndices* dyn) {
  checkSeqLen(seq_len);
  checkPosition("q", q, seq_len);
  checkPosition("k", k, seq_len);
  const AtomIndex atoms(pattern);
  LayoutLookup lookup(layout, seq_len, dyn, atoms);
  Axis axis{seq_len, false, Modality::kOther};
  return Evaluator<LayoutLookup>(lookup).keep(pattern.node(), axis, axis, q, k);
}

std::vector<uint8_t> keptMask(const Pattern& pattern, const Layout& layout, int64_t seq_len,
                              const DynamicIndices* dyn) {
  checkSeqLen(seq_len);
  const AtomIndex atoms(pattern);
  TableLookup lookup(layout, seq_len, dyn, atoms);
  Evaluator<TableLookup> eval(lookup);
  Axis axis{seq_len, false, Modality::kOther};
  const Pattern::Node& root = pattern.node();
  std::vector<uint8_t> mask(static_cast<size_t>(seq_len * seq_len));
  for (int64_t q = 0; q < seq_len; ++q) {
    uint8_t* row = mask.data() + q * seq_len;
    for (int64_t k = 0; k < seq_len; ++k) row[k] = eval.keep(root, axis, axis, q, k) ? 1 : 0;
  }
  return mask;
}

std::vector<std::vector<uint8_t>> keptRows(const Pattern& pattern, const Layout& layout,
                                           int64_t seq_len, const std::vector<int64_t>& rows,
                                           const DynamicIndices* dyn) {
  checkSeqLen(seq_len);
  for (int64_t q : rows) checkPosition("rows[]", q, seq_len);
  const AtomIndex atoms(pattern);
  TableLookup lookup(layout, seq_len, dyn, atoms);
  Evaluator<TableLookup> eval(lookup);
  Axis axis{seq_len, false, Modality::kOther};
  std::vector<std::vector<uint8_t>> out;
  for (int64_t q : rows) {
    std::vector<uint8_t> row(static_cast<size_t>(seq_len));
    for (int64_t k = 0; k < seq_len; ++k) row[k] = eval.keep(pattern.node(), axis, axis, q, k);
    out.push_back(std::move(row));
  }
  return out;
}

void referenceAttention(const AttentionShape& shape, const double* q, const double* k,
                        const double* v, const uint8_t* mask, double scale, double* out,
                        double* lse) {
  auto bad = [](const std::string& message) {
    throw Error(ErrorCategory::kInvalidArgument, message);
  };
  if (shape.batch < 1 || shape.heads < 1 || shape.kv_heads < 1 || shape.seq_len < 1 ||
      shape.head_dim < 1) {
    bad(
        fmt::format("shape: batch, heads, kv_heads, seq_len, head_dim must be >= 1, got {}, {}, "
                    "{}, {}, {}",
                    shape.batch, shape.heads, shape.kv_heads, shape.seq_len, shape.head_dim));
  }
  if (shape.heads % shape.kv_heads != 0) {
    bad(fmt::format("shape.kv_heads: must divide heads={}, got {}", shape.heads, shape.kv_heads));
  }
  if (q == nullptr || k == nullptr || v == nullptr || out == nullptr) {
    bad("q, k, v, out: must not be null");
  }
  const int64_t S = shape.seq_len, D = shape.head_dim;
  const int64_t group = shape.heads / shape.kv_heads;
  std::vector<double> scores(S);
  for (int64_t b = 0; b < shape.batch; ++b) {
    for (int64_t h = 0; h < shape.heads; ++h) {
      const int64_t kvh = h / group;
      const double* qh = q + (b * shape.heads + h) * S * D;
      const double* kh = k + (b * shape.kv_heads + kvh) * S * D;
      const double* vh = v + (b * shape.kv_heads + kvh) * S * D;
      double* oh = out + (b * shape.heads + h) * S * D;
      for (int64_t i = 0; i < S; ++i) {
        const uint8_t* keep = mask == nullptr ? nullptr : mask + i * S;
        double row_max = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < S; ++j) {
          if (keep != nullptr && !keep[j]) continue;
          double dot = 0;
          for (int64_t d = 0; d < D; ++d) dot += qh[i * D + d] * kh[j * D + d];
          scores[j] = scale * dot;
          row_max = std::max(row_max, scores[j]);
        }
        double* o = oh + i * D;
        std::fill(o, o + D, 0.0);
        double* row_lse = lse == nullptr ? nullptr : lse + (b * shape.heads + h) * S + i;
        if (row_max == -std::numeric_limits<double>::infinity()) {
          if (row_lse != nullptr) *row_lse = -std::numeric_limits<double>::infinity();
          continue;
        }
        double sum = 0;
        for (int64_t j = 0; j < S; ++j) {
          if (keep != nullptr && !keep[j]) continue;
          double p = std::exp(scores[j] - row_max);
          sum += p;
          for (int64_t d = 0; d < D; ++d) o[d] += p * vh[j * D + d];
        }
        for (int64_t d = 0; d < D; ++d) o[d] /= sum;
        if (row_lse != nullptr) *row_lse = row_max + std::log(sum);
      }
    }
  }
}

int64_t verticalSlashKeptPairs(std::vector<int64_t> vertical, std::vector<int64_t> slash,
                               int64_t seq_len) {
  return verticalSlashKeptPairsInRows(std::move(vertical), std::move(slash), 0, seq_len);
}

int64_t verticalSlashKeptPairsInRows(std::vector<int64_t> vertical, std::vector<int64_t> slash,
                                     int64_t q_begin, int64_t q_end) {
  std::sort(vertical.begin(), vertical.end());
  vertical.erase(std::unique(vertical.begin(), vertical.end()), vertical.end());
  std::sort(slash.begin(), slash.end());
  slash.erase(std::unique(slash.begin(), slash.end()), slash.end());
  // Column v keeps rows max(q_begin, v) .. q_end - 1; diagonal d the rows q >= d likewise; the
  // pair (v, d) counts twice on row v + d when that row is in range.
  int64_t total = 0;
  for (int64_t v : vertical) total += std::max<int64_t>(0, q_end - std::max(q_begin, v));
  for (int64_t d : slash) total += std::max<int64_t>(0, q_end - std::max(q_begin, d));
  for (int64_t v : vertical) {
    total -= std::lower_bound(slash.begin(), slash.end(), q_end - v) -
             std::lower_bound(slash.begin(), slash.end(), q_begin - v);
  }
  return total;
}

}  // namespace permjit
