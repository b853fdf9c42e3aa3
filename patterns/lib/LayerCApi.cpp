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

using permjit::capi::nullArgument;

permjit::patterns::LayerPlanOptions layerOptionsOf(const permjit_plan_options_t* options) {
  permjit::patterns::LayerPlanOptions cpp;
  if (options != nullptr) permjit::capi::copyPlanOptions(*options, "options.", cpp);
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
    permjit::capi::copySharedRunArgs(*args, cpp);
    cpp.layout = permjit::capi::layoutOf(args->spans, args->num_spans);
    layer->layer.run(cpp, stream);
  });
}

}  // extern "C"
