#include "permjit/dsl/JsonReader.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace permjit::json_io {

using json = nlohmann::json;

void fail(const std::string& path, const std::string& what) {
  throw Error(ErrorCategory::kInvalidPattern, path + ": " + what);
}

json parseStrict(const std::string& text, const std::string& what) {
  // Where the parser is: one entry per open array or object, for the checks and the path.
  struct Level {
    bool object = false;
    std::vector<std::string> keys;  // an object's keys so far
    int64_t index = -1;             // an array's current element
  };
  std::vector<Level> open;
  auto path = [&] {
    std::string out;
    for (const Level& level : open) {
      if (level.object) {
        if (level.keys.empty()) continue;
        if (!out.empty()) out += ".";
        out += level.keys.back();
      } else if (level.index >= 0) {
        out += fmt::format("[{}]", level.index);
      }
    }
    return out.empty() ? what : what + ": " + out;
  };
  auto element = [&] {  // a value, object or array starts: the next element of an array
    if (!open.empty() && !open.back().object) ++open.back().index;
  };
  auto enter = [&](bool object) {
    element();
    if (static_cast<int>(open.size()) >= kMaxJsonDepth) {
      throw Error(ErrorCategory::kInvalidPattern,
                  fmt::format("{}: nested deeper than {} arrays and objects; allowed: at most {}",
                              path(), kMaxJsonDepth, kMaxJsonDepth));
    }
    open.push_back(Level{object, {}, -1});
  };
  json::parser_callback_t check = [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        enter(true);
        break;
      case json::parse_event_t::array_start:
        enter(false);
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        open.pop_back();
        break;
      case json::parse_event_t::key: {
        std::vector<std::string>& keys = open.back().keys;
        const std::string key = parsed.get<std::string>();
        if (std::find(keys.begin(), keys.end(), key) != keys.end()) {
          keys.push_back(key);
          throw Error(ErrorCategory::kInvalidPattern,
                      path() + ": duplicate key; each key at most once per object");
        }
        keys.push_back(key);
        break;
      }
      case json::parse_event_t::value:
        element();
        break;
    }
    return true;
  };
  try {
    return json::parse(text, check);
  } catch (const json::exception& e) {
    // Syntax errors, and numbers beyond a double (out_of_range 406: "1e400").
    throw Error(ErrorCategory::kInvalidPattern,
                fmt::format("{}: invalid JSON: {}", path(), e.what()));
  }
}

std::string describe(const json& value) {
  if (value.is_number()) return fmt::format("number {}", value.dump());
  return value.type_name();
}

std::string joinNames(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

ObjectReader::ObjectReader(const json& value, std::string path, std::vector<std::string> allowed)
    : value_(value), path_(std::move(path)) {
  if (!value.is_object()) fail(path_, "expected an object, got " + describe(value));
  for (const auto& item : value.items()) {
    if (std::find(allowed.begin(), allowed.end(), item.key()) == allowed.end()) {
      fail(path_, fmt::format("unknown key '{}'; allowed: {}", item.key(), joinNames(allowed)));
    }
  }
}

const json& ObjectReader::require(const std::string& key, const std::string& why) const {
  auto it = value_.find(key);
  if (it == value_.end()) fail(field(key), "missing; " + why);
  return *it;
}

int64_t ObjectReader::integer(const std::string& key, const std::string& why) const {
  return asInteger(require(key, why), field(key));
}

int64_t ObjectReader::integerOr(const std::string& key, int64_t fallback) const {
  return has(key) ? asInteger(value_.at(key), field(key)) : fallback;
}

std::string ObjectReader::string(const std::string& key, const std::string& why) const {
  return asString(require(key, why), field(key));
}

const json& ObjectReader::array(const std::string& key, const std::string& why) const {
  return asArray(require(key, why), field(key));
}

int64_t ObjectReader::asInteger(const json& value, const std::string& path) {
  if (!value.is_number_integer()) fail(path, "expected an integer, got " + describe(value));
  if (value.is_number_unsigned() &&
      value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    fail(path, "integer out of range, got " + value.dump());
  }
  return value.get<int64_t>();
}

std::string ObjectReader::asString(const json& value, const std::string& path) {
  if (!value.is_string()) fail(path, "expected a string, got " + describe(value));
  return value.get<std::string>();
}

const json& ObjectReader::asArray(const json& value, const std::string& path) {
  if (!value.is_array()) fail(path, "expected an array, got " + describe(value));
  return value;
}

Modality modalityFromJson(const json& value, const std::string& path) {
  if (!value.is_string()) fail(path, "expected a modality name, got " + describe(value));
  return parseModality(value.get<std::string>(), path);
}

json spanToJson(const SpanRef& span) {
  switch (span.kind) {
    case SpanRef::Kind::kAll:
      return {{"all", true}};
    case SpanRef::Kind::kRange:
      return {{"range", {span.begin, span.end}}};
    case SpanRef::Kind::kModality:
      return {{"modality", modalityName(span.mod)}};
    case SpanRef::Kind::kLast:
      return {{"last", span.count}};
  }
  throw Error(ErrorCategory::kInternal, "span of unknown kind");
}

SpanRef spanFromJson(const json& value, const std::string& path) {
  ObjectReader reader(value, path, {"all", "range", "modality", "last"});
  if (value.size() != 1) {
    fail(path, fmt::format("expected exactly one of all, range, modality, last; got {} keys",
                           value.size()));
  }
  if (reader.has("all")) {
    const json& all = value.at("all");
    if (!all.is_boolean() || !all.get<bool>()) {
      fail(reader.field("all"), "expected true, got " + all.dump());
    }
    return SpanRef::all();
  }
  if (reader.has("range")) {
    const json& range = reader.array("range", "");
    if (range.size() != 2) {
      fail(reader.field("range"),
           fmt::format("expected [begin, end], got an array of {}", range.size()));
    }
    int64_t begin = ObjectReader::asInteger(range[0], reader.field("range[0]"));
    int64_t end = ObjectReader::asInteger(range[1], reader.field("range[1]"));
    return atPath(path, [&] { return SpanRef::range(begin, end); });
  }
  if (reader.has("modality")) {
    return SpanRef::modality(modalityFromJson(value.at("modality"), reader.field("modality")));
  }
  int64_t count = ObjectReader::asInteger(value.at("last"), reader.field("last"));
  return atPath(path, [&] { return SpanRef::last(count); });
}

}  // namespace permjit::json_io
