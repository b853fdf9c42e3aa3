#include "permjit/patterns/ModelConfig.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "permjit/dsl/Json.h"
#include "permjit/dsl/JsonReader.h"
#include "permjit/patterns/HeadTypes.h"

namespace permjit::patterns {
namespace {

using json = nlohmann::json;

using json_io::atPath;
using json_io::describe;
using json_io::fail;
using json_io::joinNames;
using json_io::modalityFromJson;
using json_io::ObjectReader;
using json_io::spanFromJson;
using json_io::spanToJson;

// An optional number in [0, 1] (recall, density, search budgets).
std::optional<double> fractionOr(const ObjectReader& reader, const std::string& key) {
  if (!reader.has(key)) return std::nullopt;
  const json& v = reader.value().at(key);
  if (!v.is_number()) fail(reader.field(key), "expected a number, got " + describe(v));
  double x = v.get<double>();
  if (!(x >= 0.0 && x <= 1.0))
    fail(reader.field(key), fmt::format("{} is out of range; allowed: [0, 1]", x));
  return x;
}

const std::vector<std::pair<HeadType, const char*>>& headTypes() {
  static const std::vector<std::pair<HeadType, const char*>> types = {
      {HeadType::kDense, "dense"},
      {HeadType::kAShape, "a_shape"},
      {HeadType::kTriShape, "tri_shape"},
      {HeadType::kGrid, "grid"},
      {HeadType::kVerticalSlash, "vertical_slash"},
      {HeadType::kQBoundary, "q_boundary"},
      {HeadType::kBoundary2D, "boundary_2d"},
      {HeadType::kFull, "full"},
      {HeadType::kPattern, "pattern"},
  };
  return types;
}

std::string headTypeNames() {
  std::vector<std::string> names;
  for (const auto& [type, name] : headTypes()) names.push_back(name);
  return joinNames(names);
}

// The keys each head type reads, besides "type", "recall", "density" (and "head" at top level).
std::vector<std::string> paramKeys(HeadType type) {
  switch (type) {
    case HeadType::kDense:
    case HeadType::kFull:
      return {};
    case HeadType::kAShape:
      return {"sink", "local"};
    case HeadType::kTriShape:
      return {"sink", "local", "last_q_rows"};
    case HeadType::kGrid:
      return {"stride",
              "phase_q",
              "phase_k",
              "span",
              "sink",
              "local",
              "trailing_text_rows",
              "estimate_strides",
              "estimate_last_q"};
    case HeadType::kVerticalSlash:
      return {"vertical", "slash", "last_q"};
    case HeadType::kQBoundary:
      return {"by_modality"};
    case HeadType::kBoundary2D:
      return {"blocks"};
    case HeadType::kPattern:
      return {"pattern"};
  }
  return {};
}

enum class Nesting { kTop, kInQBoundary, kInBoundary2D };

void checkNesting(const HeadSpec& head, Nesting nesting, const std::string& path) {
  bool boundary = head.type == HeadType::kQBoundary || head.type == HeadType::kBoundary2D;
  if (boundary && nesting != Nesting::kTop) {
    fail(path + ".type",
         fmt::format("'{}' cannot nest inside a boundary head; allowed: dense, "
                     "a_shape, tri_shape, grid, vertical_slash, pattern{}",
                     headTypeName(head.type), nesting == Nesting::kInBoundary2D ? ", full" : ""));
  }
  if (head.type == HeadType::kFull && nesting != Nesting::kInBoundary2D) {
    fail(path + ".type",
         "'full' keeps every pair and is only allowed as a boundary_2d block (where the head's "
         "causal mask applies); allowed here: " +
             std::string(nesting == Nesting::kTop
                             ? "dense, a_shape, tri_shape, grid, vertical_slash, q_boundary, "
                               "boundary_2d, pattern"
                             : "dense, a_shape, tri_shape, grid, vertical_slash, pattern"));
  }
  for (const char* name : {"recall", "density"}) {
    const std::optional<double>& v = name[0] == 'r' ? head.recall : head.density;
    if (v && !(*v >= 0.0 && *v <= 1.0)) {
      fail(path + "." + name, fmt::format("{} is out of range; allowed: [0, 1]", *v));
    }
  }
  for (size_t i = 0; i < head.blocks.size(); ++i) {
    const BoundaryBlock& b = head.blocks[i];
    std::string block_path = head.type == HeadType::kQBoundary
                                 ? fmt::format("{}.by_modality.{}", path, modalityName(b.q))
                                 : fmt::format("{}.blocks[{}].head", path, i);
    checkNesting(b.head,
                 head.type == HeadType::kQBoundary ? Nesting::kInQBoundary : Nesting::kInBoundary2D,
                 block_path);
  }
}

json headToJson(const HeadSpec& h) {
  json out = {{"type", headTypeName(h.type)}};
  switch (h.type) {
    case HeadType::kDense:
    case HeadType::kFull:
      break;
    case HeadType::kAShape:
      out["sink"] = h.sink;
      out["local"] = h.local;
      break;
    case HeadType::kTriShape:
      out["sink"] = h.sink;
      out["local"] = h.local;
      out["last_q_rows"] = h.last_q_rows;
      break;
    case HeadType::kGrid:
      if (h.estimate_strides.empty()) {
        out["stride"] = h.stride;
        out["phase_q"] = h.phase_q;
        out["phase_k"] = h.phase_k;
      } else {
        out["estimate_strides"] = h.estimate_strides;
        out["estimate_last_q"] = h.estimate_last_q;
      }
      out["span"] = spanToJson(h.span);
      out["sink"] = h.sink;
      out["local"] = h.local;
      out["trailing_text_rows"] = h.trailing_text_rows;
      break;
    case HeadType::kVerticalSlash:
      out["vertical"] = h.vertical;
      out["slash"] = h.slash;
      out["last_q"] = h.last_q;
      break;
    case HeadType::kQBoundary: {
      json by = json::object();
      for (const BoundaryBlock& b : h.blocks) by[modalityName(b.q)] = headToJson(b.head);
      out["by_modality"] = std::move(by);
      break;
    }
    case HeadType::kBoundary2D: {
      json blocks = json::array();
      for (const BoundaryBlock& b : h.blocks) {
        blocks.push_back(
            {{"q", modalityName(b.q)}, {"k", modalityName(b.k)}, {"head", headToJson(b.head)}});
      }
      out["blocks"] = std::move(blocks);
      break;
    }
    case HeadType::kPattern:
      out["pattern"] = patternToJson(*h.pattern);
      break;
  }
  if (h.recall) out["recall"] = *h.recall;
  if (h.density) out["density"] = *h.density;
  return out;
}

HeadSpec headFromJson(const json& value, const std::string& path, bool with_index) {
  if (!value.is_object()) fail(path, "expected a head object, got " + describe(value));
  auto type_it = value.find("type");
  if (type_it == value.end()) fail(path + ".type", "missing; allowed: " + headTypeNames());
  if (!type_it->is_string()) fail(path + ".type", "expected a string, got " + describe(*type_it));
  HeadSpec h;
  h.type = parseHeadType(type_it->get<std::string>(), path + ".type");
  std::vector<std::string> keys = {"type", "recall", "density"};
  if (with_index) keys.push_back("head");
  for (const std::string& key : paramKeys(h.type)) keys.push_back(key);
  ObjectReader r(value, path, keys);
  const std::string needed = fmt::format("required for head type '{}'", headTypeName(h.type));
  switch (h.type) {
    case HeadType::kDense:
    case HeadType::kFull:
      break;
    case HeadType::kAShape:
      h.sink = r.integer("sink", needed);
      h.local = r.integer("local", needed);
      break;
    case HeadType::kTriShape:
      h.sink = r.integer("sink", needed);
      h.local = r.integer("local", needed);
      h.last_q_rows = r.integer("last_q_rows", needed);
      break;
    case HeadType::kGrid:
      if (r.has("estimate_strides")) {
        for (const char* fixed : {"stride", "phase_q", "phase_k"}) {
          if (r.has(fixed)) {
            fail(r.field(fixed),
                 "not allowed with estimate_strides (the estimator chooses the "
                 "stride and phases); give one or the other");
          }
        }
        const json& list = r.array("estimate_strides", needed);
        for (size_t i = 0; i < list.size(); ++i) {
          h.estimate_strides.push_back(ObjectReader::asInteger(
              list[i], fmt::format("{}[{}]", r.field("estimate_strides"), i)));
        }
        h.estimate_last_q = r.integerOr("estimate_last_q", 64);
      } else {
        h.stride = r.integer("stride", needed + " (or estimate_strides)");
        h.phase_q = r.integer("phase_q", needed);
        h.phase_k = r.integer("phase_k", needed);
      }
      if (r.has("span")) h.span = spanFromJson(value.at("span"), r.field("span"));
      h.sink = r.integerOr("sink", 0);
      h.local = r.integerOr("local", 1);
      h.trailing_text_rows = r.integerOr("trailing_text_rows", 0);
      break;
    case HeadType::kVerticalSlash:
      h.vertical = r.integer("vertical", needed);
      h.slash = r.integer("slash", needed);
      h.last_q = r.integer("last_q", needed);
      break;
    case HeadType::kQBoundary: {
      const json& by = r.require("by_modality", needed);
      if (!by.is_object()) fail(r.field("by_modality"), "expected an object, got " + describe(by));
      for (const auto& item : by.items()) {
        std::string item_path = r.field("by_modality") + "." + item.key();
        BoundaryBlock b;
        b.q = parseModality(item.key(), item_path);
        b.head = headFromJson(item.value(), item_path, false);
        h.blocks.push_back(std::move(b));
      }
      std::sort(h.blocks.begin(), h.blocks.end(),
                [](const BoundaryBlock& a, const BoundaryBlock& b) { return a.q < b.q; });
      break;
    }
    case HeadType::kBoundary2D: {
      const json& blocks = r.array("blocks", needed);
      for (size_t i = 0; i < blocks.size(); ++i) {
        std::string block_path = fmt::format("{}[{}]", r.field("blocks"), i);
        ObjectReader br(blocks[i], block_path, {"q", "k", "head"});
        const std::string block_needed = "each block has q, k and head";
        BoundaryBlock b;
        b.q = modalityFromJson(br.require("q", block_needed), br.field("q"));
        b.k = modalityFromJson(br.require("k", block_needed), br.field("k"));
        b.head = headFromJson(br.require("head", block_needed), br.field("head"), false);
        for (const BoundaryBlock& seen : h.blocks) {
          if (seen.q == b.q && seen.k == b.k) {
            fail(block_path, fmt::format("block ({}, {}) listed twice; each (q, k) pair at most "
                                         "once",
                                         modalityName(b.q), modalityName(b.k)));
          }
        }
        h.blocks.push_back(std::move(b));
      }
      break;
    }
    case HeadType::kPattern:
      h.pattern =
          atPath(r.field("pattern"), [&] { return patternFromJson(r.require("pattern", needed)); });
      break;
  }
  h.recall = fractionOr(r, "recall");
  h.density = fractionOr(r, "density");
  return h;
}

json layoutRulesToJson(const LayoutRules& rules) {
  switch (rules.kind) {
    case LayoutRules::Kind::kTextVisionText:
      return {{"kind", "text_vision_text"}, {"prefix", rules.prefix}, {"suffix", rules.suffix}};
    case LayoutRules::Kind::kSpans:
      return {{"kind", "spans"}, {"layout", layoutToJson(rules.spans)}};
    case LayoutRules::Kind::kRequest:
      return {{"kind", "request"}};
  }
  throw Error(ErrorCategory::kInternal, "layout rules of unknown kind");
}

void checkLayoutRules(const LayoutRules& rules, const std::string& path) {
  if (rules.kind == LayoutRules::Kind::kTextVisionText) {
    if (rules.prefix < 0 || rules.prefix > kMaxPositionParam) {
      fail(path + ".prefix",
           fmt::format("{} is out of range; allowed: [0, {}]", rules.prefix, kMaxPositionParam));
    }
    if (rules.suffix < 0 || rules.suffix > kMaxPositionParam) {
      fail(path + ".suffix",
           fmt::format("{} is out of range; allowed: [0, {}]", rules.suffix, kMaxPositionParam));
    }
  }
}

LayoutRules layoutRulesFromJson(const json& value, const std::string& path) {
  if (!value.is_object()) fail(path, "expected an object, got " + describe(value));
  const std::string allowed = "text_vision_text, spans, request";
  auto kind_it = value.find("kind");
  if (kind_it == value.end() || !kind_it->is_string()) {
    fail(path + ".kind", "missing or not a string; allowed: " + allowed);
  }
  std::string kind = kind_it->get<std::string>();
  LayoutRules rules;
  if (kind == "text_vision_text") {
    ObjectReader r(value, path, {"kind", "prefix", "suffix"});
    rules.kind = LayoutRules::Kind::kTextVisionText;
    rules.prefix = r.integer("prefix", "text tokens before the vision span");
    rules.suffix = r.integer("suffix", "text tokens after the vision span");
  } else if (kind == "spans") {
    ObjectReader r(value, path, {"kind", "layout"});
    rules.kind = LayoutRules::Kind::kSpans;
    rules.spans = atPath(r.field("layout"), [&] {
      return layoutFromJson(r.require("layout", "the fixed layout of every request"));
    });
  } else if (kind == "request") {
    ObjectReader r(value, path, {"kind"});
    rules.kind = LayoutRules::Kind::kRequest;
  } else {
    fail(path + ".kind", fmt::format("unknown layout rule '{}'; allowed: {}", kind, allowed));
  }
  checkLayoutRules(rules, path);
  return rules;
}

void validateHead(const HeadSpec& head, const std::string& path) {
  checkNesting(head, Nesting::kTop, path);
  headPattern(head, path);
}

}  // namespace

nlohmann::json headSpecToJson(const HeadSpec& head) { return headToJson(head); }

HeadSpec headSpecFromJson(const nlohmann::json& json, const std::string& path) {
  HeadSpec head = headFromJson(json, path, false);
  checkNesting(head, Nesting::kTop, path);
  return head;
}

const char* headTypeName(HeadType type) {
  for (const auto& [t, name] : headTypes()) {
    if (t == type) return name;
  }
  return "?";
}

HeadType parseHeadType(const std::string& name, const std::string& field) {
  for (const auto& [type, type_name] : headTypes()) {
    if (name == type_name) return type;
  }
  fail(field, fmt::format("unknown head type '{}'; allowed: {}", name, headTypeNames()));
}

bool HeadSpec::operator==(const HeadSpec&) const = default;

Pattern headPattern(const HeadSpec& h, const std::string& field) {
  return atPath(field, [&]() -> Pattern {
    switch (h.type) {
      case HeadType::kDense:
        return dense();
      case HeadType::kFull:
        return full();
      case HeadType::kAShape:
        return a_shape(h.sink, h.local);
      case HeadType::kTriShape:
        return tri_shape(h.sink, h.local, h.last_q_rows);
      case HeadType::kGrid:
        return grid_head({h.stride, h.phase_q, h.phase_k, h.span, h.sink, h.local,
                          h.trailing_text_rows, h.estimate_strides, h.estimate_last_q});
      case HeadType::kVerticalSlash:
        return vertical_slash_head(h.vertical, h.slash, h.last_q);
      case HeadType::kQBoundary: {
        std::map<Modality, Pattern> by;
        for (const BoundaryBlock& b : h.blocks) {
          if (by.count(b.q)) {
            fail(fmt::format("by_modality.{}", modalityName(b.q)), "modality listed twice");
          }
          by.emplace(b.q, headPattern(b.head, fmt::format("by_modality.{}", modalityName(b.q))));
        }
        return q_boundary_head(by);
      }
      case HeadType::kBoundary2D: {
        std::map<std::pair<Modality, Modality>, Pattern> by;
        for (size_t i = 0; i < h.blocks.size(); ++i) {
          const BoundaryBlock& b = h.blocks[i];
          std::string block_path = fmt::format("blocks[{}]", i);
          if (by.count({b.q, b.k})) fail(block_path, "(q, k) block listed twice");
          by.emplace(std::make_pair(b.q, b.k), headPattern(b.head, block_path + ".head"));
        }
        return boundary_2d_head(by);
      }
      case HeadType::kPattern:
        if (!h.pattern) fail("pattern", "missing; required for head type 'pattern'");
        return *h.pattern;
    }
    throw Error(ErrorCategory::kInternal, "head of unknown type");
  });
}

std::string headSummary(const HeadSpec& h) {
  switch (h.type) {
    case HeadType::kAShape:
      return fmt::format("a_shape(sink={}, local={})", h.sink, h.local);
    case HeadType::kTriShape:
      return fmt::format("tri_shape(sink={}, local={}, last_q_rows={})", h.sink, h.local,
                         h.last_q_rows);
    case HeadType::kGrid:
      if (!h.estimate_strides.empty()) {
        return fmt::format(
            "grid(estimated stride in {{{}}}, last_q={}, sink={}, local={}, "
            "trailing_text_rows={}, span={})",
            fmt::join(h.estimate_strides, ", "), h.estimate_last_q, h.sink, h.local,
            h.trailing_text_rows, h.span.str());
      }
      return fmt::format(
          "grid(stride={}, phase_q={}, phase_k={}, sink={}, local={}, "
          "trailing_text_rows={}, span={})",
          h.stride, h.phase_q, h.phase_k, h.sink, h.local, h.trailing_text_rows, h.span.str());
    case HeadType::kVerticalSlash:
      return fmt::format("vertical_slash(vertical={}, slash={}, last_q={})", h.vertical, h.slash,
                         h.last_q);
    default:
      return headPattern(h).str();
  }
}

json modelConfigToJson(const ModelConfig& c) {
  json layers = json::array();
  for (const LayerConfig& layer : c.layers) {
    json heads = json::array();
    for (size_t i = 0; i < layer.heads.size(); ++i) {
      json head = {{"head", static_cast<int64_t>(i)}};
      head.update(headToJson(layer.heads[i]));
      heads.push_back(std::move(head));
    }
    layers.push_back({{"layer", layer.layer}, {"heads", std::move(heads)}});
  }
  json out = {{"permjit_model_config", kModelConfigVersion},
              {"model", c.model},
              {"num_heads", c.num_heads},
              {"layout_rules", layoutRulesToJson(c.layout_rules)},
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
  c.layout_rules = layoutRulesFromJson(
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
      HeadSpec head = headFromJson(heads[hi], head_path, true);
      validateHead(head, head_path);
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
    s.recall_budget = fractionOr(sr, "recall_budget").value_or(s.recall_budget);
    s.min_gain = fractionOr(sr, "min_gain").value_or(s.min_gain);
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
  checkLayoutRules(c.layout_rules, "config.layout_rules");
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
      validateHead(layer.heads[h], fmt::format("{}.heads[{}]", layer_path, h));
    }
  }
}

ModelConfig parseModelConfig(const std::string& text) {
  json value;
  try {
    value = json::parse(text);
  } catch (const json::parse_error& e) {
    throw Error(ErrorCategory::kInvalidPattern,
                fmt::format("config: not valid JSON: {}", e.what()));
  }
  return modelConfigFromJson(value);
}

ModelConfig loadModelConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCategory::kIo, fmt::format("{}: cannot open model config", path));
  std::stringstream text;
  text << in.rdbuf();
  return atPath(path, [&] { return parseModelConfig(text.str()); });
}

std::string dumpModelConfig(const ModelConfig& config) {
  validateModelConfig(config);
  return modelConfigToJson(config).dump(2) + "\n";
}

void saveModelConfig(const ModelConfig& config, const std::string& path) {
  std::string text = dumpModelConfig(config);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(ErrorCategory::kIo, fmt::format("{}: cannot open for writing", path));
  out << text;
  out.close();
  if (!out) throw Error(ErrorCategory::kIo, fmt::format("{}: write failed", path));
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

Layout layoutFor(const LayoutRules& rules, int64_t seq_len, const Layout* request_layout) {
  switch (rules.kind) {
    case LayoutRules::Kind::kTextVisionText:
      if (rules.prefix + rules.suffix > seq_len) {
        fail("layout_rules", fmt::format("prefix {} + suffix {} exceed the request's seq_len {}",
                                         rules.prefix, rules.suffix, seq_len));
      }
      return Layout::textVisionText(seq_len, rules.prefix, rules.suffix);
    case LayoutRules::Kind::kSpans:
      atPath("layout_rules.layout", [&] { rules.spans.validate(seq_len); });
      return rules.spans;
    case LayoutRules::Kind::kRequest:
      if (request_layout == nullptr) {
        throw Error(ErrorCategory::kInvalidArgument,
                    "layout_rules: kind 'request' needs the request's own layout; got none");
      }
      request_layout->validate(seq_len);
      return *request_layout;
  }
  throw Error(ErrorCategory::kInternal, "layout rules of unknown kind");
}

}  // namespace permjit::patterns
