// Step 1 of the pipeline: build the pattern IR (one permjit.head) from a DSL Pattern.
#include "mlir/IR/Builders.h"
#include "permjit/compiler/Dialect/Dialect.h"
#include "permjit/compiler/Passes.h"
#include "permjit/dsl/Error.h"
#include "permjit/dsl/Pattern.h"

namespace permjit {
static_assert(ir::kMaxPatternDepth == kMaxPatternDepth &&
                  ir::kMaxPatternParts == kMaxPatternChildren,
              "the dialect and the DSL bound pattern depth and width alike");
namespace {

ir::Modality toIr(Modality m) { return static_cast<ir::Modality>(static_cast<int>(m)); }

class Importer {
 public:
  explicit Importer(mlir::OpBuilder& builder)
      : b_(builder), loc_(builder.getUnknownLoc()), mask_(ir::MaskType::get(b_.getContext())) {}

  ir::SpanAttr span(const SpanRef& s) {
    auto* ctx = b_.getContext();
    switch (s.kind) {
      case SpanRef::Kind::kAll:
        return ir::SpanAttr::get(ctx, ir::SpanKind::all, 0, 0);
      case SpanRef::Kind::kRange:
        return ir::SpanAttr::get(ctx, ir::SpanKind::range, s.begin, s.end);
      case SpanRef::Kind::kModality:
        return ir::SpanAttr::get(ctx, ir::SpanKind::modality, static_cast<int64_t>(s.mod), 0);
      case SpanRef::Kind::kLast:
        return ir::SpanAttr::get(ctx, ir::SpanKind::last, s.count, 0);
    }
    throw Error(ErrorCategory::kInternal, "import: span of unknown kind");
  }

  mlir::Value emit(const Pattern& pattern) {
    const Pattern::Node& n = pattern.node();
    using Kind = Pattern::Kind;
    switch (n.kind) {
      case Kind::kCausal:
        return b_.create<ir::CausalOp>(loc_, mask_);
      case Kind::kSink:
        return b_.create<ir::SinkOp>(loc_, mask_, i64(n.n));
      case Kind::kLocal:
        return b_.create<ir::LocalOp>(loc_, mask_, i64(n.window));
      case Kind::kGrid:
        return b_.create<ir::GridOp>(loc_, mask_, i64(n.stride), i64(n.phase_q), i64(n.phase_k),
                                     span(n.span));
      case Kind::kVLines:
        return b_.create<ir::VLinesOp>(loc_, mask_, i64(n.stride), i64(n.phase), span(n.span));
      case Kind::kHLines:
        return b_.create<ir::HLinesOp>(loc_, mask_, i64(n.stride), i64(n.phase), span(n.span));
      case Kind::kRows:
        return b_.create<ir::RowsOp>(loc_, mask_, span(n.span));
      case Kind::kVerticalSlash:
        return b_.create<ir::VerticalSlashOp>(loc_, mask_, i64(n.vertical), i64(n.slash),
                                              i64(n.last_q));
      case Kind::kGridEstimated:
        // compilePattern substitutes the candidate's static grid before importing.
        throw Error(ErrorCategory::kInternal,
                    "import: grid_estimated reached the importer; compile it through "
                    "compilePattern or compileGridCandidate");
      case Kind::kBlock:
        return b_.create<ir::BlockOp>(loc_, mask_, span(n.q_span), span(n.k_span));
      case Kind::kUnion:
        return b_.create<ir::UnionOp>(loc_, mask_, emitAll(n.children));
      case Kind::kIntersect:
        return b_.create<ir::IntersectOp>(loc_, mask_, emitAll(n.children));
      case Kind::kQBoundary: {
        llvm::SmallVector<mlir::Value> parts;
        llvm::SmallVector<mlir::Attribute> keys;
        for (const auto& [m, part] : n.by_q) {
          parts.push_back(emit(part));
          keys.push_back(ir::ModalityAttr::get(b_.getContext(), toIr(m)));
        }
        return b_.create<ir::QBoundaryOp>(loc_, mask_, parts, b_.getArrayAttr(keys));
      }
      case Kind::kBoundary2D: {
        llvm::SmallVector<mlir::Value> parts;
        llvm::SmallVector<mlir::Attribute> keys;
        for (const auto& [mm, part] : n.by_q_k) {
          parts.push_back(emit(part));
          keys.push_back(
              b_.getArrayAttr({ir::ModalityAttr::get(b_.getContext(), toIr(mm.first)),
                               ir::ModalityAttr::get(b_.getContext(), toIr(mm.second))}));
        }
        return b_.create<ir::Boundary2DOp>(loc_, mask_, parts, b_.getArrayAttr(keys));
      }
      case Kind::kPermute: {
        mlir::Value input = emit(n.children.at(0));
        auto axes = static_cast<ir::PermuteAxes>(static_cast<int>(n.axes));
        return b_.create<ir::PermuteOp>(
            loc_, mask_, input, ir::PermuteAxesAttr::get(b_.getContext(), axes), permutePlan(n.by));
      }
    }
    throw Error(ErrorCategory::kInternal, "import: pattern node of unknown kind");
  }

 private:
  mlir::IntegerAttr i64(int64_t v) { return b_.getI64IntegerAttr(v); }

  llvm::SmallVector<mlir::Value> emitAll(const std::vector<Pattern>& children) {
    llvm::SmallVector<mlir::Value> out;
    for (const Pattern& child : children) out.push_back(emit(child));
    return out;
  }

  ir::PlanAttr permutePlan(const PermuteBy& by) {
    if (by.kind == PermuteBy::Kind::kResidue) {
      return ir::PlanAttr::get(b_.getContext(), {}, by.stride, span(by.span));
    }
    llvm::SmallVector<ir::Modality> order;
    for (Modality m : by.order) order.push_back(toIr(m));
    if (order.empty()) order = {ir::Modality::vision, ir::Modality::text, ir::Modality::other};
    return ir::PlanAttr::get(b_.getContext(), order, 0, {});
  }

  mlir::OpBuilder& b_;
  mlir::Location loc_;
  mlir::Type mask_;
};

}  // namespace

mlir::OwningOpRef<mlir::ModuleOp> importPattern(mlir::MLIRContext& context, const Pattern& pattern,
                                                const Layout& layout, int64_t seq_len,
                                                const std::string& name) {
  context.getOrLoadDialect<ir::PermjitDialect>();
  mlir::OpBuilder b(&context);
  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::ModuleOp::create(b.getUnknownLoc());
  b.setInsertionPointToEnd(module->getBody());
  llvm::SmallVector<mlir::Attribute> spans;
  for (const Span& s : layout.spans()) {
    spans.push_back(ir::LayoutSpanAttr::get(&context, toIr(s.kind), s.begin, s.end));
  }
  auto head = b.create<ir::HeadOp>(b.getUnknownLoc(), b.getStringAttr(name),
                                   seq_len > 0 ? b.getI64IntegerAttr(seq_len) : mlir::IntegerAttr(),
                                   b.getArrayAttr(spans), ir::PlanAttr(), ir::PlanAttr());
  b.setInsertionPointToStart(&head.getBody().emplaceBlock());
  Importer importer(b);
  mlir::Value root = importer.emit(pattern);
  b.create<ir::YieldOp>(b.getUnknownLoc(), root);
  return module;
}

Layout layoutFromAttr(mlir::ArrayAttr layout) {
  std::vector<Span> spans;
  if (layout) {
    for (mlir::Attribute attr : layout) {
      auto s = llvm::cast<ir::LayoutSpanAttr>(attr);
      spans.push_back(Span{static_cast<Modality>(static_cast<int>(s.getModality())), s.getBegin(),
                           s.getEnd(), std::nullopt});
    }
  }
  return Layout(std::move(spans));
}

}  // namespace permjit
