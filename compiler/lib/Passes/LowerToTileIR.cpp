// lower-to-tile-ir: each permjit.head becomes a permjit.kernel with one permjit.pass, or two
// with pass-split=lines (see LineSplit and the general line split below, and Passes.td).
// The lowering table (the head types' semantics: docs/method.md):
//   causal -> diag(0, inf)     local(w) -> diag(0, w)     sink(n) -> krange(0, n)
//   rows(s) -> Q-span(s)       block(qs, ks) -> and(Q-span(qs), K-span(ks))
//   hlines(s, p, span) -> and(Q-span(span), qmod(base(span), s, p)); vlines likewise on K
//   grid -> or(hlines, vlines) union -> or   intersect -> and   permute(p) -> lower(p)
//   q_boundary -> or_m and(qmodality(m), lower(p_m))
//   boundary_2d -> or_(mq,mk) and(qmodality(mq), kmodality(mk), lower_local(p))
//   vertical_slash -> or(kvertical, slash); a head holding one always becomes two passes:
//     pass 0 = lower(head)[vertical_slash := slash] over the head's plans, on every column,
//     pass 1 = lower(head)[vertical_slash := true] and not(pass 0) over the gathered vertical
//     columns. A head with one atom per q_boundary modality m_a (atom a reads atom a's sets)
//     gets two passes per atom, the other atoms := false in both:
//     slash pass = [qmodality(m_a) and] lower(head)[a := slash] [and not(lower(head)[all :=
//     false])] (the bracketed parts for a > 0: pass 0 keeps the static atoms),
//     vertical pass = qmodality(m_a) and lower(head)[a := true] and not(lower(head)[a := slash]).
// Span predicates: all -> true; range(b, e) -> range(b, e); last(n) -> range(S - n, inf) (in a
// 2D block: range(count(m) - n, inf)); modality(m) -> modality(m) (in a 2D block: true when m
// is the block's modality on that axis, else false). Residue base: range -> b, all -> 0,
// last(n) -> its first position, modality -> 0 on modality-local coordinates.
#include <algorithm>
#include <functional>
#include <optional>

#include "PassError.h"
#include "llvm/ADT/DenseMap.h"
#include "mlir/IR/Builders.h"
#include "permjit/compiler/Passes.h"

namespace permjit {

#define GEN_PASS_DEF_LOWERTOTILEIRPASS
#include "permjit/compiler/Passes.h.inc"

namespace {

enum class Axis { kQ, kK };

// Original coordinates, or local ones inside the boundary_2d block (q modality, k modality);
// q_branch: the q_boundary branch being lowered (which vertical_slash atom applies).
struct Context {
  std::optional<ir::Modality> block_q, block_k;
  std::optional<ir::Modality> q_branch;
  bool local() const { return block_q.has_value(); }
  std::optional<ir::Modality> block(Axis axis) const {
    return axis == Axis::kQ ? block_q : block_k;
  }
};

// How vertical_slash lowers in the pass being built (see the table above): the active atom as
// or(kvertical, slash), slash, or true; kFalse lowers every atom as false.
enum class VerticalMode { kBoth, kAbsent, kPresent, kFalse };

// How line atoms (grid, hlines, vlines) lower: as themselves, or as false (pass 0 of the
// general line split below).
enum class LineMode { kKeep, kDrop };

class Lowerer {
 public:
  Lowerer(mlir::OpBuilder& builder, mlir::Location loc)
      : b_(builder), loc_(loc), pred_(ir::PredType::get(builder.getContext())) {}

  llvm::ArrayRef<mlir::Attribute> params() const { return params_; }
  // `active`: the q_boundary branch of the atom the mode applies to; the others lower as false.
  // With atoms_by_branch false (one atom per head) the mode applies to every vertical_slash.
  void setVerticalMode(VerticalMode mode, std::optional<ir::Modality> active = std::nullopt) {
    vertical_mode_ = mode;
    active_atom_ = active;
  }
  void setAtomsByBranch(bool by_branch) { atoms_by_branch_ = by_branch; }
  mlir::Value queryModality(ir::Modality m) { return create<ir::PredQModalityOp>(m); }
  void setLineMode(LineMode mode) { line_mode_ = mode; }
  // Every line predicate lowered from now on (kKeep) is also appended to `sink`; null: none.
  void collectLines(llvm::SmallVectorImpl<mlir::Value>* sink) { line_sink_ = sink; }
  mlir::Value anyOf(llvm::ArrayRef<mlir::Value> parts) { return any(parts); }
  mlir::Value allOf(llvm::ArrayRef<mlir::Value> parts) { return all(parts); }
  mlir::Value notOf(mlir::Value pred) { return create<ir::PredNotOp>(pred); }

  mlir::FailureOr<mlir::Value> lower(mlir::Value mask, const Context& where) {
    mlir::Operation* op = mask.getDefiningOp();
    OwnerScope owner(*this, op);
    bool local = where.local();
    // Slots are numbered in source order (locals, since argument order is unspecified).
    if (llvm::isa<ir::CausalOp>(op)) {
      int32_t lo = constant("causal.lo", 0);
      return diag(lo, inf(), local);
    }
    if (auto l = llvm::dyn_cast<ir::LocalOp>(op)) {
      int32_t lo = constant("local.lo", 0);
      return diag(lo, constant("local.window", l.getWindowAttr().getInt()), local);
    }
    if (auto s = llvm::dyn_cast<ir::SinkOp>(op)) {
      int32_t begin = constant("sink.begin", 0);
      return range(Axis::kK, begin, constant("sink.n", s.getNAttr().getInt()), local);
    }
    if (auto r = llvm::dyn_cast<ir::RowsOp>(op)) return spanPred(Axis::kQ, r.getSpan(), where);
    if (auto blk = llvm::dyn_cast<ir::BlockOp>(op)) {
      return all(
          {spanPred(Axis::kQ, blk.getQSpan(), where), spanPred(Axis::kK, blk.getKSpan(), where)});
    }
    if (auto h = llvm::dyn_cast<ir::HLinesOp>(op)) {
      return lines(Axis::kQ, "hlines", h.getStrideAttr().getInt(), h.getPhaseAttr().getInt(),
                   h.getSpan(), where, ir::ParamRole::kNone);
    }
    if (auto v = llvm::dyn_cast<ir::VLinesOp>(op)) {
      return lines(Axis::kK, "vlines", v.getStrideAttr().getInt(), v.getPhaseAttr().getInt(),
                   v.getSpan(), where, ir::ParamRole::kNone);
    }
    if (auto g = llvm::dyn_cast<ir::GridOp>(op)) {
      // Only a grid's phases take a role: a grid_estimated pattern compiles as one grid, and
      // the hlines/vlines allowed next to it keep the phases of their own.
      int64_t stride = g.getStrideAttr().getInt();
      return any({lines(Axis::kQ, "grid.q", stride, g.getPhaseQAttr().getInt(), g.getSpan(), where,
                        ir::ParamRole::kGridPhaseQ),
                  lines(Axis::kK, "grid.k", stride, g.getPhaseKAttr().getInt(), g.getSpan(), where,
                        ir::ParamRole::kGridPhaseK)});
    }
    if (auto u = llvm::dyn_cast<ir::UnionOp>(op)) return lowerAll(u.getParts(), where, false);
    if (auto i = llvm::dyn_cast<ir::IntersectOp>(op)) return lowerAll(i.getParts(), where, true);
    if (auto p = llvm::dyn_cast<ir::PermuteOp>(op)) return lower(p.getInput(), where);
    if (auto qb = llvm::dyn_cast<ir::QBoundaryOp>(op)) {
      if (local) return nested(op);
      llvm::SmallVector<mlir::Value> cases;
      for (auto [part, key] : llvm::zip(qb.getParts(), qb.getModalities())) {
        ir::Modality m = llvm::cast<ir::ModalityAttr>(key).getValue();
        mlir::Value is_m = create<ir::PredQModalityOp>(m);
        Context branch = where;
        branch.q_branch = m;
        auto body = lower(part, branch);
        if (mlir::failed(body)) return mlir::failure();
        cases.push_back(all({is_m, *body}));
      }
      return any(cases);
    }
    if (auto b2 = llvm::dyn_cast<ir::Boundary2DOp>(op)) {
      if (local) return nested(op);
      llvm::SmallVector<mlir::Value> cases;
      for (auto [part, key] : llvm::zip(b2.getParts(), b2.getPairs())) {
        auto pair = llvm::cast<mlir::ArrayAttr>(key);
        Context block{llvm::cast<ir::ModalityAttr>(pair[0]).getValue(),
                      llvm::cast<ir::ModalityAttr>(pair[1]).getValue()};
        mlir::Value is_mq = create<ir::PredQModalityOp>(*block.block_q);
        mlir::Value is_mk = create<ir::PredKModalityOp>(*block.block_k);
        auto body = lower(part, block);
        if (mlir::failed(body)) return mlir::failure();
        cases.push_back(all({is_mq, is_mk, *body}));
      }
      return any(cases);
    }
    if (llvm::isa<ir::VerticalSlashOp>(op)) {
      if (local) {
        return op->emitOpError(
            "vertical_slash: inside a boundary_2d block (modality-local coordinates) is not "
            "supported; allowed: vertical_slash in original coordinates (top level, unions, "
            "intersections, q_boundary)");
      }
      if (atoms_by_branch_ && where.q_branch != active_atom_) return create<ir::PredFalseOp>();
      switch (vertical_mode_) {
        case VerticalMode::kFalse:
          return create<ir::PredFalseOp>();
        case VerticalMode::kAbsent:
          return create<ir::PredSlashOp>();
        case VerticalMode::kPresent:
          return create<ir::PredTrueOp>();
        case VerticalMode::kBoth:
          break;
      }
      return any({create<ir::PredKVerticalOp>(), create<ir::PredSlashOp>()});
    }
    return op->emitOpError("lower-to-tile-ir: no lowering for this op");
  }

  // The predicate of one pass: and(outer..., or(terms...), not(or(excluded...))), the last
  // conjunct only when `excluded` is not empty.
  mlir::FailureOr<mlir::Value> lowerPass(mlir::ValueRange outer, mlir::ValueRange terms,
                                         mlir::ValueRange excluded) {
    llvm::SmallVector<mlir::Value> conjuncts;
    for (mlir::Value part : outer) {
      auto v = lower(part, Context{});
      if (mlir::failed(v)) return mlir::failure();
      conjuncts.push_back(*v);
    }
    auto any_term = lowerAll(terms, Context{}, false);
    if (mlir::failed(any_term)) return mlir::failure();
    conjuncts.push_back(*any_term);
    if (!excluded.empty()) {
      auto any_excluded = lowerAll(excluded, Context{}, false);
      if (mlir::failed(any_excluded)) return mlir::failure();
      conjuncts.push_back(create<ir::PredNotOp>(*any_excluded));
    }
    return all(conjuncts);
  }

  // The tile-level recipe of a pattern-level plan: every number becomes a param slot.
  ir::RecipeAttr recipe(ir::PlanAttr plan, const char* axis) {
    int32_t stride = -1, modality = -1, begin = -1, end = -1;
    if (plan.getStride() > 0) {
      std::string prefix = std::string(axis) + ".residue";
      stride = constant(prefix + ".stride", plan.getStride());
      ir::SpanAttr span = plan.getSpan();
      switch (span.getKind()) {
        case ir::SpanKind::all:
          begin = constant(prefix + ".begin", 0);
          end = inf();
          break;
        case ir::SpanKind::range:
          begin = constant(prefix + ".begin", span.getA());
          end = constant(prefix + ".end", span.getB());
          break;
        case ir::SpanKind::modality:
          modality = static_cast<int32_t>(span.getA());
          break;
        case ir::SpanKind::last:
          begin = slot(prefix + ".begin", ir::ParamKind::kSeqLenMinus, span.getA());
          end = inf();
          break;
      }
    }
    return ir::RecipeAttr::get(b_.getContext(), plan.getGather(), stride, modality, begin, end);
  }

 private:
  template <typename Op, typename... Args>
  mlir::Value create(Args&&... args) {
    return b_.create<Op>(loc_, pred_, std::forward<Args>(args)...);
  }

  // The pattern op whose slots are being allocated: lowering the same op again (in another
  // pass) reuses its slots instead of adding equal ones.
  struct OwnerScope {
    OwnerScope(Lowerer& lowerer, mlir::Operation* op) : lowerer(lowerer), saved(lowerer.owner_) {
      lowerer.owner_ = op;
    }
    ~OwnerScope() { lowerer.owner_ = saved; }
    Lowerer& lowerer;
    mlir::Operation* saved;
  };

  mlir::FailureOr<mlir::Value> nested(mlir::Operation* op) {
    return op->emitOpError() << "boundaries nest: a boundary inside a boundary_2d block is not "
                                "supported";
  }

  int32_t slot(const std::string& name, ir::ParamKind kind, int64_t value, int32_t modality = -1,
               ir::ParamRole role = ir::ParamRole::kNone) {
    // Values past the largest position difference behave like infinity; keep them in int.
    value = std::clamp<int64_t>(value, -sem::kPosInf, sem::kPosInf);
    auto attr = ir::ParamAttr::get(b_.getContext(), name, kind, value, modality, role);
    auto next = static_cast<int32_t>(params_.size());
    if (owner_) {
      auto [it, added] = owned_slots_.try_emplace({owner_, attr}, next);
      if (!added) return it->second;
    }
    params_.push_back(attr);
    return next;
  }
  int32_t constant(const std::string& name, int64_t value) {
    return slot(name, ir::ParamKind::kConst, value);
  }
  int32_t inf() {
    if (inf_ < 0) inf_ = slot("inf", ir::ParamKind::kInf, 0);
    return inf_;
  }

  mlir::Value diag(int32_t lo, int32_t hi, bool local) {
    return create<ir::PredDiagOp>(lo, hi, local);
  }
  mlir::Value range(Axis axis, int32_t begin, int32_t end, bool local) {
    if (axis == Axis::kQ) return create<ir::PredQRangeOp>(begin, end, local);
    return create<ir::PredKRangeOp>(begin, end, local);
  }

  // The first position of last(n): S - n, or count(block modality) - n inside a 2D block.
  int32_t lastBegin(const std::string& name, int64_t n, Axis axis, const Context& where) {
    if (auto m = where.block(axis)) {
      return slot(name, ir::ParamKind::kCountMinus, n, static_cast<int32_t>(*m));
    }
    return slot(name, ir::ParamKind::kSeqLenMinus, n);
  }

  mlir::Value spanPred(Axis axis, ir::SpanAttr span, const Context& where) {
    const char* name = axis == Axis::kQ ? "q" : "k";
    switch (span.getKind()) {
      case ir::SpanKind::all:
        return create<ir::PredTrueOp>();
      case ir::SpanKind::range: {
        int32_t begin = constant(std::string(name) + ".begin", span.getA());
        return range(axis, begin, constant(std::string(name) + ".end", span.getB()), where.local());
      }
      case ir::SpanKind::last: {
        int32_t begin = lastBegin(std::string(name) + ".last", span.getA(), axis, where);
        return range(axis, begin, inf(), where.local());
      }
      case ir::SpanKind::modality: {
        auto m = static_cast<ir::Modality>(span.getA());
        if (auto block = where.block(axis)) {
          if (*block == m) return create<ir::PredTrueOp>();
          return create<ir::PredFalseOp>();
        }
        if (axis == Axis::kQ) return create<ir::PredQModalityOp>(m);
        return create<ir::PredKModalityOp>(m);
      }
    }
    return create<ir::PredFalseOp>();
  }

  // `phase_role` marks the phase slot (see the grid case of lower()).
  mlir::Value lines(Axis axis, const std::string& name, int64_t stride, int64_t phase,
                    ir::SpanAttr span, const Context& where, ir::ParamRole phase_role) {
    if (line_mode_ == LineMode::kDrop) return create<ir::PredFalseOp>();
    mlir::Value in_span = spanPred(axis, span, where);
    int32_t base;
    bool local = where.local();
    switch (span.getKind()) {
      case ir::SpanKind::range:
        base = constant(name + ".base", span.getA());
        break;
      case ir::SpanKind::last:
        base = lastBegin(name + ".base", span.getA(), axis, where);
        break;
      case ir::SpanKind::modality:
        local = true;
        base = constant(name + ".base", 0);
        break;
      case ir::SpanKind::all:
      default:
        base = constant(name + ".base", 0);
        break;
    }
    int32_t s = constant(name + ".stride", stride);
    int32_t p = slot(name + ".phase", ir::ParamKind::kConst, phase, -1, phase_role);
    mlir::Value mod = axis == Axis::kQ ? create<ir::PredQModOp>(base, s, p, local)
                                       : create<ir::PredKModOp>(base, s, p, local);
    mlir::Value line = all({in_span, mod});
    if (line_sink_) line_sink_->push_back(line);
    return line;
  }

  mlir::FailureOr<mlir::Value> lowerAll(mlir::ValueRange parts, const Context& where,
                                        bool conjunction) {
    llvm::SmallVector<mlir::Value> lowered;
    for (mlir::Value part : parts) {
      auto v = lower(part, where);
      if (mlir::failed(v)) return mlir::failure();
      lowered.push_back(*v);
    }
    return conjunction ? all(lowered) : any(lowered);
  }

  mlir::Value all(llvm::ArrayRef<mlir::Value> parts) {
    if (parts.size() == 1) return parts.front();
    return create<ir::PredAndOp>(parts);
  }
  mlir::Value any(llvm::ArrayRef<mlir::Value> parts) {
    if (parts.size() == 1) return parts.front();
    return create<ir::PredOrOp>(parts);
  }

  mlir::OpBuilder& b_;
  mlir::Location loc_;
  mlir::Type pred_;
  llvm::SmallVector<mlir::Attribute> params_;
  int32_t inf_ = -1;
  mlir::Operation* owner_ = nullptr;
  VerticalMode vertical_mode_ = VerticalMode::kBoth;
  std::optional<ir::Modality> active_atom_;
  bool atoms_by_branch_ = false;
  LineMode line_mode_ = LineMode::kKeep;
  llvm::SmallVectorImpl<mlir::Value>* line_sink_ = nullptr;
  llvm::DenseMap<std::pair<mlir::Operation*, mlir::Attribute>, int32_t> owned_slots_;
};

// ---- pass-split=lines -----------------------------------------------------------------------

// True when some op of the pattern DAG under `mask` satisfies `pred`.
template <typename Pred>
bool anyOp(mlir::Value mask, Pred pred) {
  mlir::Operation* op = mask.getDefiningOp();
  if (!op) return false;
  if (pred(op)) return true;
  return llvm::any_of(op->getOperands(), [&](mlir::Value v) { return anyOp(v, pred); });
}

bool holdsLineAtom(mlir::Value mask) {
  return anyOp(mask, [](mlir::Operation* op) {
    return llvm::isa<ir::GridOp, ir::VLinesOp, ir::HLinesOp>(op);
  });
}

// A head `O1 & ... & On & (T1 | ... | Tm)` (n >= 0, the O's line-free) whose terms split into
// line terms (holding grid / vlines / hlines, which want the residue plan) and line-free terms
// (which want original order). Boundaries and permute hints fix a plan of their own: no split.
struct LineSplit {
  llvm::SmallVector<mlir::Value> outer, line_terms, plain_terms;
};

std::optional<LineSplit> findLineSplit(mlir::Value root) {
  if (anyOp(root, [](mlir::Operation* op) {
        return llvm::isa<ir::QBoundaryOp, ir::Boundary2DOp, ir::PermuteOp>(op);
      })) {
    return std::nullopt;
  }
  llvm::SmallVector<mlir::Value> parts;
  if (auto intersect = root.getDefiningOp<ir::IntersectOp>()) {
    llvm::append_range(parts, intersect.getParts());
  } else {
    parts.push_back(root);
  }
  LineSplit split;
  bool found = false;
  for (mlir::Value part : parts) {
    if (auto u = part.getDefiningOp<ir::UnionOp>(); u && !found) {
      LineSplit candidate;
      for (mlir::Value term : u.getParts()) {
        (holdsLineAtom(term) ? candidate.line_terms : candidate.plain_terms).push_back(term);
      }
      if (!candidate.line_terms.empty() && !candidate.plain_terms.empty()) {
        found = true;
        split.line_terms = std::move(candidate.line_terms);
        split.plain_terms = std::move(candidate.plain_terms);
        continue;
      }
    }
    // A line atom outside the union would want the residue plan in pass 0 too.
    if (holdsLineAtom(part)) return std::nullopt;
    split.outer.push_back(part);
  }
  if (!found) return std::nullopt;
  return split;
}

// The general line split, for heads findLineSplit does not take (boundaries, line atoms under
// other combinators): pass 0 = P[lines := false] over identity maps, pass 1 =
// P & L & !P[lines := false] over the head's plans, L the union of P's line predicates. P is
// monotone in its atoms, so a pair kept by P but not by pass 0 lies on a line: pass 1 is exact,
// and L makes every tile off the lines NONE in it (without L, P & !P0 would classify SOME on
// each tile where P0 is partial). Worth it only when P[lines := false] can keep something.
bool keepsWithoutLines(mlir::Value mask) {
  mlir::Operation* op = mask.getDefiningOp();
  if (!op) return false;
  if (llvm::isa<ir::GridOp, ir::VLinesOp, ir::HLinesOp>(op)) return false;
  if (auto i = llvm::dyn_cast<ir::IntersectOp>(op)) {
    return llvm::all_of(i.getParts(), [](mlir::Value v) { return keepsWithoutLines(v); });
  }
  if (llvm::isa<ir::UnionOp, ir::QBoundaryOp, ir::Boundary2DOp, ir::PermuteOp>(op)) {
    return llvm::any_of(op->getOperands(), [](mlir::Value v) { return keepsWithoutLines(v); });
  }
  return true;  // causal, local, sink, rows, block: atoms that keep pairs of their own
}

bool takesGeneralLineSplit(mlir::Value root) {
  if (anyOp(root, [](mlir::Operation* op) { return llvm::isa<ir::PermuteOp>(op); })) return false;
  return holdsLineAtom(root) && keepsWithoutLines(root);
}

// One vertical_slash atom of a head: the op, and the q_boundary branch (query modality) it
// serves, nullopt outside one.
struct EstimatedAtom {
  ir::VerticalSlashOp op;
  std::optional<ir::Modality> rows;
};

struct LowerToTileIRPass : impl::LowerToTileIRPassBase<LowerToTileIRPass> {
  using LowerToTileIRPassBase::LowerToTileIRPassBase;

  void runOnOperation() override {
    std::optional<ir::DType> dt = ir::symbolizeDType(dtype);
    if (!dt) {
      passes::emitPermjitError(
          getOperation(), Error(ErrorCategory::kUnsupported,
                                "dtype: '" + dtype + "' is not supported; allowed: bf16, fp16"));
      return signalPassFailure();
    }
    if (passSplit != "single" && passSplit != "lines" && passSplit != "auto") {
      passes::emitPermjitError(
          getOperation(),
          Error(ErrorCategory::kUnsupported,
                "pass-split: '" + passSplit + "' is not supported; allowed: single, lines, auto"));
      return signalPassFailure();
    }
    // auto splits: measured 2.1x faster on the MMInference grid head (Pipeline.h).
    bool split_lines = passSplit == "lines" || passSplit == "auto";
    llvm::SmallVector<ir::HeadOp> heads(getOperation().getOps<ir::HeadOp>());
    for (ir::HeadOp head : heads) {
      if (mlir::failed(lowerHead(head, *dt, split_lines))) return signalPassFailure();
    }
  }

  mlir::LogicalResult lowerHead(ir::HeadOp head, ir::DType dt, bool split_lines) {
    mlir::OpBuilder b(head);
    mlir::MLIRContext* ctx = &getContext();
    auto kernel = b.create<ir::KernelOp>(
        head.getLoc(), head.getSymNameAttr(), b.getI64IntegerAttr(headDim),
        ir::DTypeAttr::get(ctx, dt), b.getArrayAttr({}), mlir::IntegerAttr(), mlir::IntegerAttr(),
        mlir::IntegerAttr(), mlir::IntegerAttr(), head.getSeqLenAttr(), head.getLayoutAttr(),
        mlir::DenseI64ArrayAttr());
    b.setInsertionPointToStart(&kernel.getBody().emplaceBlock());
    auto identity = ir::PlanAttr::get(ctx, {}, 0, {});
    ir::PlanAttr row_plan = head.getRowMapAttr() ? head.getRowMapAttr() : identity;
    ir::PlanAttr col_plan = head.getColMapAttr() ? head.getColMapAttr() : identity;
    auto identity_recipe = ir::RecipeAttr::get(ctx, {}, -1, -1, -1, -1);
    mlir::Block& kernel_body = kernel.getBody().front();
    Lowerer lowerer(b, head.getLoc());
    // Appends a pass with identity maps whose predicate `lower_pred` builds in its body.
    auto add_pass = [&](auto lower_pred) -> mlir::FailureOr<ir::PassOp> {
      b.setInsertionPointToEnd(&kernel_body);
      auto pass = b.create<ir::PassOp>(head.getLoc(), identity_recipe, identity_recipe, nullptr,
                                       nullptr, nullptr, nullptr, nullptr, nullptr,
                                       /*gather_vertical=*/nullptr, /*atom=*/nullptr);
      b.setInsertionPointToStart(&pass.getBody().emplaceBlock());
      mlir::FailureOr<mlir::Value> root = lower_pred();
      if (mlir::failed(root)) return mlir::failure();
      b.create<ir::YieldOp>(head.getLoc(), *root);
      return pass;
    };
    llvm::SmallVector<EstimatedAtom> atoms;
    if (mlir::failed(collectAtoms(head.getRoot(), std::nullopt, atoms))) {
      kernel.erase();
      return mlir::failure();
    }
    if (!atoms.empty()) {
      if (mlir::failed(
              lowerDynamicHead(head, kernel, atoms, lowerer, add_pass, row_plan, col_plan))) {
        kernel.erase();
        return mlir::failure();
      }
      kernel.setParamsAttr(b.getArrayAttr(lowerer.params()));
      head.erase();
      return mlir::success();
    }
    std::optional<LineSplit> split;
    if (split_lines) split = findLineSplit(head.getRoot());
    mlir::FailureOr<ir::PassOp> planned;
    if (!split && split_lines && takesGeneralLineSplit(head.getRoot())) {
      lowerer.setLineMode(LineMode::kDrop);
      auto plain = add_pass([&] { return lowerer.lower(head.getRoot(), Context{}); });
      lowerer.setLineMode(LineMode::kKeep);
      if (mlir::succeeded(plain)) {
        planned = add_pass([&]() -> mlir::FailureOr<mlir::Value> {
          llvm::SmallVector<mlir::Value> lines;
          lowerer.collectLines(&lines);
          auto with_lines = lowerer.lower(head.getRoot(), Context{});
          lowerer.collectLines(nullptr);
          if (mlir::failed(with_lines)) return mlir::failure();
          lowerer.setLineMode(LineMode::kDrop);
          auto without_lines = lowerer.lower(head.getRoot(), Context{});
          lowerer.setLineMode(LineMode::kKeep);
          if (mlir::failed(without_lines)) return mlir::failure();
          return lowerer.allOf({*with_lines, lowerer.anyOf(lines), lowerer.notOf(*without_lines)});
        });
      } else {
        planned = mlir::failure();
      }
    } else if (!split) {
      planned = add_pass([&] { return lowerer.lower(head.getRoot(), Context{}); });
    } else {
      // Pass 0: the line-free terms in original order. Pass 1: the line terms over the residue
      // plan (the head's plans come from them alone: nothing else holds a line atom) minus
      // pass 0's set; with the outer parts already required, not(or(plain)) is enough.
      auto plain =
          add_pass([&] { return lowerer.lowerPass(split->outer, split->plain_terms, {}); });
      if (mlir::succeeded(plain)) {
        planned = add_pass(
            [&] { return lowerer.lowerPass(split->outer, split->line_terms, split->plain_terms); });
      } else {
        planned = mlir::failure();
      }
    }
    if (mlir::failed(planned)) {
      kernel.erase();
      return mlir::failure();
    }
    planned->setRowsAttr(lowerer.recipe(row_plan, "rows"));
    planned->setColsAttr(lowerer.recipe(col_plan, "cols"));
    kernel.setParamsAttr(b.getArrayAttr(lowerer.params()));
    head.erase();
    return mlir::success();
  }

  // The head's vertical_slash atoms: one, or one per q_boundary modality (a vertical_slash op
  // reached through two branches is an atom in each). Ordered by modality.
  mlir::LogicalResult collectAtoms(mlir::Value v, std::optional<ir::Modality> branch,
                                   llvm::SmallVectorImpl<EstimatedAtom>& atoms) {
    mlir::Operation* op = v.getDefiningOp();
    if (!op) return mlir::success();
    if (auto vs = llvm::dyn_cast<ir::VerticalSlashOp>(op)) {
      for (const EstimatedAtom& atom : atoms) {
        if (atom.op == vs && atom.rows == branch) return mlir::success();
        if (!atom.rows || !branch) {
          return vs->emitOpError()
                 << "vertical_slash: a head holds several vertical_slash atoms and one lies "
                    "outside a q_boundary branch; allowed: one per head, or one per q_boundary "
                    "modality";
        }
        if (atom.rows == branch) {
          return vs->emitOpError()
                 << "vertical_slash: q_boundary branch '" << ir::stringifyModality(*branch)
                 << "' holds two vertical_slash atoms; allowed: one per query modality (the "
                    "estimator chooses one set per modality and head)";
        }
      }
      auto at = llvm::find_if(atoms, [&](const EstimatedAtom& a) { return *a.rows > *branch; });
      atoms.insert(at, EstimatedAtom{vs, branch});
      return mlir::success();
    }
    if (auto qb = llvm::dyn_cast<ir::QBoundaryOp>(op)) {
      for (auto [part, key] : llvm::zip(qb.getParts(), qb.getModalities())) {
        if (mlir::failed(collectAtoms(part, llvm::cast<ir::ModalityAttr>(key).getValue(), atoms))) {
          return mlir::failure();
        }
      }
      return mlir::success();
    }
    for (mlir::Value operand : op->getOperands()) {
      if (mlir::failed(collectAtoms(operand, branch, atoms))) return mlir::failure();
    }
    return mlir::success();
  }

  // A head with vertical_slash: per atom, a pass over its diagonals (the first atom's keeps the
  // static atoms too), on every column (original or planned), and a pass over its gathered
  // vertical columns keeping what they add. The diagonals' pass does not cut the vertical
  // columns out: its tiles stay whole (ALL where a run of chosen diagonals covers them) instead
  // of partial on every tile that holds one of the ~1000 scattered verticals. Patterns have no
  // negation, so the head is monotone in each atom, and each query row reads at most one atom
  // (its q_boundary branch's): the passes' union is the head, and the not(...) conjuncts keep
  // them disjoint. The qmodality(m) conjunct makes every tile of another modality NONE.
  template <typename AddPass>
  mlir::LogicalResult lowerDynamicHead(ir::HeadOp head, ir::KernelOp kernel,
                                       llvm::ArrayRef<EstimatedAtom> atoms, Lowerer& lowerer,
                                       AddPass& add_pass, ir::PlanAttr row_plan,
                                       ir::PlanAttr col_plan) {
    lowerer.setAtomsByBranch(atoms.size() > 1);
    auto lower_as = [&](VerticalMode mode, const EstimatedAtom& atom) {
      lowerer.setVerticalMode(mode, atom.rows);
      auto body = lowerer.lower(head.getRoot(), Context{});
      lowerer.setVerticalMode(VerticalMode::kBoth);
      return body;
    };
    mlir::Builder b(kernel.getContext());
    llvm::SmallVector<int64_t> sizes;
    for (auto [index, atom] : llvm::enumerate(atoms)) {
      auto in_rows = [&](llvm::SmallVector<mlir::Value> parts) {
        if (atom.rows) parts.insert(parts.begin(), lowerer.queryModality(*atom.rows));
        return lowerer.allOf(parts);
      };
      auto diagonals = add_pass([&]() -> mlir::FailureOr<mlir::Value> {
        auto on_slash = lower_as(VerticalMode::kAbsent, atom);
        if (mlir::failed(on_slash) || index == 0) return on_slash;
        auto static_part = lower_as(VerticalMode::kFalse, atom);
        if (mlir::failed(static_part)) return mlir::failure();
        return in_rows({*on_slash, lowerer.notOf(*static_part)});
      });
      if (mlir::failed(diagonals)) return mlir::failure();
      diagonals->setRowsAttr(lowerer.recipe(row_plan, "rows"));
      diagonals->setColsAttr(lowerer.recipe(col_plan, "cols"));
      auto with = add_pass([&]() -> mlir::FailureOr<mlir::Value> {
        auto on_vertical = lower_as(VerticalMode::kPresent, atom);
        if (mlir::failed(on_vertical)) return mlir::failure();
        auto in_diagonals = lower_as(VerticalMode::kAbsent, atom);
        if (mlir::failed(in_diagonals)) return mlir::failure();
        return in_rows({*on_vertical, lowerer.notOf(*in_diagonals)});
      });
      if (mlir::failed(with)) return mlir::failure();
      with->setRowsAttr(lowerer.recipe(row_plan, "rows"));
      with->setGatherVertical(true);
      if (index > 0) {
        diagonals->setAtomAttr(b.getI64IntegerAttr(static_cast<int64_t>(index)));
        with->setAtomAttr(b.getI64IntegerAttr(static_cast<int64_t>(index)));
      }
      // Gathered columns have no modality and no modality-local rank.
      mlir::Operation* bad = nullptr;
      with->walk([&](mlir::Operation* op) {
        if (llvm::isa<ir::PredKModalityOp>(op) || op->hasAttr("local")) bad = op;
      });
      if (bad) {
        return atom.op->emitOpError()
               << "vertical_slash: combined with key-modality or modality-local predicates ("
               << bad->getName() << "), which the gathered vertical columns cannot evaluate; "
               << "allowed: causal, sink, local, rows, lines and q_boundary around it";
      }
      ir::VerticalSlashOp vs = atom.op;
      sizes.append({vs.getVerticalAttr().getInt(), vs.getSlashAttr().getInt(),
                    vs.getLastQAttr().getInt(),
                    atom.rows ? static_cast<int64_t>(*atom.rows) : int64_t{-1}});
    }
    kernel.setVerticalSlashAttr(b.getDenseI64ArrayAttr(sizes));
    return mlir::success();
  }
};

}  // namespace
}  // namespace permjit
