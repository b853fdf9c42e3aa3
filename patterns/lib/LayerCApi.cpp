// The layer C API (permjit_layer_c.h) over LayerPlan; permjit_c.h's conventions through
// capi::callGuarded (no exception crosses, the last error is permjit_last_error()).
#include <memory>
#include <string>
#include <vector>

#include "permjit/patterns/Layer.h"
#include "permjit/permjit_layer_c.h"
#include "permjit/runtime/CApiAccess.h"

struct permjit_layer_plan {
  permjit::patterns::LayerPlan layer;
};

namespace {

using permjit::Error;
using permjit::ErrorCategory;

Error nullArgument(const char* name) {
  return Error(ErrorCategory::kInvalidArgument,
               std::string(name) + ": null; allowed: a valid pointer/handle");
}

permjit::DType dtypeOf(permjit_dtype_t dtype, const char* field) {
  switch (dtype) {
    case PERMJIT_DTYPE_BF16:
      return permjit::DType::kBF16;
    case PERMJIT_DTYPE_FP16:
      return permjit::DType::kFP16;
    default:
      throw Error(ErrorCategory::kUnsupported,
                  std::string(field) + ": " + std::to_string(static_cast<int>(dtype)) +
                      "; allowed: PERMJIT_DTYPE_BF16 (1), PERMJIT_DTYPE_FP16 (2)");
  }
}

permjit::patterns::LayerPlanOptions layerOptionsOf(const permjit_plan_options_t* options) {
  permjit::patterns::LayerPlanOptions cpp;
  if (options == nullptr) return cpp;
  cpp.head_dim = options->head_dim;
  cpp.dtype = dtypeOf(options->dtype, "options.dtype");
  switch (options->pass_split) {
    case PERMJIT_PASSES_AUTO:
      cpp.pass_split = permjit::PassSplit::kAuto;
      break;
    case PERMJIT_PASSES_SINGLE:
      cpp.pass_split = permjit::PassSplit::kSingle;
      break;
    case PERMJIT_PASSES_LINES:
      cpp.pass_split = permjit::PassSplit::kSplitLines;
      break;
    default:
      throw Error(ErrorCategory::kInvalidArgument,
                  "options.pass_split: " + std::to_string(options->pass_split) +
                      "; allowed: PERMJIT_PASSES_AUTO, _SINGLE, _LINES");
  }
  if (options->block_m || options->block_n || options->warps || options->stages) {
    cpp.tile =
        permjit::TileConfig{options->block_m, options->block_n, options->warps, options->stages};
  }
  return cpp;
}

permjit_status_t createLayer(permjit_runtime_t runtime, const char* config, bool is_path, int layer,
                             const permjit_plan_options_t* options, permjit_layer_plan_t* out) {
  return permjit::capi::callGuarded([&] {
    if (out == nullptr) throw nullArgument("out");
    *out = nullptr;
    permjit::Runtime& cpp_runtime = permjit::capi::runtimeOf(runtime);
    if (config == nullptr) throw nullArgument(is_path ? "config_path" : "config_json");
    permjit::patterns::LayerPlanOptions cpp_options = layerOptionsOf(options);
    permjit::patterns::ModelConfig model = is_path ? permjit::patterns::loadModelConfig(config)
                                                   : permjit::patterns::parseModelConfig(config);
    auto handle = std::make_unique<permjit_layer_plan>(
        permjit_layer_plan{permjit::patterns::planLayer(cpp_runtime, model, layer, cpp_options)});
    *out = handle.release();
  });
}

permjit::Strides stridesOf(const int64_t s[3]) { return {s[0], s[1], s[2]}; }

}  // namespace

extern "C" {

void permjit_layer_run_args_init(permjit_layer_run_args_t* args) {
  if (args == nullptr) return;
  *args = permjit_layer_run_args_t{};
  args->batch = 1;
}

permjit_status_t permjit_layer_plan_create(permjit_runtime_t runtime, const char* config_path,
                                           int layer, const permjit_plan_options_t* options,
                                           permjit_layer_plan_t* out) {
  return createLayer(runtime, config_path, true, layer, options, out);
}

permjit_status_t permjit_layer_plan_create_from_json(permjit_runtime_t runtime,
                                                     const char* config_json, int layer,
                                                     const permjit_plan_options_t* options,
                                                     permjit_layer_plan_t* out) {
  return createLayer(runtime, config_json, false, layer, options, out);
}

void permjit_layer_plan_destroy(permjit_layer_plan_t layer) { delete layer; }

permjit_status_t permjit_layer_plan_num_heads(permjit_layer_plan_t layer, int64_t* out) {
  return permjit::capi::callGuarded([&] {
    if (layer == nullptr) throw nullArgument("layer");
    if (out == nullptr) throw nullArgument("out");
    *out = layer->layer.numHeads();
  });
}

permjit_status_t permjit_layer_plan_workspace_bytes(permjit_layer_plan_t layer, int64_t batch,
                                                    int64_t seq_len, size_t* out) {
  return permjit::capi::callGuarded([&] {
    if (layer == nullptr) throw nullArgument("layer");
    if (out == nullptr) throw nullArgument("out");
    *out = layer->layer.workspaceBytes(batch, seq_len);
  });
}

permjit_status_t permjit_layer_plan_run(permjit_layer_plan_t layer,
                                        const permjit_layer_run_args_t* args, void* stream) {
  return permjit::capi::callGuarded([&] {
    if (layer == nullptr) throw nullArgument("layer");
    if (args == nullptr) throw nullArgument("args");
    permjit::patterns::LayerRunArgs cpp;
    cpp.q = args->q;
    cpp.k = args->k;
    cpp.v = args->v;
    cpp.o = args->o;
    cpp.lse = args->lse;
    cpp.batch = args->batch;
    cpp.heads = args->heads;
    cpp.kv_heads = args->kv_heads;
    cpp.seq_len = args->seq_len;
    if (args->dtype != PERMJIT_DTYPE_PLAN) cpp.dtype = dtypeOf(args->dtype, "dtype");
    switch (args->tensor_layout) {
      case PERMJIT_LAYOUT_BSHD:
        cpp.tensor_layout = permjit::TensorLayout::kBSHD;
        break;
      case PERMJIT_LAYOUT_BHSD:
        cpp.tensor_layout = permjit::TensorLayout::kBHSD;
        break;
      case PERMJIT_LAYOUT_STRIDED:
        cpp.tensor_layout = permjit::TensorLayout::kStrided;
        break;
      default:
        throw Error(ErrorCategory::kInvalidArgument,
                    "tensor_layout: " + std::to_string(args->tensor_layout) +
                        "; allowed: PERMJIT_LAYOUT_BSHD, _BHSD, _STRIDED");
    }
    cpp.q_strides = stridesOf(args->q_strides);
    cpp.k_strides = stridesOf(args->k_strides);
    cpp.v_strides = stridesOf(args->v_strides);
    cpp.o_strides = stridesOf(args->o_strides);
    if (args->num_spans > 0) {
      if (args->spans == nullptr) throw nullArgument("spans");
      std::vector<permjit::Span> spans;
      for (size_t i = 0; i < args->num_spans; ++i) {
        const permjit_span_t& span = args->spans[i];
        if (span.modality < PERMJIT_MODALITY_VISION || span.modality > PERMJIT_MODALITY_OTHER) {
          throw Error(ErrorCategory::kInvalidArgument,
                      "spans[" + std::to_string(i) + "].modality: " +
                          std::to_string(span.modality) + "; allowed: 0 vision, 1 text, 2 other");
        }
        permjit::Span cpp_span;
        cpp_span.kind = static_cast<permjit::Modality>(span.modality);
        cpp_span.begin = span.begin;
        cpp_span.end = span.end;
        spans.push_back(cpp_span);
      }
      try {
        cpp.layout = permjit::Layout(std::move(spans));
      } catch (const Error& error) {
        throw Error(ErrorCategory::kInvalidArgument, std::string("spans: ") + error.what());
      }
    }
    if (args->softmax_scale != 0.0f) cpp.softmax_scale = args->softmax_scale;
    cpp.workspace = args->workspace;
    cpp.workspace_bytes = args->workspace_bytes;
    layer->layer.run(cpp, stream);
  });
}

}  // extern "C"
