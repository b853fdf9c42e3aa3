/* permjit DSL C API: patterns, layouts, head types and model configs as JSON text
 * (docs/json-schema.md, docs/model-config.md), checked, written back and turned into reference
 * masks by the C++ DSL itself, so every binding (the Python package among them) has one
 * implementation of the rules instead of a copy that could drift. Same conventions as
 * permjit_c.h: a status per call, the message of the last failure in permjit_last_error().
 *
 *   const char* canonical;
 *   if (permjit_pattern_canonical_json("{\"kind\": \"sink\", \"n\": 4}", &canonical) != PERMJIT_OK)
 *     puts(permjit_last_error());
 *
 * Returned text (const char** out) is owned by the library and stays valid until the next call
 * of a function of this header or permjit_query_c.h on the same thread. */
#ifndef PERMJIT_PERMJIT_DSL_C_H_
#define PERMJIT_PERMJIT_DSL_C_H_

#include "permjit/permjit_c.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One vertical_slash atom's key columns and diagonal offsets. */
typedef struct permjit_vertical_slash_sets {
  const int64_t* vertical;
  size_t num_vertical;
  const int64_t* slash;
  size_t num_slash;
} permjit_vertical_slash_sets_t;

/* The per-input indices a dynamic pattern's mask needs (permjit::DynamicIndices):
 * vertical_slash's key columns and diagonal offsets (its first atom's, for a pattern with one
 * per q_boundary modality: the others in later_atoms, ordered vision, text, other), and
 * grid_estimated's choice. */
typedef struct permjit_dynamic_indices {
  const int64_t* vertical;
  size_t num_vertical;
  const int64_t* slash;
  size_t num_slash;
  int has_grid; /* 1: grid_stride, grid_phase_q, grid_phase_k hold a grid_estimated choice */
  int64_t grid_stride, grid_phase_q, grid_phase_k;
  const permjit_vertical_slash_sets_t* later_atoms; /* num_later_atoms entries (NULL for 0) */
  size_t num_later_atoms;
} permjit_dynamic_indices_t;

/* A bare pattern node, read strictly (errors carry the JSON path, "pattern.n: ...") and written
 * back compact with every field, unions and intersections flattened: equal patterns give equal
 * text. */
permjit_status_t permjit_pattern_canonical_json(const char* pattern_json, const char** out_json);
/* The pattern's one-line DSL text, e.g. "causal() & (sink(4) | local(8))". */
permjit_status_t permjit_pattern_text(const char* pattern_json, const char** out_text);
/* *out = 1 when the pattern needs per-input indices (vertical_slash, grid_estimated). */
permjit_status_t permjit_pattern_is_dynamic(const char* pattern_json, int* out);
/* permjit::validate: the pattern against a layout ({"spans": [...]}; NULL or "" for none) and a
 * sequence length. */
permjit_status_t permjit_pattern_validate(const char* pattern_json, const char* layout_json,
                                          int64_t seq_len);
/* The seq_len x seq_len reference mask (row q major, 1 = kept) of permjit::keptMask into out,
 * which must hold seq_len * seq_len bytes (out_bytes). The pattern is validated against the
 * layout first. indices: NULL for static patterns. */
permjit_status_t permjit_pattern_mask(const char* pattern_json, const char* layout_json,
                                      int64_t seq_len, const permjit_dynamic_indices_t* indices,
                                      uint8_t* out, size_t out_bytes);

/* The picture `permjit viz` draws (the kept pairs in original order, then each pass of the plan
 * `options` describe, NULL for the defaults, in that pass's order), as 8-bit RGB rows, top row
 * first: *out_rgb points at width * height * 3 bytes and *out_json is {"width", "height",
 * "cell" (positions per pixel side), "passes" (a description per right-hand panel)}, both
 * valid until this thread's next call of this function. seq_len: 1..2^24; max_panel_pixels:
 * 16..8192, 0 for 512. Dynamic patterns (vertical_slash, grid_estimated) are refused. */
permjit_status_t permjit_pattern_viz_rgb(const char* pattern_json, const char* layout_json,
                                         int64_t seq_len, const permjit_plan_options_t* options,
                                         int max_panel_pixels, const char** out_json,
                                         const uint8_t** out_rgb);

/* A pattern file ({"permjit": 1, "name": ..., "pattern": ..., "layout": ...}), read strictly
 * and written back pretty-printed (permjit::dumpPatternFile). */
permjit_status_t permjit_pattern_file_canonical_json(const char* file_json, const char** out_json);

/* A layout ({"spans": [...]}) read strictly and written back compact. */
permjit_status_t permjit_layout_canonical_json(const char* layout_json, const char** out_json);
/* Layout::textVisionText: [0, prefix) text, [prefix, S - suffix) vision, [S - suffix, S) text. */
permjit_status_t permjit_layout_text_vision_text(int64_t seq_len, int64_t prefix, int64_t suffix,
                                                 const char** out_json);

/* One head in the model-config head form ({"type": "a_shape", "sink": 4, "local": 64}) as the
 * canonical JSON of its pattern (permjit/patterns/HeadTypes.h builds it). */
permjit_status_t permjit_head_pattern_json(const char* head_json, const char** out_pattern_json);
/* A model config read strictly (validated) and written back pretty-printed. */
permjit_status_t permjit_model_config_canonical_json(const char* config_json,
                                                     const char** out_json);
/* patternFor(config, layer, head) as canonical pattern JSON. */
permjit_status_t permjit_model_config_pattern_json(const char* config_json, int layer, int head,
                                                   const char** out_pattern_json);
/* layoutFor(config's rules, seq_len, request layout): request_layout_json may be NULL, and is
 * required for "request" rules. */
permjit_status_t permjit_model_config_layout_json(const char* config_json, int64_t seq_len,
                                                  const char* request_layout_json,
                                                  const char** out_layout_json);

/* One calibration input of the offline head search (permjit/patterns/Search.h): q
 * [heads, seq_len, head_dim] and k [kv_heads, seq_len, head_dim], row-major float32 on the
 * host, with the input's layout as JSON. */
typedef struct permjit_calibration_input {
  const float* q;
  const float* k;
  int64_t heads, kv_heads, seq_len, head_dim;
  const char* layout_json; /* NULL: every position is `other` */
} permjit_calibration_input_t;

/* searchHeads + configFromSearch over num_inputs inputs. options_json: NULL or an object with
 * any of "recall_budget", "min_gain", "scale" (numbers), "candidates" (an array of heads in the
 * model-config head form; a grid head without phase_q/phase_k has its phases searched),
 * "model" (string), "layer" (int), "layout_rules" (model-config form; default: "request"),
 * "device" ("cpu", the default, or "gpu": searchHeadsGpu on device 0, candidates may include
 * vertical_slash and the default list adds two), "dtype" ("fp16" or "bf16": what the GPU
 * search rounds the inputs to; default fp16).
 * *out_json: {"config": <model config>, "heads": [{"head": h, "chosen": i, "scores":
 * [{"head": <head>, "recall": r, "density": d, "dense": b}, ...]}, ...]}. */
permjit_status_t permjit_search_heads_json(const permjit_calibration_input_t* inputs,
                                           size_t num_inputs, const char* options_json,
                                           const char** out_json);

#ifdef __cplusplus
}
#endif

#endif /* PERMJIT_PERMJIT_DSL_C_H_ */
