// Rendering of the pattern pictures (Viz.h) into an RGB buffer; no PNG here, so the shared
// library (libpermjit.so, whose static libpng would not be position-independent) links it.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <functional>

#include "permjit/compiler/Pipeline.h"
#include "permjit/compiler/Plan.h"
#include "permjit/dsl/Reference.h"
#include "permjit/patterns/Viz.h"

namespace permjit::patterns {
namespace {

using Rgb = std::array<uint8_t, 3>;

Rgb modalityColor(Modality m) {
  switch (m) {
    case Modality::kVision:
      return {230, 126, 34};
    case Modality::kText:
      return {41, 128, 185};
    case Modality::kOther:
      break;
  }
  return {170, 170, 170};
}

// One axis of one pass: original positions in permuted order (padding left out) and each
// position's coordinate as the kernel sees it (the input of evalKeep).
struct AxisPlan {
  std::vector<int64_t> order;
  std::vector<sem::Coord> coord;  // by original position
};

AxisPlan axisPlan(const MapRecipe& recipe, const std::vector<int>& params, const Layout& layout,
                  int64_t seq_len, int tile) {
  sem::SegmentTable table = buildSegmentTable(recipe, params, layout, seq_len, tile);
  AxisPlan axis;
  axis.order.reserve(seq_len);
  axis.coord.resize(seq_len);
  for (int p = 0; p < table.total; ++p) {
    sem::Coord c = sem::map_index(table, p);
    if (c.pos < 0) continue;
    axis.order.push_back(c.pos);
    axis.coord[c.pos] = c;
  }
  if (static_cast<int64_t>(axis.order.size()) != seq_len) {
    throw Error(ErrorCategory::kInternal,
                fmt::format("viz: the segment table maps {} positions; expected seq_len {}",
                            axis.order.size(), seq_len));
  }
  return axis;
}

std::string describe(const MapRecipe& r, const std::vector<int>& params) {
  if (r.isIdentity()) return "original order";
  std::string out;
  if (r.residue_stride_slot >= 0) {
    std::string over =
        r.residue_modality >= 0
            ? modalityName(static_cast<Modality>(r.residue_modality))
            : fmt::format("[{}, {})", params[r.residue_begin_slot], params[r.residue_end_slot]);
    out = fmt::format("residue classes of stride {} over {}", params[r.residue_stride_slot], over);
  }
  if (!r.modality_order.empty()) {
    std::string order;
    for (int m : r.modality_order) {
      order += (order.empty() ? "" : ", ") + std::string(modalityName(static_cast<Modality>(m)));
    }
    out += (out.empty() ? "" : ", ") + fmt::format("gathered by modality ({})", order);
  }
  return out;
}

// Grey value of a cell of an S x S kept set seen through row/col orders. Exact (a mask of every
// pair) up to VizOptions::exact_limit, else sampled through `keep`.
class CellSampler {
 public:
  using Keep = std::function<bool(int64_t q, int64_t k)>;
  CellSampler(Keep keep, std::vector<uint8_t> mask, int64_t S)
      : keep_(std::move(keep)), mask_(std::move(mask)), S_(S) {}

  // Fraction kept among rows[r0, r1) x cols[c0, c1).
  double fraction(const std::vector<int64_t>& rows, const std::vector<int64_t>& cols, int64_t r0,
                  int64_t r1, int64_t c0, int64_t c1) const {
    if (!mask_.empty()) {
      int64_t kept = 0;
      for (int64_t i = r0; i < r1; ++i) {
        const uint8_t* row = &mask_[rows[i] * S_];
        for (int64_t j = c0; j < c1; ++j) kept += row[cols[j]];
      }
      return static_cast<double>(kept) / ((r1 - r0) * (c1 - c0));
    }
    // 8 x 8 stratified sample with a deterministic jitter, so regular lines do not alias.
    constexpr int kSamples = 8;
    int kept = 0;
    for (int a = 0; a < kSamples; ++a) {
      for (int b = 0; b < kSamples; ++b) {
        int64_t i = r0 + ((r1 - r0) * a + jitter(r0, a, r1 - r0)) / kSamples;
        int64_t j = c0 + ((c1 - c0) * b + jitter(c0 + 7, b, c1 - c0)) / kSamples;
        kept += keep_(rows[std::min(i, r1 - 1)], cols[std::min(j, c1 - 1)]);
      }
    }
    return static_cast<double>(kept) / (kSamples * kSamples);
  }

 private:
  static int64_t jitter(int64_t seed, int a, int64_t len) {
    uint64_t h = static_cast<uint64_t>(seed) * 0x9e3779b97f4a7c15ull + a * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 31;
    return static_cast<int64_t>(h % static_cast<uint64_t>(len));
  }

  Keep keep_;
  std::vector<uint8_t> mask_;
  int64_t S_;
};

bool containsKind(const Pattern& pattern, Pattern::Kind kind) {
  const Pattern::Node& n = pattern.node();
  if (n.kind == kind) return true;
  for (const Pattern& child : n.children) {
    if (containsKind(child, kind)) return true;
  }
  for (const auto& [modality, child] : n.by_q) {
    if (containsKind(child, kind)) return true;
  }
  for (const auto& [modalities, child] : n.by_q_k) {
    if (containsKind(child, kind)) return true;
  }
  return false;
}

// A picture needs one kept set; dynamic atoms choose theirs per input on the GPU.
void refuseDynamic(const Pattern& pattern) {
  if (const Pattern::Node* grid = findEstimatedGrid(pattern)) {
    throw Error(ErrorCategory::kUnsupported,
                fmt::format("pattern: grid_estimated (candidate strides {}) chooses its stride and "
                            "phases per input on the GPU, so there is no one kept set to draw; "
                            "draw a static grid instead: replace the grid_estimated term with "
                            "{{\"kind\": \"grid\", \"stride\": S, \"phase_q\": P, "
                            "\"phase_k\": P}} for the stride and phases to look at (e.g. stride "
                            "{}, phases 0)",
                            fmt::join(grid->strides, ", "), grid->strides.at(0)));
  }
  if (containsKind(pattern, Pattern::Kind::kVerticalSlash)) {
    throw Error(ErrorCategory::kUnsupported,
                "pattern: vertical_slash keeps per-input estimated indices (its vertical and "
                "slash sets are chosen on the GPU from each input), so there is no one kept set "
                "to draw; draw the pattern without the vertical_slash term, or with static "
                "stand-ins for it (vlines, local)");
  }
  if (isDynamic(pattern)) {
    throw Error(ErrorCategory::kUnsupported,
                "pattern: dynamic (estimated per input); a picture needs a static pattern");
  }
}

struct CompiledPlan {
  KernelSpec spec;
  std::vector<int> params;
  std::vector<AxisPlan> rows, cols;  // per pass
  std::vector<std::string> descriptions;
};

CompiledPlan compilePlan(const Pattern& pattern, const CompileOptions& plan) {
  refuseDynamic(pattern);
  if (plan.seq_len > kMaxVizSeqLen) {  // 2^29 once died in a bare bad_alloc
    throw Error(ErrorCategory::kInvalidArgument,
                fmt::format("seq_len: {}; allowed: at most {} for a picture (the row and column "
                            "maps take about 90 bytes per position)",
                            plan.seq_len, kMaxVizSeqLen));
  }
  CompiledPlan out;
  out.spec = compilePattern(pattern, plan);
  out.params = bindParams(out.spec, plan.layout, plan.seq_len);
  const size_t passes = out.spec.passes.size();
  for (size_t i = 0; i < passes; ++i) {
    const PassSpec& pass = out.spec.passes[i];
    out.rows.push_back(
        axisPlan(pass.rows, out.params, plan.layout, plan.seq_len, out.spec.tile.block_m));
    out.cols.push_back(
        axisPlan(pass.cols, out.params, plan.layout, plan.seq_len, out.spec.tile.block_n));
    out.descriptions.push_back(
        fmt::format("pass {} of {}{}: rows: {}; cols: {}", i + 1, passes,
                    i > 0 ? " (merged through the LSE, without what earlier passes keep)" : "",
                    describe(pass.rows, out.params), describe(pass.cols, out.params)));
  }
  return out;
}

}  // namespace

std::vector<PassOrder> plannedOrder(const Pattern& pattern, const CompileOptions& plan) {
  CompiledPlan compiled = compilePlan(pattern, plan);
  std::vector<PassOrder> out;
  for (size_t i = 0; i < compiled.spec.passes.size(); ++i) {
    out.push_back({std::move(compiled.rows[i].order), std::move(compiled.cols[i].order),
                   std::move(compiled.descriptions[i])});
  }
  return out;
}

VizImage renderPatternImage(const Pattern& pattern, const CompileOptions& plan,
                            const VizOptions& options) {
  const Layout& layout = plan.layout;
  const int64_t seq_len = plan.seq_len;
  if (options.max_panel_pixels < 16 || options.max_panel_pixels > 8192) {
    throw Error(ErrorCategory::kInvalidArgument,
                fmt::format("max_panel_pixels: {} is out of range; allowed: [16, 8192]",
                            options.max_panel_pixels));
  }
  if (options.band_pixels < 0 || options.band_pixels > 64 || options.gap_pixels < 0 ||
      options.gap_pixels > 256) {
    throw Error(ErrorCategory::kInvalidArgument,
                "band_pixels / gap_pixels: out of range; allowed: [0, 64] / [0, 256]");
  }
  if (seq_len < 1 || seq_len > (int64_t{1} << 30) - 2) {
    throw Error(ErrorCategory::kInvalidArgument,
                fmt::format("seq_len: {} is out of range; allowed: [1, 2^30 - 2]", seq_len));
  }
  layout.validate(seq_len);
  validate(pattern, layout, seq_len);
  const CompiledPlan compiled = compilePlan(pattern, plan);
  const int passes = static_cast<int>(compiled.spec.passes.size());

  // cell positions per pixel side; zoom pixels per position when the sequence is short.
  const int64_t max_px = options.max_panel_pixels;
  const int64_t cell = seq_len <= max_px ? 1 : (seq_len + max_px - 1) / max_px;
  const int64_t zoom = seq_len <= max_px ? std::max<int64_t>(1, max_px / seq_len) : 1;
  const int64_t cells = (seq_len + cell - 1) / cell;
  const int panel = static_cast<int>(cells * zoom);
  const int band = options.band_pixels, gap = options.gap_pixels;
  const int panels = 1 + passes;

  VizResult result;
  result.width = panels * (band + panel) + (panels - 1) * gap;
  result.height = band + panel;
  result.cell = cell;
  result.passes = compiled.descriptions;
  std::vector<uint8_t> rgb(static_cast<size_t>(result.width) * result.height * 3, 255);
  auto put = [&](int x, int y, Rgb c) {
    uint8_t* px = &rgb[(static_cast<size_t>(y) * result.width + x) * 3];
    px[0] = c[0];
    px[1] = c[1];
    px[2] = c[2];
  };

  std::vector<int64_t> identity(seq_len);
  for (int64_t i = 0; i < seq_len; ++i) identity[i] = i;
  const bool exact = seq_len <= options.exact_limit;
  std::vector<uint8_t> pattern_mask;
  if (exact) pattern_mask = keptMask(pattern, layout, seq_len);
  struct PanelSpec {
    const std::vector<int64_t>& rows;
    const std::vector<int64_t>& cols;
    CellSampler sampler;
  };
  std::vector<PanelSpec> panel_specs;
  panel_specs.push_back(
      {identity, identity,
       CellSampler([&](int64_t q, int64_t k) { return keptPair(pattern, layout, seq_len, q, k); },
                   pattern_mask, seq_len)});
  for (int i = 0; i < passes; ++i) {
    const int root = compiled.spec.passes[i].expr_root;
    const std::vector<sem::Coord>& row_coord = compiled.rows[i].coord;
    const std::vector<sem::Coord>& col_coord = compiled.cols[i].coord;
    auto keep = [&compiled, root, &row_coord, &col_coord](int64_t q, int64_t k) {
      return evalKeep(compiled.spec, root, compiled.params, row_coord[q], col_coord[k]);
    };
    // A pass computes a subset of the pattern's pairs: only those are evaluated.
    std::vector<uint8_t> mask;
    if (exact) {
      mask.assign(pattern_mask.size(), 0);
      for (size_t e = 0; e < mask.size(); ++e) {
        if (pattern_mask[e]) mask[e] = keep(static_cast<int64_t>(e) / seq_len, e % seq_len);
      }
    }
    panel_specs.push_back({compiled.rows[i].order, compiled.cols[i].order,
                           CellSampler(keep, std::move(mask), seq_len)});
  }
  for (int pi = 0; pi < panels; ++pi) {
    const PanelSpec& p = panel_specs[pi];
    const int x0 = band + pi * (band + panel + gap);
    for (int64_t ci = 0; ci < cells; ++ci) {
      const int64_t r0 = ci * cell, r1 = std::min(seq_len, r0 + cell);
      // Bands: the modality of the cell's first position, along the top and the left side.
      const Rgb row_color = modalityColor(layout.modalityAt(p.rows[r0], seq_len));
      const Rgb col_color = modalityColor(layout.modalityAt(p.cols[r0], seq_len));
      for (int64_t z = 0; z < zoom; ++z) {
        const int offset = static_cast<int>(ci * zoom + z);
        for (int b = 0; b < band; ++b) {
          put(x0 - band + b, band + offset, row_color);
          put(x0 + offset, b, col_color);
        }
      }
      for (int64_t cj = 0; cj < cells; ++cj) {
        const int64_t c0 = cj * cell, c1 = std::min(seq_len, c0 + cell);
        const double kept = p.sampler.fraction(p.rows, p.cols, r0, r1, c0, c1);
        const uint8_t grey = static_cast<uint8_t>(255.0 - 255.0 * kept + 0.5);
        for (int64_t zy = 0; zy < zoom; ++zy) {
          for (int64_t zx = 0; zx < zoom; ++zx) {
            put(x0 + static_cast<int>(cj * zoom + zx), band + static_cast<int>(ci * zoom + zy),
                {grey, grey, grey});
          }
        }
      }
    }
  }

  VizImage image;
  image.info = std::move(result);
  image.rgb = std::move(rgb);
  return image;
}

}  // namespace permjit::patterns
