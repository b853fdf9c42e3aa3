// Model configs shared by the layer tests (JSON text, as a user would write them).
#pragma once

#include <string>

namespace permjit::patterns::testing {

// Layer 0 of six heads, one of each static head type the layer runner serves; text_vision_text
// rules (76 text tokens, vision, 32 text tokens).
inline std::string mixedLayerJson(
    const std::string& layout_rules =
        R"({"kind": "text_vision_text", "prefix": 76, "suffix": 32})") {
  return R"({"permjit_model_config": 1, "model": "layer-test", "num_heads": 6,
    "layout_rules": )" +
         layout_rules + R"(,
    "layers": [{"layer": 0, "heads": [
      {"head": 0, "type": "dense"},
      {"head": 1, "type": "a_shape", "sink": 64, "local": 128},
      {"head": 2, "type": "grid", "stride": 14, "phase_q": 0, "phase_k": 3, "sink": 64,
       "local": 64, "trailing_text_rows": 32},
      {"head": 3, "type": "tri_shape", "sink": 16, "local": 96, "last_q_rows": 40},
      {"head": 4, "type": "q_boundary", "by_modality": {
        "vision": {"type": "grid", "stride": 7, "phase_q": 1, "phase_k": 2, "sink": 16, "local": 32},
        "text": {"type": "dense"}}},
      {"head": 5, "type": "boundary_2d", "blocks": [
        {"q": "vision", "k": "vision", "head": {"type": "grid", "stride": 9, "phase_q": 0,
                                                "phase_k": 4, "local": 48}},
        {"q": "text", "k": "vision", "head": {"type": "full"}},
        {"q": "text", "k": "text", "head": {"type": "a_shape", "sink": 4, "local": 64}}]}
    ]}]})";
}

// The same layer with two dynamic heads (estimated per run): head 0 vertical_slash, head 1 a
// grid head whose stride (7 or 14) and phases the online estimator picks.
inline std::string mixedLayerWithDynamicHeadsJson() {
  std::string json = mixedLayerJson();
  const std::string dense = R"({"head": 0, "type": "dense"})";
  json.replace(json.find(dense), dense.size(),
               R"({"head": 0, "type": "vertical_slash", "vertical": 48, "slash": 96,
                   "last_q": 64})");
  const std::string a_shape = R"({"head": 1, "type": "a_shape", "sink": 64, "local": 128})";
  json.replace(json.find(a_shape), a_shape.size(),
               R"({"head": 1, "type": "grid", "estimate_strides": [7, 14], "estimate_last_q": 32,
                   "sink": 16, "local": 32, "trailing_text_rows": 32})");
  return json;
}

}  // namespace permjit::patterns::testing
