// KernelSpec's out-of-line functions: names, the structure key and the text dump.
#include "permjit/compiler/KernelSpec.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace permjit {
namespace {

const char* modalityCodeName(int code) {
  switch (code) {
    case sem::kVision:
      return "vision";
    case sem::kText:
      return "text";
    case sem::kOther:
      return "other";
  }
  return "?";
}

const char* paramKindName(ParamSlot::Kind kind) {
  switch (kind) {
    case ParamSlot::Kind::kConst:
      return "const";
    case ParamSlot::Kind::kSeqLenMinus:
      return "seq_len_minus";
    case ParamSlot::Kind::kModalityCountMinus:
      return "count_minus";
    case ParamSlot::Kind::kInf:
      return "inf";
  }
  return "?";
}

int slotCount(ExprOp op) {
  switch (op) {
    case ExprOp::kDiag:
    case ExprOp::kQRange:
    case ExprOp::kKRange:
      return 2;
    case ExprOp::kQMod:
    case ExprOp::kKMod:
      return 3;
    default:
      return 0;
  }
}

// "diag(p0,p1)", "and(n2,n5)", "qmodality(vision)" with a " local" suffix where set.
std::string nodeText(const ExprNode& n) {
  std::string args;
  for (int i = 0; i < slotCount(n.op); ++i) args += fmt::format("{}p{}", i ? "," : "", n.slots[i]);
  for (size_t i = 0; i < n.children.size(); ++i) {
    args += fmt::format("{}n{}", i ? "," : "", n.children[i]);
  }
  if (n.op == ExprOp::kQModality || n.op == ExprOp::kKModality) args = modalityCodeName(n.modality);
  return fmt::format("{}({}){}", exprOpName(n.op), args, n.local ? " local" : "");
}

std::string recipeText(const MapRecipe& r) {
  if (r.gather_vertical) return "estimated-vertical-columns";
  if (r.isIdentity()) return "identity";
  std::string out;
  if (!r.modality_order.empty()) {
    out = "gather[";
    for (size_t i = 0; i < r.modality_order.size(); ++i) {
      out += fmt::format("{}{}", i ? "," : "", modalityCodeName(r.modality_order[i]));
    }
    out += "]";
  }
  if (r.residue_stride_slot >= 0) {
    if (!out.empty()) out += " ";
    out += fmt::format("residue(p{}) over ", r.residue_stride_slot);
    out += r.residue_modality >= 0
               ? std::string(modalityCodeName(r.residue_modality))
               : fmt::format("[p{}, p{})", r.residue_begin_slot, r.residue_end_slot);
  }
  return out;
}

}  // namespace

const char* dtypeName(DType dtype) { return dtype == DType::kFP16 ? "fp16" : "bf16"; }

const char* paramRoleName(ParamRole role) {
  switch (role) {
    case ParamRole::kNone:
      return "none";
    case ParamRole::kGridPhaseQ:
      return "grid_phase_q";
    case ParamRole::kGridPhaseK:
      return "grid_phase_k";
  }
  return "?";
}

const char* exprOpName(ExprOp op) {
  switch (op) {
    case ExprOp::kTrue:
      return "true";
    case ExprOp::kFalse:
      return "false";
    case ExprOp::kAnd:
      return "and";
    case ExprOp::kOr:
      return "or";
    case ExprOp::kNot:
      return "not";
    case ExprOp::kDiag:
      return "diag";
    case ExprOp::kQRange:
      return "qrange";
    case ExprOp::kKRange:
      return "krange";
    case ExprOp::kQMod:
      return "qmod";
    case ExprOp::kKMod:
      return "kmod";
    case ExprOp::kQModality:
      return "qmodality";
    case ExprOp::kKModality:
      return "kmodality";
    case ExprOp::kKInSet:
      return "kvertical";
    case ExprOp::kDiagInSet:
      return "slash";
  }
  return "?";
}

std::string KernelSpec::structureKey() const {
  // Param kinds are included (they decide how the host binds a slot); values, names and roles
  // are not. A role only says where a grid's phase is; the slots a kernel reads from the
  // workspace are in grid_estimate below, so a static grid keeps the key of equal lines atoms.
  std::string key =
      fmt::format("permjit-spec/1;hd={};dt={};tile={}x{}w{}s{};params=", head_dim, dtypeName(dtype),
                  tile.block_m, tile.block_n, tile.warps, tile.stages);
  for (const ParamSlot& p : params) {
    key += paramKindName(p.kind);
    if (p.kind == ParamSlot::Kind::kModalityCountMinus) key += modalityCodeName(p.modality);
    key += ",";
  }
  key += ";nodes=";
  for (const ExprNode& n : nodes) key += nodeText(n) + ";";
  if (grid_estimate) {
    key += fmt::format("grid_estimate=q{},k{};", grid_estimate->phase_q_slot,
                       grid_estimate->phase_k_slot);
  }
  key += "passes=";
  for (const PassSpec& p : passes) {
    key += fmt::format("[rows={};cols={};root=n{};atom={}]", recipeText(p.rows), recipeText(p.cols),
                       p.expr_root, p.atom);
  }
  return key;
}

std::string KernelSpec::str() const {
  std::string out = fmt::format(
      "kernel {}: head_dim {}, dtype {}, tile block_m {} block_n {} warps {} stages {}\n", name,
      head_dim, dtypeName(dtype), tile.block_m, tile.block_n, tile.warps, tile.stages);
  out += fmt::format("params ({}):\n", params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    const ParamSlot& p = params[i];
    out += fmt::format("  p{} {} = {}", i, p.name, paramKindName(p.kind));
    if (p.kind == ParamSlot::Kind::kModalityCountMinus) {
      out += fmt::format(" {}", modalityCodeName(p.modality));
    }
    if (p.kind != ParamSlot::Kind::kInf) out += fmt::format(" {}", p.value);
    if (p.role != ParamRole::kNone) out += fmt::format(" role {}", paramRoleName(p.role));
    out += "\n";
  }
  out += fmt::format("nodes ({}):\n", nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) out += fmt::format("  n{} {}\n", i, nodeText(nodes[i]));
  for (size_t a = 0; a < dynamic.size(); ++a) {
    const DynamicSpec& d = dynamic[a];
    out += fmt::format(
        "dynamic: vertical_slash atom {} estimated per run from the last {} {} (vertical {}, "
        "slash {}, always keeps {} columns and {} diagonals)\n",
        a, d.last_q,
        d.query_modality < 0 ? std::string("queries")
                             : fmt::format("{} queries", modalityCodeName(d.query_modality)),
        d.vertical, d.slash, d.keep_columns, d.keep_diagonals);
  }
  if (grid_estimate) {
    out += fmt::format(
        "dynamic: grid stride and phases estimated per run (candidate strides {}, this is "
        "candidate {}; last_q {}; phases read into p{} and p{})\n",
        fmt::join(grid_estimate->strides, ", "), grid_estimate->candidate, grid_estimate->last_q,
        grid_estimate->phase_q_slot, grid_estimate->phase_k_slot);
  }
  for (size_t i = 0; i < passes.size(); ++i) {
    out += fmt::format("pass {}: rows {}; cols {}; root n{}{}{}\n", i, recipeText(passes[i].rows),
                       recipeText(passes[i].cols), passes[i].expr_root,
                       dynamic.size() > 1 ? fmt::format("; atom {}", passes[i].atom) : "",
                       i > 0 ? "; merges through the LSE" : "");
  }
  return out;
}

}  // namespace permjit
