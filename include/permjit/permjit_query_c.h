/* permjit query C API: what a runtime and a plan are (target, device, kernel family, generated
 * source) and what a dynamic plan's estimator chose. Same conventions as permjit_c.h; returned
 * text is owned by the library and valid until the next call of a function of this header or
 * permjit_dsl_c.h on the same thread. */
#ifndef PERMJIT_PERMJIT_QUERY_C_H_
#define PERMJIT_PERMJIT_QUERY_C_H_

#include "permjit/permjit_c.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The library's version (part of every kernel-cache key), e.g. "0.1.0". Never fails. */
const char* permjit_version(void);
/* Every PERMJIT_* environment variable permjit reads (the registry `permjit --help` lists), as
 * a JSON array of {"name": ..., "help": ...}. */
permjit_status_t permjit_env_variables_json(const char** out_json);
/* Why a device runtime cannot be created in this process ("" when it can). */
permjit_status_t permjit_device_unavailable_reason(const char** out_text);

permjit_status_t permjit_runtime_arch(permjit_runtime_t runtime, const char** out_text);
permjit_status_t permjit_runtime_has_device(permjit_runtime_t runtime, int* out);
permjit_status_t permjit_runtime_device_name(permjit_runtime_t runtime, const char** out_text);
/* "sm80" or "sm90a": the attention kernel family the runtime's plans render with. */
permjit_status_t permjit_runtime_kernel_family(permjit_runtime_t runtime, const char** out_text);
/* "" when the disk cache is disabled. */
permjit_status_t permjit_runtime_cache_dir(permjit_runtime_t runtime, const char** out_text);

permjit_status_t permjit_plan_arch(permjit_plan_t plan, const char** out_text);
/* *out = 0 on a host-only runtime's plans. */
permjit_status_t permjit_plan_can_run(permjit_plan_t plan, int* out);
/* KernelSpec::structureKey(): plans with equal keys share compiled kernels. */
permjit_status_t permjit_plan_structure_key(permjit_plan_t plan, const char** out_text);
/* The generated CUDA source and the kernel name of one pass (0 .. num_passes - 1). */
permjit_status_t permjit_plan_source(permjit_plan_t plan, int pass, const char** out_text);
permjit_status_t permjit_plan_kernel_name(permjit_plan_t plan, int pass, const char** out_text);

/* What the estimator chose in the last run on args->workspace (Plan::estimatedIndices),
 * copied to the host after synchronizing stream: a JSON array, one entry per (batch, head) in
 * batch-major order, {"vertical": [...], "slash": [...], "later_atoms": [{"vertical",
 * "slash"}, ...], "grid": {"stride", "phase_q", "phase_k"} or null, "grid_scores": [...]}.
 * vertical / slash are the first vertical_slash atom's sets; a pattern with one per q_boundary
 * modality lists the others in later_atoms, ordered by modality (vision, text, other).
 * PERMJIT_ERROR_INVALID_ARGUMENT for a static plan.
 * For checking and inspection, not the hot path. */
permjit_status_t permjit_plan_estimated_indices_json(permjit_plan_t plan,
                                                     const permjit_run_args_t* args, void* stream,
                                                     const char** out_json);

#ifdef __cplusplus
}
#endif

#endif /* PERMJIT_PERMJIT_QUERY_C_H_ */
