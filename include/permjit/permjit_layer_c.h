/* permjit layer C API: every head of one model layer from a per-head model config
 * (docs/model-config.md), planned and run in one call. Same conventions as permjit_c.h (its
 * status codes, runtime handle and plan options; permjit_last_error() after a failure).
 *
 *   permjit_plan_options_t po; permjit_plan_options_init(&po);
 *   permjit_layer_plan_t layer;
 *   if (permjit_layer_plan_create(rt, "llava.json", 3, &po, &layer) != PERMJIT_OK)
 *     puts(permjit_last_error());
 *   size_t bytes; permjit_layer_plan_workspace_bytes(layer, batch, seq_len, &bytes);
 *   permjit_layer_run_args_t a; permjit_layer_run_args_init(&a);
 *   a.q = q; a.k = k; a.v = v; a.o = o; a.heads = 32; a.kv_heads = 8; a.seq_len = seq_len;
 *   a.workspace = ws; a.workspace_bytes = bytes;   (ws: NULL when bytes is 0)
 *   permjit_layer_plan_run(layer, &a, stream);
 *
 * Run enqueues every head on `stream`: no synchronization, no allocation. */
#ifndef PERMJIT_PERMJIT_LAYER_C_H_
#define PERMJIT_PERMJIT_LAYER_C_H_

#include "permjit/permjit_c.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct permjit_layer_plan* permjit_layer_plan_t;

typedef struct permjit_layer_run_args {
  /* All heads of the layer, laid out as tensor_layout says (head_dim contiguous). */
  const void* q;
  const void* k;
  const void* v;
  void* o;
  /* Optional fp32 [batch, heads, seq_len] log-sum-exp, written for every head; with
   * batch * heads > 1 it needs seq_len % 4 == 0. NULL: heads of several passes merge through
   * the workspace. */
  float* lse;
  int64_t batch, heads, kv_heads, seq_len; /* heads == the config's num_heads; kv_heads 0: heads */
  permjit_dtype_t dtype;                   /* PERMJIT_DTYPE_PLAN: the layer's */
  permjit_tensor_layout_t tensor_layout;
  int64_t q_strides[3], k_strides[3], v_strides[3], o_strides[3]; /* {batch, seq, head}, STRIDED */
  /* The request's modality layout: required for configs whose layout rules are "request",
   * ignored otherwise. */
  const permjit_span_t* spans;
  size_t num_spans;
  float softmax_scale; /* 0: 1 / sqrt(head_dim) */
  void* workspace;     /* >= permjit_layer_plan_workspace_bytes, 256-byte aligned */
  size_t workspace_bytes;
} permjit_layer_run_args_t;

void permjit_layer_run_args_init(permjit_layer_run_args_t* args);

/* One plan per head of `layer` of the model config at config_path (or, _from_json, given as
 * JSON text). options may be NULL (defaults: head_dim 128, bf16, the compiler's tile and pass
 * split). A head the runtime cannot plan keeps its status (e.g. PERMJIT_ERROR_UNSUPPORTED)
 * and the message names the layer and head. */
permjit_status_t permjit_layer_plan_create(permjit_runtime_t runtime, const char* config_path,
                                           int layer, const permjit_plan_options_t* options,
                                           permjit_layer_plan_t* out);
permjit_status_t permjit_layer_plan_create_from_json(permjit_runtime_t runtime,
                                                     const char* config_json, int layer,
                                                     const permjit_plan_options_t* options,
                                                     permjit_layer_plan_t* out);
void permjit_layer_plan_destroy(permjit_layer_plan_t layer);

permjit_status_t permjit_layer_plan_num_heads(permjit_layer_plan_t layer, int64_t* out);
/* Device scratch permjit_layer_plan_run needs for this shape (0: workspace may be NULL). */
permjit_status_t permjit_layer_plan_workspace_bytes(permjit_layer_plan_t layer, int64_t batch,
                                                    int64_t seq_len, size_t* out);
permjit_status_t permjit_layer_plan_run(permjit_layer_plan_t layer,
                                        const permjit_layer_run_args_t* args, void* stream);

#ifdef __cplusplus
}
#endif

#endif /* PERMJIT_PERMJIT_LAYER_C_H_ */
