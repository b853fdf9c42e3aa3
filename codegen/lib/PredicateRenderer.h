// A pass's predicate tree as C++ over the shared tile semantics (sem::*): the per-element
// `keep` and the per-tile `classify` the generated Pattern policy returns.
#pragma once

#include <string>

#include "permjit/compiler/KernelSpec.h"
#include "permjit/dsl/Error.h"

namespace permjit::codegen_detail {

[[noreturn]] inline void failRender(ErrorCategory category, const std::string& message) {
  throw Error(category, message);
}

// Renders the expression tree rooted at one node as C++ over sem::* (q, k, p in scope).
class PredicateRenderer {
 public:
  explicit PredicateRenderer(const KernelSpec& spec) : spec_(spec) {}

  std::string keep(int node) { return render(node, /*classify=*/false, 0); }
  std::string classify(int node) { return render(node, /*classify=*/true, 0); }

 private:
  const ExprNode& at(int node, const std::string& field) const {
    if (node < 0 || node >= static_cast<int>(spec_.nodes.size())) {
      failRender(ErrorCategory::kInvalidPattern, field + ": node index " + std::to_string(node) +
                                                     " out of range; allowed: 0.." +
                                                     std::to_string(spec_.nodes.size()) + " - 1");
    }
    return spec_.nodes[node];
  }

  std::string slot(int node, int i) const {
    const int s = spec_.nodes[node].slots[i];
    if (s < 0 || s >= static_cast<int>(spec_.params.size())) {
      failRender(ErrorCategory::kInvalidPattern, "nodes[" + std::to_string(node) + "].slots[" +
                                                     std::to_string(i) + "]: " + std::to_string(s) +
                                                     " is not a param index; allowed: 0.." +
                                                     std::to_string(spec_.params.size()) + " - 1");
    }
    return "p[" + std::to_string(s) + "]";
  }

  std::string modality(int node) const {
    const int m = spec_.nodes[node].modality;
    if (m < 0 || m >= sem::kNumModalities) {
      failRender(ErrorCategory::kInvalidPattern,
                 "nodes[" + std::to_string(node) + "].modality: " + std::to_string(m) +
                     " is not a modality code; allowed: 0 (vision), 1 (text), 2 (other)");
    }
    return std::to_string(m);
  }

  std::string render(int node, bool cls, int depth) {
    const ExprNode& n = at(node, "nodes[...].children");
    // Deeper than the node count means the "tree" has a cycle.
    if (depth > static_cast<int>(spec_.nodes.size())) {
      failRender(ErrorCategory::kInvalidPattern,
                 "nodes[" + std::to_string(node) +
                     "].children: the expression graph has a cycle; "
                     "allowed: a tree (or DAG) of nodes");
    }
    const std::string tag = "nodes[" + std::to_string(node) + "]";
    // Local atoms read modality-local coordinates (Coord.local, Bounds.llo/lhi).
    const std::string qp = n.local ? "q.local" : "q.pos", kp = n.local ? "k.local" : "k.pos";
    const std::string qlo = n.local ? "q.llo" : "q.lo", qhi = n.local ? "q.lhi" : "q.hi";
    const std::string klo = n.local ? "k.llo" : "k.lo", khi = n.local ? "k.lhi" : "k.hi";
    switch (n.op) {
      case ExprOp::kTrue:
        return cls ? "kAll" : "true";
      case ExprOp::kFalse:
        return cls ? "kNone" : "false";
      case ExprOp::kAnd:
      case ExprOp::kOr: {
        if (n.children.empty()) {
          failRender(ErrorCategory::kInvalidPattern,
                     tag + ".children: And/Or needs at least one child; allowed: 1 or more");
        }
        const bool is_and = n.op == ExprOp::kAnd;
        if (cls) {
          // Left fold: tri_and(tri_and(a, b), c).
          std::string acc = render(n.children[0], cls, depth + 1);
          for (size_t i = 1; i < n.children.size(); ++i) {
            acc = std::string(is_and ? "tri_and(" : "tri_or(") + acc + ", " +
                  render(n.children[i], cls, depth + 1) + ")";
          }
          return acc;
        }
        std::string acc = "(";
        for (size_t i = 0; i < n.children.size(); ++i) {
          if (i) acc += is_and ? " && " : " || ";
          acc += render(n.children[i], cls, depth + 1);
        }
        return acc + ")";
      }
      case ExprOp::kNot: {
        if (n.children.size() != 1) {
          failRender(ErrorCategory::kInvalidPattern, tag + ".children: Not has " +
                                                         std::to_string(n.children.size()) +
                                                         " children; allowed: exactly 1");
        }
        const std::string c = render(n.children[0], cls, depth + 1);
        return cls ? "tri_not(" + c + ")" : "!" + c;
      }
      case ExprOp::kDiag:
        return cls ? "diag_classify(" + qlo + ", " + qhi + ", " + klo + ", " + khi + ", " +
                         slot(node, 0) + ", " + slot(node, 1) + ")"
                   : "diag_keep(" + qp + ", " + kp + ", " + slot(node, 0) + ", " + slot(node, 1) +
                         ")";
      case ExprOp::kQRange:
      case ExprOp::kKRange: {
        const bool q = n.op == ExprOp::kQRange;
        return cls ? "range_classify(" + (q ? qlo : klo) + ", " + (q ? qhi : khi) + ", " +
                         slot(node, 0) + ", " + slot(node, 1) + ")"
                   : "range_keep(" + (q ? qp : kp) + ", " + slot(node, 0) + ", " + slot(node, 1) +
                         ")";
      }
      case ExprOp::kQMod:
      case ExprOp::kKMod: {
        const bool q = n.op == ExprOp::kQMod;
        const std::string args = slot(node, 0) + ", " + slot(node, 1) + ", " + slot(node, 2) + ")";
        const std::string side = q ? "q" : "k";
        return cls ? "mod_classify(" + (q ? qlo : klo) + ", " + (q ? qhi : khi) + ", " + side +
                         ".step, " + side + ".count, " + args
                   : "mod_keep(" + (q ? qp : kp) + ", " + args;
      }
      case ExprOp::kQModality:
      case ExprOp::kKModality: {
        const std::string side = n.op == ExprOp::kQModality ? "q" : "k";
        return std::string(cls ? "modality_classify(" : "modality_keep(") + side + ".modality, " +
               modality(node) + ")";
      }
      case ExprOp::kKInSet:
        return cls ? "set_classify(d, kVerticalSet, k.lo, k.hi, k.step == 1)"
                   : "set_keep(d, kVerticalSet, k.pos)";
      case ExprOp::kDiagInSet:
        return cls ? "set_classify(d, kSlashSet, q.lo - k.hi, q.hi - k.lo, true)"
                   : "set_keep(d, kSlashSet, q.pos - k.pos)";
    }
    failRender(ErrorCategory::kInvalidPattern,
               tag + ".op: unknown op " + std::to_string(static_cast<int>(n.op)) +
                   "; allowed: True, False, And, Or, Not, Diag, QRange, KRange, QMod, KMod, "
                   "QModality, KModality, KInSet, DiagInSet");
  }

  const KernelSpec& spec_;
};

}  // namespace permjit::codegen_detail
