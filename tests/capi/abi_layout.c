/* Prints the C API structs' sizes and field offsets as JSON, as this C compiler lays them out.
 * The Python binding's ABI test (python/tests/test_abi.py) compares its ctypes mirrors with
 * it, so a field added to a header but not to python/permjit/_lib.py fails a test. */
#include <stddef.h>
#include <stdio.h>

#include "permjit/permjit_c.h"
#include "permjit/permjit_dsl_c.h"
#include "permjit/permjit_layer_c.h"

static int first_struct = 1;
static int first_field = 1;

static void open_struct(const char* name, size_t size) {
  printf("%s\"%s\": {\"size\": %zu, \"fields\": {", first_struct ? "" : ", ", name, size);
  first_struct = 0;
  first_field = 1;
}
static void field(const char* name, size_t offset) {
  printf("%s\"%s\": %zu", first_field ? "" : ", ", name, offset);
  first_field = 0;
}
static void close_struct(void) { printf("}}"); }

#define STRUCT(type) open_struct(#type, sizeof(type))
#define FIELD(type, name) field(#name, offsetof(type, name))

int main(void) {
  printf("{");
  STRUCT(permjit_runtime_options_t);
  FIELD(permjit_runtime_options_t, cache_dir);
  FIELD(permjit_runtime_options_t, disable_cache);
  FIELD(permjit_runtime_options_t, device_ordinal);
  FIELD(permjit_runtime_options_t, arch);
  FIELD(permjit_runtime_options_t, host_only);
  close_struct();
  STRUCT(permjit_plan_options_t);
  FIELD(permjit_plan_options_t, head_dim);
  FIELD(permjit_plan_options_t, dtype);
  FIELD(permjit_plan_options_t, block_m);
  FIELD(permjit_plan_options_t, block_n);
  FIELD(permjit_plan_options_t, warps);
  FIELD(permjit_plan_options_t, stages);
  FIELD(permjit_plan_options_t, pass_split);
  close_struct();
  STRUCT(permjit_span_t);
  FIELD(permjit_span_t, modality);
  FIELD(permjit_span_t, begin);
  FIELD(permjit_span_t, end);
  close_struct();
  STRUCT(permjit_run_args_t);
  FIELD(permjit_run_args_t, q);
  FIELD(permjit_run_args_t, k);
  FIELD(permjit_run_args_t, v);
  FIELD(permjit_run_args_t, o);
  FIELD(permjit_run_args_t, lse);
  FIELD(permjit_run_args_t, batch);
  FIELD(permjit_run_args_t, heads);
  FIELD(permjit_run_args_t, kv_heads);
  FIELD(permjit_run_args_t, seq_len);
  FIELD(permjit_run_args_t, head_dim);
  FIELD(permjit_run_args_t, dtype);
  FIELD(permjit_run_args_t, tensor_layout);
  FIELD(permjit_run_args_t, q_strides);
  FIELD(permjit_run_args_t, k_strides);
  FIELD(permjit_run_args_t, v_strides);
  FIELD(permjit_run_args_t, o_strides);
  FIELD(permjit_run_args_t, spans);
  FIELD(permjit_run_args_t, num_spans);
  FIELD(permjit_run_args_t, softmax_scale);
  FIELD(permjit_run_args_t, workspace);
  FIELD(permjit_run_args_t, workspace_bytes);
  FIELD(permjit_run_args_t, reuse_estimate);
  close_struct();
  STRUCT(permjit_cache_stats_t);
  FIELD(permjit_cache_stats_t, memory_hits);
  FIELD(permjit_cache_stats_t, disk_hits);
  FIELD(permjit_cache_stats_t, compiles);
  FIELD(permjit_cache_stats_t, corrupt_files);
  close_struct();
  STRUCT(permjit_layer_run_args_t);
  FIELD(permjit_layer_run_args_t, q);
  FIELD(permjit_layer_run_args_t, k);
  FIELD(permjit_layer_run_args_t, v);
  FIELD(permjit_layer_run_args_t, o);
  FIELD(permjit_layer_run_args_t, lse);
  FIELD(permjit_layer_run_args_t, batch);
  FIELD(permjit_layer_run_args_t, heads);
  FIELD(permjit_layer_run_args_t, kv_heads);
  FIELD(permjit_layer_run_args_t, seq_len);
  FIELD(permjit_layer_run_args_t, dtype);
  FIELD(permjit_layer_run_args_t, tensor_layout);
  FIELD(permjit_layer_run_args_t, q_strides);
  FIELD(permjit_layer_run_args_t, k_strides);
  FIELD(permjit_layer_run_args_t, v_strides);
  FIELD(permjit_layer_run_args_t, o_strides);
  FIELD(permjit_layer_run_args_t, spans);
  FIELD(permjit_layer_run_args_t, num_spans);
  FIELD(permjit_layer_run_args_t, softmax_scale);
  FIELD(permjit_layer_run_args_t, workspace);
  FIELD(permjit_layer_run_args_t, workspace_bytes);
  close_struct();
  STRUCT(permjit_dynamic_indices_t);
  FIELD(permjit_dynamic_indices_t, vertical);
  FIELD(permjit_dynamic_indices_t, num_vertical);
  FIELD(permjit_dynamic_indices_t, slash);
  FIELD(permjit_dynamic_indices_t, num_slash);
  FIELD(permjit_dynamic_indices_t, has_grid);
  FIELD(permjit_dynamic_indices_t, grid_stride);
  FIELD(permjit_dynamic_indices_t, grid_phase_q);
  FIELD(permjit_dynamic_indices_t, grid_phase_k);
  FIELD(permjit_dynamic_indices_t, later_atoms);
  FIELD(permjit_dynamic_indices_t, num_later_atoms);
  close_struct();
  STRUCT(permjit_vertical_slash_sets_t);
  FIELD(permjit_vertical_slash_sets_t, vertical);
  FIELD(permjit_vertical_slash_sets_t, num_vertical);
  FIELD(permjit_vertical_slash_sets_t, slash);
  FIELD(permjit_vertical_slash_sets_t, num_slash);
  close_struct();
  STRUCT(permjit_calibration_input_t);
  FIELD(permjit_calibration_input_t, q);
  FIELD(permjit_calibration_input_t, k);
  FIELD(permjit_calibration_input_t, heads);
  FIELD(permjit_calibration_input_t, kv_heads);
  FIELD(permjit_calibration_input_t, seq_len);
  FIELD(permjit_calibration_input_t, head_dim);
  FIELD(permjit_calibration_input_t, layout_json);
  close_struct();
  printf("}\n");
  return 0;
}
