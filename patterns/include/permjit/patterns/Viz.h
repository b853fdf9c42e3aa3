// Pictures of a pattern's kept set (PNG): the left panel in original order, the right panel in
// the order the compiler's planner chooses (compilePattern's KernelSpec, its MapRecipes turned
// into segment tables by Plan.h's buildSegmentTable; tile padding left out), so grid lines
// become dense bands. Modality spans are colored bands along both axes of each panel (vision
// orange, text blue, other grey). Long sequences are downsampled: each pixel is one cell of
// positions, its grey level the fraction of the cell's pairs kept (black = all, white = none).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "permjit/dsl/Pattern.h"

namespace permjit::patterns {

struct VizOptions {
  int max_panel_pixels = 512;  // each panel at most this many pixels a side (>= 16)
  int band_pixels = 6;         // modality band width
  int gap_pixels = 16;         // between the panels
  // Cells are exact up to this sequence length (keptMask, S*S bytes); beyond it each cell is
  // estimated from an 8 x 8 stratified sample of its pairs.
  int64_t exact_limit = 8192;
};

// The planner's row and column orders: original positions in permuted order (padding left
// out), and a one-line description ("rows: residue stride 14 over vision; cols: ...").
struct PlannedOrder {
  std::vector<int64_t> rows, cols;
  std::string description;
};
// Throws Error(kUnsupported) for dynamic patterns (vertical_slash needs per-input indices) and
// whatever compilePattern throws for patterns that do not fit the layout.
PlannedOrder plannedOrder(const Pattern& pattern, const Layout& layout, int64_t seq_len);

struct VizResult {
  int width = 0, height = 0;  // of the PNG
  int64_t cell = 1;           // positions per pixel side (1: exact, no downsampling)
  std::string permutation;    // PlannedOrder::description
};

// Throws Error(kIo) when the file cannot be written, Error(kInvalidArgument) for bad options.
VizResult writePatternPng(const Pattern& pattern, const Layout& layout, int64_t seq_len,
                          const std::string& path, const VizOptions& options = {});

}  // namespace permjit::patterns
