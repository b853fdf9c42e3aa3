/* permjit C API: opaque handles, status codes, a thread-local error message.
 *
 *   permjit_runtime_t rt;
 *   if (permjit_runtime_create(NULL, &rt) != PERMJIT_OK) puts(permjit_last_error());
 *   permjit_plan_options_t po; permjit_plan_options_init(&po);
 *   permjit_plan_t plan;
 *   permjit_plan_create(rt, pattern_json, &po, &plan);
 *   permjit_run_args_t a; permjit_run_args_init(&a);  ... fill pointers and shapes ...
 *   permjit_plan_run(plan, &a, stream);
 *
 * No C++ exception ever crosses this boundary: every function returns a status, and the
 * message of the last failure on the calling thread is permjit_last_error(). */
#ifndef PERMJIT_PERMJIT_C_H_
#define PERMJIT_PERMJIT_C_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One code per permjit::ErrorCategory. */
typedef enum permjit_status {
  PERMJIT_OK = 0,
  PERMJIT_ERROR_INVALID_PATTERN = 1,
  PERMJIT_ERROR_INVALID_ARGUMENT = 2,
  PERMJIT_ERROR_UNSUPPORTED = 3,
  PERMJIT_ERROR_COMPILE_FAILURE = 4,
  PERMJIT_ERROR_DRIVER = 5,
  PERMJIT_ERROR_OUT_OF_MEMORY = 6,
  PERMJIT_ERROR_IO = 7,
  PERMJIT_ERROR_INTERNAL = 8,
} permjit_status_t;

typedef struct permjit_runtime* permjit_runtime_t;
typedef struct permjit_plan* permjit_plan_t;

typedef enum permjit_dtype {
  PERMJIT_DTYPE_PLAN = 0, /* run args: whatever the plan was made for */
  PERMJIT_DTYPE_BF16 = 1,
  PERMJIT_DTYPE_FP16 = 2,
} permjit_dtype_t;

typedef enum permjit_tensor_layout {
  PERMJIT_LAYOUT_BSHD = 0,
  PERMJIT_LAYOUT_BHSD = 1,
  PERMJIT_LAYOUT_STRIDED = 2,
} permjit_tensor_layout_t;

typedef enum permjit_modality {
  PERMJIT_MODALITY_VISION = 0,
  PERMJIT_MODALITY_TEXT = 1,
  PERMJIT_MODALITY_OTHER = 2,
} permjit_modality_t;

typedef struct permjit_runtime_options {
  const char* cache_dir; /* NULL: PERMJIT_CACHE_DIR or the user's cache dir */
  int disable_cache;     /* -1: PERMJIT_DISABLE_CACHE decides; 0: cache on; 1: off */
  int device_ordinal;
  const char* arch; /* NULL: the device's; e.g. "sm_90a" */
  int host_only;    /* 1: compile only, never load the driver (needs arch) */
} permjit_runtime_options_t;

typedef enum permjit_pass_split {
  PERMJIT_PASSES_AUTO = 0,   /* the compiler's choice */
  PERMJIT_PASSES_SINGLE = 1, /* one fused pass */
  PERMJIT_PASSES_LINES = 2,  /* line-free terms + grid lines, merged through lse */
} permjit_pass_split_t;

typedef struct permjit_plan_options {
  int head_dim;                        /* 64 or 128 */
  permjit_dtype_t dtype;               /* BF16 or FP16 */
  int block_m, block_n, warps, stages; /* all 0: the compiler's default tile */
  permjit_pass_split_t pass_split;
} permjit_plan_options_t;

typedef struct permjit_span {
  permjit_modality_t modality;
  int64_t begin, end; /* [begin, end) */
} permjit_span_t;

typedef struct permjit_run_args {
  const void* q;
  const void* k;
  const void* v;
  void* o;
  float* lse; /* fp32 [batch, heads, seq_len]; required for plans of several passes */
  int64_t batch, heads, kv_heads, seq_len, head_dim; /* kv_heads 0: same as heads */
  permjit_dtype_t dtype;
  permjit_tensor_layout_t tensor_layout;
  int64_t q_strides[3], k_strides[3], v_strides[3], o_strides[3]; /* {batch, seq, head}, STRIDED */
  const permjit_span_t* spans; /* modality layout of this input, ordered, non-overlapping */
  size_t num_spans;
  float softmax_scale; /* 0: 1 / sqrt(head_dim) */
  /* Device scratch, 256-byte aligned. Dynamic plans (vertical_slash): required, at least
   * permjit_plan_workspace_bytes, where the online estimator keeps its scores and chosen
   * indices. Static plans: optional; with at least permjit_plan_key_split_workspace_bytes the
   * run may split heavy row tiles over several CTAs (PERMJIT_KEY_SPLIT); workspace_bytes 0:
   * no split; any other size is an error.
   * reuse_estimate != 0 skips the estimator and reuses the indices an earlier run of the same
   * shape left in the workspace. */
  void* workspace;
  size_t workspace_bytes;
  int reuse_estimate;
} permjit_run_args_t;

typedef struct permjit_cache_stats {
  uint64_t memory_hits, disk_hits, compiles, corrupt_files;
} permjit_cache_stats_t;

void permjit_runtime_options_init(permjit_runtime_options_t* options);
void permjit_plan_options_init(permjit_plan_options_t* options);
void permjit_run_args_init(permjit_run_args_t* args);

/* options may be NULL (defaults). */
permjit_status_t permjit_runtime_create(const permjit_runtime_options_t* options,
                                        permjit_runtime_t* out);
void permjit_runtime_destroy(permjit_runtime_t runtime);

/* pattern_json: a pattern file ({"permjit": 1, "pattern": ..., "layout": ...}) or a bare
 * pattern object. A layout in the file is ignored here: layouts are given per run. */
permjit_status_t permjit_plan_create(permjit_runtime_t runtime, const char* pattern_json,
                                     const permjit_plan_options_t* options, permjit_plan_t* out);
void permjit_plan_destroy(permjit_plan_t plan);
/* Enqueues every pass on stream (a CUstream; NULL = default stream). No sync, no allocation. */
permjit_status_t permjit_plan_run(permjit_plan_t plan, const permjit_run_args_t* args,
                                  void* stream);
permjit_status_t permjit_plan_num_passes(permjit_plan_t plan, int* out);
/* *out = 1 when the plan estimates per input on the GPU (vertical_slash, grid_estimated),
 * else 0. */
permjit_status_t permjit_plan_is_dynamic(permjit_plan_t plan, int* out);
/* Device scratch permjit_plan_run needs for this shape (0 for static plans). */
permjit_status_t permjit_plan_workspace_bytes(permjit_plan_t plan, int64_t batch, int64_t heads,
                                              int64_t seq_len, size_t* out);
/* Device scratch a static plan's runs can use for the key split (the same for every shape);
 * 0 for dynamic plans and with PERMJIT_KEY_SPLIT=0. */
permjit_status_t permjit_plan_key_split_workspace_bytes(permjit_plan_t plan, size_t* out);

permjit_status_t permjit_runtime_cache_stats(permjit_runtime_t runtime, permjit_cache_stats_t* out);
permjit_status_t permjit_runtime_cache_clear(permjit_runtime_t runtime);

/* Message of the last failure on this thread ("" if none); valid until the next call. */
const char* permjit_last_error(void);
const char* permjit_status_name(permjit_status_t status);

#ifdef __cplusplus
}
#endif

#endif /* PERMJIT_PERMJIT_C_H_ */
