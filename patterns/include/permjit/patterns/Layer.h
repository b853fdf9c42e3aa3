// Every head of one layer from a model config (ModelConfig.h), planned and run in one call.
//
//   permjit::Runtime runtime;
//   auto config = permjit::patterns::loadModelConfig("llava.json");
//   permjit::patterns::LayerPlan layer = permjit::patterns::planLayer(runtime, config, 3, {});
//   size_t bytes = layer.workspaceBytes(batch, seq_len);     // 0 for most layers
//   layer.run({.q = q, .k = k, .v = v, .o = o, .batch = batch, .heads = 32, .kv_heads = 8,
//              .seq_len = seq_len, .workspace = ws, .workspace_bytes = bytes}, stream);
//
// Each head gets the Plan of its own pattern (heads with equal patterns share one Plan, and
// heads whose patterns differ only in values share compiled kernels through the runtime's
// cache). run() enqueues every head's passes on the caller's stream, head after head, each as
// a one-head run on that head's slice of q/k/v/o (GQA: the head's kv head): no allocation, no
// synchronization, so it can be captured in a CUDA graph.
//
// Scratch: the caller's workspace holds, per head with a dynamic plan (vertical_slash), a
// 256-byte aligned slice of Plan::workspaceBytes(batch, 1, seq_len) bytes, and, when some head
// has several passes and LayerRunArgs::lse is null, one 256-byte aligned [batch, seq_len] fp32
// log-sum-exp buffer that those heads use in turn (stream order keeps them apart).
//
// Every failure is a permjit::Error naming the field; a head whose pattern the runtime cannot
// plan yet keeps its category (vertical_slash: kUnsupported until dynamic plans land) and the
// message names the layer and head.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "permjit/patterns/ModelConfig.h"
#include "permjit/permjit.h"

namespace permjit::patterns {

struct LayerPlanOptions {
  int head_dim = 128;  // 64 or 128
  DType dtype = DType::kBF16;
  std::optional<TileConfig> tile;  // default: the runtime's (tuning database, else compiler's)
  PassSplit pass_split = PassSplit::kAuto;
};

struct LayerRunArgs {
  // All heads of the layer: q, o with `heads` heads, k, v with kv_heads, laid out as
  // tensor_layout says (head_dim contiguous), like RunArgs.
  const void* q = nullptr;
  const void* k = nullptr;
  const void* v = nullptr;
  void* o = nullptr;
  // Optional fp32 [batch, heads, seq_len] log-sum-exp per row, written for every head. With
  // batch * heads > 1 every head's rows must start 16-byte aligned (seq_len % 4 == 0); with
  // lse and batch > 1 each head runs one launch per batch element. Null: heads of several
  // passes merge through the workspace's lse buffer.
  float* lse = nullptr;
  int64_t batch = 1;
  int64_t heads = 0;     // must equal the config's num_heads
  int64_t kv_heads = 0;  // 0: same as heads; heads % kv_heads == 0 (GQA)
  int64_t seq_len = 0;
  std::optional<DType> dtype;  // checked against the layer's when given
  TensorLayout tensor_layout = TensorLayout::kBSHD;
  Strides q_strides, k_strides, v_strides, o_strides;  // kStrided only: the whole tensors'
  // The request's modality layout: required when the config's layout rules are kRequest,
  // ignored otherwise (the rules derive it from seq_len).
  std::optional<Layout> layout;
  std::optional<float> softmax_scale;  // default 1 / sqrt(head_dim)
  // At least LayerPlan::workspaceBytes(batch, seq_len) bytes, 256-byte aligned; may be null
  // when that is 0.
  void* workspace = nullptr;
  size_t workspace_bytes = 0;
};

class LayerPlan {
 public:
  int64_t layer() const { return layer_; }
  int64_t numHeads() const { return static_cast<int64_t>(head_plan_.size()); }
  int headDim() const { return options_.head_dim; }
  DType dtype() const { return options_.dtype; }
  const LayoutRules& layoutRules() const { return layout_rules_; }
  // Error(kInvalidArgument) naming `head` when out of range.
  const Plan& headPlan(int64_t head) const;
  const Pattern& headPattern(int64_t head) const;
  // Distinct Plans (heads with equal patterns share one).
  int64_t numDistinctPlans() const { return static_cast<int64_t>(plans_.size()); }
  bool hasDynamicHeads() const;
  bool hasMultiPassHeads() const;

  // Device scratch run() needs for this shape (see the header comment); 0 when no head is
  // dynamic and no head has several passes.
  size_t workspaceBytes(int64_t batch, int64_t seq_len) const;
  // Offset of head `head`'s dynamic-plan slice in the workspace (meaningful for dynamic heads).
  size_t headWorkspaceOffset(int64_t head, int64_t batch, int64_t seq_len) const;
  // The layout a request of seq_len tokens runs with: layoutFor(config rules, ...).
  Layout requestLayout(int64_t seq_len, const Layout* request_layout = nullptr) const;

  // Checks the layer's arguments (pointers, shapes, layout against every head's pattern,
  // workspace, lse) before the first launch, so bad input enqueues nothing; then enqueues every
  // head. A limit only a head's own launch finds (Plan::run: e.g. too many row tiles) throws
  // from that head, after the heads before it were enqueued.
  void run(const LayerRunArgs& args, void* stream = nullptr) const;

  // What run() enqueues, in order, after the same checks: each head's one-head RunArgs on its
  // slice of the layer's tensors, lse and workspace (one per batch element when the caller's
  // lse is given with batch > 1). For inspection and tests; run() is headPlan(head).run(args).
  struct HeadRun {
    int64_t head = 0;
    RunArgs args;
  };
  std::vector<HeadRun> headRuns(const LayerRunArgs& args) const;

 private:
  friend LayerPlan planLayer(Runtime&, const ModelConfig&, int, const LayerPlanOptions&);
  LayerPlan() = default;
  size_t dynamicBytes(int64_t batch, int64_t seq_len) const;  // the heads' slices, in order

  int64_t layer_ = 0;
  LayerPlanOptions options_;
  LayoutRules layout_rules_;
  std::vector<Pattern> patterns_;  // distinct patterns
  std::vector<Plan> plans_;        // plans_[i] serves patterns_[i]
  std::vector<size_t> head_plan_;  // head -> index into plans_
};

// One Plan per distinct head pattern of `layer`. Error(kInvalidArgument) naming the configured
// layers when `layer` is not in the config; a head that cannot be planned fails with its own
// category, the message prefixed with "layer L head H (<head summary>): ".
LayerPlan planLayer(Runtime& runtime, const ModelConfig& config, int layer,
                    const LayerPlanOptions& options = {});

}  // namespace permjit::patterns
