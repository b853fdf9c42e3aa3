// plan-permutations: choose the row and column permutation of every head (docs/method.md).
//   hlines / grid rows  -> residue classes of that stride over that span, on rows
//   vlines / grid cols  -> the same on columns
//   q_boundary          -> rows gathered by modality
//   boundary_2d         -> rows and columns gathered by modality
//   permute(p, axes, by) overrides the axes it names.
// The first line atom found (pre-order) decides an axis's stride; any choice is correct since
// the classifier is exact for every plan, only the number of partial tiles differs.
#include <optional>

#include "permjit/compiler/Passes.h"

namespace permjit {

#define GEN_PASS_DEF_PLANPERMUTATIONSPASS
#include "permjit/compiler/Passes.h.inc"

namespace {

struct Residue {
  int64_t stride;
  ir::SpanAttr span;
};

// Where a pattern op sits: original coordinates, or a boundary_2d block (mq, mk) in local ones.
struct Context {
  std::optional<ir::Modality> block_q, block_k;
};

class Planner {
 public:
  explicit Planner(mlir::MLIRContext* ctx) : ctx_(ctx) {}

  void visit(mlir::Value value, const Context& where) {
    mlir::Operation* op = value.getDefiningOp();
    if (auto grid = llvm::dyn_cast<ir::GridOp>(op)) {
      line(rows_, grid.getStrideAttr().getInt(), grid.getSpan(), where.block_q);
      line(cols_, grid.getStrideAttr().getInt(), grid.getSpan(), where.block_k);
    } else if (auto h = llvm::dyn_cast<ir::HLinesOp>(op)) {
      line(rows_, h.getStrideAttr().getInt(), h.getSpan(), where.block_q);
    } else if (auto v = llvm::dyn_cast<ir::VLinesOp>(op)) {
      line(cols_, v.getStrideAttr().getInt(), v.getSpan(), where.block_k);
    } else if (auto qb = llvm::dyn_cast<ir::QBoundaryOp>(op)) {
      gather_rows_ = true;
      for (mlir::Value part : qb.getParts()) visit(part, where);
    } else if (auto b2 = llvm::dyn_cast<ir::Boundary2DOp>(op)) {
      gather_rows_ = gather_cols_ = true;
      for (auto [part, key] : llvm::zip(b2.getParts(), b2.getPairs())) {
        auto pair = llvm::cast<mlir::ArrayAttr>(key);
        Context block{llvm::cast<ir::ModalityAttr>(pair[0]).getValue(),
                      llvm::cast<ir::ModalityAttr>(pair[1]).getValue()};
        visit(part, block);
      }
    } else if (auto permute = llvm::dyn_cast<ir::PermuteOp>(op)) {
      ir::PermuteAxes axes = permute.getAxes();
      if (axes != ir::PermuteAxes::cols && !row_hint_) row_hint_ = permute.getBy();
      if (axes != ir::PermuteAxes::rows && !col_hint_) col_hint_ = permute.getBy();
      visit(permute.getInput(), where);
    } else {
      for (mlir::Value operand : op->getOperands()) visit(operand, where);
    }
  }

  ir::PlanAttr rowPlan() const { return plan(row_hint_, gather_rows_, rows_); }
  ir::PlanAttr colPlan() const { return plan(col_hint_, gather_cols_, cols_); }

 private:
  // In a boundary_2d block the line's span is in local coordinates: only spans that cover the
  // block's whole modality (all, or that modality) map to a residue plan over original ones.
  void line(std::optional<Residue>& axis, int64_t stride, ir::SpanAttr span,
            std::optional<ir::Modality> block) {
    if (axis) return;
    if (!block) {
      axis = Residue{stride, span};
      return;
    }
    bool whole_modality =
        span.getKind() == ir::SpanKind::all || (span.getKind() == ir::SpanKind::modality &&
                                                static_cast<ir::Modality>(span.getA()) == *block);
    if (whole_modality) {
      axis = Residue{
          stride, ir::SpanAttr::get(ctx_, ir::SpanKind::modality, static_cast<int64_t>(*block), 0)};
    }
  }

  ir::PlanAttr plan(const std::optional<ir::PlanAttr>& hint, bool gather,
                    const std::optional<Residue>& residue) const {
    if (hint) return *hint;
    llvm::SmallVector<ir::Modality> order;
    if (gather) order = {ir::Modality::vision, ir::Modality::text, ir::Modality::other};
    if (!residue) return ir::PlanAttr::get(ctx_, order, 0, {});
    return ir::PlanAttr::get(ctx_, order, residue->stride, residue->span);
  }

  mlir::MLIRContext* ctx_;
  std::optional<Residue> rows_, cols_;
  bool gather_rows_ = false, gather_cols_ = false;
  std::optional<ir::PlanAttr> row_hint_, col_hint_;
};

struct PlanPermutationsPass : impl::PlanPermutationsPassBase<PlanPermutationsPass> {
  void runOnOperation() override {
    getOperation().walk([&](ir::HeadOp head) {
      Planner planner(&getContext());
      planner.visit(head.getRoot(), Context{});
      head.setRowMapAttr(planner.rowPlan());
      head.setColMapAttr(planner.colPlan());
    });
  }
};

}  // namespace
}  // namespace permjit
