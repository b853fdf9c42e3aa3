// Runs a LayerPlan on random inputs on the GPU and checks every head against the float64 CPU
// reference (dsl Reference.h): the engine of `permjit run --model-config` and the layer GPU
// tests. Inputs are random bf16/fp16 values; outputs and lse are poisoned with NaN first, so
// an element no kernel writes fails. Small problems are checked in full, larger ones on a
// sample of rows of every (batch, head). A dynamic head (vertical_slash) is checked against the
// mask of the indices its estimator chose (Plan::estimatedIndices).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "permjit/patterns/Layer.h"

namespace permjit::patterns {

struct LayerCheckConfig {
  int64_t batch = 1, kv_heads = 0, seq_len = 0;
  TensorLayout tensor_layout = TensorLayout::kBSHD;  // kBSHD or kBHSD
  std::optional<Layout> request_layout;              // for kRequest layout rules
  // Pass an lse buffer to the layer (and check it); else multi-pass heads merge through the
  // workspace. Needs seq_len % 4 == 0 when batch * heads > 1.
  bool with_lse = true;
  uint64_t seed = 1;
  int device_ordinal = 0;             // the device of the layer plan's runtime
  double full_reference_limit = 2e9;  // batch*heads*S*S*D above this: sampled rows
  int sample_rows = 48;               // per (batch, head) when sampling
  int timing_iterations = 0;          // 0: no timing
};

struct HeadCheck {
  int64_t head = 0;
  double rel_l2 = 0;       // ||out - ref|| / ||ref|| over the checked rows of this head
  double lse_max_abs = 0;  // over checked rows with a kept key (0 without lse)
  bool nan_found = false;
  int64_t rows_checked = 0;
  double kept_fraction = 0;  // of the pairs of the checked rows (all batch elements)
};

struct LayerCheckResult {
  Layout layout;  // the request layout the layer ran with
  bool full_reference = false;
  std::vector<HeadCheck> heads;
  double median_ms = 0;  // one whole-layer run
  bool passed(double tolerance) const;
};

// Needs a device runtime behind `layer` (Error(kDriverError) "no CUDA driver/GPU: ..."
// otherwise).
LayerCheckResult checkLayer(const LayerPlan& layer, const LayerCheckConfig& config);

}  // namespace permjit::patterns
