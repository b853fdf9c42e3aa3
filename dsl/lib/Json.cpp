#include "permjit/dsl/Json.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "permjit/dsl/Files.h"
#include "permjit/dsl/JsonReader.h"

namespace permjit {
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

// ---- patterns ------------------------------------------------------------------------------

struct KindInfo {
  const char* name;
  Pattern::Kind kind;
  std::vector<std::string> keys;  // allowed keys besides "kind"
};

const std::vector<KindInfo>& kinds() {
  static const std::vector<KindInfo> kKinds = {
      {"causal", Pattern::Kind::kCausal, {}},
      {"sink", Pattern::Kind::kSink, {"n"}},
      {"local", Pattern::Kind::kLocal, {"window"}},
      {"grid", Pattern::Kind::kGrid, {"stride", "phase_q", "phase_k", "span"}},
      {"vlines", Pattern::Kind::kVLines, {"stride", "phase", "span"}},
      {"hlines", Pattern::Kind::kHLines, {"stride", "phase", "span"}},
      {"rows", Pattern::Kind::kRows, {"span"}},
      {"block", Pattern::Kind::kBlock, {"q", "k"}},
      {"vertical_slash", Pattern::Kind::kVerticalSlash, {"vertical", "slash", "last_q"}},
      {"grid_estimated", Pattern::Kind::kGridEstimated, {"strides", "last_q", "span"}},
      {"union", Pattern::Kind::kUnion, {"of"}},
      {"intersect", Pattern::Kind::kIntersect, {"of"}},
      {"q_boundary", Pattern::Kind::kQBoundary, {"by"}},
      {"boundary_2d", Pattern::Kind::kBoundary2D, {"blocks"}},
      {"permute", Pattern::Kind::kPermute, {"axes", "by", "pattern"}},
  };
  return kKinds;
}

const KindInfo& infoOf(Pattern::Kind kind) {
  for (const KindInfo& info : kinds()) {
    if (info.kind == kind) return info;
  }
  throw Error(ErrorCategory::kInternal, "pattern node of unknown kind");
}

json toJson(const Pattern& pattern) {
  const Pattern::Node& n = pattern.node();
  json out = {{"kind", infoOf(n.kind).name}};
  switch (n.kind) {
    case Pattern::Kind::kCausal:
      break;
    case Pattern::Kind::kSink:
      out["n"] = n.n;
      break;
    case Pattern::Kind::kLocal:
      out["window"] = n.window;
      break;
    case Pattern::Kind::kGrid:
      out["stride"] = n.stride;
      out["phase_q"] = n.phase_q;
      out["phase_k"] = n.phase_k;
      out["span"] = spanToJson(n.span);
      break;
    case Pattern::Kind::kVLines:
    case Pattern::Kind::kHLines:
      out["stride"] = n.stride;
      out["phase"] = n.phase;
      out["span"] = spanToJson(n.span);
      break;
    case Pattern::Kind::kRows:
      out["span"] = spanToJson(n.span);
      break;
    case Pattern::Kind::kBlock:
      out["q"] = spanToJson(n.q_span);
      out["k"] = spanToJson(n.k_span);
      break;
    case Pattern::Kind::kVerticalSlash:
      out["vertical"] = n.vertical;
      out["slash"] = n.slash;
      out["last_q"] = n.last_q;
      break;
    case Pattern::Kind::kGridEstimated:
      out["strides"] = n.strides;
      out["last_q"] = n.last_q;
      out["span"] = spanToJson(n.span);
      break;
    case Pattern::Kind::kUnion:
    case Pattern::Kind::kIntersect: {
      json of = json::array();
      for (const Pattern& child : n.children) of.push_back(toJson(child));
      out["of"] = std::move(of);
      break;
    }
    case Pattern::Kind::kQBoundary: {
      json by = json::object();
      for (const auto& [m, p] : n.by_q) by[modalityName(m)] = toJson(p);
      out["by"] = std::move(by);
      break;
    }
    case Pattern::Kind::kBoundary2D: {
      json blocks = json::array();
      for (const auto& [mm, p] : n.by_q_k) {
        blocks.push_back({{"q", modalityName(mm.first)},
                          {"k", modalityName(mm.second)},
                          {"pattern", toJson(p)}});
      }
      out["blocks"] = std::move(blocks);
      break;
    }
    case Pattern::Kind::kPermute: {
      out["axes"] = permuteAxesName(n.axes);
      if (n.by.kind == PermuteBy::Kind::kResidue) {
        out["by"] = {{"residue", {{"stride", n.by.stride}, {"span", spanToJson(n.by.span)}}}};
      } else {
        json order = json::array();
        for (Modality m : n.by.order) order.push_back(modalityName(m));
        out["by"] = {{"modality", std::move(order)}};
      }
      out["pattern"] = toJson(n.children.at(0));
      break;
    }
  }
  return out;
}

std::string kindNames() {
  std::vector<std::string> names;
  for (const KindInfo& info : kinds()) names.push_back(info.name);
  return joinNames(names);
}

Pattern fromJson(const json& value, const std::string& path);

PermuteBy permuteByFromJson(const json& value, const std::string& path) {
  ObjectReader reader(value, path, {"residue", "modality"});
  if (value.size() != 1) {
    fail(path, fmt::format("expected exactly one of residue, modality; got {} keys", value.size()));
  }
  PermuteBy by;
  if (reader.has("residue")) {
    ObjectReader residue(value.at("residue"), reader.field("residue"), {"stride", "span"});
    by.kind = PermuteBy::Kind::kResidue;
    by.stride = residue.integer("stride", "the number of residue classes");
    if (residue.has("span"))
      by.span = spanFromJson(value.at("residue").at("span"), residue.field("span"));
    return by;
  }
  by.kind = PermuteBy::Kind::kModality;
  std::string order_path = reader.field("modality");
  const json& order = ObjectReader::asArray(value.at("modality"), order_path);
  for (size_t i = 0; i < order.size(); ++i) {
    by.order.push_back(modalityFromJson(order[i], fmt::format("{}[{}]", order_path, i)));
  }
  return by;
}

Pattern fromJson(const json& value, const std::string& path) {
  if (!value.is_object()) fail(path, "expected a pattern object, got " + describe(value));
  auto kind_it = value.find("kind");
  if (kind_it == value.end()) fail(path + ".kind", "missing; allowed kinds: " + kindNames());
  std::string kind_name = ObjectReader::asString(*kind_it, path + ".kind");
  const KindInfo* info = nullptr;
  for (const KindInfo& candidate : kinds()) {
    if (kind_name == candidate.name) info = &candidate;
  }
  if (info == nullptr) {
    fail(path + ".kind", fmt::format("unknown kind '{}'; allowed: {}", kind_name, kindNames()));
  }
  std::vector<std::string> keys = {"kind"};
  keys.insert(keys.end(), info->keys.begin(), info->keys.end());
  ObjectReader r(value, path, keys);
  const std::string needed = fmt::format("required for kind '{}'", kind_name);
  const SpanRef vision = SpanRef::modality(Modality::kVision);
  auto spanOr = [&](const std::string& key, SpanRef fallback) {
    return r.has(key) ? spanFromJson(value.at(key), r.field(key)) : fallback;
  };
  auto spanRequired = [&](const std::string& key) {
    return spanFromJson(r.require(key, needed), r.field(key));
  };

  switch (info->kind) {
    case Pattern::Kind::kCausal:
      return causal();
    case Pattern::Kind::kSink: {
      int64_t n = r.integer("n", needed);
      return atPath(path, [&] { return sink(n); });
    }
    case Pattern::Kind::kLocal: {
      int64_t window = r.integer("window", needed);
      return atPath(path, [&] { return local(window); });
    }
    case Pattern::Kind::kGrid: {
      int64_t stride = r.integer("stride", needed);
      int64_t phase_q = r.integer("phase_q", needed);
      int64_t phase_k = r.integer("phase_k", needed);
      SpanRef span = spanOr("span", vision);
      return atPath(path, [&] { return grid(stride, phase_q, phase_k, span); });
    }
    case Pattern::Kind::kVLines:
    case Pattern::Kind::kHLines: {
      int64_t stride = r.integer("stride", needed);
      int64_t phase = r.integer("phase", needed);
      SpanRef span = spanOr("span", vision);
      return atPath(path, [&] {
        return info->kind == Pattern::Kind::kVLines ? vlines(stride, phase, span)
                                                    : hlines(stride, phase, span);
      });
    }
    case Pattern::Kind::kRows: {
      SpanRef span = spanRequired("span");
      return atPath(path, [&] { return rows(span); });
    }
    case Pattern::Kind::kBlock: {
      SpanRef q = spanRequired("q");
      SpanRef k = spanRequired("k");
      return atPath(path, [&] { return block(q, k); });
    }
    case Pattern::Kind::kVerticalSlash: {
      int64_t vertical = r.integer("vertical", needed);
      int64_t slash = r.integer("slash", needed);
      int64_t last_q = r.integerOr("last_q", 64);
      return atPath(path, [&] { return vertical_slash(vertical, slash, last_q); });
    }
    case Pattern::Kind::kGridEstimated: {
      const json& list = r.array("strides", needed);
      std::vector<int64_t> strides;
      for (size_t i = 0; i < list.size(); ++i) {
        strides.push_back(
            ObjectReader::asInteger(list[i], fmt::format("{}[{}]", r.field("strides"), i)));
      }
      int64_t last_q = r.integerOr("last_q", 64);
      SpanRef span = spanOr("span", vision);
      return atPath(path, [&] { return grid_estimated(std::move(strides), last_q, span); });
    }
    case Pattern::Kind::kUnion:
    case Pattern::Kind::kIntersect: {
      const json& of = ObjectReader::asArray(r.require("of", needed), r.field("of"));
      if (of.empty()) fail(r.field("of"), "must hold at least one pattern, got []");
      std::vector<Pattern> parts;
      for (size_t i = 0; i < of.size(); ++i) {
        parts.push_back(fromJson(of[i], fmt::format("{}.of[{}]", path, i)));
      }
      return info->kind == Pattern::Kind::kUnion ? union_of(std::move(parts))
                                                 : intersect_of(std::move(parts));
    }
    case Pattern::Kind::kQBoundary: {
      const json& by = r.require("by", needed);
      std::string by_path = r.field("by");
      ObjectReader by_reader(by, by_path, {"vision", "text", "other"});
      if (by.empty()) fail(by_path, "needs at least one of vision, text, other");
      std::map<Modality, Pattern> by_q;
      for (const auto& item : by.items()) {
        by_q.emplace(parseModality(item.key(), by_path),
                     fromJson(item.value(), by_path + "." + item.key()));
      }
      return atPath(path, [&] { return q_boundary(std::move(by_q)); });
    }
    case Pattern::Kind::kBoundary2D: {
      std::string blocks_path = r.field("blocks");
      const json& blocks = ObjectReader::asArray(r.require("blocks", needed), blocks_path);
      if (blocks.empty()) fail(blocks_path, "needs at least one {q, k, pattern} block, got []");
      std::map<std::pair<Modality, Modality>, Pattern> by_q_k;
      for (size_t i = 0; i < blocks.size(); ++i) {
        std::string block_path = fmt::format("{}[{}]", blocks_path, i);
        ObjectReader b(blocks[i], block_path, {"q", "k", "pattern"});
        const std::string block_needed = "each block names q, k and pattern";
        Modality mq = modalityFromJson(b.require("q", block_needed), b.field("q"));
        Modality mk = modalityFromJson(b.require("k", block_needed), b.field("k"));
        Pattern p = fromJson(b.require("pattern", block_needed), b.field("pattern"));
        if (!by_q_k.emplace(std::make_pair(mq, mk), p).second) {
          fail(block_path, fmt::format("duplicate block (q: {}, k: {}); each pair at most once",
                                       modalityName(mq), modalityName(mk)));
        }
      }
      return atPath(path, [&] { return boundary_2d(std::move(by_q_k)); });
    }
    case Pattern::Kind::kPermute: {
      std::string axes_name = r.string("axes", needed);
      PermuteAxes axes;
      if (axes_name == "rows") {
        axes = PermuteAxes::kRows;
      } else if (axes_name == "cols") {
        axes = PermuteAxes::kCols;
      } else if (axes_name == "both") {
        axes = PermuteAxes::kBoth;
      } else {
        fail(r.field("axes"),
             fmt::format("unknown value '{}'; allowed: rows, cols, both", axes_name));
      }
      PermuteBy by = permuteByFromJson(r.require("by", needed), r.field("by"));
      Pattern inner = fromJson(r.require("pattern", needed), r.field("pattern"));
      return atPath(path, [&] { return permute(inner, axes, by); });
    }
  }
  throw Error(ErrorCategory::kInternal, "pattern kind table out of date");
}

// ---- layouts and files ---------------------------------------------------------------------

PatternFile fileFromJson(const json& value) {
  if (!value.is_object())
    fail("(file)", "expected a JSON object at the top, got " + describe(value));
  ObjectReader r(value, "(file)", {"permjit", "name", "pattern", "layout"});
  if (!r.has("permjit")) {
    fail("permjit",
         fmt::format("missing schema version; allowed versions: {}", kPatternFileVersion));
  }
  const json& version = value.at("permjit");
  if (!version.is_number_integer() || version.get<int64_t>() != kPatternFileVersion) {
    fail("permjit", fmt::format("unsupported schema version {}; allowed versions: {}",
                                version.dump(), kPatternFileVersion));
  }
  PatternFile file;
  if (r.has("name")) file.name = ObjectReader::asString(value.at("name"), "name");
  if (!r.has("pattern")) fail("pattern", "missing; a pattern file holds one pattern");
  file.pattern = fromJson(value.at("pattern"), "pattern");
  if (r.has("layout")) file.layout = layoutFromJson(value.at("layout"));
  return file;
}

}  // namespace

nlohmann::json patternToJson(const Pattern& pattern) { return toJson(pattern); }

Pattern patternFromJson(const nlohmann::json& json) { return fromJson(json, "pattern"); }

nlohmann::json layoutToJson(const Layout& layout) {
  json spans = json::array();
  for (const Span& s : layout.spans()) {
    json span = {{"kind", modalityName(s.kind)}, {"begin", s.begin}, {"end", s.end}};
    if (s.frames) {
      span["frames"] = {
          {"frames", s.frames->frames}, {"height", s.frames->height}, {"width", s.frames->width}};
    }
    spans.push_back(std::move(span));
  }
  return {{"spans", std::move(spans)}};
}

Layout layoutFromJson(const nlohmann::json& value) {
  ObjectReader r(value, "layout", {"spans"});
  const json& spans =
      ObjectReader::asArray(r.require("spans", "a layout lists its spans"), r.field("spans"));
  std::vector<Span> out;
  for (size_t i = 0; i < spans.size(); ++i) {
    std::string span_path = fmt::format("layout.spans[{}]", i);
    ObjectReader s(spans[i], span_path, {"kind", "begin", "end", "frames"});
    const std::string needed = "each span has kind, begin and end";
    Span span;
    span.kind = modalityFromJson(s.require("kind", needed), s.field("kind"));
    span.begin = s.integer("begin", needed);
    span.end = s.integer("end", needed);
    if (s.has("frames")) {
      ObjectReader f(spans[i].at("frames"), s.field("frames"), {"frames", "height", "width"});
      const std::string geometry = "frame geometry has frames, height and width";
      span.frames = FrameGeometry{f.integer("frames", geometry), f.integer("height", geometry),
                                  f.integer("width", geometry)};
    }
    out.push_back(span);
  }
  return Layout(std::move(out));  // checks order, overlap and geometry; names layout.spans[i]
}

PatternFile parsePatternFile(const std::string& text) {
  return fileFromJson(json_io::parseStrict(text, "pattern file"));
}

PatternFile loadPatternFile(const std::string& path) {
  const std::string text = readRegularFile(path, "pattern file");
  try {
    return parsePatternFile(text);
  } catch (const Error& e) {
    throw Error(e.category(), path + ": " + e.what());
  }
}

std::string dumpPatternFile(const PatternFile& file) {
  json out = {{"permjit", kPatternFileVersion},
              {"name", file.name},
              {"pattern", patternToJson(file.pattern)}};
  if (file.layout) out["layout"] = layoutToJson(*file.layout);
  return out.dump(2) + "\n";
}

}  // namespace permjit
