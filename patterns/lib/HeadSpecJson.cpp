// The head part of a model config: head-type names, one head's JSON form (read strictly) and
// its nesting rules.
#include <fmt/format.h>

#include <algorithm>

#include "ModelConfigDetail.h"
#include "permjit/dsl/Json.h"
#include "permjit/patterns/ModelConfig.h"

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

}  // namespace

namespace detail {

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

void validateHead(const HeadSpec& head, const std::string& path) {
  checkNesting(head, Nesting::kTop, path);
  headPattern(head, path);
}

}  // namespace detail

nlohmann::json headSpecToJson(const HeadSpec& head) { return detail::headToJson(head); }

HeadSpec headSpecFromJson(const nlohmann::json& json, const std::string& path) {
  HeadSpec head = detail::headFromJson(json, path, false);
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
bool BoundaryBlock::operator==(const BoundaryBlock&) const = default;

}  // namespace permjit::patterns
