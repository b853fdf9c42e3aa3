// The DSL C API (permjit_dsl_c.h) over the C++ DSL, head types, model configs and the offline
// search: JSON text in, canonical JSON text (or a mask) out, through
// capi::callGuarded (no exception crosses; the message is permjit_last_error()).
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ModelConfigDetail.h"  // patterns/lib: the layout-rules reader of the config schema
#include "TextResult.h"
#include "permjit/dsl/Json.h"
#include "permjit/dsl/JsonReader.h"
#include "permjit/dsl/Reference.h"
#include "permjit/patterns/GpuSearch.h"
#include "permjit/patterns/HeadTypes.h"
#include "permjit/patterns/ModelConfig.h"
#include "permjit/patterns/Search.h"
#include "permjit/patterns/Viz.h"
#include "permjit/permjit.h"
#include "permjit/permjit_dsl_c.h"
#include "permjit/runtime/CApiAccess.h"

namespace {

using nlohmann::json;
using permjit::Error;
using permjit::ErrorCategory;
using permjit::Layout;
using permjit::Pattern;
using permjit::capi::callGuarded;
using permjit::capi::nullArgument;
using permjit::capi::returnText;

// JSON text of the argument `name`; nlohmann's parse errors become Error(kInvalidPattern)
// naming the argument (the guard would otherwise report them as "pattern_json: ...").
json parseArgument(const char* text, const char* name) {
  if (text == nullptr) throw nullArgument(name);
  return permjit::json_io::parseStrict(text, name);
}

Pattern patternArgument(const char* pattern_json) {
  return permjit::patternFromJson(parseArgument(pattern_json, "pattern_json"));
}

// NULL or "" is the empty layout (every position `other`).
Layout layoutArgument(const char* layout_json, const char* name = "layout_json") {
  if (layout_json == nullptr || *layout_json == '\0') return Layout();
  return permjit::layoutFromJson(parseArgument(layout_json, name));
}

// One atom's sets; `field` names them in errors ("indices", "indices.later_atoms[0]").
permjit::VerticalSlashSets setsOf(const int64_t* vertical, size_t num_vertical,
                                  const int64_t* slash, size_t num_slash,
                                  const std::string& field) {
  permjit::VerticalSlashSets out;
  if (num_vertical > 0) {
    if (vertical == nullptr) throw nullArgument((field + ".vertical").c_str());
    out.vertical.assign(vertical, vertical + num_vertical);
  }
  if (num_slash > 0) {
    if (slash == nullptr) throw nullArgument((field + ".slash").c_str());
    out.slash.assign(slash, slash + num_slash);
  }
  return out;
}

permjit::DynamicIndices indicesOf(const permjit_dynamic_indices_t& in) {
  permjit::DynamicIndices out;
  permjit::VerticalSlashSets first =
      setsOf(in.vertical, in.num_vertical, in.slash, in.num_slash, "indices");
  out.vertical = std::move(first.vertical);
  out.slash = std::move(first.slash);
  if (in.num_later_atoms > 0 && in.later_atoms == nullptr) {
    throw nullArgument("indices.later_atoms");
  }
  for (size_t i = 0; i < in.num_later_atoms; ++i) {
    const permjit_vertical_slash_sets_t& atom = in.later_atoms[i];
    out.later_atoms.push_back(setsOf(atom.vertical, atom.num_vertical, atom.slash, atom.num_slash,
                                     "indices.later_atoms[" + std::to_string(i) + "]"));
  }
  if (in.has_grid) out.grid = permjit::GridChoice{in.grid_stride, in.grid_phase_q, in.grid_phase_k};
  return out;
}

}  // namespace

extern "C" {

permjit_status_t permjit_pattern_canonical_json(const char* pattern_json, const char** out_json) {
  return callGuarded([&] {
    if (out_json == nullptr) throw nullArgument("out_json");
    returnText(permjit::patternToJson(patternArgument(pattern_json)).dump(), out_json);
  });
}

permjit_status_t permjit_pattern_text(const char* pattern_json, const char** out_text) {
  return callGuarded([&] {
    if (out_text == nullptr) throw nullArgument("out_text");
    returnText(patternArgument(pattern_json).str(), out_text);
  });
}

permjit_status_t permjit_pattern_is_dynamic(const char* pattern_json, int* out) {
  return callGuarded([&] {
    if (out == nullptr) throw nullArgument("out");
    *out = permjit::isDynamic(patternArgument(pattern_json)) ? 1 : 0;
  });
}

permjit_status_t permjit_pattern_validate(const char* pattern_json, const char* layout_json,
                                          int64_t seq_len) {
  return callGuarded([&] {
    permjit::validate(patternArgument(pattern_json), layoutArgument(layout_json), seq_len);
  });
}

permjit_status_t permjit_pattern_mask(const char* pattern_json, const char* layout_json,
                                      int64_t seq_len, const permjit_dynamic_indices_t* indices,
                                      uint8_t* out, size_t out_bytes) {
  return callGuarded([&] {
    if (out == nullptr) throw nullArgument("out");
    const Pattern pattern = patternArgument(pattern_json);
    const Layout layout = layoutArgument(layout_json);
    if (seq_len < 1) {
      throw Error(ErrorCategory::kInvalidArgument,
                  "seq_len: must be >= 1, got " + std::to_string(seq_len));
    }
    const auto cells = static_cast<uint64_t>(seq_len) * static_cast<uint64_t>(seq_len);
    if (out_bytes != cells) {
      throw Error(ErrorCategory::kInvalidArgument,
                  "out_bytes: must be seq_len * seq_len = " + std::to_string(cells) + ", got " +
                      std::to_string(out_bytes));
    }
    permjit::validate(pattern, layout, seq_len);
    permjit::DynamicIndices dyn;
    if (indices != nullptr) dyn = indicesOf(*indices);
    const std::vector<uint8_t> mask =
        permjit::keptMask(pattern, layout, seq_len, indices != nullptr ? &dyn : nullptr);
    std::memcpy(out, mask.data(), mask.size());
  });
}

permjit_status_t permjit_pattern_file_canonical_json(const char* file_json, const char** out_json) {
  return callGuarded([&] {
    if (out_json == nullptr) throw nullArgument("out_json");
    if (file_json == nullptr) throw nullArgument("file_json");
    returnText(permjit::dumpPatternFile(permjit::parsePatternFile(file_json)), out_json);
  });
}

permjit_status_t permjit_layout_canonical_json(const char* layout_json, const char** out_json) {
  return callGuarded([&] {
    if (out_json == nullptr) throw nullArgument("out_json");
    if (layout_json == nullptr) throw nullArgument("layout_json");
    returnText(permjit::layoutToJson(layoutArgument(layout_json)).dump(), out_json);
  });
}

permjit_status_t permjit_layout_text_vision_text(int64_t seq_len, int64_t prefix, int64_t suffix,
                                                 const char** out_json) {
  return callGuarded([&] {
    if (out_json == nullptr) throw nullArgument("out_json");
    returnText(permjit::layoutToJson(Layout::textVisionText(seq_len, prefix, suffix)).dump(),
               out_json);
  });
}

permjit_status_t permjit_head_pattern_json(const char* head_json, const char** out_pattern_json) {
  return callGuarded([&] {
    if (out_pattern_json == nullptr) throw nullArgument("out_pattern_json");
    const permjit::patterns::HeadSpec head =
        permjit::patterns::headSpecFromJson(parseArgument(head_json, "head_json"), "head");
    returnText(permjit::patternToJson(permjit::patterns::headPattern(head, "head")).dump(),
               out_pattern_json);
  });
}

permjit_status_t permjit_model_config_canonical_json(const char* config_json,
                                                     const char** out_json) {
  return callGuarded([&] {
    if (out_json == nullptr) throw nullArgument("out_json");
    if (config_json == nullptr) throw nullArgument("config_json");
    returnText(permjit::patterns::dumpModelConfig(permjit::patterns::parseModelConfig(config_json)),
               out_json);
  });
}

permjit_status_t permjit_model_config_pattern_json(const char* config_json, int layer, int head,
                                                   const char** out_pattern_json) {
  return callGuarded([&] {
    if (out_pattern_json == nullptr) throw nullArgument("out_pattern_json");
    if (config_json == nullptr) throw nullArgument("config_json");
    const auto config = permjit::patterns::parseModelConfig(config_json);
    returnText(permjit::patternToJson(permjit::patterns::patternFor(config, layer, head)).dump(),
               out_pattern_json);
  });
}

permjit_status_t permjit_model_config_layout_json(const char* config_json, int64_t seq_len,
                                                  const char* request_layout_json,
                                                  const char** out_layout_json) {
  return callGuarded([&] {
    if (out_layout_json == nullptr) throw nullArgument("out_layout_json");
    if (config_json == nullptr) throw nullArgument("config_json");
    const auto config = permjit::patterns::parseModelConfig(config_json);
    std::optional<Layout> request;
    if (request_layout_json != nullptr) {
      request = layoutArgument(request_layout_json, "request_layout_json");
    }
    const Layout layout =
        permjit::patterns::layoutFor(config.layout_rules, seq_len, request ? &*request : nullptr);
    returnText(permjit::layoutToJson(layout).dump(), out_layout_json);
  });
}

permjit_status_t permjit_search_heads_json(const permjit_calibration_input_t* inputs,
                                           size_t num_inputs, const char* options_json,
                                           const char** out_json) {
  return callGuarded([&] {
    if (out_json == nullptr) throw nullArgument("out_json");
    if (inputs == nullptr || num_inputs == 0) {
      throw Error(ErrorCategory::kInvalidArgument,
                  "inputs: none; allowed: at least one calibration input");
    }
    std::vector<permjit::patterns::CalibrationInput> cpp_inputs;
    for (size_t i = 0; i < num_inputs; ++i) {
      const permjit_calibration_input_t& in = inputs[i];
      const std::string field = "inputs[" + std::to_string(i) + "]";
      if (in.q == nullptr) throw nullArgument((field + ".q").c_str());
      if (in.k == nullptr) throw nullArgument((field + ".k").c_str());
      permjit::patterns::CalibrationInput input;
      input.q = in.q;
      input.k = in.k;
      input.heads = in.heads;
      input.kv_heads = in.kv_heads;
      input.seq_len = in.seq_len;
      input.head_dim = in.head_dim;
      input.layout = layoutArgument(in.layout_json, (field + ".layout_json").c_str());
      cpp_inputs.push_back(std::move(input));
    }
    permjit::patterns::SearchOptions options;
    std::string model = "model";
    int64_t layer = 0;
    permjit::patterns::LayoutRules rules;
    rules.kind = permjit::patterns::LayoutRules::Kind::kRequest;
    bool on_gpu = false;
    permjit::patterns::GpuSearchOptions gpu;
    if (options_json != nullptr) {
      const json value = parseArgument(options_json, "options_json");
      if (!value.is_object()) {
        throw Error(ErrorCategory::kInvalidArgument, "options_json: expected an object");
      }
      for (const auto& [key, item] : value.items()) {
        const std::string field = "options_json." + key;
        auto number = [&] {
          if (!item.is_number()) {
            throw Error(ErrorCategory::kInvalidArgument, field + ": expected a number");
          }
          return item.get<double>();
        };
        if (key == "recall_budget") {
          options.recall_budget = number();
        } else if (key == "min_gain") {
          options.min_gain = number();
        } else if (key == "scale") {
          options.scale = number();
        } else if (key == "model") {
          if (!item.is_string()) {
            throw Error(ErrorCategory::kInvalidArgument, field + ": expected a string");
          }
          model = item.get<std::string>();
        } else if (key == "layer") {
          if (!item.is_number_integer()) {
            throw Error(ErrorCategory::kInvalidArgument, field + ": expected an integer");
          }
          layer = item.get<int64_t>();
        } else if (key == "candidates") {
          const json file = {{"permjit_search_candidates", 1}, {"candidates", item}};
          options.candidates = permjit::patterns::parseCandidates(file.dump(), "options_json");
        } else if (key == "layout_rules") {
          rules = permjit::patterns::detail::layoutRulesFromJson(item, field);
        } else if (key == "device") {
          if (item != "cpu" && item != "gpu") {
            throw Error(ErrorCategory::kInvalidArgument, field + ": allowed: \"cpu\", \"gpu\"");
          }
          on_gpu = item == "gpu";
        } else if (key == "dtype") {
          if (item != "fp16" && item != "bf16") {
            throw Error(ErrorCategory::kInvalidArgument,
                        field + ": allowed: \"fp16\", \"bf16\" (the GPU search's rounding)");
          }
          gpu.dtype = item == "fp16" ? permjit::DType::kFP16 : permjit::DType::kBF16;
        } else {
          throw Error(ErrorCategory::kInvalidArgument,
                      field +
                          ": unknown key; allowed: recall_budget, min_gain, scale, "
                          "candidates, model, layer, layout_rules, device, dtype");
        }
      }
    }
    std::vector<permjit::patterns::HeadSearchResult> results;
    if (on_gpu) {
      permjit::Runtime runtime;  // device 0, the kernel cache from PERMJIT_CACHE_DIR
      results = permjit::patterns::searchHeadsGpu(runtime, cpp_inputs, options, gpu);
    } else {
      results = permjit::patterns::searchHeads(cpp_inputs, options);
    }
    const auto config = permjit::patterns::configFromSearch(
        results, model, layer, rules, options, cpp_inputs[0].seq_len,
        static_cast<int64_t>(cpp_inputs.size()));
    json heads = json::array();
    for (const auto& result : results) {
      json scores = json::array();
      for (const auto& score : result.scores) {
        scores.push_back({{"head", permjit::patterns::headSpecToJson(score.head)},
                          {"recall", score.recall},
                          {"density", score.density},
                          {"dense", score.dense}});
      }
      heads.push_back({{"head", result.head}, {"chosen", result.chosen}, {"scores", scores}});
    }
    const json out = {{"config", permjit::patterns::modelConfigToJson(config)}, {"heads", heads}};
    returnText(out.dump(), out_json);
  });
}

permjit_status_t permjit_pattern_viz_rgb(const char* pattern_json, const char* layout_json,
                                         int64_t seq_len, const permjit_plan_options_t* options,
                                         int max_panel_pixels, const char** out_json,
                                         const uint8_t** out_rgb) {
  return callGuarded([&] {
    if (out_json == nullptr) throw nullArgument("out_json");
    if (out_rgb == nullptr) throw nullArgument("out_rgb");
    // seq_len, the layout and max_panel_pixels are checked where the picture is rendered.
    permjit::PlanOptions plan;
    if (options != nullptr) permjit::capi::copyPlanOptions(*options, "options.", plan);
    plan.layout = layoutArgument(layout_json);
    plan.seq_len = seq_len;
    permjit::patterns::VizOptions viz;
    if (max_panel_pixels != 0) viz.max_panel_pixels = max_panel_pixels;
    // One picture per thread, like the text results: valid until this thread's next call.
    static thread_local permjit::patterns::VizImage image;
    image = permjit::patterns::renderPatternImage(patternArgument(pattern_json),
                                                  permjit::compileOptionsFor(plan), viz);
    const json info = {{"width", image.info.width},
                       {"height", image.info.height},
                       {"cell", image.info.cell},
                       {"passes", image.info.passes}};
    returnText(info.dump(), out_json);
    *out_rgb = image.rgb.data();
  });
}

}  // extern "C"
