// Host side of one call: param binding, segment tables, predicate interpretation. Every
// predicate and classifier is the sem:: function the generated CUDA calls.
#include "permjit/compiler/Plan.h"

#include <fmt/format.h>

#include <algorithm>

#include "permjit/dsl/Error.h"

namespace permjit {
namespace {

void checkSeqLen(int64_t seq_len) {
  if (seq_len < 1 || seq_len >= (int64_t{1} << 30)) {
    throw Error(ErrorCategory::kInvalidArgument,
                fmt::format("seq_len: {} is out of range; allowed: 1 <= seq_len < 2^30", seq_len));
  }
}

int param(const std::vector<int>& params, int slot, const char* field) {
  if (slot < 0 || slot >= static_cast<int>(params.size())) {
    throw Error(ErrorCategory::kInvalidArgument,
                fmt::format("{}: param slot {} is out of range; {} params are bound", field, slot,
                            params.size()));
  }
  return params[slot];
}

const sem::DynamicSets& sets(const sem::DynamicSets* dyn) {
  if (!dyn) {
    throw Error(ErrorCategory::kInvalidArgument,
                "dyn: the pattern has a vertical_slash, whose sets are chosen per run; pass the "
                "run's DynamicSets");
  }
  return *dyn;
}

bool keep(const KernelSpec& spec, int node, const std::vector<int>& params, const sem::Coord& q,
          const sem::Coord& k, const sem::DynamicSets* dyn) {
  const ExprNode& n = spec.nodes[node];
  int qx = n.local ? q.local : q.pos;
  int kx = n.local ? k.local : k.pos;
  auto p = [&](int i) { return params[n.slots[i]]; };
  switch (n.op) {
    case ExprOp::kTrue:
      return true;
    case ExprOp::kFalse:
      return false;
    case ExprOp::kAnd:
      for (int c : n.children) {
        if (!keep(spec, c, params, q, k, dyn)) return false;
      }
      return true;
    case ExprOp::kOr:
      for (int c : n.children) {
        if (keep(spec, c, params, q, k, dyn)) return true;
      }
      return false;
    case ExprOp::kNot:
      return !keep(spec, n.children.at(0), params, q, k, dyn);
    case ExprOp::kDiag:
      return sem::diag_keep(qx, kx, p(0), p(1));
    case ExprOp::kQRange:
      return sem::range_keep(qx, p(0), p(1));
    case ExprOp::kKRange:
      return sem::range_keep(kx, p(0), p(1));
    case ExprOp::kQMod:
      return sem::mod_keep(qx, p(0), p(1), p(2));
    case ExprOp::kKMod:
      return sem::mod_keep(kx, p(0), p(1), p(2));
    case ExprOp::kQModality:
      return sem::modality_keep(q.modality, n.modality);
    case ExprOp::kKModality:
      return sem::modality_keep(k.modality, n.modality);
    case ExprOp::kKInSet:
      return sem::set_keep(sets(dyn), sem::kVerticalSet, k.pos);
    case ExprOp::kDiagInSet:
      return sem::set_keep(sets(dyn), sem::kSlashSet, q.pos - k.pos);
  }
  return false;
}

sem::Tri classify(const KernelSpec& spec, int node, const std::vector<int>& params,
                  const sem::Bounds& q, const sem::Bounds& k, const sem::DynamicSets* dyn) {
  const ExprNode& n = spec.nodes[node];
  int qlo = n.local ? q.llo : q.lo, qhi = n.local ? q.lhi : q.hi;
  int klo = n.local ? k.llo : k.lo, khi = n.local ? k.lhi : k.hi;
  auto p = [&](int i) { return params[n.slots[i]]; };
  switch (n.op) {
    case ExprOp::kTrue:
      return sem::kAll;
    case ExprOp::kFalse:
      return sem::kNone;
    case ExprOp::kAnd: {
      sem::Tri out = sem::kAll;
      for (int c : n.children) {
        out = sem::tri_and(out, classify(spec, c, params, q, k, dyn));
        if (out == sem::kNone) break;
      }
      return out;
    }
    case ExprOp::kOr: {
      sem::Tri out = sem::kNone;
      for (int c : n.children) {
        out = sem::tri_or(out, classify(spec, c, params, q, k, dyn));
        if (out == sem::kAll) break;
      }
      return out;
    }
    case ExprOp::kNot:
      return sem::tri_not(classify(spec, n.children.at(0), params, q, k, dyn));
    case ExprOp::kDiag:
      return sem::diag_classify(qlo, qhi, klo, khi, p(0), p(1));
    case ExprOp::kQRange:
      return sem::range_classify(qlo, qhi, p(0), p(1));
    case ExprOp::kKRange:
      return sem::range_classify(klo, khi, p(0), p(1));
    case ExprOp::kQMod:
      return sem::mod_classify(qlo, qhi, q.step, q.count, p(0), p(1), p(2));
    case ExprOp::kKMod:
      return sem::mod_classify(klo, khi, k.step, k.count, p(0), p(1), p(2));
    case ExprOp::kQModality:
      return sem::modality_classify(q.modality, n.modality);
    case ExprOp::kKModality:
      return sem::modality_classify(k.modality, n.modality);
    case ExprOp::kKInSet:
      return sem::set_classify(sets(dyn), sem::kVerticalSet, k.lo, k.hi, k.step == 1);
    case ExprOp::kDiagInSet:
      return sem::set_classify(sets(dyn), sem::kSlashSet, q.lo - k.hi, q.hi - k.lo, true);
  }
  return sem::kSome;
}

void checkStride(const std::vector<int>& params, int slot, const char* field) {
  if (slot >= 0 && param(params, slot, field) < 1) {
    throw Error(
        ErrorCategory::kInvalidPattern,
        fmt::format("{}: param slot {} is bound to {}; allowed: >= 1", field, slot, params[slot]));
  }
}

}  // namespace

std::vector<int> bindParams(const KernelSpec& spec, const Layout& layout, int64_t seq_len) {
  checkSeqLen(seq_len);
  if (spec.params.size() > static_cast<size_t>(sem::kMaxParams)) {
    throw Error(ErrorCategory::kUnsupported, fmt::format("params: {} slots; allowed: at most {}",
                                                         spec.params.size(), sem::kMaxParams));
  }
  int counts[sem::kNumModalities] = {0, 0, 0};
  for (const Span& s : layout.normalized(seq_len)) {
    counts[static_cast<int>(s.kind)] += static_cast<int>(s.end - s.begin);
  }
  std::vector<int> values;
  for (const ParamSlot& p : spec.params)
    values.push_back(p.bind(static_cast<int>(seq_len), counts));
  for (const ExprNode& n : spec.nodes) {
    if (n.op == ExprOp::kQMod || n.op == ExprOp::kKMod) checkStride(values, n.slots[1], "stride");
  }
  for (const PassSpec& pass : spec.passes) {
    checkStride(values, pass.rows.residue_stride_slot, "rows.residue_stride");
    checkStride(values, pass.cols.residue_stride_slot, "cols.residue_stride");
  }
  return values;
}

sem::SegmentTable buildSegmentTable(const MapRecipe& recipe, const std::vector<int>& params,
                                    const Layout& layout, int64_t seq_len, int tile) {
  checkSeqLen(seq_len);
  if (tile < 1) {
    throw Error(ErrorCategory::kInvalidArgument, fmt::format("tile: {}; allowed: >= 1", tile));
  }
  int stride = 1, range_begin = 0, range_end = 0;
  bool residue = recipe.residue_stride_slot >= 0;
  if (residue) {
    stride = param(params, recipe.residue_stride_slot, "residue_stride_slot");
    if (stride < 1) {
      throw Error(ErrorCategory::kInvalidPattern,
                  fmt::format("residue stride: {}; allowed: >= 1", stride));
    }
    if (recipe.residue_modality < 0) {
      range_begin = param(params, recipe.residue_begin_slot, "residue_begin_slot");
      range_end = param(params, recipe.residue_end_slot, "residue_end_slot");
    }
  }
  // 1-2. Normalized spans, split at the residue range; local_begin = rank among the modality.
  std::vector<sem::Segment> segs;
  int local_count[sem::kNumModalities] = {0, 0, 0};
  auto add = [&](int modality, int begin, int end, bool permuted) {
    if (begin >= end) return;
    sem::Segment s{};
    s.kind = permuted && stride > 1 ? sem::kResidue : sem::kIdentity;
    s.modality = modality;
    s.begin = begin;
    s.end = end;
    s.stride = s.kind == sem::kResidue ? stride : 1;
    s.local_begin = local_count[modality];
    local_count[modality] += end - begin;
    segs.push_back(s);
  };
  for (const Span& span : layout.normalized(seq_len)) {
    int m = static_cast<int>(span.kind);
    int b = static_cast<int>(span.begin), e = static_cast<int>(span.end);
    if (!residue) {
      add(m, b, e, false);
    } else if (recipe.residue_modality >= 0) {
      add(m, b, e, m == recipe.residue_modality);
    } else {
      int rb = std::clamp(range_begin, b, e), re = std::clamp(range_end, rb, e);
      add(m, b, rb, false);
      add(m, rb, re, true);
      add(m, re, e, false);
    }
  }
  // 3. Original order, or gathered by modality (modalities not listed follow in code order).
  if (!recipe.modality_order.empty()) {
    std::vector<int> rank(sem::kNumModalities, sem::kNumModalities);
    for (size_t i = 0; i < recipe.modality_order.size(); ++i) {
      int m = recipe.modality_order[i];
      if (m < 0 || m >= sem::kNumModalities) {
        throw Error(
            ErrorCategory::kInvalidArgument,
            fmt::format("modality_order: code {}; allowed: 0 (vision), 1 (text), 2 (other)", m));
      }
      rank[m] = static_cast<int>(i);
    }
    std::stable_sort(segs.begin(), segs.end(), [&](const sem::Segment& a, const sem::Segment& b) {
      int ra = rank[a.modality] * sem::kNumModalities + a.modality;
      int rb = rank[b.modality] * sem::kNumModalities + b.modality;
      return ra < rb;
    });
  }
  if (segs.size() > static_cast<size_t>(sem::kMaxSegments)) {
    throw Error(ErrorCategory::kUnsupported,
                fmt::format("layout: {} over seq_len {} needs {} segments on this axis; allowed: "
                            "at most kMaxSegments = {}",
                            layout.str(), seq_len, segs.size(), sem::kMaxSegments));
  }
  sem::SegmentTable table{};
  table.count = static_cast<int>(segs.size());
  table.tile = tile;
  int next = 0;
  for (size_t i = 0; i < segs.size(); ++i) {
    segs[i].perm_begin = next;
    segs[i].perm_len = sem::segment_perm_len(segs[i], tile);
    next += segs[i].perm_len;
    table.seg[i] = segs[i];
  }
  table.total = next;
  return table;
}

bool evalKeep(const KernelSpec& spec, int node, const std::vector<int>& params, const sem::Coord& q,
              const sem::Coord& k, const sem::DynamicSets* dyn) {
  if (q.pos < 0 || k.pos < 0) return false;
  return keep(spec, node, params, q, k, dyn);
}

sem::Tri evalClassify(const KernelSpec& spec, int node, const std::vector<int>& params,
                      const sem::Bounds& q, const sem::Bounds& k, const sem::DynamicSets* dyn) {
  if (q.count == 0 || k.count == 0) return sem::kNone;
  return classify(spec, node, params, q, k, dyn);
}

}  // namespace permjit
