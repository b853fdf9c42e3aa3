// Pictures of a pattern's kept set (PNG): the left panel in original order, then one panel per
// pass of the compiler's plan in that pass's order (compilePattern's KernelSpec, its MapRecipes
// turned into segment tables by Plan.h's buildSegmentTable; tile padding left out), showing
// the pairs the pass computes (Plan.h's evalKeep of the pass's predicate), so grid lines become
// dense bands. Modality spans are colored bands along both axes of each panel (vision
// orange, text blue, other grey). Long sequences are downsampled: each pixel is one cell of
// positions, its grey level the fraction of the cell's pairs kept (black = all, white = none).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "permjit/compiler/Pipeline.h"
#include "permjit/dsl/Pattern.h"

namespace permjit::patterns {

// The longest sequence a picture is drawn for (16M positions: about 1.5 GB of row and column
// maps); Error(kInvalidArgument) naming seq_len beyond it.
constexpr int64_t kMaxVizSeqLen = int64_t{1} << 24;

struct VizOptions {
  int max_panel_pixels = 512;  // each panel at most this many pixels a side (>= 16)
  int band_pixels = 6;         // modality band width
  int gap_pixels = 16;         // between the panels
  // Cells are exact up to this sequence length (keptMask, S*S bytes); beyond it each cell is
  // estimated from an 8 x 8 stratified sample of its pairs.
  int64_t exact_limit = 8192;
};

// One pass of a plan: its row and column orders (original positions in permuted order, padding
// left out) and a one-line description ("pass 2 of 2 (grid lines, merged through the LSE):
// rows: residue classes of stride 14 over vision; cols: ...").
struct PassOrder {
  std::vector<int64_t> rows, cols;
  std::string description;
};
// The plan the compiler builds for `plan` (its layout and seq_len are the shape drawn; use
// compileOptionsFor(PlanOptions) for the plan `permjit compile` / `run` build): one PassOrder
// per pass. Throws Error(kUnsupported) for dynamic patterns (vertical_slash, grid_estimated:
// the message names the atom and what to draw instead) and whatever compilePattern throws for
// patterns that do not fit the layout.
std::vector<PassOrder> plannedOrder(const Pattern& pattern, const CompileOptions& plan);

struct VizResult {
  int width = 0, height = 0;        // of the PNG
  int64_t cell = 1;                 // positions per pixel side (1: exact, no downsampling)
  std::vector<std::string> passes;  // PassOrder::description of each right-hand panel
};

// The picture writePatternPng writes, as 8-bit RGB rows (info.width * info.height * 3 bytes,
// top row first). Throws what writePatternPng throws, except Error(kIo).
struct VizImage {
  VizResult info;
  std::vector<uint8_t> rgb;
};
VizImage renderPatternImage(const Pattern& pattern, const CompileOptions& plan,
                            const VizOptions& options = {});

// Left panel: the kept set in original order. Then one panel per pass of the plan: the pairs
// that pass computes, in its row/col order (the passes' kept sets are disjoint, their union the
// pattern). Throws Error(kIo) when the file cannot be written, Error(kInvalidArgument) for bad
// options.
VizResult writePatternPng(const Pattern& pattern, const CompileOptions& plan,
                          const std::string& path, const VizOptions& options = {});

}  // namespace permjit::patterns
