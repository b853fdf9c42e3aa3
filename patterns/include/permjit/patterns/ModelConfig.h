// Per-model, per-layer, per-head head-type configs (schema: docs/model-config.md, version 1).
//
//   {"permjit_model_config": 1, "model": "...", "num_heads": 2,
//    "layout_rules": {"kind": "text_vision_text", "prefix": 64, "suffix": 32},
//    "layers": [{"layer": 0, "heads": [{"head": 0, "type": "grid", "stride": 14, ...},
//                                       {"head": 1, "type": "a_shape", "sink": 64, ...}]}]}
//
// Reading is strict: unknown keys, unknown head types (the message lists the allowed ones),
// parameters out of range, missing or duplicated heads and duplicated layers throw
// Error(kInvalidPattern) with a JSON path ("layers[0].heads[1].stride: ..."); unreadable files
// throw Error(kIo). Every valid config round-trips: fromJson(toJson(c)) == c.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "permjit/dsl/Pattern.h"

namespace permjit::patterns {

constexpr int kModelConfigVersion = 1;

enum class HeadType {
  kDense,
  kAShape,
  kTriShape,
  kGrid,
  kVerticalSlash,
  kQBoundary,
  kBoundary2D,
  kFull,     // only as a boundary_2d block
  kPattern,  // any DSL pattern in its JSON form (dsl/Json.h)
};
const char* headTypeName(HeadType type);  // "dense", "a_shape", ...
// Throws Error(kInvalidPattern) "<field>: unknown head type 'x'; allowed: dense, a_shape, ...".
HeadType parseHeadType(const std::string& name, const std::string& field);

struct BoundaryBlock;

// One head: its type and the parameters that type reads (the others stay at their defaults).
struct HeadSpec {
  HeadType type = HeadType::kDense;
  int64_t sink = 0;                                     // a_shape, tri_shape, grid
  int64_t local = 1;                                    // a_shape, tri_shape, grid
  int64_t last_q_rows = 0;                              // tri_shape
  int64_t stride = 0;                                   // grid
  int64_t phase_q = 0;                                  // grid
  int64_t phase_k = 0;                                  // grid
  int64_t trailing_text_rows = 0;                       // grid
  SpanRef span = SpanRef::modality(Modality::kVision);  // grid
  std::vector<int64_t> estimate_strides;  // grid: non-empty = stride and phases estimated online
  int64_t estimate_last_q = 64;           // grid with estimate_strides
  int64_t vertical = 0, slash = 0, last_q = 0;  // vertical_slash
  std::vector<BoundaryBlock> blocks;            // q_boundary (k unused), boundary_2d
  std::optional<Pattern> pattern;               // pattern
  // Written by the search, informational: recall (mean kept attention mass per row) and
  // density (kept pairs / causal pairs) on the calibration inputs.
  std::optional<double> recall, density;
  bool operator==(const HeadSpec&) const;
};

struct BoundaryBlock {
  Modality q = Modality::kVision;
  Modality k = Modality::kVision;  // boundary_2d only
  HeadSpec head;
  // Defaulted out of line, after HeadSpec's: clang 14 crashes on the recursive comparison
  // (HeadSpec holds BoundaryBlocks) when it is defaulted here.
  bool operator==(const BoundaryBlock&) const;
};

// Builds the head's pattern (HeadTypes.h); throws Error(kInvalidPattern) naming `field`'s
// offending parameter.
Pattern headPattern(const HeadSpec& head, const std::string& field = "head");

// One head in the config's JSON head form (without the "head" index) and back (strict; `path`
// prefixes errors). headSpecFromJson checks nesting rules but not parameter ranges
// (headPattern does).
nlohmann::json headSpecToJson(const HeadSpec& head);
HeadSpec headSpecFromJson(const nlohmann::json& json, const std::string& path);

// One-line summary, e.g. "grid(stride=14, phase_q=0, phase_k=3, sink=64, local=64)".
std::string headSummary(const HeadSpec& head);

// How the Layout of a request is derived.
struct LayoutRules {
  enum class Kind {
    kTextVisionText,  // [0, prefix) text, [prefix, S - suffix) vision, [S - suffix, S) text
    kSpans,           // fixed spans (validated against each request's length)
    kRequest,         // every request carries its own layout
  };
  Kind kind = Kind::kTextVisionText;
  int64_t prefix = 0, suffix = 0;  // kTextVisionText
  Layout spans;                    // kSpans
  bool operator==(const LayoutRules&) const = default;
};

// Informational record of the search that produced a config.
struct SearchInfo {
  double recall_budget = 0.95;
  double min_gain = 0.01;
  int64_t calibration_seq_len = 0;
  int64_t calibration_inputs = 0;
  bool operator==(const SearchInfo&) const = default;
};

struct LayerConfig {
  int64_t layer = 0;
  std::vector<HeadSpec> heads;  // heads[h] is head h
  bool operator==(const LayerConfig&) const = default;
};

struct ModelConfig {
  std::string model;
  int64_t num_heads = 0;  // query heads per layer; every listed layer lists all of them
  LayoutRules layout_rules;
  std::vector<LayerConfig> layers;  // sorted by layer; a config may cover a subset of layers
  std::optional<SearchInfo> search;
  bool operator==(const ModelConfig&) const = default;
};

nlohmann::json modelConfigToJson(const ModelConfig& config);
ModelConfig modelConfigFromJson(const nlohmann::json& json);  // validates
ModelConfig parseModelConfig(const std::string& text);
ModelConfig loadModelConfig(const std::string& path);
std::string dumpModelConfig(const ModelConfig& config);                    // pretty-printed
void saveModelConfig(const ModelConfig& config, const std::string& path);  // Error(kIo)
// Checks everything modelConfigFromJson checks, on a config built in C++.
void validateModelConfig(const ModelConfig& config);

// The pattern of (layer, head). Throws Error(kInvalidArgument) naming the configured layers or
// the head range when the config does not cover them.
Pattern patternFor(const ModelConfig& config, int layer, int head);
// The layout of a request of seq_len tokens. `request_layout` is required for kRequest rules
// and ignored otherwise. Throws Error(kInvalidPattern) when the rules do not fit seq_len.
Layout layoutFor(const LayoutRules& rules, int64_t seq_len, const Layout* request_layout = nullptr);

}  // namespace permjit::patterns
