// The C API over the C++ one. Every entry point catches everything: no exception crosses.
#include <new>
#include <nlohmann/json.hpp>
#include <string>

#include "permjit/dsl/Json.h"
#include "permjit/dsl/JsonReader.h"
#include "permjit/permjit.h"
#include "permjit/permjit_c.h"
#include "permjit/runtime/CApiAccess.h"

struct permjit_runtime {
  std::unique_ptr<permjit::Runtime> runtime;
};
struct permjit_plan {
  permjit::Plan plan;
};

namespace {

using permjit::capi::copyPlanOptions;
using permjit::capi::nullArgument;

thread_local std::string last_error;

permjit_status_t statusOf(permjit::ErrorCategory category) {
  using permjit::ErrorCategory;
  switch (category) {
    case ErrorCategory::kInvalidPattern:
      return PERMJIT_ERROR_INVALID_PATTERN;
    case ErrorCategory::kInvalidArgument:
      return PERMJIT_ERROR_INVALID_ARGUMENT;
    case ErrorCategory::kUnsupported:
      return PERMJIT_ERROR_UNSUPPORTED;
    case ErrorCategory::kCompileFailure:
      return PERMJIT_ERROR_COMPILE_FAILURE;
    case ErrorCategory::kDriverError:
      return PERMJIT_ERROR_DRIVER;
    case ErrorCategory::kOutOfMemory:
      return PERMJIT_ERROR_OUT_OF_MEMORY;
    case ErrorCategory::kIo:
      return PERMJIT_ERROR_IO;
    case ErrorCategory::kInternal:
      return PERMJIT_ERROR_INTERNAL;
  }
  return PERMJIT_ERROR_INTERNAL;
}

permjit_status_t fail(permjit_status_t status, const std::string& message) {
  last_error = message;
  return status;
}

// Runs body, turning every exception into a status and the thread's last error.
template <class Body>
permjit_status_t guarded(Body&& body) {
  try {
    body();
    last_error.clear();
    return PERMJIT_OK;
  } catch (const permjit::Error& error) {
    return fail(statusOf(error.category()), error.what());
  } catch (const nlohmann::json::exception& error) {
    // Every reader turns JSON errors into permjit::Error with the value's path; one that gets
    // here is a value no reader checked: say so, without guessing which argument held it.
    return fail(PERMJIT_ERROR_INVALID_PATTERN,
                std::string("json: ") + error.what() + " (a JSON value permjit did not check)");
  } catch (const std::bad_alloc&) {
    return fail(PERMJIT_ERROR_OUT_OF_MEMORY, "host memory exhausted");
  } catch (const std::exception& error) {
    return fail(PERMJIT_ERROR_INTERNAL, error.what());
  } catch (...) {
    return fail(PERMJIT_ERROR_INTERNAL, "unknown exception");
  }
}

}  // namespace

namespace permjit::capi {

Error nullArgument(const char* name) {
  return Error(ErrorCategory::kInvalidArgument,
               std::string(name) + ": null; allowed: a valid pointer/handle");
}

DType dtypeOf(int dtype, const std::string& field) {
  switch (dtype) {
    case PERMJIT_DTYPE_BF16:
      return DType::kBF16;
    case PERMJIT_DTYPE_FP16:
      return DType::kFP16;
    default:
      throw Error(ErrorCategory::kUnsupported,
                  field + ": " + std::to_string(dtype) +
                      "; allowed: PERMJIT_DTYPE_BF16 (1), PERMJIT_DTYPE_FP16 (2)");
  }
}

PassSplit passSplitOf(int split, const std::string& field) {
  switch (split) {
    case PERMJIT_PASSES_AUTO:
      return PassSplit::kAuto;
    case PERMJIT_PASSES_SINGLE:
      return PassSplit::kSingle;
    case PERMJIT_PASSES_LINES:
      return PassSplit::kSplitLines;
  }
  throw Error(
      ErrorCategory::kInvalidArgument,
      field + ": " + std::to_string(split) + "; allowed: PERMJIT_PASSES_AUTO, _SINGLE, _LINES");
}

TensorLayout tensorLayoutOf(int layout) {
  switch (layout) {
    case PERMJIT_LAYOUT_BSHD:
      return TensorLayout::kBSHD;
    case PERMJIT_LAYOUT_BHSD:
      return TensorLayout::kBHSD;
    case PERMJIT_LAYOUT_STRIDED:
      return TensorLayout::kStrided;
  }
  throw Error(ErrorCategory::kInvalidArgument,
              "tensor_layout: " + std::to_string(layout) +
                  "; allowed: PERMJIT_LAYOUT_BSHD, _BHSD, _STRIDED");
}

std::optional<Layout> layoutOf(const permjit_span_t* spans, size_t num_spans) {
  if (num_spans == 0) return std::nullopt;
  if (spans == nullptr) throw nullArgument("spans");
  std::vector<Span> cpp_spans;
  for (size_t i = 0; i < num_spans; ++i) {
    const permjit_span_t& span = spans[i];
    const int modality = rawEnum(span.modality);
    if (modality < PERMJIT_MODALITY_VISION || modality > PERMJIT_MODALITY_OTHER) {
      throw Error(ErrorCategory::kInvalidArgument, "spans[" + std::to_string(i) +
                                                       "].modality: " + std::to_string(modality) +
                                                       "; allowed: 0 vision, 1 text, 2 other");
    }
    Span cpp_span;
    cpp_span.kind = static_cast<Modality>(modality);
    cpp_span.begin = span.begin;
    cpp_span.end = span.end;
    cpp_spans.push_back(cpp_span);
  }
  try {
    return Layout(std::move(cpp_spans));
  } catch (const Error& error) {
    throw Error(ErrorCategory::kInvalidArgument, std::string("spans: ") + error.what());
  }
}

Runtime& runtimeOf(permjit_runtime_t handle) {
  if (handle == nullptr) throw nullArgument("runtime");
  return *handle->runtime;
}

const Plan& planOf(permjit_plan_t handle) {
  if (handle == nullptr) throw nullArgument("plan");
  return handle->plan;
}

RunArgs runArgsOf(const permjit_run_args_t* args) {
  if (args == nullptr) throw nullArgument("args");
  RunArgs cpp;
  copySharedRunArgs(*args, cpp);
  cpp.head_dim = args->head_dim;
  cpp.layout = layoutOf(args->spans, args->num_spans).value_or(Layout());
  cpp.reuse_estimate = args->reuse_estimate != 0;
  return cpp;
}

permjit_status_t callGuarded(const std::function<void()>& body) { return guarded(body); }

}  // namespace permjit::capi

extern "C" {

void permjit_runtime_options_init(permjit_runtime_options_t* options) {
  if (options == nullptr) return;
  *options = permjit_runtime_options_t{};
  options->disable_cache = -1;
}

void permjit_plan_options_init(permjit_plan_options_t* options) {
  if (options == nullptr) return;
  *options = permjit_plan_options_t{};
  options->head_dim = 128;
  options->dtype = PERMJIT_DTYPE_BF16;
}

void permjit_run_args_init(permjit_run_args_t* args) {
  if (args == nullptr) return;
  *args = permjit_run_args_t{};
  args->batch = 1;
}

permjit_status_t permjit_runtime_create(const permjit_runtime_options_t* options,
                                        permjit_runtime_t* out) {
  return guarded([&] {
    if (out == nullptr) throw nullArgument("out");
    *out = nullptr;
    permjit::RuntimeOptions cpp;
    if (options != nullptr) {
      if (options->cache_dir != nullptr) cpp.cache_dir = std::string(options->cache_dir);
      if (options->disable_cache >= 0) cpp.disable_cache = options->disable_cache != 0;
      cpp.device_ordinal = options->device_ordinal;
      if (options->arch != nullptr) cpp.arch = std::string(options->arch);
      cpp.host_only = options->host_only != 0;
    }
    auto handle = std::make_unique<permjit_runtime>();
    handle->runtime = std::make_unique<permjit::Runtime>(cpp);
    *out = handle.release();
  });
}

void permjit_runtime_destroy(permjit_runtime_t runtime) { delete runtime; }

permjit_status_t permjit_plan_create(permjit_runtime_t runtime, const char* pattern_json,
                                     const permjit_plan_options_t* options, permjit_plan_t* out) {
  return guarded([&] {
    if (out == nullptr) throw nullArgument("out");
    *out = nullptr;
    if (runtime == nullptr) throw nullArgument("runtime");
    if (pattern_json == nullptr) throw nullArgument("pattern_json");
    permjit::PlanOptions cpp;
    if (options != nullptr) copyPlanOptions(*options, "", cpp);
    nlohmann::json json = permjit::json_io::parseStrict(pattern_json, "pattern_json");
    permjit::Pattern pattern = permjit::causal();
    if (json.is_object() && json.contains("permjit")) {
      permjit::PatternFile file = permjit::parsePatternFile(pattern_json);
      pattern = file.pattern;
      cpp.name = file.name.empty() ? cpp.name : file.name;
    } else {
      pattern = permjit::patternFromJson(json);
    }
    auto handle = new permjit_plan{runtime->runtime->plan(pattern, cpp)};
    *out = handle;
  });
}

void permjit_plan_destroy(permjit_plan_t plan) { delete plan; }

permjit_status_t permjit_plan_run(permjit_plan_t plan, const permjit_run_args_t* args,
                                  void* stream) {
  return guarded([&] {
    const permjit::Plan& cpp_plan = permjit::capi::planOf(plan);
    cpp_plan.run(permjit::capi::runArgsOf(args), stream);
  });
}

permjit_status_t permjit_plan_num_passes(permjit_plan_t plan, int* out) {
  return guarded([&] {
    if (plan == nullptr) throw nullArgument("plan");
    if (out == nullptr) throw nullArgument("out");
    *out = plan->plan.numPasses();
  });
}

permjit_status_t permjit_plan_is_dynamic(permjit_plan_t plan, int* out) {
  return guarded([&] {
    if (plan == nullptr) throw nullArgument("plan");
    if (out == nullptr) throw nullArgument("out");
    *out = plan->plan.isDynamic() ? 1 : 0;
  });
}

permjit_status_t permjit_plan_workspace_bytes(permjit_plan_t plan, int64_t batch, int64_t heads,
                                              int64_t seq_len, size_t* out) {
  return guarded([&] {
    if (plan == nullptr) throw nullArgument("plan");
    if (out == nullptr) throw nullArgument("out");
    *out = plan->plan.workspaceBytes(batch, heads, seq_len);
  });
}

permjit_status_t permjit_plan_key_split_workspace_bytes(permjit_plan_t plan, size_t* out) {
  return guarded([&] {
    if (plan == nullptr) throw nullArgument("plan");
    if (out == nullptr) throw nullArgument("out");
    *out = plan->plan.keySplitWorkspaceBytes();
  });
}

permjit_status_t permjit_runtime_cache_stats(permjit_runtime_t runtime,
                                             permjit_cache_stats_t* out) {
  return guarded([&] {
    if (runtime == nullptr) throw nullArgument("runtime");
    if (out == nullptr) throw nullArgument("out");
    permjit::CacheStats stats = runtime->runtime->cacheStats();
    *out = permjit_cache_stats_t{stats.memory_hits, stats.disk_hits, stats.compiles,
                                 stats.corrupt_files};
  });
}

permjit_status_t permjit_runtime_cache_clear(permjit_runtime_t runtime) {
  return guarded([&] {
    if (runtime == nullptr) throw nullArgument("runtime");
    runtime->runtime->clearCache();
  });
}

const char* permjit_last_error(void) { return last_error.c_str(); }

const char* permjit_status_name(permjit_status_t status) {
  switch (status) {
    case PERMJIT_OK:
      return "ok";
    case PERMJIT_ERROR_INVALID_PATTERN:
      return "invalid pattern";
    case PERMJIT_ERROR_INVALID_ARGUMENT:
      return "invalid argument";
    case PERMJIT_ERROR_UNSUPPORTED:
      return "unsupported";
    case PERMJIT_ERROR_COMPILE_FAILURE:
      return "compile failure";
    case PERMJIT_ERROR_DRIVER:
      return "driver error";
    case PERMJIT_ERROR_OUT_OF_MEMORY:
      return "out of memory";
    case PERMJIT_ERROR_IO:
      return "i/o error";
    case PERMJIT_ERROR_INTERNAL:
      return "internal error";
  }
  return "unknown status";
}

}  // extern "C"
