#include "permjit/runtime/Workspace.h"

#include <algorithm>
#include <string>
#include <utility>

#include "permjit/codegen/KernelArgs.h"
#include "permjit/dsl/Error.h"

namespace permjit::runtime {
namespace {
size_t align256(size_t bytes) { return (bytes + 255) / 256 * 256; }
}  // namespace

int64_t gridSampleRows(const std::vector<int>& strides) {
  // Four rows per residue of the largest stride, and at least 128: the query phase is the
  // residue with the largest mean uncaptured share, so every residue needs a few rows.
  int64_t largest = 0;
  for (int s : strides) largest = std::max<int64_t>(largest, s);
  return (std::max<int64_t>(128, 4 * largest) + 63) / 64 * 64;
}

std::pair<int64_t, int64_t> gridSampleRange(const std::vector<int>& strides, int64_t grid_end) {
  const int64_t count = std::min(gridSampleRows(strides), grid_end / 64 * 64);
  if (count < 64) {
    throw Error(ErrorCategory::kInvalidArgument,
                "grid_estimated.span: ends at position " + std::to_string(grid_end) +
                    "; allowed: spans ending at 64 or later (the estimator samples 64-row groups)");
  }
  return {grid_end - count, count};
}

WorkspaceLayout workspaceLayout(const KernelSpec& spec, int64_t seq_len) {
  if (seq_len < 1) {
    throw Error(ErrorCategory::kInvalidArgument,
                "seq_len: " + std::to_string(seq_len) + "; allowed: >= 1");
  }
  if (!spec.isDynamic()) {
    throw Error(ErrorCategory::kInvalidArgument,
                "plan: '" + spec.name + "' is static; only dynamic plans have a workspace");
  }
  WorkspaceLayout w;
  w.seq_len = seq_len;
  int64_t last_q = 0;
  for (const DynamicSpec& atom : spec.dynamic) {
    last_q = std::max(last_q, atom.last_q);
    w.vertical = std::max(w.vertical, std::min(atom.vertical, seq_len));
    w.slash = std::max(w.slash, std::min(atom.slash, seq_len));
  }
  if (spec.grid_estimate) last_q = spec.grid_estimate->last_q;
  w.last_q = std::min(last_q, seq_len);
  w.chunks = (seq_len + kEstimateChunk - 1) / kEstimateChunk;
  if (!spec.dynamic.empty()) {
    w.atoms = static_cast<int64_t>(spec.dynamic.size());
  } else {
    w.sample_rows = gridSampleRows(spec.grid_estimate->strides);
  }
  const int64_t rows = w.sample_rows + w.last_q;
  const size_t n = static_cast<size_t>(seq_len);
  size_t at = 0;
  auto region = [&](size_t bytes) {
    size_t offset = at;
    at += align256(bytes);
    return offset;
  };
  w.partial = region(static_cast<size_t>(w.chunks * rows) * 8);
  w.lse = region(static_cast<size_t>(rows) * 4);
  w.col_score = region(n * 4);
  if (spec.grid_estimate) {
    const size_t candidates = spec.grid_estimate->strides.size();
    w.grid_bins = region(candidates * kGridBinsPerCandidate * 4);
    w.grid_mass = region(candidates * 4);
    w.grid_choice = region(kGridChoiceWords * 4);
    w.row_capture = region(static_cast<size_t>(w.sample_rows) * 4);
    w.atom_bytes = w.head_bytes = at;
    return w;
  }
  w.diag_score = region(n * 4);
  w.col_bitmap = region((n + 31) / 32 * 4);
  w.diag_bitmap = region((n + 31) / 32 * 4);
  w.col_prefix = region((n + 1) * 4);
  w.diag_prefix = region((n + 1) * 4);
  w.col_list = region(static_cast<size_t>(std::max<int64_t>(w.vertical, 1)) * 4);
  w.diag_pairs = region(static_cast<size_t>(8) * sem::slash_pair_words(static_cast<int>(n)) * 4);
  w.atom_bytes = at;
  w.head_bytes = static_cast<size_t>(w.atoms) * at;
  return w;
}

std::vector<std::pair<int64_t, int64_t>> estimateRowRuns(const DynamicSpec& atom,
                                                         const Layout& layout, int64_t seq_len) {
  std::vector<std::pair<int64_t, int64_t>> runs;  // from the end backwards, then reversed
  int64_t wanted = std::min(atom.last_q, seq_len);
  if (atom.query_modality < 0) {
    runs.push_back({seq_len - wanted, seq_len});
  } else {
    const std::vector<Span> spans = layout.normalized(seq_len);
    for (auto span = spans.rbegin(); span != spans.rend() && wanted > 0; ++span) {
      if (static_cast<int>(span->kind) != atom.query_modality) continue;
      const int64_t take = std::min(wanted, span->end - span->begin);
      runs.push_back({span->end - take, span->end});
      wanted -= take;
    }
  }
  std::reverse(runs.begin(), runs.end());
  if (runs.size() > static_cast<size_t>(kMaxEstimateRuns)) {
    throw Error(ErrorCategory::kUnsupported,
                "vertical_slash.last_q: the last " + std::to_string(atom.last_q) + " " +
                    modalityName(static_cast<Modality>(atom.query_modality)) + " queries lie in " +
                    std::to_string(runs.size()) + " spans; allowed: up to " +
                    std::to_string(kMaxEstimateRuns) + " (a smaller last_q reaches fewer)");
  }
  return runs;
}

size_t keySplitWorkspaceBytes(const KernelSpec& spec) {
  if (spec.isDynamic()) return 0;
  return static_cast<size_t>(kSplitPartialOffset) +
         static_cast<size_t>(kSplitSlots) *
             static_cast<size_t>(keySplitSlotFloats(spec.tile.block_m, spec.head_dim)) *
             sizeof(float);
}

size_t dynamicWorkspaceBytes(const KernelSpec& spec, int64_t batch, int64_t heads,
                             int64_t seq_len) {
  if (!spec.isDynamic()) return 0;
  for (auto [field, value] : {std::pair{"batch", batch}, std::pair{"heads", heads}}) {
    if (value < 1) {
      throw Error(ErrorCategory::kInvalidArgument,
                  std::string(field) + ": " + std::to_string(value) + "; allowed: >= 1");
    }
  }
  return static_cast<size_t>(batch * heads) * workspaceLayout(spec, seq_len).head_bytes;
}

}  // namespace permjit::runtime
