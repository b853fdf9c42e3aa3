// Last step of the pipeline: the plain C++ KernelSpec of a permjit.kernel op.
#include "llvm/ADT/DenseMap.h"
#include "permjit/compiler/Passes.h"
#include "permjit/dsl/Error.h"

namespace permjit {
namespace {

class Emitter {
 public:
  explicit Emitter(KernelSpec& spec) : spec_(spec) {}

  // Children get indices before their parents; a value used twice is emitted once.
  int node(mlir::Value value) {
    if (auto it = index_.find(value); it != index_.end()) return it->second;
    mlir::Operation* op = value.getDefiningOp();
    ExprNode n;
    auto atom = [&](ExprOp kind, bool local, std::initializer_list<int> slots) {
      n.op = kind;
      n.local = local;
      int i = 0;
      for (int s : slots) n.slots[i++] = s;
    };
    if (llvm::isa<ir::PredTrueOp>(op)) {
      n.op = ExprOp::kTrue;
    } else if (llvm::isa<ir::PredFalseOp>(op)) {
      n.op = ExprOp::kFalse;
    } else if (auto a = llvm::dyn_cast<ir::PredAndOp>(op)) {
      n.op = ExprOp::kAnd;
      for (mlir::Value part : a.getParts()) n.children.push_back(node(part));
    } else if (auto o = llvm::dyn_cast<ir::PredOrOp>(op)) {
      n.op = ExprOp::kOr;
      for (mlir::Value part : o.getParts()) n.children.push_back(node(part));
    } else if (auto x = llvm::dyn_cast<ir::PredNotOp>(op)) {
      n.op = ExprOp::kNot;
      n.children.push_back(node(x.getInput()));
    } else if (auto d = llvm::dyn_cast<ir::PredDiagOp>(op)) {
      atom(ExprOp::kDiag, d.getLocal(), {static_cast<int>(d.getLo()), static_cast<int>(d.getHi())});
    } else if (auto r = llvm::dyn_cast<ir::PredQRangeOp>(op)) {
      atom(ExprOp::kQRange, r.getLocal(),
           {static_cast<int>(r.getBegin()), static_cast<int>(r.getEnd())});
    } else if (auto r = llvm::dyn_cast<ir::PredKRangeOp>(op)) {
      atom(ExprOp::kKRange, r.getLocal(),
           {static_cast<int>(r.getBegin()), static_cast<int>(r.getEnd())});
    } else if (auto m = llvm::dyn_cast<ir::PredQModOp>(op)) {
      atom(ExprOp::kQMod, m.getLocal(),
           {static_cast<int>(m.getBase()), static_cast<int>(m.getStride()),
            static_cast<int>(m.getPhase())});
    } else if (auto m = llvm::dyn_cast<ir::PredKModOp>(op)) {
      atom(ExprOp::kKMod, m.getLocal(),
           {static_cast<int>(m.getBase()), static_cast<int>(m.getStride()),
            static_cast<int>(m.getPhase())});
    } else if (auto q = llvm::dyn_cast<ir::PredQModalityOp>(op)) {
      n.op = ExprOp::kQModality;
      n.modality = static_cast<int>(q.getModality());
    } else if (auto k = llvm::dyn_cast<ir::PredKModalityOp>(op)) {
      n.op = ExprOp::kKModality;
      n.modality = static_cast<int>(k.getModality());
    } else if (llvm::isa<ir::PredKVerticalOp>(op)) {
      n.op = ExprOp::kKInSet;
    } else if (llvm::isa<ir::PredSlashOp>(op)) {
      n.op = ExprOp::kDiagInSet;
    } else {
      throw Error(ErrorCategory::kInternal,
                  "emit-kernel-spec: " + op->getName().getStringRef().str() +
                      " is not a tile predicate op");
    }
    spec_.nodes.push_back(std::move(n));
    int index = static_cast<int>(spec_.nodes.size() - 1);
    index_[value] = index;
    return index;
  }

 private:
  KernelSpec& spec_;
  llvm::DenseMap<mlir::Value, int> index_;
};

MapRecipe toRecipe(ir::RecipeAttr attr) {
  MapRecipe r;
  for (ir::Modality m : attr.getGather()) r.modality_order.push_back(static_cast<int>(m));
  r.residue_stride_slot = attr.getStrideSlot();
  r.residue_modality = attr.getResidueModality();
  r.residue_begin_slot = attr.getBeginSlot();
  r.residue_end_slot = attr.getEndSlot();
  return r;
}

ParamSlot::Kind toKind(ir::ParamKind kind) {
  switch (kind) {
    case ir::ParamKind::kConst:
      return ParamSlot::Kind::kConst;
    case ir::ParamKind::kSeqLenMinus:
      return ParamSlot::Kind::kSeqLenMinus;
    case ir::ParamKind::kCountMinus:
      return ParamSlot::Kind::kModalityCountMinus;
    case ir::ParamKind::kInf:
      return ParamSlot::Kind::kInf;
  }
  return ParamSlot::Kind::kConst;
}

ParamRole toRole(ir::ParamRole role) {
  switch (role) {
    case ir::ParamRole::kNone:
      return ParamRole::kNone;
    case ir::ParamRole::kGridPhaseQ:
      return ParamRole::kGridPhaseQ;
    case ir::ParamRole::kGridPhaseK:
      return ParamRole::kGridPhaseK;
  }
  return ParamRole::kNone;
}

}  // namespace

KernelSpec emitKernelSpec(ir::KernelOp kernel) {
  KernelSpec spec;
  spec.name = kernel.getSymName().str();
  spec.head_dim = static_cast<int>(kernel.getHeadDimAttr().getInt());
  spec.dtype = kernel.getDtype() == ir::DType::fp16 ? DType::kFP16 : DType::kBF16;
  if (auto v = kernel.getBlockMAttr()) spec.tile.block_m = static_cast<int>(v.getInt());
  if (auto v = kernel.getBlockNAttr()) spec.tile.block_n = static_cast<int>(v.getInt());
  if (auto v = kernel.getWarpsAttr()) spec.tile.warps = static_cast<int>(v.getInt());
  if (auto v = kernel.getStagesAttr()) spec.tile.stages = static_cast<int>(v.getInt());
  for (mlir::Attribute attr : kernel.getParams()) {
    auto p = llvm::cast<ir::ParamAttr>(attr);
    ParamSlot slot;
    slot.kind = toKind(p.getKind());
    slot.value = static_cast<int>(p.getValue());
    slot.modality = p.getModality();
    slot.name = p.getName().str();
    slot.role = toRole(p.getRole());
    spec.params.push_back(std::move(slot));
  }
  if (auto vs = kernel.getVerticalSlashAttr()) {
    llvm::ArrayRef<int64_t> v = vs.asArrayRef();
    if (v.empty() || v.size() % 4 != 0) {
      throw Error(ErrorCategory::kInvalidPattern,
                  "vertical_slash: " + std::to_string(v.size()) +
                      " values; allowed: [vertical, slash, last_q, query modality] per atom");
    }
    for (size_t i = 0; i < v.size(); i += 4) {
      if (v[i + 3] < -1 || v[i + 3] >= sem::kNumModalities) {
        throw Error(ErrorCategory::kInvalidPattern,
                    "vertical_slash: query modality " + std::to_string(v[i + 3]) +
                        "; allowed: -1 (all queries), 0 (vision), 1 (text), 2 (other)");
      }
      DynamicSpec dynamic;
      dynamic.vertical = v[i];
      dynamic.slash = v[i + 1];
      dynamic.last_q = v[i + 2];
      dynamic.query_modality = static_cast<int>(v[i + 3]);
      spec.dynamic.push_back(dynamic);
    }
  }
  Emitter emitter(spec);
  for (ir::PassOp pass : kernel.getBody().getOps<ir::PassOp>()) {
    PassSpec ps;
    ps.rows = toRecipe(pass.getRows());
    ps.cols = toRecipe(pass.getCols());
    ps.cols.gather_vertical = pass.getGatherVertical();
    if (auto atom = pass.getAtomAttr()) ps.atom = static_cast<int>(atom.getInt());
    if (ps.atom < 0 || (ps.atom > 0 && ps.atom >= static_cast<int>(spec.dynamic.size()))) {
      throw Error(ErrorCategory::kInvalidPattern,
                  "pass atom " + std::to_string(ps.atom) + "; allowed: 0.." +
                      std::to_string(std::max<int>(0, static_cast<int>(spec.dynamic.size()) - 1)));
    }
    ps.expr_root = emitter.node(pass.getRoot());
    spec.passes.push_back(std::move(ps));
  }
  return spec;
}

}  // namespace permjit
