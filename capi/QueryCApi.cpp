// The query C API (permjit_query_c.h): runtime and plan properties and a dynamic plan's
// estimated indices, over the handles of permjit_c.h (capi::runtimeOf / planOf).
#include <nlohmann/json.hpp>
#include <string>

#include "TextResult.h"
#include "permjit/permjit.h"
#include "permjit/permjit_query_c.h"
#include "permjit/runtime/CApiAccess.h"

namespace {

using permjit::capi::callGuarded;
using permjit::capi::nullArgument;
using permjit::capi::planOf;
using permjit::capi::returnText;
using permjit::capi::runtimeOf;

void checkPass(const permjit::Plan& plan, int pass) {
  if (pass < 0 || pass >= plan.numPasses()) {
    throw permjit::Error(
        permjit::ErrorCategory::kInvalidArgument,
        "pass: " + std::to_string(pass) + "; allowed: 0.." + std::to_string(plan.numPasses() - 1));
  }
}

}  // namespace

extern "C" {

const char* permjit_version(void) { return PERMJIT_VERSION; }

permjit_status_t permjit_env_variables_json(const char** out_json) {
  return callGuarded([&] {
    if (out_json == nullptr) throw nullArgument("out_json");
    nlohmann::json out = nlohmann::json::array();
    for (const permjit::env::Variable& variable : permjit::env::variables()) {
      out.push_back({{"name", variable.name}, {"help", variable.help}});
    }
    returnText(out.dump(), out_json);
  });
}

permjit_status_t permjit_device_unavailable_reason(const char** out_text) {
  return callGuarded([&] {
    if (out_text == nullptr) throw nullArgument("out_text");
    returnText(permjit::Runtime::deviceUnavailableReason(), out_text);
  });
}

permjit_status_t permjit_runtime_arch(permjit_runtime_t runtime, const char** out_text) {
  return callGuarded([&] {
    if (out_text == nullptr) throw nullArgument("out_text");
    returnText(runtimeOf(runtime).arch(), out_text);
  });
}

permjit_status_t permjit_runtime_has_device(permjit_runtime_t runtime, int* out) {
  return callGuarded([&] {
    if (out == nullptr) throw nullArgument("out");
    *out = runtimeOf(runtime).hasDevice() ? 1 : 0;
  });
}

permjit_status_t permjit_runtime_device_name(permjit_runtime_t runtime, const char** out_text) {
  return callGuarded([&] {
    if (out_text == nullptr) throw nullArgument("out_text");
    returnText(runtimeOf(runtime).deviceName(), out_text);
  });
}

permjit_status_t permjit_runtime_kernel_family(permjit_runtime_t runtime, const char** out_text) {
  return callGuarded([&] {
    if (out_text == nullptr) throw nullArgument("out_text");
    returnText(permjit::kernelFamilyName(runtimeOf(runtime).kernelFamily()), out_text);
  });
}

permjit_status_t permjit_runtime_cache_dir(permjit_runtime_t runtime, const char** out_text) {
  return callGuarded([&] {
    if (out_text == nullptr) throw nullArgument("out_text");
    returnText(runtimeOf(runtime).cacheDir(), out_text);
  });
}

permjit_status_t permjit_plan_arch(permjit_plan_t plan, const char** out_text) {
  return callGuarded([&] {
    if (out_text == nullptr) throw nullArgument("out_text");
    returnText(planOf(plan).arch(), out_text);
  });
}

permjit_status_t permjit_plan_can_run(permjit_plan_t plan, int* out) {
  return callGuarded([&] {
    if (out == nullptr) throw nullArgument("out");
    *out = planOf(plan).canRun() ? 1 : 0;
  });
}

permjit_status_t permjit_plan_structure_key(permjit_plan_t plan, const char** out_text) {
  return callGuarded([&] {
    if (out_text == nullptr) throw nullArgument("out_text");
    returnText(planOf(plan).structureKey(), out_text);
  });
}

permjit_status_t permjit_plan_source(permjit_plan_t plan, int pass, const char** out_text) {
  return callGuarded([&] {
    if (out_text == nullptr) throw nullArgument("out_text");
    checkPass(planOf(plan), pass);
    returnText(planOf(plan).source(pass), out_text);
  });
}

permjit_status_t permjit_plan_kernel_name(permjit_plan_t plan, int pass, const char** out_text) {
  return callGuarded([&] {
    if (out_text == nullptr) throw nullArgument("out_text");
    checkPass(planOf(plan), pass);
    returnText(planOf(plan).kernelName(pass), out_text);
  });
}

permjit_status_t permjit_plan_estimated_indices_json(permjit_plan_t plan,
                                                     const permjit_run_args_t* args, void* stream,
                                                     const char** out_json) {
  return callGuarded([&] {
    if (out_json == nullptr) throw nullArgument("out_json");
    const permjit::Plan& cpp_plan = planOf(plan);
    const auto indices = cpp_plan.estimatedIndices(permjit::capi::runArgsOf(args), stream);
    nlohmann::json out = nlohmann::json::array();
    for (const permjit::DynamicIndices& one : indices) {
      nlohmann::json grid = nullptr;
      if (one.grid) {
        grid = {{"stride", one.grid->stride},
                {"phase_q", one.grid->phase_q},
                {"phase_k", one.grid->phase_k}};
      }
      nlohmann::json later = nlohmann::json::array();
      for (const permjit::VerticalSlashSets& atom : one.later_atoms) {
        later.push_back({{"vertical", atom.vertical}, {"slash", atom.slash}});
      }
      out.push_back({{"vertical", one.vertical},
                     {"slash", one.slash},
                     {"later_atoms", later},
                     {"grid", grid},
                     {"grid_scores", one.grid_scores}});
    }
    returnText(out.dump(), out_json);
  });
}

}  // extern "C"
