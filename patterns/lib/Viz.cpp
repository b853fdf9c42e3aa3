#include "permjit/patterns/Viz.h"

#include <fmt/format.h>
#include <png.h>

#include <algorithm>
#include <array>

#include "permjit/compiler/Pipeline.h"
#include "permjit/compiler/Plan.h"
#include "permjit/dsl/Reference.h"

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

std::vector<int64_t> axisOrder(const MapRecipe& recipe, const std::vector<int>& params,
                               const Layout& layout, int64_t seq_len, int tile) {
  sem::SegmentTable table = buildSegmentTable(recipe, params, layout, seq_len, tile);
  std::vector<int64_t> order;
  order.reserve(seq_len);
  for (int p = 0; p < table.total; ++p) {
    sem::Coord c = sem::map_index(table, p);
    if (c.pos >= 0) order.push_back(c.pos);
  }
  if (static_cast<int64_t>(order.size()) != seq_len) {
    throw Error(ErrorCategory::kInternal,
                fmt::format("viz: the segment table maps {} positions; expected seq_len {}",
                            order.size(), seq_len));
  }
  return order;
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

// Grey value of a cell of an S x S kept set seen through row/col orders.
class CellSampler {
 public:
  CellSampler(const Pattern& pattern, const Layout& layout, int64_t S, bool exact)
      : pattern_(pattern), layout_(layout), S_(S), exact_(exact) {
    if (exact_) mask_ = keptMask(pattern, layout, S);
  }

  // Fraction kept among rows[r0, r1) x cols[c0, c1).
  double fraction(const std::vector<int64_t>& rows, const std::vector<int64_t>& cols, int64_t r0,
                  int64_t r1, int64_t c0, int64_t c1) const {
    if (exact_) {
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
        kept +=
            keptPair(pattern_, layout_, S_, rows[std::min(i, r1 - 1)], cols[std::min(j, c1 - 1)]);
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

  const Pattern& pattern_;
  const Layout& layout_;
  int64_t S_;
  bool exact_;
  std::vector<uint8_t> mask_;
};

}  // namespace

PlannedOrder plannedOrder(const Pattern& pattern, const Layout& layout, int64_t seq_len) {
  if (isDynamic(pattern)) {
    throw Error(ErrorCategory::kUnsupported,
                "pattern: vertical_slash keeps per-input estimated indices; a picture needs a "
                "static pattern");
  }
  CompileOptions options;
  options.layout = layout;
  options.seq_len = seq_len;
  const KernelSpec spec = compilePattern(pattern, options);
  const std::vector<int> params = bindParams(spec, layout, seq_len);
  // The first pass that permutes anything (passes after it share the kept set, not the order).
  const PassSpec* pass = &spec.passes.at(0);
  for (const PassSpec& p : spec.passes) {
    if (!p.rows.isIdentity() || !p.cols.isIdentity()) {
      pass = &p;
      break;
    }
  }
  PlannedOrder out;
  out.rows = axisOrder(pass->rows, params, layout, seq_len, spec.tile.block_m);
  out.cols = axisOrder(pass->cols, params, layout, seq_len, spec.tile.block_n);
  out.description =
      fmt::format("rows: {}; cols: {} (compiler plan, pass {} of {})", describe(pass->rows, params),
                  describe(pass->cols, params), pass - spec.passes.data() + 1, spec.passes.size());
  return out;
}

VizResult writePatternPng(const Pattern& pattern, const Layout& layout, int64_t seq_len,
                          const std::string& path, const VizOptions& options) {
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
  const PlannedOrder planned = plannedOrder(pattern, layout, seq_len);

  // cell positions per pixel side; zoom pixels per position when the sequence is short.
  const int64_t max_px = options.max_panel_pixels;
  const int64_t cell = seq_len <= max_px ? 1 : (seq_len + max_px - 1) / max_px;
  const int64_t zoom = seq_len <= max_px ? std::max<int64_t>(1, max_px / seq_len) : 1;
  const int64_t cells = (seq_len + cell - 1) / cell;
  const int panel = static_cast<int>(cells * zoom);
  const int band = options.band_pixels, gap = options.gap_pixels;

  VizResult result;
  result.width = 2 * (band + panel) + gap;
  result.height = band + panel;
  result.cell = cell;
  result.permutation = planned.description;
  std::vector<uint8_t> rgb(static_cast<size_t>(result.width) * result.height * 3, 255);
  auto put = [&](int x, int y, Rgb c) {
    uint8_t* px = &rgb[(static_cast<size_t>(y) * result.width + x) * 3];
    px[0] = c[0];
    px[1] = c[1];
    px[2] = c[2];
  };

  std::vector<int64_t> identity(seq_len);
  for (int64_t i = 0; i < seq_len; ++i) identity[i] = i;
  const CellSampler sampler(pattern, layout, seq_len, seq_len <= options.exact_limit);
  struct PanelSpec {
    const std::vector<int64_t>& rows;
    const std::vector<int64_t>& cols;
    int x0;
  };
  const PanelSpec panels[2] = {{identity, identity, band},
                               {planned.rows, planned.cols, 2 * band + panel + gap}};
  for (const PanelSpec& p : panels) {
    for (int64_t ci = 0; ci < cells; ++ci) {
      const int64_t r0 = ci * cell, r1 = std::min(seq_len, r0 + cell);
      // Bands: the modality of the cell's first position, along the top and the left side.
      const Rgb row_color = modalityColor(layout.modalityAt(p.rows[r0], seq_len));
      const Rgb col_color = modalityColor(layout.modalityAt(p.cols[r0], seq_len));
      for (int64_t z = 0; z < zoom; ++z) {
        const int offset = static_cast<int>(ci * zoom + z);
        for (int b = 0; b < band; ++b) {
          put(p.x0 - band + b, band + offset, row_color);
          put(p.x0 + offset, b, col_color);
        }
      }
      for (int64_t cj = 0; cj < cells; ++cj) {
        const int64_t c0 = cj * cell, c1 = std::min(seq_len, c0 + cell);
        const double kept = sampler.fraction(p.rows, p.cols, r0, r1, c0, c1);
        const uint8_t grey = static_cast<uint8_t>(255.0 - 255.0 * kept + 0.5);
        for (int64_t zy = 0; zy < zoom; ++zy) {
          for (int64_t zx = 0; zx < zoom; ++zx) {
            put(p.x0 + static_cast<int>(cj * zoom + zx), band + static_cast<int>(ci * zoom + zy),
                {grey, grey, grey});
          }
        }
      }
    }
  }

  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  image.width = static_cast<png_uint_32>(result.width);
  image.height = static_cast<png_uint_32>(result.height);
  image.format = PNG_FORMAT_RGB;
  if (!png_image_write_to_file(&image, path.c_str(), 0, rgb.data(), result.width * 3, nullptr)) {
    std::string why = image.message;
    png_image_free(&image);
    throw Error(ErrorCategory::kIo, fmt::format("{}: cannot write PNG: {}", path, why));
  }
  return result;
}

}  // namespace permjit::patterns
