// For C APIs of other layers built on permjit_c.h (e.g. permjit_layer_c.h): the C++ Runtime
// behind a runtime handle, the guard that turns exceptions into permjit_c.h's status codes
// and this thread's permjit_last_error(), and the conversions of the C structs every such API
// shares, so each field is converted and checked by one piece of code.
#pragma once

#include <cstring>
#include <functional>
#include <optional>
#include <string>

#include "permjit/permjit.h"
#include "permjit/permjit_c.h"

namespace permjit::capi {

// Error(kInvalidArgument) "runtime: null; ..." for a null handle.
Runtime& runtimeOf(permjit_runtime_t handle);
// Error(kInvalidArgument) "plan: null; ..." for a null handle.
const Plan& planOf(permjit_plan_t handle);
// Runs body as a C entry point: PERMJIT_OK (and an empty last error) or the status of what it
// threw, with the message as permjit_last_error(). Nothing escapes.
permjit_status_t callGuarded(const std::function<void()>& body);

// Error(kInvalidArgument) "<name>: null; allowed: a valid pointer/handle".
Error nullArgument(const char* name);
// The integer a C caller stored in an enum field. Reading the field as the C++ enum type is
// undefined for a value outside the enumerators' range (UBSan: "not a valid value for type"),
// and such values are exactly what the checks below must reject, so they read the bytes.
template <class Enum>
int rawEnum(const Enum& field) {
  static_assert(sizeof(Enum) == sizeof(int), "C enums of this API are int-sized");
  int value;
  std::memcpy(&value, &field, sizeof value);
  return value;
}
// Error(kUnsupported) naming `field` for a value other than BF16 and FP16.
DType dtypeOf(int dtype, const std::string& field);
// Error(kInvalidArgument) naming `field` for an unknown value.
PassSplit passSplitOf(int split, const std::string& field);
TensorLayout tensorLayoutOf(int layout);  // field "tensor_layout"
// The modality layout of `num_spans` spans; nullopt for none. Error(kInvalidArgument) naming
// "spans" for a null array, a bad modality or spans that do not form a layout.
std::optional<Layout> layoutOf(const permjit_span_t* spans, size_t num_spans);
inline Strides stridesOf(const int64_t strides[3]) { return {strides[0], strides[1], strides[2]}; }

// head_dim, dtype, pass_split and the tile (all of block_m/n, warps, stages 0: unset) of
// permjit_plan_options_t into PlanOptions or another struct with those fields; errors name
// `prefix` + the field ("options.dtype").
template <class CppOptions>
void copyPlanOptions(const permjit_plan_options_t& in, const std::string& prefix, CppOptions& out) {
  out.head_dim = in.head_dim;
  out.dtype = dtypeOf(rawEnum(in.dtype), prefix + "dtype");
  out.pass_split = passSplitOf(rawEnum(in.pass_split), prefix + "pass_split");
  if (in.block_m || in.block_n || in.warps || in.stages) {
    out.tile = TileConfig{in.block_m, in.block_n, in.warps, in.stages};
  }
}

// The run arguments permjit_run_args_t and permjit_layer_run_args_t share, into RunArgs or
// LayerRunArgs: tensors, shape, dtype, tensor layout and strides, softmax scale, workspace.
// The modality layout (layoutOf) is the caller's: the two C++ structs hold it differently.
template <class CArgs, class CppArgs>
void copySharedRunArgs(const CArgs& in, CppArgs& out) {
  out.q = in.q;
  out.k = in.k;
  out.v = in.v;
  out.o = in.o;
  out.lse = in.lse;
  out.batch = in.batch;
  out.heads = in.heads;
  out.kv_heads = in.kv_heads;
  out.seq_len = in.seq_len;
  if (rawEnum(in.dtype) != PERMJIT_DTYPE_PLAN) out.dtype = dtypeOf(rawEnum(in.dtype), "dtype");
  out.tensor_layout = tensorLayoutOf(rawEnum(in.tensor_layout));
  out.q_strides = stridesOf(in.q_strides);
  out.k_strides = stridesOf(in.k_strides);
  out.v_strides = stridesOf(in.v_strides);
  out.o_strides = stridesOf(in.o_strides);
  if (in.softmax_scale != 0.0f) out.softmax_scale = in.softmax_scale;
  out.workspace = in.workspace;
  out.workspace_bytes = in.workspace_bytes;
}

// Everything of permjit_run_args_t as the RunArgs permjit_plan_run runs with (one conversion
// for every entry point that takes run arguments). Error(kInvalidArgument) "args: null" for null.
RunArgs runArgsOf(const permjit_run_args_t* args);

}  // namespace permjit::capi
