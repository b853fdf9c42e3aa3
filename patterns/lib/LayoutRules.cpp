// A model config's layout rules: their JSON form, their checks, and the layout of a request.
#include <fmt/format.h>

#include "ModelConfigDetail.h"
#include "permjit/dsl/Json.h"
#include "permjit/patterns/HeadTypes.h"

namespace permjit::patterns {
namespace {

using json = nlohmann::json;

using json_io::atPath;
using json_io::describe;
using json_io::fail;
using json_io::ObjectReader;

}  // namespace

namespace detail {

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

}  // namespace detail

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
