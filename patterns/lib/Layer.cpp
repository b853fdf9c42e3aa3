#include "permjit/patterns/Layer.h"

#include <fmt/format.h>

#include <cstdint>

namespace permjit::patterns {
namespace {

// bf16 and fp16, the only element types plans take.
constexpr int64_t kElementBytes = 2;
constexpr size_t kSliceAlign = 256;

size_t alignUp(size_t bytes) { return (bytes + kSliceAlign - 1) / kSliceAlign * kSliceAlign; }

Error invalid(const std::string& message) {
  return Error(ErrorCategory::kInvalidArgument, message);
}

void checkShape(int64_t batch, int64_t seq_len) {
  if (batch < 1) throw invalid(fmt::format("batch: {}; allowed: >= 1", batch));
  if (seq_len < 1) throw invalid(fmt::format("seq_len: {}; allowed: >= 1", seq_len));
}

void checkPointer(const void* pointer, const char* name) {
  if (pointer == nullptr) {
    throw invalid(fmt::format("{}: null pointer; a device pointer is required", name));
  }
}

// The strides of the whole tensor (all heads), from which each head's slice is taken.
Strides tensorStrides(const LayerRunArgs& args, const Strides& strided, int64_t heads,
                      int64_t head_dim) {
  const int64_t s = args.seq_len;
  switch (args.tensor_layout) {
    case TensorLayout::kBSHD:
      return {s * heads * head_dim, heads * head_dim, head_dim};
    case TensorLayout::kBHSD:
      return {heads * s * head_dim, head_dim, s * head_dim};
    case TensorLayout::kStrided:
      return strided;
  }
  throw invalid("tensor_layout: unknown value; allowed: bshd, bhsd, strided");
}

// Each head's slice starts at head * stride.head: a positive multiple of 8 elements keeps every
// slice 16-byte aligned (the per-head run checks the seq and batch strides itself).
void checkHeadStride(const Strides& strides, const char* name, int64_t heads) {
  if (heads <= 1) return;
  if (strides.head <= 0 || strides.head % 8 != 0) {
    throw invalid(fmt::format(
        "{}.head: {} elements; allowed: positive multiples of 8 (every head's slice must start "
        "16-byte aligned)",
        name, strides.head));
  }
}

const void* offsetBy(const void* base, int64_t elements) {
  return static_cast<const char*>(base) + elements * kElementBytes;
}
void* offsetBy(void* base, int64_t elements) {
  return static_cast<char*>(base) + elements * kElementBytes;
}

}  // namespace

const Plan& LayerPlan::headPlan(int64_t head) const {
  if (head < 0 || head >= numHeads()) {
    throw invalid(fmt::format("head: {} is out of range; allowed: [0, {})", head, numHeads()));
  }
  return plans_[head_plan_[static_cast<size_t>(head)]];
}

const Pattern& LayerPlan::headPattern(int64_t head) const {
  headPlan(head);  // range check
  return patterns_[head_plan_[static_cast<size_t>(head)]];
}

bool LayerPlan::hasDynamicHeads() const {
  for (const Plan& plan : plans_) {
    if (plan.isDynamic()) return true;
  }
  return false;
}

bool LayerPlan::hasMultiPassHeads() const {
  for (const Plan& plan : plans_) {
    if (plan.numPasses() > 1) return true;
  }
  return false;
}

size_t LayerPlan::headWorkspaceOffset(int64_t head, int64_t batch, int64_t seq_len) const {
  headPlan(head);
  checkShape(batch, seq_len);
  size_t at = 0;
  for (int64_t h = 0; h < head; ++h) at += alignUp(headPlan(h).workspaceBytes(batch, 1, seq_len));
  return at;
}

size_t LayerPlan::dynamicBytes(int64_t batch, int64_t seq_len) const {
  return headWorkspaceOffset(numHeads() - 1, batch, seq_len) +
         alignUp(headPlan(numHeads() - 1).workspaceBytes(batch, 1, seq_len));
}

size_t LayerPlan::workspaceBytes(int64_t batch, int64_t seq_len) const {
  size_t at = dynamicBytes(batch, seq_len);
  if (hasMultiPassHeads()) {
    at += alignUp(static_cast<size_t>(batch) * static_cast<size_t>(seq_len) * sizeof(float));
  }
  return at;
}

Layout LayerPlan::requestLayout(int64_t seq_len, const Layout* request_layout) const {
  return layoutFor(layout_rules_, seq_len, request_layout);
}

std::vector<LayerPlan::HeadRun> LayerPlan::headRuns(const LayerRunArgs& args) const {
  // ---- Validation of the whole layer before the first launch.
  checkPointer(args.q, "q");
  checkPointer(args.k, "k");
  checkPointer(args.v, "v");
  checkPointer(args.o, "o");
  checkShape(args.batch, args.seq_len);
  if (args.heads != numHeads()) {
    throw invalid(
        fmt::format("heads: {} differs from the config's num_heads {} (layer {}); allowed: {}",
                    args.heads, numHeads(), layer_, numHeads()));
  }
  const int64_t kv_heads = args.kv_heads == 0 ? args.heads : args.kv_heads;
  if (kv_heads < 1 || args.heads % kv_heads != 0) {
    throw invalid(fmt::format(
        "kv_heads: {} does not divide heads {}; allowed: divisors of heads (GQA), 0 = heads",
        args.kv_heads, args.heads));
  }
  if (args.dtype && *args.dtype != options_.dtype) {
    throw invalid(fmt::format("dtype: {} differs from the layer plan's {}; allowed: {}",
                              dtypeName(*args.dtype), dtypeName(options_.dtype),
                              dtypeName(options_.dtype)));
  }
  if (args.tensor_layout == TensorLayout::kStrided) {
    checkHeadStride(args.q_strides, "q_strides", args.heads);
    checkHeadStride(args.o_strides, "o_strides", args.heads);
    checkHeadStride(args.k_strides, "k_strides", kv_heads);
    checkHeadStride(args.v_strides, "v_strides", kv_heads);
  }
  Layout layout;
  try {
    layout = requestLayout(args.seq_len, args.layout ? &*args.layout : nullptr);
  } catch (const Error& error) {
    throw invalid(std::string("layout: ") + error.what());
  }
  for (size_t i = 0; i < patterns_.size(); ++i) {
    try {
      validate(patterns_[i], layout, args.seq_len);
    } catch (const Error& error) {
      throw invalid(fmt::format("layout: {} does not fit the pattern {} of layer {}: {}",
                                layout.str(), patterns_[i].str(), layer_, error.what()));
    }
  }
  const size_t need = workspaceBytes(args.batch, args.seq_len);
  if (need > 0) {
    checkPointer(args.workspace, "workspace");
    if (reinterpret_cast<uintptr_t>(args.workspace) % kSliceAlign != 0) {
      throw invalid(
          "workspace: pointer is not 256-byte aligned; allowed: 256-byte aligned "
          "addresses (cuMemAlloc's are)");
    }
    if (args.workspace_bytes < need) {
      throw invalid(fmt::format(
          "workspace_bytes: {}; allowed: >= {} (LayerPlan::workspaceBytes(batch {}, seq_len {}))",
          args.workspace_bytes, need, args.batch, args.seq_len));
    }
  }
  const bool lse_per_batch = args.lse != nullptr && args.batch > 1;
  if (args.lse != nullptr) {
    if (reinterpret_cast<uintptr_t>(args.lse) % 16 != 0) {
      throw invalid("lse: pointer is not 16-byte aligned; allowed: 16-byte aligned addresses");
    }
    if (args.batch * args.heads > 1 && args.seq_len % 4 != 0) {
      throw invalid(fmt::format(
          "lse: seq_len {} puts the rows of head 1 off 16-byte alignment; allowed: lse with "
          "seq_len a multiple of 4, or lse null (heads of several passes then merge through the "
          "workspace)",
          args.seq_len));
    }
  }

  // ---- Each head a one-head run on its slice, in head order.
  const int64_t head_dim = options_.head_dim;
  const Strides q_strides = tensorStrides(args, args.q_strides, args.heads, head_dim);
  const Strides k_strides = tensorStrides(args, args.k_strides, kv_heads, head_dim);
  const Strides v_strides = tensorStrides(args, args.v_strides, kv_heads, head_dim);
  const Strides o_strides = tensorStrides(args, args.o_strides, args.heads, head_dim);
  const int64_t group = args.heads / kv_heads;
  char* workspace = static_cast<char*>(args.workspace);
  float* lse_scratch =
      hasMultiPassHeads()
          ? reinterpret_cast<float*>(workspace + dynamicBytes(args.batch, args.seq_len))
          : nullptr;
  std::vector<HeadRun> runs;
  size_t head_offset = 0;
  for (int64_t h = 0; h < args.heads; ++h) {
    const Plan& plan = headPlan(h);
    const int64_t kv = h / group;
    RunArgs run;
    run.heads = 1;
    run.kv_heads = 1;
    run.seq_len = args.seq_len;
    run.head_dim = head_dim;
    run.dtype = options_.dtype;
    run.tensor_layout = TensorLayout::kStrided;
    run.q_strides = q_strides;
    run.k_strides = k_strides;
    run.v_strides = v_strides;
    run.o_strides = o_strides;
    run.layout = layout;
    run.softmax_scale = args.softmax_scale;
    const size_t head_bytes = plan.workspaceBytes(args.batch, 1, args.seq_len);
    const int64_t launches = lse_per_batch ? args.batch : 1;
    // With the caller's lse and batch > 1 the [batch, heads, seq] rows of one head are not
    // contiguous, so that head runs once per batch element.
    for (int64_t b = 0; b < launches; ++b) {
      const int64_t batch_at = lse_per_batch ? b : 0;
      run.batch = lse_per_batch ? 1 : args.batch;
      run.q = offsetBy(args.q, batch_at * q_strides.batch + h * q_strides.head);
      run.o = offsetBy(args.o, batch_at * o_strides.batch + h * o_strides.head);
      run.k = offsetBy(args.k, batch_at * k_strides.batch + kv * k_strides.head);
      run.v = offsetBy(args.v, batch_at * v_strides.batch + kv * v_strides.head);
      if (args.lse != nullptr) {
        run.lse = args.lse + (batch_at * args.heads + h) * args.seq_len;
      } else {
        run.lse = plan.numPasses() > 1 ? lse_scratch : nullptr;
      }
      if (head_bytes > 0) {
        const size_t one = plan.workspaceBytes(1, 1, args.seq_len);
        if (one * static_cast<size_t>(args.batch) > head_bytes) {
          throw Error(ErrorCategory::kInternal,
                      "workspace: a head's per-batch slices exceed its workspace; "
                      "Plan::workspaceBytes is expected to grow linearly in batch");
        }
        run.workspace = workspace + head_offset + static_cast<size_t>(batch_at) * one;
        run.workspace_bytes = lse_per_batch ? one : head_bytes;
      }
      runs.push_back({h, run});
    }
    head_offset += alignUp(head_bytes);
  }
  return runs;
}

void LayerPlan::run(const LayerRunArgs& args, void* stream) const {
  for (const HeadRun& run : headRuns(args)) headPlan(run.head).run(run.args, stream);
}

LayerPlan planLayer(Runtime& runtime, const ModelConfig& config, int layer,
                    const LayerPlanOptions& options) {
  validateModelConfig(config);
  LayerPlan out;
  out.layer_ = layer;
  out.options_ = options;
  out.layout_rules_ = config.layout_rules;
  PlanOptions plan_options;
  plan_options.head_dim = options.head_dim;
  plan_options.dtype = options.dtype;
  plan_options.tile = options.tile;
  plan_options.pass_split = options.pass_split;
  plan_options.name = fmt::format("layer{}", layer);
  // patternFor names the configured layers when `layer` is not one of them.
  const int64_t heads = config.num_heads;
  for (int64_t h = 0; h < heads; ++h) {
    Pattern pattern = patternFor(config, layer, static_cast<int>(h));
    size_t index = 0;
    while (index < out.patterns_.size() && !(out.patterns_[index] == pattern)) ++index;
    if (index == out.patterns_.size()) {
      try {
        out.plans_.push_back(runtime.plan(pattern, plan_options));
      } catch (const Error& error) {
        const LayerConfig* found = nullptr;
        for (const LayerConfig& l : config.layers) {
          if (l.layer == layer) found = &l;
        }
        throw Error(error.category(),
                    fmt::format("layer {} head {} ({}): {}", layer, h,
                                headSummary(found->heads[static_cast<size_t>(h)]), error.what()));
      }
      out.patterns_.push_back(std::move(pattern));
    }
    out.head_plan_.push_back(index);
  }
  return out;
}

}  // namespace permjit::patterns
