// canonicalize: flatten nested unions/intersections, drop structurally duplicate children,
// fold single-child unions/intersections, fold causal & local(w) -> local(w).
#include "mlir/IR/OperationSupport.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "permjit/compiler/Passes.h"

namespace permjit {

#define GEN_PASS_DEF_CANONICALIZEPASS
#include "permjit/compiler/Passes.h.inc"

namespace {

// Same op, same attributes, structurally equal operands (the IR is a DAG of pure ops).
bool structurallyEqual(mlir::Value a, mlir::Value b) {
  if (a == b) return true;
  mlir::Operation* x = a.getDefiningOp();
  mlir::Operation* y = b.getDefiningOp();
  if (!x || !y) return false;
  return mlir::OperationEquivalence::isEquivalentTo(
      x, y, [](mlir::Value l, mlir::Value r) { return mlir::success(structurallyEqual(l, r)); },
      /*markEquivalent=*/nullptr, mlir::OperationEquivalence::IgnoreLocations);
}

template <typename SetOp>
struct SimplifySetOp : mlir::OpRewritePattern<SetOp> {
  using mlir::OpRewritePattern<SetOp>::OpRewritePattern;

  mlir::LogicalResult matchAndRewrite(SetOp op, mlir::PatternRewriter& rewriter) const override {
    bool changed = false;
    llvm::SmallVector<mlir::Value> flat;
    for (mlir::Value part : op.getParts()) {
      if (auto inner = part.template getDefiningOp<SetOp>()) {
        llvm::append_range(flat, inner.getParts());
        changed = true;
      } else {
        flat.push_back(part);
      }
    }
    llvm::SmallVector<mlir::Value> unique;
    for (mlir::Value part : flat) {
      if (llvm::any_of(unique, [&](mlir::Value u) { return structurallyEqual(u, part); })) {
        changed = true;
      } else {
        unique.push_back(part);
      }
    }
    if constexpr (std::is_same_v<SetOp, ir::IntersectOp>) {
      // local(w) keeps only 0 <= q - k < w, a subset of causal: the causal part is redundant.
      auto isOp = [](auto tag) {
        return [](mlir::Value v) { return v.getDefiningOp<decltype(tag)>() != nullptr; };
      };
      if (llvm::any_of(unique, isOp(ir::LocalOp())) && llvm::any_of(unique, isOp(ir::CausalOp()))) {
        llvm::erase_if(unique, isOp(ir::CausalOp()));
        changed = true;
      }
    }
    if (unique.size() == 1) {
      rewriter.replaceOp(op, unique.front());
      return mlir::success();
    }
    if (!changed) return mlir::failure();
    rewriter.replaceOpWithNewOp<SetOp>(op, op.getType(), unique);
    return mlir::success();
  }
};

struct CanonicalizePass : impl::CanonicalizePassBase<CanonicalizePass> {
  void runOnOperation() override {
    mlir::RewritePatternSet patterns(&getContext());
    patterns.add<SimplifySetOp<ir::UnionOp>, SimplifySetOp<ir::IntersectOp>>(&getContext());
    if (mlir::failed(mlir::applyPatternsAndFoldGreedily(getOperation(), std::move(patterns)))) {
      getOperation().emitError("canonicalize: the rewrite did not converge");
      signalPassFailure();
    }
  }
};

}  // namespace
}  // namespace permjit
