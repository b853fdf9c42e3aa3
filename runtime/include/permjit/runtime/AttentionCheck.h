// Runs a plan on random inputs on the GPU and checks it against the float64 CPU reference
// (dsl Reference.h): the engine of `permjit run`, `permjit demo` and the GPU tests.
//
// Inputs are random bf16/fp16 values (never zeros); the reference reads the same rounded
// values. Outputs are poisoned with NaN first, so an element the kernel never writes fails.
// Small problems are checked in full, larger ones on a sample of rows.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "permjit/permjit.h"

namespace permjit::runtime {

struct CheckConfig {
  int64_t batch = 1, heads = 1, kv_heads = 0, seq_len = 0;
  TensorLayout tensor_layout = TensorLayout::kBSHD;
  Layout layout;
  uint64_t seed = 1;
  int timing_iterations = 0;          // 0: no timing
  double full_reference_limit = 1e9;  // batch*heads*S*S*D above this: sampled rows
  int sample_rows = 48;
  // Planted vertical_slash structure (estimator tests): when either is set, q and k are built
  // so that every query attends strongly to these key columns and to the key at offset
  // planted_slash (q - k == planted_slash), instead of being uniform random.
  std::vector<int64_t> planted_vertical;
  int64_t planted_slash = -1;
  // The same per query modality (per-modality estimator tests, with `layout`): the rows of
  // `rows` attend to that entry's columns and diagonal only. Instead of the two above.
  struct PlantedRows {
    Modality rows = Modality::kVision;
    std::vector<int64_t> vertical;
    int64_t slash = -1;
  };
  std::vector<PlantedRows> planted_by_modality;
  // Planted grid (grid estimator tests): inside [planted_grid_begin, planted_grid_end), keys of
  // residue phase_k share one direction that every query outside residue class phase_q (and
  // every query after the span) points along, so those rows put most of their mass on the
  // vertical lines; queries of residue phase_q are near zero, so they attend uniformly and no
  // vertical line serves them (they need whole rows: the horizontal lines).
  std::optional<GridChoice> planted_grid;
  int64_t planted_grid_begin = 0, planted_grid_end = 0;
  // Static plans: run with Plan::keySplitWorkspaceBytes of workspace (the key split may cut
  // heavy row tiles into chunks); false: without a workspace (no split).
  bool key_split_workspace = true;
};

struct CheckResult {
  double rel_l2 = 0;       // ||out - ref|| / ||ref|| over the checked rows
  double lse_max_abs = 0;  // over checked rows with at least one kept key
  bool nan_found = false;  // NaN/Inf in a checked output (unwritten outputs show up so)
  bool full_reference = false;
  int64_t rows_checked = 0;
  double kept_fraction = 0;  // of all S*S pairs (estimated from sampled rows when large)
  bool kept_exact = false;
  double median_ms = 0;
  double eff_tflops = 0;    // 4 * batch * heads * head_dim * kept / time
  double attention_ms = 0;  // dynamic plans: median with the estimate reused (no estimator)
  // Dynamic plans: the sets the estimator chose per (batch, head); the reference used them.
  std::vector<DynamicIndices> estimated;
  // Static plans run with a key-split workspace: what the key split chose for the LAST pass
  // (the workspace's KeySplitHeader after the run); -1 without one.
  int key_split_tiles = -1;  // row tiles cut into chunks
  int key_split_extra = -1;  // extra CTAs that ran a chunk

  bool passed(double tolerance) const { return !nan_found && rel_l2 < tolerance; }
};

// Needs a device runtime (Error(kDriverError) otherwise).
CheckResult checkPlan(Runtime& runtime, const Plan& plan, const Pattern& pattern,
                      const CheckConfig& config);

// The tolerance the project uses for a dtype: 2e-2 for bf16, 5e-3 for fp16 (relative L2).
double toleranceFor(DType dtype);

// Host-side kept fraction of a pattern (exact up to `exact_limit` positions, else sampled).
double keptFraction(const Pattern& pattern, const Layout& layout, int64_t seq_len,
                    bool* exact = nullptr, int64_t exact_limit = 8192);

uint16_t floatToHalfBits(float value, DType dtype);
float halfBitsToFloat(uint16_t bits, DType dtype);

// Element (b, h, s, d) of a contiguous [batch, heads, seq_len, head_dim] tensor stored as
// `layout` says (kBSHD or kBHSD).
int64_t tensorOffset(TensorLayout layout, int64_t b, int64_t h, int64_t s, int64_t d, int64_t heads,
                     int64_t seq_len, int64_t head_dim);

// A random input and the float64 reference of the same rounded values.
struct HostTensor {
  std::vector<uint16_t> device_bits;  // in the run's tensor layout
  std::vector<double> reference;      // [B, H, S, D] of the same rounded values
};
// Uniform values in [-1, 1) rounded to `dtype`, drawn in [B, H, S, D] order.
HostTensor randomTensor(std::mt19937_64& rng, DType dtype, TensorLayout layout, int64_t batch,
                        int64_t heads, int64_t seq_len, int64_t head_dim);

}  // namespace permjit::runtime
