#include "permjit/patterns/HeadTypes.h"

#include <fmt/format.h>

namespace permjit::patterns {
namespace {

[[noreturn]] void fail(const std::string& message) {
  throw Error(ErrorCategory::kInvalidPattern, message);
}

void checkRange(const char* head, const char* param, int64_t value, int64_t lo, int64_t hi) {
  if (value < lo || value > hi) {
    fail(fmt::format("{}.{}: {} is out of range; allowed: [{}, {}]", head, param, value, lo, hi));
  }
}

bool isBoundary(const Pattern& p) {
  if (p.kind() == Pattern::Kind::kQBoundary || p.kind() == Pattern::Kind::kBoundary2D) return true;
  for (const Pattern& child : p.node().children) {
    if (isBoundary(child)) return true;
  }
  return false;
}

// sink | local, leaving out a zero-sized sink so equal heads print and compare the same.
std::vector<Pattern> baseParts(int64_t sink_tokens, int64_t window) {
  std::vector<Pattern> parts;
  if (sink_tokens > 0) parts.push_back(sink(sink_tokens));
  parts.push_back(local(window));
  return parts;
}

}  // namespace

Pattern a_shape(int64_t sink_tokens, int64_t window) {
  checkRange("a_shape", "sink", sink_tokens, 0, kMaxPositionParam);
  checkRange("a_shape", "local", window, 1, kMaxPositionParam);
  return causal() & union_of(baseParts(sink_tokens, window));
}

Pattern tri_shape(int64_t sink_tokens, int64_t window, int64_t last_q_rows) {
  checkRange("tri_shape", "sink", sink_tokens, 0, kMaxPositionParam);
  checkRange("tri_shape", "local", window, 1, kMaxPositionParam);
  checkRange("tri_shape", "last_q_rows", last_q_rows, 1, kMaxPositionParam);
  std::vector<Pattern> parts = baseParts(sink_tokens, window);
  parts.push_back(rows(SpanRef::last(last_q_rows)));
  return causal() & union_of(std::move(parts));
}

Pattern grid_head(const GridHeadParams& p) {
  const bool estimated = !p.estimate_strides.empty();
  if (!estimated) {
    checkRange("grid_head", "stride", p.stride, 2, kMaxPositionParam);
    checkRange("grid_head", "phase_q", p.phase_q, 0, p.stride - 1);
    checkRange("grid_head", "phase_k", p.phase_k, 0, p.stride - 1);
  }
  checkRange("grid_head", "sink", p.sink, 0, kMaxPositionParam);
  checkRange("grid_head", "local", p.local, 1, kMaxPositionParam);
  checkRange("grid_head", "trailing_text_rows", p.trailing_text_rows, 0, kMaxPositionParam);
  std::vector<Pattern> parts = baseParts(p.sink, p.local);
  if (p.trailing_text_rows > 0) parts.push_back(rows(SpanRef::last(p.trailing_text_rows)));
  try {
    parts.push_back(estimated ? grid_estimated(p.estimate_strides, p.estimate_last_q, p.span)
                              : grid(p.stride, p.phase_q, p.phase_k, p.span));
  } catch (const Error& e) {
    fail(fmt::format("grid_head.{}: {}", estimated ? "estimate" : "span", e.what()));
  }
  return causal() & union_of(std::move(parts));
}

Pattern vertical_slash_head(int64_t vertical, int64_t slash, int64_t last_q) {
  checkRange("vertical_slash_head", "vertical", vertical, 1, kMaxPositionParam);
  checkRange("vertical_slash_head", "slash", slash, 1, kMaxPositionParam);
  checkRange("vertical_slash_head", "last_q", last_q, 1, kMaxPositionParam);
  return causal() & vertical_slash(vertical, slash, last_q);
}

Pattern dense() { return causal(); }

Pattern full() { return rows(SpanRef::all()); }

Pattern q_boundary_head(const std::map<Modality, Pattern>& by_query_modality) {
  if (by_query_modality.empty()) {
    fail("q_boundary_head: needs at least one modality head; allowed keys: vision, text, other");
  }
  for (const auto& [m, head] : by_query_modality) {
    if (isBoundary(head)) {
      fail(
          fmt::format("q_boundary_head.{}: a boundary head cannot nest another boundary head; "
                      "allowed: a_shape, tri_shape, grid, vertical_slash, dense",
                      modalityName(m)));
    }
  }
  return q_boundary(by_query_modality);
}

Pattern boundary_2d_head(const std::map<std::pair<Modality, Modality>, Pattern>& by_block) {
  if (by_block.empty()) {
    fail(
        "boundary_2d_head: needs at least one (query modality, key modality) block; allowed "
        "modalities: vision, text, other");
  }
  for (const auto& [block, head] : by_block) {
    if (isBoundary(head)) {
      fail(
          fmt::format("boundary_2d_head.{}->{}: a boundary head cannot nest another boundary "
                      "head; allowed: a_shape, tri_shape, grid, vertical_slash, dense, full",
                      modalityName(block.first), modalityName(block.second)));
    }
  }
  // Blocks read modality-local coordinates; the outer causal() keeps causality in the
  // original order across modalities (local ranks of different modalities do not compare).
  return causal() & boundary_2d(by_block);
}

}  // namespace permjit::patterns
