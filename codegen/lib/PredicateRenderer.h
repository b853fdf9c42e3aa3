// A pass's predicate tree as C++ over the shared tile semantics (sem::*): the per-element
// `keep`, the per-tile `classify` and the per-row `keep_bits` (a row's kept columns of one
// thread's share of a column tile, sem::ColumnLanes) the generated Pattern policy returns.
#pragma once

#include <string>

#include "permjit/compiler/KernelSpec.h"
#include "permjit/dsl/Error.h"

namespace permjit::codegen_detail {

[[noreturn]] inline void failRender(ErrorCategory category, const std::string& message) {
  throw Error(category, message);
}

// Renders the expression tree rooted at one node as C++ over sem::* (q, k, p, d in scope; c
// too for keep_bits).
class PredicateRenderer {
 public:
  explicit PredicateRenderer(const KernelSpec& spec) : spec_(spec) {}

  // q, k: sem::Coord.
  std::string keep(int node) { return render(node, Mode::kKeep, 0); }
  // q, k: sem::Bounds.
  std::string classify(int node) { return render(node, Mode::kClassify, 0); }
  // q: sem::Coord, k: sem::Bounds (positions k.lo + col * k.step), c: sem::ColumnLanes. The
  // caller masks the word with sem::valid_bits(c) (a Not sets padding bits).
  std::string keepBits(int node) { return render(node, Mode::kBits, 0); }

 private:
  enum class Mode { kKeep, kClassify, kBits };

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

  std::string render(int node, Mode mode, int depth) {
    const bool cls = mode == Mode::kClassify, bits = mode == Mode::kBits;
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
        return cls ? "kAll" : (bits ? "0xffffffffu" : "true");
      case ExprOp::kFalse:
        return cls ? "kNone" : (bits ? "0u" : "false");
      case ExprOp::kAnd:
      case ExprOp::kOr: {
        if (n.children.empty()) {
          failRender(ErrorCategory::kInvalidPattern,
                     tag + ".children: And/Or needs at least one child; allowed: 1 or more");
        }
        const bool is_and = n.op == ExprOp::kAnd;
        if (cls) {
          // Left fold: tri_and(tri_and(a, b), c).
          std::string acc = render(n.children[0], mode, depth + 1);
          for (size_t i = 1; i < n.children.size(); ++i) {
            acc = std::string(is_and ? "tri_and(" : "tri_or(") + acc + ", " +
                  render(n.children[i], mode, depth + 1) + ")";
          }
          return acc;
        }
        std::string acc = "(";
        for (size_t i = 0; i < n.children.size(); ++i) {
          if (i) acc += bits ? (is_and ? " & " : " | ") : (is_and ? " && " : " || ");
          acc += render(n.children[i], mode, depth + 1);
        }
        return acc + ")";
      }
      case ExprOp::kNot: {
        if (n.children.size() != 1) {
          failRender(ErrorCategory::kInvalidPattern, tag + ".children: Not has " +
                                                         std::to_string(n.children.size()) +
                                                         " children; allowed: exactly 1");
        }
        const std::string c = render(n.children[0], mode, depth + 1);
        return cls ? "tri_not(" + c + ")" : (bits ? "~" : "!") + c;
      }
      case ExprOp::kDiag:
        if (bits) {
          return "diag_bits(c, " + qp + ", " + klo + ", k.step, " + slot(node, 0) + ", " +
                 slot(node, 1) + ")";
        }
        return cls ? "diag_classify(" + qlo + ", " + qhi + ", " + klo + ", " + khi + ", " +
                         slot(node, 0) + ", " + slot(node, 1) + ")"
                   : "diag_keep(" + qp + ", " + kp + ", " + slot(node, 0) + ", " + slot(node, 1) +
                         ")";
      case ExprOp::kQRange:
      case ExprOp::kKRange: {
        const bool q = n.op == ExprOp::kQRange;
        if (bits) {
          return q ? "all_bits(range_keep(" + qp + ", " + slot(node, 0) + ", " + slot(node, 1) +
                         "))"
                   : "krange_bits(c, " + klo + ", k.step, " + slot(node, 0) + ", " + slot(node, 1) +
                         ")";
        }
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
        if (bits) {
          return q ? "all_bits(mod_keep(" + qp + ", " + args + ")"
                   : "kmod_bits(c, " + klo + ", k.step, " + args;
        }
        return cls ? "mod_classify(" + (q ? qlo : klo) + ", " + (q ? qhi : khi) + ", " + side +
                         ".step, " + side + ".count, " + args
                   : "mod_keep(" + (q ? qp : kp) + ", " + args;
      }
      case ExprOp::kQModality:
      case ExprOp::kKModality: {
        const std::string side = n.op == ExprOp::kQModality ? "q" : "k";
        const std::string keep = std::string(cls ? "modality_classify(" : "modality_keep(") + side +
                                 ".modality, " + modality(node) + ")";
        return bits ? "all_bits(" + keep + ")" : keep;
      }
      case ExprOp::kKInSet:
        if (bits) {
          // No pass holds kvertical now (pass 1's gathered columns are the verticals), so the
          // per-element form is enough.
          return "each_bits(c, [&](int col) { return set_keep(d, kVerticalSet, k.lo + col * "
                 "k.step); })";
        }
        return cls ? "set_classify(d, kVerticalSet, k.lo, k.hi, k.step == 1)"
                   : "set_keep(d, kVerticalSet, k.pos)";
      case ExprOp::kDiagInSet:
        if (bits) {
          return "slash_bits(c, d, q.pos, k.lo, k.step)";
        }
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
