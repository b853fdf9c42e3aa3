// JSON schema version 1: round trips of every kind and layout, and one test per bad input.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "ExpectError.h"
#include "permjit/dsl/Json.h"

// docs/json-schema.md, embedded at build time (tests/dsl/CMakeLists.txt).
extern const char kJsonSchemaDoc[];

namespace permjit {
namespace {

using nlohmann::json;
using testing::expectError;
const auto kBad = ErrorCategory::kInvalidPattern;
const SpanRef kVision = SpanRef::modality(Modality::kVision);

std::vector<Pattern> everyKind() {
  PermuteBy residue;
  residue.stride = 14;
  residue.span = SpanRef::range(10, 100);
  PermuteBy by_modality;
  by_modality.kind = PermuteBy::Kind::kModality;
  by_modality.order = {Modality::kText, Modality::kVision};
  return {
      causal(),
      sink(1024),
      local(0),
      grid(14, 0, 13),
      grid(3, 1, 2, SpanRef::all()),
      vlines(7, 6, SpanRef::last(60)),
      hlines(2, 1, SpanRef::range(3, 9)),
      rows(SpanRef::last(60)),
      block(SpanRef::modality(Modality::kText), SpanRef::range(0, 0)),
      vertical_slash(1000, 6096),
      vertical_slash(30, 100, 257),
      causal() & (sink(1024) | local(1024) | rows(SpanRef::last(60)) | grid(14, 0, 0)),
      (causal() & sink(1)) | (local(4) & hlines(2, 0)),
      q_boundary({{Modality::kVision, causal() & grid(14, 0, 1)},
                  {Modality::kText, causal() & vertical_slash(100, 200, 64)},
                  {Modality::kOther, causal()}}),
      boundary_2d({{{Modality::kVision, Modality::kVision}, causal() & grid(14, 0, 0, kVision)},
                   {{Modality::kText, Modality::kText}, causal() & (sink(4) | local(64))},
                   {{Modality::kText, Modality::kVision}, rows(SpanRef::last(1))}}),
      permute(causal() & grid(14, 0, 0), PermuteAxes::kBoth, residue),
      permute(q_boundary({{Modality::kText, causal()}}), PermuteAxes::kRows, by_modality),
      permute(local(3), PermuteAxes::kCols, PermuteBy{}),
  };
}

TEST(JsonTest, EveryKindRoundTrips) {
  std::set<Pattern::Kind> seen;
  for (const Pattern& p : everyKind()) {
    json j = patternToJson(p);
    Pattern back = patternFromJson(j);
    EXPECT_EQ(back, p) << p.str() << "\n" << j.dump(2);
    EXPECT_EQ(patternToJson(back), j);
    // Through text, too.
    EXPECT_EQ(patternFromJson(json::parse(j.dump())), p) << p.str();
    std::function<void(const Pattern&)> visit = [&](const Pattern& node) {
      seen.insert(node.kind());
      for (const Pattern& c : node.node().children) visit(c);
      for (const auto& e : node.node().by_q) visit(e.second);
      for (const auto& e : node.node().by_q_k) visit(e.second);
    };
    visit(p);
  }
  EXPECT_EQ(seen.size(), 14u) << "every Pattern::Kind appears in the round-trip set";
}

TEST(JsonTest, NodeForms) {
  EXPECT_EQ(patternToJson(causal()), json::parse(R"({"kind":"causal"})"));
  EXPECT_EQ(patternToJson(sink(1024)), json::parse(R"({"kind":"sink","n":1024})"));
  EXPECT_EQ(patternToJson(grid(14, 0, 0)),
            json::parse(R"({"kind":"grid","stride":14,"phase_q":0,"phase_k":0,
                            "span":{"modality":"vision"}})"));
  EXPECT_EQ(patternToJson(block(SpanRef::all(), SpanRef::range(2, 5))),
            json::parse(R"({"kind":"block","q":{"all":true},"k":{"range":[2,5]}})"));
  EXPECT_EQ(
      patternToJson(boundary_2d({{{Modality::kVision, Modality::kText}, causal()}})),
      json::parse(
          R"({"kind":"boundary_2d","blocks":[{"q":"vision","k":"text","pattern":{"kind":"causal"}}]})"));
  // Optional fields take the C++ defaults: grid/lines span = modality(vision), last_q = 64.
  EXPECT_EQ(patternFromJson(json::parse(R"({"kind":"grid","stride":14,"phase_q":1,"phase_k":2})")),
            grid(14, 1, 2));
  EXPECT_EQ(patternFromJson(json::parse(R"({"kind":"vertical_slash","vertical":1,"slash":2})")),
            vertical_slash(1, 2, 64));
  // An empty modality order means the default gather order.
  PermuteBy by;
  by.kind = PermuteBy::Kind::kModality;
  EXPECT_EQ(
      patternFromJson(json::parse(
          R"({"kind":"permute","axes":"rows","by":{"modality":[]},"pattern":{"kind":"causal"}})")),
      permute(causal(), PermuteAxes::kRows, by));
}

TEST(JsonTest, MMInferenceGridHeadFromTheDocs) {
  // The example of docs/json-schema.md.
  PatternFile file = parsePatternFile(R"({
    "permjit": 1,
    "name": "mminference-grid-head",
    "pattern": {"kind": "intersect", "of": [
      {"kind": "causal"},
      {"kind": "union", "of": [
        {"kind": "sink", "n": 1024},
        {"kind": "local", "window": 1024},
        {"kind": "rows", "span": {"last": 60}},
        {"kind": "grid", "stride": 14, "phase_q": 0, "phase_k": 0,
         "span": {"modality": "vision"}}]}]},
    "layout": {"spans": [
      {"kind": "text", "begin": 0, "end": 812},
      {"kind": "vision", "begin": 812, "end": 131012},
      {"kind": "text", "begin": 131012, "end": 131072}]}
  })");
  EXPECT_EQ(file.name, "mminference-grid-head");
  EXPECT_EQ(file.pattern,
            causal() & (sink(1024) | local(1024) | rows(SpanRef::last(60)) | grid(14, 0, 0)));
  ASSERT_TRUE(file.layout.has_value());
  EXPECT_EQ(*file.layout, Layout::textVisionText(131072, 812, 60));
}

TEST(JsonTest, LayoutsAndFilesRoundTrip) {
  std::vector<Layout> layouts = {
      Layout(),
      Layout::textVisionText(4096, 100, 60),
      Layout({Span{Modality::kVision, 0, 3, std::nullopt},
              Span{Modality::kText, 5, 7, std::nullopt},
              Span{Modality::kVision, 7, 107, FrameGeometry{4, 5, 5}},
              Span{Modality::kOther, 200, 300, std::nullopt}}),
  };
  for (const Layout& layout : layouts) {
    EXPECT_EQ(layoutFromJson(layoutToJson(layout)), layout) << layout.str();
  }
  EXPECT_EQ(layoutToJson(layouts[2])["spans"][2],
            json::parse(R"({"kind":"vision","begin":7,"end":107,
                            "frames":{"frames":4,"height":5,"width":5}})"));
  for (const Pattern& p : everyKind()) {
    PatternFile file{"head \"x\"", p, layouts[1]};
    PatternFile back = parsePatternFile(dumpPatternFile(file));
    EXPECT_EQ(back.name, file.name);
    EXPECT_EQ(back.pattern, p);
    EXPECT_EQ(back.layout, file.layout);
  }
  PatternFile no_layout{"", sink(3), std::nullopt};
  EXPECT_FALSE(parsePatternFile(dumpPatternFile(no_layout)).layout.has_value());
}

TEST(JsonTest, LoadFromDisk) {
  std::string path = ::testing::TempDir() + "permjit_dsl_json_test.json";
  {
    std::ofstream out(path);
    out << dumpPatternFile({"a-shape", causal() & (sink(128) | local(4096)), std::nullopt});
  }
  PatternFile file = loadPatternFile(path);
  EXPECT_EQ(file.name, "a-shape");
  EXPECT_EQ(file.pattern, causal() & (sink(128) | local(4096)));
  {
    std::ofstream out(path);
    out << R"({"permjit": 1, "pattern": {"kind": "sink", "n": -1}})";
  }
  expectError([&] { loadPatternFile(path); }, kBad, {path.c_str(), "pattern: sink.n"});
  std::remove(path.c_str());
  expectError([&] { loadPatternFile(path); }, ErrorCategory::kIo, {path.c_str(), "cannot open"});
}

// Every JSON value in a ```json block of docs/json-schema.md reads back: a pattern file, a
// layout or a pattern node, whichever it is.
TEST(JsonTest, EveryDocsExampleParses) {
  std::istringstream in(kJsonSchemaDoc);
  std::string line, value;
  bool in_block = false;
  int depth = 0, parsed = 0;
  while (std::getline(in, line)) {
    if (line.rfind("```", 0) == 0) {
      in_block = line == "```json";
      continue;
    }
    if (!in_block) continue;
    for (char c : line) {
      depth += c == '{' ? 1 : c == '}' ? -1 : 0;
    }
    value += line + "\n";
    if (depth != 0) continue;
    SCOPED_TRACE(value);
    json j = json::parse(value);
    if (j.contains("permjit")) {
      PatternFile file = parsePatternFile(value);
      EXPECT_EQ(parsePatternFile(dumpPatternFile(file)).pattern, file.pattern);
    } else if (j.contains("spans")) {
      EXPECT_EQ(layoutToJson(layoutFromJson(j)), j);
    } else {
      EXPECT_EQ(patternFromJson(patternToJson(patternFromJson(j))), patternFromJson(j));
    }
    ++parsed;
    value.clear();
  }
  EXPECT_GE(parsed, 15);
}

// ---- bad input: every message names the JSON path and the allowed values -------------------

void expectBadPattern(const char* text, std::initializer_list<const char*> parts) {
  SCOPED_TRACE(text);
  expectError([&] { patternFromJson(json::parse(text)); }, kBad, parts);
}

TEST(JsonErrorTest, UnknownKey) {
  expectBadPattern(
      R"({"kind":"union","of":[{"kind":"causal"},{"kind":"grid","strid":14,"phase_q":0,"phase_k":0}]})",
      {"pattern.of[1]: unknown key 'strid'; allowed: kind, stride, phase_q, phase_k, span"});
  expectBadPattern(R"({"kind":"causal","n":3})", {"pattern: unknown key 'n'; allowed: kind"});
}

TEST(JsonErrorTest, UnknownKind) {
  expectBadPattern(R"({"kind":"gird"})",
                   {"pattern.kind: unknown kind 'gird'", "causal, sink, local, grid", "permute"});
  expectBadPattern(R"({"n":3})", {"pattern.kind: missing", "allowed kinds"});
  expectBadPattern(R"({"kind":3})", {"pattern.kind: expected a string, got number"});
  expectBadPattern(R"([1,2])", {"pattern: expected a pattern object, got array"});
}

TEST(JsonErrorTest, WrongTypes) {
  expectBadPattern(R"({"kind":"sink","n":"1024"})", {"pattern.n: expected an integer, got string"});
  expectBadPattern(R"({"kind":"sink","n":1.5})", {"pattern.n: expected an integer, got number"});
  expectBadPattern(R"({"kind":"sink","n":18446744073709551615})", {"pattern.n", "out of range"});
  expectBadPattern(R"({"kind":"union","of":{"kind":"causal"}})",
                   {"pattern.of: expected an array, got object"});
  expectBadPattern(R"({"kind":"rows","span":"last"})",
                   {"pattern.span: expected an object, got string"});
  expectBadPattern(R"({"kind":"rows","span":{"range":[1,"2"]}})",
                   {"pattern.span.range[1]: expected an integer"});
}

TEST(JsonErrorTest, MissingFields) {
  expectBadPattern(R"({"kind":"local"})", {"pattern.window: missing", "'local'"});
  expectBadPattern(R"({"kind":"grid","stride":14,"phase_q":0})", {"pattern.phase_k: missing"});
  expectBadPattern(R"({"kind":"block","q":{"all":true}})", {"pattern.k: missing"});
  expectBadPattern(R"({"kind":"permute","axes":"both","by":{"residue":{"stride":2}}})",
                   {"pattern.pattern: missing"});
  expectBadPattern(R"({"kind":"boundary_2d","blocks":[{"q":"text","pattern":{"kind":"causal"}}]})",
                   {"pattern.blocks[0].k: missing"});
}

TEST(JsonErrorTest, BadArgumentValues) {
  expectBadPattern(R"({"kind":"grid","stride":0,"phase_q":0,"phase_k":0})",
                   {"pattern", "grid.stride: must be >= 1, got 0"});
  expectBadPattern(
      R"({"kind":"intersect","of":[{"kind":"causal"},{"kind":"grid","stride":14,"phase_q":14,"phase_k":0}]})",
      {"pattern.of[1]", "grid.phase_q: must be in [0, stride=14), got 14"});
  expectBadPattern(R"({"kind":"local","window":-3})", {"local.window"});
  expectBadPattern(R"({"kind":"vertical_slash","vertical":0,"slash":3})",
                   {"vertical_slash.vertical"});
  expectBadPattern(R"({"kind":"union","of":[]})", {"pattern.of: must hold at least one"});
  expectBadPattern(R"({"kind":"q_boundary","by":{}})", {"pattern.by", "vision, text, other"});
  expectBadPattern(R"({"kind":"q_boundary","by":{"audio":{"kind":"causal"}}})",
                   {"pattern.by: unknown key 'audio'; allowed: vision, text, other"});
  expectBadPattern(R"({"kind":"boundary_2d","blocks":[]})", {"pattern.blocks", "at least one"});
  expectBadPattern(R"({"kind":"boundary_2d","blocks":[
                       {"q":"text","k":"text","pattern":{"kind":"causal"}},
                       {"q":"text","k":"text","pattern":{"kind":"sink","n":1}}]})",
                   {"pattern.blocks[1]: duplicate block (q: text, k: text)"});
  expectBadPattern(
      R"({"kind":"boundary_2d","blocks":[{"q":"txt","k":"text","pattern":{"kind":"causal"}}]})",
      {"pattern.blocks[0].q: unknown modality 'txt'; allowed: vision, text, other"});
  expectBadPattern(R"({"kind":"permute","axes":"diag","by":{"residue":{"stride":2}},
                       "pattern":{"kind":"causal"}})",
                   {"pattern.axes: unknown value 'diag'; allowed: rows, cols, both"});
  expectBadPattern(R"({"kind":"permute","axes":"both","by":{"residue":{"stride":0}},
                       "pattern":{"kind":"causal"}})",
                   {"permute.by.stride: must be >= 1, got 0"});
  expectBadPattern(R"({"kind":"permute","axes":"both","by":{"residue":{"stride":2},"modality":[]},
                       "pattern":{"kind":"causal"}})",
                   {"pattern.by: expected exactly one of residue, modality"});
}

TEST(JsonErrorTest, BadSpans) {
  expectBadPattern(R"({"kind":"rows","span":{"range":[5,4]}})",
                   {"pattern.span", "begin must be <= end"});
  expectBadPattern(R"({"kind":"rows","span":{"range":[1]}})",
                   {"pattern.span.range: expected [begin, end]"});
  expectBadPattern(R"({"kind":"rows","span":{"last":-2}})", {"pattern.span", "n must be >= 0"});
  expectBadPattern(R"({"kind":"rows","span":{"all":false}})", {"pattern.span.all: expected true"});
  expectBadPattern(R"({"kind":"rows","span":{}})",
                   {"pattern.span: expected exactly one of all, range, modality, last"});
  expectBadPattern(R"({"kind":"rows","span":{"all":true,"last":3}})",
                   {"pattern.span: expected exactly one"});
  expectBadPattern(R"({"kind":"rows","span":{"modality":"audio"}})",
                   {"pattern.span.modality: unknown modality 'audio'"});
  expectBadPattern(R"({"kind":"rows","span":{"first":3}})",
                   {"pattern.span: unknown key 'first'; allowed: all, range, modality, last"});
}

TEST(JsonErrorTest, BadLayouts) {
  auto bad = [](const char* text, std::initializer_list<const char*> parts) {
    SCOPED_TRACE(text);
    expectError([&] { layoutFromJson(json::parse(text)); }, kBad, parts);
  };
  bad(R"({"spans":[{"kind":"text","begin":0,"end":10},{"kind":"vision","begin":5,"end":20}]})",
      {"layout.spans[1].begin", "non-overlapping"});
  bad(R"({"spans":[{"kind":"text","begin":0}]})", {"layout.spans[0].end: missing"});
  bad(R"({"spans":[{"kind":"text","begin":4,"end":4}]})", {"layout.spans[0].end"});
  bad(R"({"spans":[{"kind":"audio","begin":0,"end":4}]})",
      {"layout.spans[0].kind: unknown modality 'audio'; allowed: vision, text, other"});
  bad(R"({"spans":[{"kind":"vision","begin":0,"end":100,"frames":{"frames":2,"height":5,"width":9}}]})",
      {"layout.spans[0].frames", "end-begin=100"});
  bad(R"({"spans":[{"kind":"vision","begin":0,"end":10,"frames":{"frames":2,"height":5}}]})",
      {"layout.spans[0].frames.width: missing"});
  bad(R"({"span":[]})", {"layout: unknown key 'span'; allowed: spans"});
  bad(R"({"spans":[{"kind":"text","begin":"0","end":4}]})",
      {"layout.spans[0].begin: expected an integer, got string"});
}

TEST(JsonErrorTest, BadFiles) {
  auto bad = [](const char* text, ErrorCategory category,
                std::initializer_list<const char*> parts) {
    SCOPED_TRACE(text);
    expectError([&] { parsePatternFile(text); }, category, parts);
  };
  bad(R"({"pattern":{"kind":"causal"}})", kBad, {"permjit: missing", "allowed versions: 1"});
  bad(R"({"permjit":2,"pattern":{"kind":"causal"}})", kBad,
      {"permjit: unsupported schema version 2; allowed versions: 1"});
  bad(R"({"permjit":"1","pattern":{"kind":"causal"}})", kBad, {"permjit", "\"1\""});
  bad(R"({"permjit":1})", kBad, {"pattern: missing"});
  bad(R"({"permjit":1,"pattern":{"kind":"causal"},"layuot":{}})", kBad,
      {"unknown key 'layuot'; allowed: permjit, name, pattern, layout"});
  bad(R"({"permjit":1,"name":7,"pattern":{"kind":"causal"}})", kBad,
      {"name: expected a string, got number"});
  bad("{\"permjit\": 1,\n  \"pattern\": {\"kind\": \"causal\"},,}", kBad,
      {"invalid JSON", "line 2, column"});
  bad("", kBad, {"invalid JSON"});
  bad("[1]", kBad, {"expected a JSON object at the top, got array"});
}

}  // namespace
}  // namespace permjit
