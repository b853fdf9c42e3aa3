#include "permjit/dsl/JsonReader.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace permjit::json_io {

using json = nlohmann::json;

void fail(const std::string& path, const std::string& what) {
  throw Error(ErrorCategory::kInvalidPattern, path + ": " + what);
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
