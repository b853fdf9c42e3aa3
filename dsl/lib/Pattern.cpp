#include "permjit/dsl/Pattern.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace permjit {

// permjit::Modality values are the sem::ModalityCode values of
// compiler/include/permjit/compiler/TileSemantics.h (vision=0, text=1, other=2). The dsl layer
// may not include compiler headers, so the numbers are pinned here and the compiler, which
// sees both enums, pins them again on its side.
static_assert(static_cast<int>(Modality::kVision) == 0);
static_assert(static_cast<int>(Modality::kText) == 1);
static_assert(static_cast<int>(Modality::kOther) == 2);

namespace {

[[noreturn]] void fail(const std::string& message) {
  throw Error(ErrorCategory::kInvalidPattern, message);
}

bool validModality(Modality m) {
  int code = static_cast<int>(m);
  return code >= 0 && code <= 2;
}

void checkModality(Modality m, const std::string& field) {
  if (!validModality(m)) {
    fail(fmt::format("{}: unknown modality code {}; allowed: vision, text, other", field,
                     static_cast<int>(m)));
  }
}

void checkSpanRef(const SpanRef& span, const std::string& field) {
  switch (span.kind) {
    case SpanRef::Kind::kAll:
      return;
    case SpanRef::Kind::kRange:
      if (span.begin < 0) {
        fail(fmt::format("{}.range: begin must be >= 0, got range({}, {})", field, span.begin,
                         span.end));
      }
      if (span.end < span.begin) {
        fail(fmt::format("{}.range: begin must be <= end, got range({}, {})", field, span.begin,
                         span.end));
      }
      return;
    case SpanRef::Kind::kModality:
      checkModality(span.mod, field + ".modality");
      return;
    case SpanRef::Kind::kLast:
      if (span.count < 0) fail(fmt::format("{}.last: n must be >= 0, got {}", field, span.count));
      return;
  }
  fail(fmt::format("{}: unknown span kind; allowed: all, range, modality, last", field));
}

void checkStridePhase(const char* atom, int64_t stride, const char* phase_name, int64_t phase) {
  if (stride < 1) fail(fmt::format("{}.stride: must be >= 1, got {}", atom, stride));
  if (phase < 0 || phase >= stride) {
    fail(fmt::format("{}.{}: must be in [0, stride={}), got {}", atom, phase_name, stride, phase));
  }
}

Pattern make(Pattern::Node node) {
  int below = 0;
  for (const Pattern& child : node.children) below = std::max(below, child.node().depth);
  for (const auto& [m, child] : node.by_q) below = std::max(below, child.node().depth);
  for (const auto& [mm, child] : node.by_q_k) below = std::max(below, child.node().depth);
  node.depth = below + 1;
  if (node.depth > kMaxPatternDepth) {
    fail(fmt::format("pattern: nests {} levels deep; allowed: at most {}", node.depth,
                     kMaxPatternDepth));
  }
  return Pattern(std::make_shared<const Pattern::Node>(std::move(node)));
}

Pattern::Node node(Pattern::Kind kind) {
  Pattern::Node n{};
  n.kind = kind;
  return n;
}

// Flattens nested nodes of the same associative kind, so a | b | c is one union of three.
Pattern combine(Pattern::Kind kind, const char* name, std::vector<Pattern> parts) {
  if (parts.empty()) fail(fmt::format("{}: needs at least one pattern, got an empty list", name));
  std::vector<Pattern> flat;
  for (Pattern& part : parts) {
    if (part.kind() == kind) {
      const auto& children = part.node().children;
      flat.insert(flat.end(), children.begin(), children.end());
    } else {
      flat.push_back(std::move(part));
    }
  }
  if (flat.size() == 1) return flat.front();
  if (flat.size() > kMaxPatternChildren) {
    fail(fmt::format("{}: {} parts; allowed: at most {}", name, flat.size(), kMaxPatternChildren));
  }
  Pattern::Node n = node(kind);
  n.children = std::move(flat);
  return make(std::move(n));
}

const char* kindName(Pattern::Kind kind) {
  switch (kind) {
    case Pattern::Kind::kCausal:
      return "causal";
    case Pattern::Kind::kSink:
      return "sink";
    case Pattern::Kind::kLocal:
      return "local";
    case Pattern::Kind::kGrid:
      return "grid";
    case Pattern::Kind::kVLines:
      return "vlines";
    case Pattern::Kind::kHLines:
      return "hlines";
    case Pattern::Kind::kRows:
      return "rows";
    case Pattern::Kind::kVerticalSlash:
      return "vertical_slash";
    case Pattern::Kind::kGridEstimated:
      return "grid_estimated";
    case Pattern::Kind::kBlock:
      return "block";
    case Pattern::Kind::kUnion:
      return "union";
    case Pattern::Kind::kIntersect:
      return "intersect";
    case Pattern::Kind::kQBoundary:
      return "q_boundary";
    case Pattern::Kind::kBoundary2D:
      return "boundary_2d";
    case Pattern::Kind::kPermute:
      return "permute";
  }
  return "?";
}

}  // namespace

// ---- Modality and SpanRef ------------------------------------------------------------------

const char* modalityName(Modality m) {
  switch (m) {
    case Modality::kVision:
      return "vision";
    case Modality::kText:
      return "text";
    case Modality::kOther:
      return "other";
  }
  return "?";
}

Modality parseModality(const std::string& name, const std::string& field) {
  if (name == "vision") return Modality::kVision;
  if (name == "text") return Modality::kText;
  if (name == "other") return Modality::kOther;
  fail(fmt::format("{}: unknown modality '{}'; allowed: vision, text, other", field, name));
}

SpanRef SpanRef::all() { return SpanRef{}; }

SpanRef SpanRef::range(int64_t begin, int64_t end) {
  SpanRef s;
  s.kind = Kind::kRange;
  s.begin = begin;
  s.end = end;
  checkSpanRef(s, "span");
  return s;
}

SpanRef SpanRef::modality(Modality m) {
  SpanRef s;
  s.kind = Kind::kModality;
  s.mod = m;
  checkSpanRef(s, "span");
  return s;
}

SpanRef SpanRef::last(int64_t count) {
  SpanRef s;
  s.kind = Kind::kLast;
  s.count = count;
  checkSpanRef(s, "span");
  return s;
}

std::string SpanRef::str() const {
  switch (kind) {
    case Kind::kAll:
      return "all()";
    case Kind::kRange:
      return fmt::format("range({}, {})", begin, end);
    case Kind::kModality:
      return fmt::format("modality({})", modalityName(mod));
    case Kind::kLast:
      return fmt::format("last({})", count);
  }
  return "?";
}

// ---- Pattern -------------------------------------------------------------------------------

Pattern::Kind Pattern::kind() const { return node_->kind; }

bool Pattern::operator==(const Pattern& other) const {
  if (node_ == other.node_) return true;
  const Node& a = *node_;
  const Node& b = *other.node_;
  return a.kind == b.kind && a.n == b.n && a.window == b.window && a.stride == b.stride &&
         a.phase_q == b.phase_q && a.phase_k == b.phase_k && a.phase == b.phase &&
         a.vertical == b.vertical && a.slash == b.slash && a.last_q == b.last_q &&
         a.strides == b.strides && a.span == b.span && a.q_span == b.q_span &&
         a.k_span == b.k_span && a.children == b.children && a.by_q == b.by_q &&
         a.by_q_k == b.by_q_k && a.axes == b.axes && a.by == b.by;
}

std::string Pattern::str() const {
  const Node& n = *node_;
  switch (n.kind) {
    case Kind::kCausal:
      return "causal()";
    case Kind::kSink:
      return fmt::format("sink({})", n.n);
    case Kind::kLocal:
      return fmt::format("local({})", n.window);
    case Kind::kGrid:
      return fmt::format("grid({}, {}, {}, {})", n.stride, n.phase_q, n.phase_k, n.span.str());
    case Kind::kVLines:
      return fmt::format("vlines({}, {}, {})", n.stride, n.phase, n.span.str());
    case Kind::kHLines:
      return fmt::format("hlines({}, {}, {})", n.stride, n.phase, n.span.str());
    case Kind::kRows:
      return fmt::format("rows({})", n.span.str());
    case Kind::kVerticalSlash:
      return fmt::format("vertical_slash({}, {}, {})", n.vertical, n.slash, n.last_q);
    case Kind::kGridEstimated:
      return fmt::format("grid_estimated({{{}}}, {}, {})", fmt::join(n.strides, ", "), n.last_q,
                         n.span.str());
    case Kind::kBlock:
      return fmt::format("block({}, {})", n.q_span.str(), n.k_span.str());
    case Kind::kUnion:
    case Kind::kIntersect: {
      std::string out;
      for (const Pattern& child : n.children) {
        if (!out.empty()) out += n.kind == Kind::kUnion ? " | " : " & ";
        bool compound = child.kind() == Kind::kUnion || child.kind() == Kind::kIntersect;
        out += compound ? fmt::format("({})", child.str()) : child.str();
      }
      return out;
    }
    case Kind::kQBoundary: {
      std::string out;
      for (const auto& [m, p] : n.by_q) {
        if (!out.empty()) out += ", ";
        out += fmt::format("{}: {}", modalityName(m), p.str());
      }
      return "q_boundary({" + out + "})";
    }
    case Kind::kBoundary2D: {
      std::string out;
      for (const auto& [mm, p] : n.by_q_k) {
        if (!out.empty()) out += ", ";
        out +=
            fmt::format("({}, {}): {}", modalityName(mm.first), modalityName(mm.second), p.str());
      }
      return "boundary_2d({" + out + "})";
    }
    case Kind::kPermute: {
      std::string by;
      if (n.by.kind == PermuteBy::Kind::kResidue) {
        by = fmt::format("residue({}, {})", n.by.stride, n.by.span.str());
      } else {
        for (Modality m : n.by.order) {
          if (!by.empty()) by += ", ";
          by += modalityName(m);
        }
        by = "modality(" + by + ")";
      }
      return fmt::format("permute({}, {}, {})", n.children.at(0).str(), permuteAxesName(n.axes),
                         by);
    }
  }
  return "?";
}

Pattern causal() { return make(node(Pattern::Kind::kCausal)); }

Pattern sink(int64_t n) {
  if (n < 0) fail(fmt::format("sink.n: must be >= 0, got {}", n));
  Pattern::Node p = node(Pattern::Kind::kSink);
  p.n = n;
  return make(std::move(p));
}

Pattern local(int64_t window) {
  if (window < 0) fail(fmt::format("local.window: must be >= 0, got {}", window));
  Pattern::Node p = node(Pattern::Kind::kLocal);
  p.window = window;
  return make(std::move(p));
}

Pattern grid(int64_t stride, int64_t phase_q, int64_t phase_k, SpanRef span) {
  checkStridePhase("grid", stride, "phase_q", phase_q);
  checkStridePhase("grid", stride, "phase_k", phase_k);
  checkSpanRef(span, "grid.span");
  Pattern::Node p = node(Pattern::Kind::kGrid);
  p.stride = stride;
  p.phase_q = phase_q;
  p.phase_k = phase_k;
  p.span = span;
  return make(std::move(p));
}

Pattern vlines(int64_t stride, int64_t phase, SpanRef span) {
  checkStridePhase("vlines", stride, "phase", phase);
  checkSpanRef(span, "vlines.span");
  Pattern::Node p = node(Pattern::Kind::kVLines);
  p.stride = stride;
  p.phase = phase;
  p.span = span;
  return make(std::move(p));
}

Pattern hlines(int64_t stride, int64_t phase, SpanRef span) {
  checkStridePhase("hlines", stride, "phase", phase);
  checkSpanRef(span, "hlines.span");
  Pattern::Node p = node(Pattern::Kind::kHLines);
  p.stride = stride;
  p.phase = phase;
  p.span = span;
  return make(std::move(p));
}

Pattern rows(SpanRef span) {
  checkSpanRef(span, "rows.span");
  Pattern::Node p = node(Pattern::Kind::kRows);
  p.span = span;
  return make(std::move(p));
}

Pattern vertical_slash(int64_t vertical, int64_t slash, int64_t last_q) {
  if (vertical < 1) fail(fmt::format("vertical_slash.vertical: must be >= 1, got {}", vertical));
  if (slash < 1) fail(fmt::format("vertical_slash.slash: must be >= 1, got {}", slash));
  if (last_q < 1) fail(fmt::format("vertical_slash.last_q: must be >= 1, got {}", last_q));
  Pattern::Node p = node(Pattern::Kind::kVerticalSlash);
  p.vertical = vertical;
  p.slash = slash;
  p.last_q = last_q;
  return make(std::move(p));
}

Pattern grid_estimated(std::vector<int64_t> strides, int64_t last_q, SpanRef span) {
  if (strides.empty() || strides.size() > static_cast<size_t>(kMaxGridCandidates)) {
    fail(fmt::format("grid_estimated.strides: {} candidates; allowed: 1..{}", strides.size(),
                     kMaxGridCandidates));
  }
  for (size_t i = 0; i < strides.size(); ++i) {
    if (strides[i] < 2 || strides[i] > kMaxEstimatedGridStride) {
      fail(fmt::format("grid_estimated.strides[{}]: {}; allowed: 2..{}", i, strides[i],
                       kMaxEstimatedGridStride));
    }
    if (std::find(strides.begin(), strides.begin() + i, strides[i]) != strides.begin() + i) {
      fail(fmt::format("grid_estimated.strides[{}]: {} is listed twice; allowed: distinct strides",
                       i, strides[i]));
    }
  }
  if (last_q < 1 || last_q > 1024) {
    fail(fmt::format("grid_estimated.last_q: {}; allowed: 1..1024", last_q));
  }
  checkSpanRef(span, "grid_estimated.span");
  Pattern::Node p = node(Pattern::Kind::kGridEstimated);
  p.strides = std::move(strides);
  p.last_q = last_q;
  p.span = span;
  return make(std::move(p));
}

Pattern block(SpanRef q_span, SpanRef k_span) {
  checkSpanRef(q_span, "block.q");
  checkSpanRef(k_span, "block.k");
  Pattern::Node p = node(Pattern::Kind::kBlock);
  p.q_span = q_span;
  p.k_span = k_span;
  return make(std::move(p));
}

Pattern operator|(const Pattern& a, const Pattern& b) { return union_of({a, b}); }
Pattern operator&(const Pattern& a, const Pattern& b) { return intersect_of({a, b}); }

Pattern union_of(std::vector<Pattern> parts) {
  return combine(Pattern::Kind::kUnion, "union_of", std::move(parts));
}

Pattern intersect_of(std::vector<Pattern> parts) {
  return combine(Pattern::Kind::kIntersect, "intersect_of", std::move(parts));
}

Pattern q_boundary(std::map<Modality, Pattern> by_query_modality) {
  if (by_query_modality.empty()) {
    fail(
        "q_boundary: needs at least one modality pattern, got an empty map; allowed keys: "
        "vision, text, other");
  }
  for (const auto& entry : by_query_modality) checkModality(entry.first, "q_boundary");
  Pattern::Node p = node(Pattern::Kind::kQBoundary);
  p.by_q = std::move(by_query_modality);
  return make(std::move(p));
}

Pattern boundary_2d(std::map<std::pair<Modality, Modality>, Pattern> by_modality_pair) {
  if (by_modality_pair.empty()) {
    fail(
        "boundary_2d: needs at least one (query modality, key modality) block, got an empty "
        "map; allowed modalities: vision, text, other");
  }
  for (const auto& entry : by_modality_pair) {
    checkModality(entry.first.first, "boundary_2d.q");
    checkModality(entry.first.second, "boundary_2d.k");
  }
  Pattern::Node p = node(Pattern::Kind::kBoundary2D);
  p.by_q_k = std::move(by_modality_pair);
  return make(std::move(p));
}

Pattern permute(Pattern pattern, PermuteAxes axes, PermuteBy by) {
  if (axes != PermuteAxes::kRows && axes != PermuteAxes::kCols && axes != PermuteAxes::kBoth) {
    fail("permute.axes: unknown value; allowed: rows, cols, both");
  }
  if (by.kind == PermuteBy::Kind::kResidue) {
    if (by.stride < 1) fail(fmt::format("permute.by.stride: must be >= 1, got {}", by.stride));
    checkSpanRef(by.span, "permute.by.span");
    by.order.clear();
  } else if (by.kind == PermuteBy::Kind::kModality) {
    // An empty order means the documented default; store it explicitly so equal plans compare
    // equal.
    if (by.order.empty()) by.order = {Modality::kVision, Modality::kText, Modality::kOther};
    for (size_t i = 0; i < by.order.size(); ++i) {
      std::string field = fmt::format("permute.by.modality[{}]", i);
      checkModality(by.order[i], field);
      if (std::find(by.order.begin(), by.order.begin() + i, by.order[i]) != by.order.begin() + i) {
        fail(fmt::format("{}: modality '{}' listed twice; each of vision, text, other at most once",
                         field, modalityName(by.order[i])));
      }
    }
    by.stride = 1;
    by.span = SpanRef::modality(Modality::kVision);
  } else {
    fail("permute.by: unknown kind; allowed: residue, modality");
  }
  Pattern::Node p = node(Pattern::Kind::kPermute);
  p.children = {std::move(pattern)};
  p.axes = axes;
  p.by = std::move(by);
  return make(std::move(p));
}

// ---- Validation against a layout -----------------------------------------------------------

namespace {

struct ValidateContext {
  const Layout& layout;
  int64_t seq_len;
  int64_t q_len, k_len;  // sequence length on each side (local inside boundary_2d)
  const char* boundary;  // enclosing boundary kind, or nullptr
};

std::string modalitiesPresent(const Layout& layout, int64_t seq_len) {
  std::string out;
  for (Modality m : {Modality::kVision, Modality::kText, Modality::kOther}) {
    if (!layout.has(m, seq_len)) continue;
    if (!out.empty()) out += ", ";
    out += modalityName(m);
  }
  return out.empty() ? "nothing" : out;
}

void requireModality(const ValidateContext& ctx, Modality m, const std::string& field) {
  if (!ctx.layout.has(m, ctx.seq_len)) {
    fail(fmt::format("{}: modality '{}' is not in the layout (has: {})", field, modalityName(m),
                     modalitiesPresent(ctx.layout, ctx.seq_len)));
  }
}

void validateSpan(const SpanRef& span, int64_t len, const std::string& field) {
  checkSpanRef(span, field);
  if (span.kind == SpanRef::Kind::kRange && span.end > len) {
    fail(fmt::format("{}: {} spans past the sequence (length {})", field, span.str(), len));
  }
  if (span.kind == SpanRef::Kind::kLast && span.count > len) {
    fail(fmt::format("{}: {} is longer than the sequence (length {})", field, span.str(), len));
  }
}

void validateNode(const Pattern& pattern, const ValidateContext& ctx, const std::string& path) {
  const Pattern::Node& n = pattern.node();
  // "grid.span" at the root, "intersect.of[1].grid.span" below it.
  std::string here = path.empty() ? kindName(n.kind) : path + "." + kindName(n.kind);
  switch (n.kind) {
    case Pattern::Kind::kCausal:
    case Pattern::Kind::kSink:
    case Pattern::Kind::kLocal:
    case Pattern::Kind::kVerticalSlash:
      return;
    case Pattern::Kind::kGridEstimated:
      if (ctx.boundary != nullptr && std::string(ctx.boundary) == "boundary_2d") {
        fail(
            fmt::format("{}: grid_estimated inside boundary_2d is not supported (the estimator "
                        "works in original positions); allowed: at the top level or in a "
                        "q_boundary",
                        here));
      }
      validateSpan(n.span, std::min(ctx.q_len, ctx.k_len), here + ".span");
      estimatedGridRange(n, ctx.layout, ctx.seq_len);
      return;
    case Pattern::Kind::kGrid:
      checkStridePhase("grid", n.stride, "phase_q", n.phase_q);
      checkStridePhase("grid", n.stride, "phase_k", n.phase_k);
      validateSpan(n.span, std::min(ctx.q_len, ctx.k_len), here + ".span");
      return;
    case Pattern::Kind::kHLines:
      checkStridePhase("hlines", n.stride, "phase", n.phase);
      validateSpan(n.span, ctx.q_len, here + ".span");
      return;
    case Pattern::Kind::kVLines:
      checkStridePhase("vlines", n.stride, "phase", n.phase);
      validateSpan(n.span, ctx.k_len, here + ".span");
      return;
    case Pattern::Kind::kRows:
      validateSpan(n.span, ctx.q_len, here + ".span");
      return;
    case Pattern::Kind::kBlock:
      validateSpan(n.q_span, ctx.q_len, here + ".q");
      validateSpan(n.k_span, ctx.k_len, here + ".k");
      return;
    case Pattern::Kind::kUnion:
    case Pattern::Kind::kIntersect:
    case Pattern::Kind::kPermute:
      if (n.kind == Pattern::Kind::kPermute && n.by.kind == PermuteBy::Kind::kResidue) {
        validateSpan(n.by.span, std::min(ctx.q_len, ctx.k_len), here + ".by.span");
      }
      for (size_t i = 0; i < n.children.size(); ++i) {
        std::string child = n.kind == Pattern::Kind::kPermute ? here + ".pattern"
                                                              : fmt::format("{}.of[{}]", here, i);
        validateNode(n.children[i], ctx, child);
      }
      return;
    case Pattern::Kind::kQBoundary:
    case Pattern::Kind::kBoundary2D: {
      if (ctx.boundary != nullptr) {
        fail(fmt::format("{}: a {} inside a {} is not supported; allowed: one boundary level", here,
                         kindName(n.kind), ctx.boundary));
      }
      ValidateContext inner = ctx;
      inner.boundary = kindName(n.kind);
      if (n.kind == Pattern::Kind::kQBoundary) {
        for (const auto& [m, p] : n.by_q) {
          std::string field = fmt::format("{}.by.{}", here, modalityName(m));
          requireModality(ctx, m, here);
          validateNode(p, inner, field);
        }
      } else {
        for (const auto& [mm, p] : n.by_q_k) {
          std::string field = fmt::format("{}.blocks[({}, {})]", here, modalityName(mm.first),
                                          modalityName(mm.second));
          requireModality(ctx, mm.first, here);
          requireModality(ctx, mm.second, here);
          inner.q_len = ctx.layout.countOf(mm.first, ctx.seq_len);
          inner.k_len = ctx.layout.countOf(mm.second, ctx.seq_len);
          validateNode(p, inner, field);
        }
      }
      return;
    }
  }
}

}  // namespace

namespace {

// Calls visit(node) for every node of the tree, parents first.
template <class Visit>
void forEachNode(const Pattern& pattern, Visit&& visit) {
  const Pattern::Node& n = pattern.node();
  visit(n);
  for (const Pattern& child : n.children) forEachNode(child, visit);
  for (const auto& entry : n.by_q) forEachNode(entry.second, visit);
  for (const auto& entry : n.by_q_k) forEachNode(entry.second, visit);
}

// Calls visit(node, branch) for every vertical_slash node, where branch is the query modality
// of the q_boundary branch it lies in (nullopt outside one). A node reached through two
// branches is visited once per branch: each is an atom of its own.
template <class Visit>
void forEachVerticalSlash(const Pattern& pattern, std::optional<Modality> branch, Visit&& visit) {
  const Pattern::Node& n = pattern.node();
  if (n.kind == Pattern::Kind::kVerticalSlash) visit(n, branch);
  for (const Pattern& child : n.children) forEachVerticalSlash(child, branch, visit);
  for (const auto& [m, p] : n.by_q) forEachVerticalSlash(p, m, visit);
  for (const auto& entry : n.by_q_k) forEachVerticalSlash(entry.second, branch, visit);
}

// The q_boundary branch of every vertical_slash node, in visiting order (repeats kept).
std::vector<std::optional<Modality>> verticalSlashBranches(const Pattern& pattern) {
  std::vector<std::optional<Modality>> branches;
  forEachVerticalSlash(
      pattern, std::nullopt,
      [&](const Pattern::Node&, std::optional<Modality> branch) { branches.push_back(branch); });
  return branches;
}

// Several vertical_slash atoms only as one per q_boundary modality: each query row then reads
// one atom, which the estimator fills from that modality's own last queries.
void validateVerticalSlashAtoms(const Pattern& pattern) {
  const std::vector<std::optional<Modality>> atoms = verticalSlashBranches(pattern);
  if (atoms.size() <= 1) return;
  std::map<Modality, int> per_branch;
  for (const std::optional<Modality>& branch : atoms) {
    if (!branch) {
      fail(fmt::format(
          "vertical_slash: the pattern holds {} vertical_slash atoms and one lies outside a "
          "q_boundary branch; allowed: one per head, or one per q_boundary modality (by.vision, "
          "by.text, by.other)",
          atoms.size()));
    }
    if (++per_branch[*branch] > 1) {
      fail(fmt::format(
          "q_boundary.by.{}: holds {} vertical_slash atoms; allowed: one per query modality (the "
          "estimator chooses one set per modality and head)",
          modalityName(*branch), per_branch[*branch]));
    }
  }
}

// One online estimator per head, and the estimated grid's phases must be the only grid phases
// (the runtime finds them by name in the compiled spec).
void validateEstimators(const Pattern& pattern) {
  validateVerticalSlashAtoms(pattern);
  int estimated = 0, grids = 0, vertical_slash = 0;
  forEachNode(pattern, [&](const Pattern::Node& n) {
    estimated += n.kind == Pattern::Kind::kGridEstimated;
    grids += n.kind == Pattern::Kind::kGrid;
    vertical_slash += n.kind == Pattern::Kind::kVerticalSlash;
  });
  if (estimated == 0) return;
  if (estimated > 1) {
    fail(
        fmt::format("grid_estimated: the pattern holds {} grid_estimated atoms; allowed: one per "
                    "head",
                    estimated));
  }
  if (grids > 0) {
    fail(
        "grid_estimated: the pattern also holds a static grid atom; allowed: grid_estimated as "
        "the head's only grid (use vlines/hlines for fixed lines next to it)");
  }
  if (vertical_slash > 0) {
    fail(
        "grid_estimated: the pattern also holds a vertical_slash; allowed: one online "
        "estimator per head");
  }
}

}  // namespace

void validate(const Pattern& pattern, const Layout& layout, int64_t seq_len) {
  if (seq_len < 1) fail(fmt::format("seq_len: must be >= 1, got {}", seq_len));
  layout.validate(seq_len);
  validateEstimators(pattern);
  ValidateContext ctx{layout, seq_len, seq_len, seq_len, nullptr};
  validateNode(pattern, ctx, "");
}

std::vector<std::optional<Modality>> verticalSlashAtoms(const Pattern& pattern) {
  std::vector<std::optional<Modality>> atoms = verticalSlashBranches(pattern);
  std::sort(atoms.begin(), atoms.end());
  atoms.erase(std::unique(atoms.begin(), atoms.end()), atoms.end());
  return atoms;
}

const Pattern::Node* findEstimatedGrid(const Pattern& pattern) {
  const Pattern::Node* found = nullptr;
  forEachNode(pattern, [&](const Pattern::Node& n) {
    if (found == nullptr && n.kind == Pattern::Kind::kGridEstimated) found = &n;
  });
  return found;
}

namespace {

Pattern replaceEstimatedGrid(const Pattern& pattern, const GridChoice& choice) {
  const Pattern::Node& n = pattern.node();
  if (n.kind == Pattern::Kind::kGridEstimated) {
    return grid(choice.stride, choice.phase_q, choice.phase_k, n.span);
  }
  if (n.children.empty() && n.by_q.empty() && n.by_q_k.empty()) return pattern;
  Pattern::Node copy = n;
  for (Pattern& child : copy.children) child = replaceEstimatedGrid(child, choice);
  for (auto& entry : copy.by_q) entry.second = replaceEstimatedGrid(entry.second, choice);
  for (auto& entry : copy.by_q_k) entry.second = replaceEstimatedGrid(entry.second, choice);
  return make(std::move(copy));
}

}  // namespace

Pattern withGridChoice(const Pattern& pattern, const GridChoice& choice) {
  validateEstimators(pattern);
  if (findEstimatedGrid(pattern) == nullptr) {
    fail("grid_estimated: the pattern has no grid_estimated atom to fill in");
  }
  checkStridePhase("grid_estimated", choice.stride, "phase_q", choice.phase_q);
  checkStridePhase("grid_estimated", choice.stride, "phase_k", choice.phase_k);
  return replaceEstimatedGrid(pattern, choice);
}

std::pair<int64_t, int64_t> estimatedGridRange(const Pattern::Node& grid, const Layout& layout,
                                               int64_t seq_len) {
  std::pair<int64_t, int64_t> range{0, seq_len};
  switch (grid.span.kind) {
    case SpanRef::Kind::kAll:
      break;
    case SpanRef::Kind::kRange:
      range = {grid.span.begin, std::min(grid.span.end, seq_len)};
      break;
    case SpanRef::Kind::kLast:
      range = {std::max<int64_t>(0, seq_len - grid.span.count), seq_len};
      break;
    case SpanRef::Kind::kModality: {
      int found = 0;
      for (const Span& span : layout.normalized(seq_len)) {
        if (span.kind != grid.span.mod) continue;
        range = {span.begin, span.end};
        ++found;
      }
      if (found != 1) {
        fail(
            fmt::format("grid_estimated.span: modality '{}' has {} spans in the layout; allowed: "
                        "exactly one (the estimator samples one contiguous range), or a range "
                        "span",
                        modalityName(grid.span.mod), found));
      }
      break;
    }
  }
  if (range.second <= range.first) {
    fail(fmt::format("grid_estimated.span: {} is empty for seq_len {}", grid.span.str(), seq_len));
  }
  return range;
}

bool isDynamic(const Pattern& pattern) {
  const Pattern::Node& n = pattern.node();
  if (n.kind == Pattern::Kind::kVerticalSlash || n.kind == Pattern::Kind::kGridEstimated) {
    return true;
  }
  for (const Pattern& child : n.children) {
    if (isDynamic(child)) return true;
  }
  for (const auto& entry : n.by_q) {
    if (isDynamic(entry.second)) return true;
  }
  for (const auto& entry : n.by_q_k) {
    if (isDynamic(entry.second)) return true;
  }
  return false;
}

const char* permuteAxesName(PermuteAxes axes) {
  switch (axes) {
    case PermuteAxes::kRows:
      return "rows";
    case PermuteAxes::kCols:
      return "cols";
    case PermuteAxes::kBoth:
      return "both";
  }
  return "?";
}

}  // namespace permjit
