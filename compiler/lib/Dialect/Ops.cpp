// Verifiers and custom syntax of the permjit ops. Every diagnostic names the attribute.
#include <algorithm>
#include <set>

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "permjit/compiler/Dialect/Dialect.h"

namespace permjit::ir {
namespace {

mlir::ParseResult parseModality(mlir::OpAsmParser& parser, ModalityAttr& out) {
  llvm::SMLoc loc = parser.getCurrentLocation();
  llvm::StringRef word;
  if (parser.parseKeyword(&word)) return mlir::failure();
  std::optional<Modality> m = symbolizeModality(word);
  if (!m) {
    return parser.emitError(loc, "modality: unknown '")
           << word << "'; allowed: vision, text, other";
  }
  out = ModalityAttr::get(parser.getContext(), *m);
  return mlir::success();
}

// q_boundary: `[vision: %0, text: %1]`
mlir::ParseResult parseQCases(mlir::OpAsmParser& parser,
                              llvm::SmallVectorImpl<mlir::OpAsmParser::UnresolvedOperand>& parts,
                              mlir::ArrayAttr& modalities) {
  llvm::SmallVector<mlir::Attribute> keys;
  auto item = [&]() -> mlir::ParseResult {
    ModalityAttr m;
    if (parseModality(parser, m) || parser.parseColon()) return mlir::failure();
    keys.push_back(m);
    return parser.parseOperand(parts.emplace_back());
  };
  if (parser.parseCommaSeparatedList(mlir::AsmParser::Delimiter::Square, item)) {
    return mlir::failure();
  }
  modalities = parser.getBuilder().getArrayAttr(keys);
  return mlir::success();
}

void printQCases(mlir::OpAsmPrinter& printer, mlir::Operation*, mlir::OperandRange parts,
                 mlir::ArrayAttr modalities) {
  printer << "[";
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) printer << ", ";
    if (auto m = llvm::dyn_cast<ModalityAttr>(modalities[i])) {
      printer << stringifyModality(m.getValue());
    } else {
      printer << "?";
    }
    printer << ": " << parts[i];
  }
  printer << "]";
}

// boundary_2d: `[(vision, vision): %0, (text, text): %1]`
mlir::ParseResult parsePairCases(mlir::OpAsmParser& parser,
                                 llvm::SmallVectorImpl<mlir::OpAsmParser::UnresolvedOperand>& parts,
                                 mlir::ArrayAttr& pairs) {
  llvm::SmallVector<mlir::Attribute> keys;
  auto item = [&]() -> mlir::ParseResult {
    ModalityAttr q, k;
    if (parser.parseLParen() || parseModality(parser, q) || parser.parseComma() ||
        parseModality(parser, k) || parser.parseRParen() || parser.parseColon()) {
      return mlir::failure();
    }
    keys.push_back(parser.getBuilder().getArrayAttr({q, k}));
    return parser.parseOperand(parts.emplace_back());
  };
  if (parser.parseCommaSeparatedList(mlir::AsmParser::Delimiter::Square, item)) {
    return mlir::failure();
  }
  pairs = parser.getBuilder().getArrayAttr(keys);
  return mlir::success();
}

void printPairCases(mlir::OpAsmPrinter& printer, mlir::Operation*, mlir::OperandRange parts,
                    mlir::ArrayAttr pairs) {
  printer << "[";
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) printer << ", ";
    auto pair = llvm::dyn_cast<mlir::ArrayAttr>(pairs[i]);
    printer << "(";
    for (size_t j = 0; j < 2; ++j) {
      if (j) printer << ", ";
      auto m = pair && pair.size() == 2 ? llvm::dyn_cast<ModalityAttr>(pair[j]) : ModalityAttr();
      if (m) {
        printer << stringifyModality(m.getValue());
      } else {
        printer << "?";
      }
    }
    printer << "): " << parts[i];
  }
  printer << "]";
}

mlir::LogicalResult verifyStridePhase(mlir::Operation* op, int64_t stride,
                                      llvm::ArrayRef<std::pair<const char*, int64_t>> phases) {
  if (stride < 1) {
    return op->emitOpError() << "stride: " << stride << " is not allowed; allowed: >= 1";
  }
  for (auto [name, phase] : phases) {
    if (phase < 0 || phase >= stride) {
      return op->emitOpError() << name << ": " << phase << " is outside [0, stride = " << stride
                               << ")";
    }
  }
  return mlir::success();
}

mlir::LogicalResult verifyLayout(mlir::Operation* op, mlir::ArrayAttr layout,
                                 std::optional<int64_t> seq_len) {
  int64_t prev_end = 0;
  for (auto [i, attr] : llvm::enumerate(layout)) {
    auto span = llvm::cast<LayoutSpanAttr>(attr);
    if (span.getBegin() < prev_end) {
      return op->emitOpError() << "layout: span " << i << " [" << span.getBegin() << ", "
                               << span.getEnd()
                               << ") overlaps or precedes the previous one; spans must be "
                                  "ordered and disjoint";
    }
    if (seq_len && span.getEnd() > *seq_len) {
      return op->emitOpError() << "layout: span " << i << " ends at " << span.getEnd()
                               << ", past seq_len " << *seq_len;
    }
    prev_end = span.getEnd();
  }
  return mlir::success();
}

mlir::LogicalResult verifyNonEmpty(mlir::Operation* op, size_t count) {
  if (count == 0) return op->emitOpError() << "parts: must not be empty";
  // canonicalize compares parts pairwise: bounded as the DSL bounds them.
  if (count > kMaxPatternParts) {
    return op->emitOpError() << "parts: " << count << "; allowed: at most " << kMaxPatternParts;
  }
  return mlir::success();
}

// Checks a slot index against the param table of the enclosing kernel.
mlir::LogicalResult verifySlot(mlir::Operation* op, llvm::StringRef field, int64_t slot) {
  auto kernel = op->getParentOfType<KernelOp>();
  if (!kernel) return op->emitOpError() << "must be nested in a permjit.kernel";
  int64_t size = kernel.getParams().size();
  if (slot < 0 || slot >= size) {
    return op->emitOpError() << field << ": param slot " << slot
                             << " is out of range; the kernel has " << size << " params";
  }
  return mlir::success();
}

mlir::Value yieldedValue(mlir::Region& region) {
  if (region.empty() || region.front().empty()) return {};
  auto yield = llvm::dyn_cast<YieldOp>(region.front().back());
  return yield ? yield.getValue() : mlir::Value();
}

}  // namespace

// ---- pattern level ------------------------------------------------------------------------

mlir::Value HeadOp::getRoot() { return yieldedValue(getBody()); }

// The longest chain of pattern ops below the head's root, found in one walk in block order
// (operands are defined before their uses), so a deep chain cannot overflow the stack here;
// the planner and the lowering recurse over the pattern, so the dialect bounds it as the DSL
// does (kMaxPatternDepth).
static mlir::LogicalResult verifyPatternDepth(HeadOp head) {
  llvm::DenseMap<mlir::Operation*, int> depth;
  int deepest = 0;
  for (mlir::Operation& op : head.getBody().front()) {
    int below = 0;
    for (mlir::Value operand : op.getOperands()) {
      if (mlir::Operation* def = operand.getDefiningOp())
        below = std::max(below, depth.lookup(def));
    }
    depth[&op] = below + 1;
    deepest = std::max(deepest, below + 1);
  }
  if (deepest - 1 > kMaxPatternDepth) {  // the yield is one level above the root
    return head.emitOpError() << "body: the pattern nests " << deepest - 1
                              << " levels deep; allowed: at most " << kMaxPatternDepth;
  }
  return mlir::success();
}

mlir::LogicalResult HeadOp::verify() {
  std::optional<int64_t> seq_len;
  if (getSeqLenAttr()) seq_len = getSeqLenAttr().getInt();
  if (seq_len && *seq_len < 1) return emitOpError() << "seq_len: " << *seq_len << "; allowed: >= 1";
  if (mlir::failed(verifyLayout(*this, getLayout(), seq_len))) return mlir::failure();
  if (!llvm::hasSingleElement(getBody())) return emitOpError() << "body: must have one block";
  if (!getRoot() || !llvm::isa<MaskType>(getRoot().getType())) {
    return emitOpError() << "body: must end with permjit.yield of a !permjit.mask";
  }
  return verifyPatternDepth(*this);
}

mlir::LogicalResult YieldOp::verify() {
  bool in_head = llvm::isa<HeadOp>((*this)->getParentOp());
  if (in_head != llvm::isa<MaskType>(getValue().getType())) {
    return emitOpError() << "value: a head yields a !permjit.mask, a pass a !permjit.pred";
  }
  return mlir::success();
}

mlir::LogicalResult SinkOp::verify() {
  int64_t n = getNAttr().getInt();
  if (n < 0) return emitOpError() << "n: " << n << " is negative; allowed: >= 0";
  return mlir::success();
}

mlir::LogicalResult LocalOp::verify() {
  int64_t window = getWindowAttr().getInt();
  if (window < 0) {
    return emitOpError() << "window: " << window << " is negative; allowed: >= 0";
  }
  return mlir::success();
}

mlir::LogicalResult GridOp::verify() {
  return verifyStridePhase(*this, getStride(),
                           {{"phase_q", getPhaseQ()}, {"phase_k", getPhaseK()}});
}
mlir::LogicalResult VLinesOp::verify() {
  return verifyStridePhase(*this, getStride(), {{"phase", getPhase()}});
}
mlir::LogicalResult HLinesOp::verify() {
  return verifyStridePhase(*this, getStride(), {{"phase", getPhase()}});
}

mlir::LogicalResult VerticalSlashOp::verify() {
  if (getVerticalAttr().getInt() < 0) return emitOpError() << "vertical: must be >= 0";
  if (getSlashAttr().getInt() < 0) return emitOpError() << "slash: must be >= 0";
  if (getLastQAttr().getInt() < 1) return emitOpError() << "last_q: must be >= 1";
  return mlir::success();
}

mlir::LogicalResult UnionOp::verify() { return verifyNonEmpty(*this, getParts().size()); }
mlir::LogicalResult IntersectOp::verify() { return verifyNonEmpty(*this, getParts().size()); }

mlir::LogicalResult QBoundaryOp::verify() {
  if (mlir::failed(verifyNonEmpty(*this, getParts().size()))) return mlir::failure();
  if (getModalities().size() != getParts().size()) {
    return emitOpError() << "modalities: " << getModalities().size() << " keys for "
                         << getParts().size() << " parts";
  }
  std::set<int> seen;
  for (mlir::Attribute key : getModalities()) {
    auto m = llvm::dyn_cast<ModalityAttr>(key);
    if (!m) return emitOpError() << "modalities: every key must be a modality";
    if (!seen.insert(static_cast<int>(m.getValue())).second) {
      return emitOpError() << "modalities: duplicate key '" << stringifyModality(m.getValue())
                           << "'";
    }
  }
  return mlir::success();
}

mlir::LogicalResult Boundary2DOp::verify() {
  if (mlir::failed(verifyNonEmpty(*this, getParts().size()))) return mlir::failure();
  if (getPairs().size() != getParts().size()) {
    return emitOpError() << "pairs: " << getPairs().size() << " keys for " << getParts().size()
                         << " parts";
  }
  std::set<std::pair<int, int>> seen;
  for (mlir::Attribute key : getPairs()) {
    auto pair = llvm::dyn_cast<mlir::ArrayAttr>(key);
    ModalityAttr q, k;
    if (pair && pair.size() == 2) {
      q = llvm::dyn_cast<ModalityAttr>(pair[0]);
      k = llvm::dyn_cast<ModalityAttr>(pair[1]);
    }
    if (!q || !k) return emitOpError() << "pairs: every key must be a (modality, modality) pair";
    if (!seen.insert({static_cast<int>(q.getValue()), static_cast<int>(k.getValue())}).second) {
      return emitOpError() << "pairs: duplicate key (" << stringifyModality(q.getValue()) << ", "
                           << stringifyModality(k.getValue()) << ")";
    }
  }
  return mlir::success();
}

mlir::LogicalResult PermuteOp::verify() {
  PlanAttr by = getBy();
  if (by.isIdentity() || (!by.getGather().empty() && by.getStride() > 0)) {
    return emitOpError() << "by: a permute hint is either a residue plan or a modality gather";
  }
  return mlir::success();
}

// ---- tile level ---------------------------------------------------------------------------

mlir::LogicalResult KernelOp::verify() {
  auto check = [&](const char* field, mlir::IntegerAttr value,
                   std::initializer_list<int64_t> allowed) -> mlir::LogicalResult {
    if (!value) return mlir::success();
    for (int64_t a : allowed) {
      if (value.getInt() == a) return mlir::success();
    }
    auto diag = emitOpError() << field << ": " << value.getInt() << " is not supported; allowed: ";
    llvm::interleaveComma(allowed, diag);
    return diag;
  };
  if (mlir::failed(check("head_dim", getHeadDimAttr(), {64, 128})) ||
      mlir::failed(check("block_m", getBlockMAttr(), {64, 128, 192})) ||
      mlir::failed(check("block_n", getBlockNAttr(), {32, 64, 128})) ||
      mlir::failed(check("warps", getWarpsAttr(), {4, 8})) ||
      mlir::failed(check("stages", getStagesAttr(), {1, 2, 3}))) {
    return mlir::failure();
  }
  std::optional<int64_t> seq_len;
  if (getSeqLenAttr()) seq_len = getSeqLenAttr().getInt();
  if (seq_len && *seq_len < 1) return emitOpError() << "seq_len: " << *seq_len << "; allowed: >= 1";
  if (getLayout() && mlir::failed(verifyLayout(*this, *getLayout(), seq_len))) {
    return mlir::failure();
  }
  int64_t max_params = sem::kMaxParams;
  if (static_cast<int64_t>(getParams().size()) > max_params) {
    return emitOpError() << "params: " << getParams().size() << " slots; allowed: at most "
                         << max_params;
  }
  size_t passes = 0;
  for (mlir::Operation& op : getBody().front()) {
    if (!llvm::isa<PassOp>(op)) {
      return emitOpError() << "body: only permjit.pass ops are allowed, found " << op.getName();
    }
    ++passes;
  }
  if (passes == 0) return emitOpError() << "body: needs at least one permjit.pass";
  return mlir::success();
}

mlir::Value PassOp::getRoot() { return yieldedValue(getBody()); }

mlir::LogicalResult PassOp::verify() {
  for (auto [axis, recipe] : {std::pair{"rows", getRows()}, std::pair{"cols", getCols()}}) {
    for (auto [field, slot] : {std::pair{"stride_slot", recipe.getStrideSlot()},
                               std::pair{"begin_slot", recipe.getBeginSlot()},
                               std::pair{"end_slot", recipe.getEndSlot()}}) {
      if (slot >= 0 &&
          mlir::failed(verifySlot(*this, (llvm::Twine(axis) + "." + field).str(), slot))) {
        return mlir::failure();
      }
    }
  }
  if (!llvm::hasSingleElement(getBody()) || !getRoot() ||
      !llvm::isa<PredType>(getRoot().getType())) {
    return emitOpError() << "body: must end with permjit.yield of a !permjit.pred";
  }
  return mlir::success();
}

mlir::LogicalResult PredAndOp::verify() { return verifyNonEmpty(*this, getParts().size()); }
mlir::LogicalResult PredOrOp::verify() { return verifyNonEmpty(*this, getParts().size()); }

mlir::LogicalResult PredDiagOp::verify() {
  if (mlir::failed(verifySlot(*this, "lo", getLo()))) return mlir::failure();
  return verifySlot(*this, "hi", getHi());
}

namespace {
template <typename RangeOp>
mlir::LogicalResult verifyRange(RangeOp op) {
  if (mlir::failed(verifySlot(op, "begin", op.getBegin()))) return mlir::failure();
  return verifySlot(op, "end", op.getEnd());
}

template <typename ModOp>
mlir::LogicalResult verifyMod(ModOp op) {
  if (mlir::failed(verifySlot(op, "base", op.getBase())) ||
      mlir::failed(verifySlot(op, "stride", op.getStride())) ||
      mlir::failed(verifySlot(op, "phase", op.getPhase()))) {
    return mlir::failure();
  }
  auto param =
      llvm::cast<ParamAttr>(op->template getParentOfType<KernelOp>().getParams()[op.getStride()]);
  if (param.getKind() == ParamKind::kConst && param.getValue() < 1) {
    return op.emitOpError() << "stride: param slot " << op.getStride() << " ('" << param.getName()
                            << "') holds " << param.getValue() << "; allowed: >= 1";
  }
  return mlir::success();
}
}  // namespace

mlir::LogicalResult PredQRangeOp::verify() { return verifyRange(*this); }
mlir::LogicalResult PredKRangeOp::verify() { return verifyRange(*this); }
mlir::LogicalResult PredQModOp::verify() { return verifyMod(*this); }
mlir::LogicalResult PredKModOp::verify() { return verifyMod(*this); }

}  // namespace permjit::ir

#define GET_OP_CLASSES
#include "permjit/compiler/Dialect/PermjitOps.cpp.inc"
