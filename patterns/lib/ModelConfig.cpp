// The model config document: its JSON form (read strictly, heads and layout rules through
// HeadSpecJson.cpp and LayoutRules.cpp), its validation, file IO, and the pattern of a head.
#include "permjit/patterns/ModelConfig.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "ModelConfigDetail.h"
#include "permjit/dsl/Files.h"

namespace permjit::patterns {
namespace {

using json = nlohmann::json;

using json_io::atPath;
using json_io::fail;
using json_io::joinNames;
using json_io::ObjectReader;

}  // namespace

json modelConfigToJson(const ModelConfig& c) {
  json layers = json::array();
  for (const LayerConfig& layer : c.layers) {
    json heads = json::array();
    for (size_t i = 0; i < layer.heads.size(); ++i) {
      json head = {{"head", static_cast<int64_t>(i)}};
      head.update(detail::headToJson(layer.heads[i]));
      heads.push_back(std::move(head));
    }
    layers.push_back({{"layer", layer.layer}, {"heads", std::move(heads)}});
  }
  json out = {{"permjit_model_config", kModelConfigVersion},
              {"model", c.model},
              {"num_heads", c.num_heads},
              {"layout_rules", detail::layoutRulesToJson(c.layout_rules)},
              {"layers", std::move(layers)}};
  if (c.search) {
    out["search"] = {{"recall_budget", c.search->recall_budget},
                     {"min_gain", c.search->min_gain},
                     {"calibration_seq_len", c.search->calibration_seq_len},
                     {"calibration_inputs", c.search->calibration_inputs}};
  }
  return out;
}

ModelConfig modelConfigFromJson(const json& value) {
  ObjectReader r(
      value, "config",
      {"permjit_model_config", "model", "num_heads", "layout_rules", "layers", "search"});
  const json& version = r.require("permjit_model_config", "the schema version");
  if (!version.is_number_integer() || version.get<int64_t>() != kModelConfigVersion) {
    fail("config.permjit_model_config",
         fmt::format("unsupported version {}; allowed: {}", version.dump(), kModelConfigVersion));
  }
  ModelConfig c;
  c.model = r.string("model", "the model this config is for");
  c.num_heads = r.integer("num_heads", "query heads per layer");
  if (c.num_heads < 1 || c.num_heads > 65536) {
    fail("config.num_heads", fmt::format("{} is out of range; allowed: [1, 65536]", c.num_heads));
  }
  c.layout_rules = detail::layoutRulesFromJson(
      r.require("layout_rules", "how a request's layout is derived"), "config.layout_rules");
  const json& layers = r.array("layers", "the per-layer head configs");
  for (size_t li = 0; li < layers.size(); ++li) {
    std::string layer_path = fmt::format("config.layers[{}]", li);
    ObjectReader lr(layers[li], layer_path, {"layer", "heads"});
    LayerConfig layer;
    layer.layer = lr.integer("layer", "the layer index");
    if (layer.layer < 0) fail(lr.field("layer"), fmt::format("must be >= 0, got {}", layer.layer));
    for (const LayerConfig& seen : c.layers) {
      if (seen.layer == layer.layer) {
        fail(lr.field("layer"),
             fmt::format("layer {} listed twice; each layer at most once", layer.layer));
      }
    }
    const json& heads = lr.array("heads", "every head 0..num_heads-1 of the layer");
    std::vector<std::optional<HeadSpec>> by_index(c.num_heads);
    for (size_t hi = 0; hi < heads.size(); ++hi) {
      std::string head_path = fmt::format("{}.heads[{}]", layer_path, hi);
      if (!heads[hi].is_object() || !heads[hi].contains("head")) {
        fail(head_path + ".head", "missing; each head entry names its head index");
      }
      int64_t index = ObjectReader::asInteger(heads[hi].at("head"), head_path + ".head");
      if (index < 0 || index >= c.num_heads) {
        fail(head_path + ".head",
             fmt::format("{} is out of range; allowed: [0, num_heads={})", index, c.num_heads));
      }
      if (by_index[index]) {
        fail(head_path + ".head",
             fmt::format("head {} listed twice in layer {}; each head exactly once", index,
                         layer.layer));
      }
      HeadSpec head = detail::headFromJson(heads[hi], head_path, true);
      detail::validateHead(head, head_path);
      by_index[index] = std::move(head);
    }
    for (int64_t h = 0; h < c.num_heads; ++h) {
      if (!by_index[h]) {
        fail(layer_path + ".heads",
             fmt::format("head {} missing in layer {}; every layer lists heads 0..{}", h,
                         layer.layer, c.num_heads - 1));
      }
      layer.heads.push_back(std::move(*by_index[h]));
    }
    c.layers.push_back(std::move(layer));
  }
  std::sort(c.layers.begin(), c.layers.end(),
            [](const LayerConfig& a, const LayerConfig& b) { return a.layer < b.layer; });
  if (r.has("search")) {
    ObjectReader sr(value.at("search"), "config.search",
                    {"recall_budget", "min_gain", "calibration_seq_len", "calibration_inputs"});
    SearchInfo s;
    s.recall_budget = detail::fractionOr(sr, "recall_budget").value_or(s.recall_budget);
    s.min_gain = detail::fractionOr(sr, "min_gain").value_or(s.min_gain);
    s.calibration_seq_len = sr.integerOr("calibration_seq_len", 0);
    s.calibration_inputs = sr.integerOr("calibration_inputs", 0);
    c.search = s;
  }
  return c;
}

void validateModelConfig(const ModelConfig& c) {
  if (c.num_heads < 1 || c.num_heads > 65536) {
    fail("config.num_heads", fmt::format("{} is out of range; allowed: [1, 65536]", c.num_heads));
  }
  detail::checkLayoutRules(c.layout_rules, "config.layout_rules");
  for (size_t li = 0; li < c.layers.size(); ++li) {
    const LayerConfig& layer = c.layers[li];
    std::string layer_path = fmt::format("config.layers[{}]", li);
    if (layer.layer < 0)
      fail(layer_path + ".layer", fmt::format("must be >= 0, got {}", layer.layer));
    if (li > 0 && c.layers[li - 1].layer >= layer.layer) {
      fail(layer_path + ".layer",
           fmt::format("layer {} duplicated or out of order; layers are listed once, ascending",
                       layer.layer));
    }
    if (static_cast<int64_t>(layer.heads.size()) != c.num_heads) {
      fail(layer_path + ".heads", fmt::format("lists {} heads; every layer lists num_heads={}",
                                              layer.heads.size(), c.num_heads));
    }
    for (size_t h = 0; h < layer.heads.size(); ++h) {
      detail::validateHead(layer.heads[h], fmt::format("{}.heads[{}]", layer_path, h));
    }
  }
}

ModelConfig parseModelConfig(const std::string& text) {
  return modelConfigFromJson(json_io::parseStrict(text, "config"));
}

ModelConfig loadModelConfig(const std::string& path) {
  const std::string text = readRegularFile(path, "model config");
  return atPath(path, [&] { return parseModelConfig(text); });
}

std::string dumpModelConfig(const ModelConfig& config) {
  validateModelConfig(config);
  return modelConfigToJson(config).dump(2) + "\n";
}

void saveModelConfig(const ModelConfig& config, const std::string& path) {
  // Atomically: a failed write (a full disk) must not cut short the config it replaces, which
  // --merge read its other layers from.
  writeFileAtomically(path, dumpModelConfig(config), "model config");
}

Pattern patternFor(const ModelConfig& config, int layer, int head) {
  const LayerConfig* found = nullptr;
  std::vector<std::string> listed;
  for (const LayerConfig& l : config.layers) {
    if (l.layer == layer) found = &l;
    listed.push_back(std::to_string(l.layer));
  }
  if (found == nullptr) {
    throw Error(ErrorCategory::kInvalidArgument,
                fmt::format("layer: {} is not in the config of '{}'; configured layers: {}", layer,
                            config.model, joinNames(listed)));
  }
  if (head < 0 || head >= static_cast<int64_t>(found->heads.size())) {
    throw Error(ErrorCategory::kInvalidArgument,
                fmt::format("head: {} is out of range; allowed: [0, num_heads={})", head,
                            found->heads.size()));
  }
  return headPattern(found->heads[head], fmt::format("layer {} head {}", layer, head));
}

}  // namespace permjit::patterns
