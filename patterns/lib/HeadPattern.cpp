// A head's pattern (the head types of HeadTypes.h built from a HeadSpec) and its one-line
// summary.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <map>

#include "permjit/dsl/JsonReader.h"
#include "permjit/patterns/HeadTypes.h"
#include "permjit/patterns/ModelConfig.h"

namespace permjit::patterns {
namespace {

using json_io::atPath;
using json_io::fail;

}  // namespace

Pattern headPattern(const HeadSpec& h, const std::string& field) {
  return atPath(field, [&]() -> Pattern {
    switch (h.type) {
      case HeadType::kDense:
        return dense();
      case HeadType::kFull:
        return full();
      case HeadType::kAShape:
        return a_shape(h.sink, h.local);
      case HeadType::kTriShape:
        return tri_shape(h.sink, h.local, h.last_q_rows);
      case HeadType::kGrid:
        return grid_head({h.stride, h.phase_q, h.phase_k, h.span, h.sink, h.local,
                          h.trailing_text_rows, h.estimate_strides, h.estimate_last_q});
      case HeadType::kVerticalSlash:
        return vertical_slash_head(h.vertical, h.slash, h.last_q);
      case HeadType::kQBoundary: {
        std::map<Modality, Pattern> by;
        for (const BoundaryBlock& b : h.blocks) {
          if (by.count(b.q)) {
            fail(fmt::format("by_modality.{}", modalityName(b.q)), "modality listed twice");
          }
          by.emplace(b.q, headPattern(b.head, fmt::format("by_modality.{}", modalityName(b.q))));
        }
        return q_boundary_head(by);
      }
      case HeadType::kBoundary2D: {
        std::map<std::pair<Modality, Modality>, Pattern> by;
        for (size_t i = 0; i < h.blocks.size(); ++i) {
          const BoundaryBlock& b = h.blocks[i];
          std::string block_path = fmt::format("blocks[{}]", i);
          if (by.count({b.q, b.k})) fail(block_path, "(q, k) block listed twice");
          by.emplace(std::make_pair(b.q, b.k), headPattern(b.head, block_path + ".head"));
        }
        return boundary_2d_head(by);
      }
      case HeadType::kPattern:
        if (!h.pattern) fail("pattern", "missing; required for head type 'pattern'");
        return *h.pattern;
    }
    throw Error(ErrorCategory::kInternal, "head of unknown type");
  });
}

std::string headSummary(const HeadSpec& h) {
  switch (h.type) {
    case HeadType::kAShape:
      return fmt::format("a_shape(sink={}, local={})", h.sink, h.local);
    case HeadType::kTriShape:
      return fmt::format("tri_shape(sink={}, local={}, last_q_rows={})", h.sink, h.local,
                         h.last_q_rows);
    case HeadType::kGrid:
      if (!h.estimate_strides.empty()) {
        return fmt::format(
            "grid(estimated stride in {{{}}}, last_q={}, sink={}, local={}, "
            "trailing_text_rows={}, span={})",
            fmt::join(h.estimate_strides, ", "), h.estimate_last_q, h.sink, h.local,
            h.trailing_text_rows, h.span.str());
      }
      return fmt::format(
          "grid(stride={}, phase_q={}, phase_k={}, sink={}, local={}, "
          "trailing_text_rows={}, span={})",
          h.stride, h.phase_q, h.phase_k, h.sink, h.local, h.trailing_text_rows, h.span.str());
    case HeadType::kVerticalSlash:
      return fmt::format("vertical_slash(vertical={}, slash={}, last_q={})", h.vertical, h.slash,
                         h.last_q);
    default:
      return headPattern(h).str();
  }
}

}  // namespace permjit::patterns
