#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "ExpectError.h"
#include "permjit/patterns/HeadTypes.h"
#include "permjit/patterns/ModelConfig.h"

namespace permjit::patterns {
namespace {

using nlohmann::json;
using permjit::testing::expectError;
constexpr auto kInvalid = ErrorCategory::kInvalidPattern;

HeadSpec aShape(int64_t sink, int64_t local) {
  HeadSpec h;
  h.type = HeadType::kAShape;
  h.sink = sink;
  h.local = local;
  return h;
}

HeadSpec gridSpec(int64_t stride, int64_t pq, int64_t pk) {
  HeadSpec h;
  h.type = HeadType::kGrid;
  h.stride = stride;
  h.phase_q = pq;
  h.phase_k = pk;
  h.sink = 64;
  h.local = 64;
  h.trailing_text_rows = 30;
  return h;
}

// A config with every head type, annotations, and search info.
ModelConfig everyHeadType() {
  ModelConfig c;
  c.model = "test-vlm";
  c.num_heads = 8;
  c.layout_rules = {LayoutRules::Kind::kTextVisionText, 64, 30, Layout()};
  LayerConfig l0;
  l0.layer = 0;
  HeadSpec dense_head;
  l0.heads.push_back(dense_head);
  HeadSpec a = aShape(16, 128);
  a.recall = 0.97;
  a.density = 0.125;
  l0.heads.push_back(a);
  HeadSpec tri;
  tri.type = HeadType::kTriShape;
  tri.sink = 4;
  tri.local = 32;
  tri.last_q_rows = 30;
  l0.heads.push_back(tri);
  HeadSpec g = gridSpec(14, 0, 3);
  g.span = SpanRef::range(64, 1000);
  l0.heads.push_back(g);
  HeadSpec vs;
  vs.type = HeadType::kVerticalSlash;
  vs.vertical = 1000;
  vs.slash = 6096;
  vs.last_q = 64;
  l0.heads.push_back(vs);
  HeadSpec qb;
  qb.type = HeadType::kQBoundary;
  qb.blocks.push_back({Modality::kVision, Modality::kVision, gridSpec(14, 1, 2)});
  qb.blocks.push_back({Modality::kText, Modality::kVision, aShape(4, 64)});
  l0.heads.push_back(qb);
  HeadSpec b2;
  b2.type = HeadType::kBoundary2D;
  HeadSpec full_block;
  full_block.type = HeadType::kFull;
  b2.blocks.push_back({Modality::kVision, Modality::kVision, gridSpec(16, 0, 0)});
  b2.blocks.push_back({Modality::kText, Modality::kVision, full_block});
  b2.blocks.push_back({Modality::kText, Modality::kText, aShape(0, 32)});
  l0.heads.push_back(b2);
  HeadSpec custom;
  custom.type = HeadType::kPattern;
  custom.pattern = causal() & (sink(8) | vlines(7, 3));
  l0.heads.push_back(custom);
  c.layers.push_back(l0);
  LayerConfig l3;
  l3.layer = 3;
  for (int h = 0; h < 8; ++h) l3.heads.push_back(gridSpec(14, h % 14, (h * 3) % 14));
  c.layers.push_back(l3);
  c.search = SearchInfo{0.95, 0.01, 4096, 2};
  return c;
}

TEST(ModelConfig, RoundTripsEveryHeadTypeThroughTextAndFiles) {
  const ModelConfig c = everyHeadType();
  validateModelConfig(c);
  const std::string text = dumpModelConfig(c);
  EXPECT_EQ(parseModelConfig(text), c);
  EXPECT_EQ(dumpModelConfig(parseModelConfig(text)), text);
  const auto path = std::filesystem::temp_directory_path() / "permjit_patterns_config.json";
  saveModelConfig(c, path.string());
  EXPECT_EQ(loadModelConfig(path.string()), c);
  std::filesystem::remove(path);

  for (LayoutRules rules : {LayoutRules{LayoutRules::Kind::kRequest, 0, 0, Layout()},
                            LayoutRules{LayoutRules::Kind::kSpans, 0, 0,
                                        Layout({{Modality::kVision, 10, 90, std::nullopt}})}}) {
    ModelConfig other = c;
    other.layout_rules = rules;
    EXPECT_EQ(parseModelConfig(dumpModelConfig(other)), other);
  }
}

TEST(ModelConfig, PatternForBuildsTheHeadType) {
  const ModelConfig c = everyHeadType();
  EXPECT_EQ(patternFor(c, 0, 0), dense());
  EXPECT_EQ(patternFor(c, 0, 1), a_shape(16, 128));
  EXPECT_EQ(patternFor(c, 0, 3), grid_head({14, 0, 3, SpanRef::range(64, 1000), 64, 64, 30}));
  EXPECT_EQ(patternFor(c, 3, 5),
            grid_head({14, 5, 1, SpanRef::modality(Modality::kVision), 64, 64, 30}));
  EXPECT_EQ(
      patternFor(c, 0, 6),
      boundary_2d_head({{{Modality::kVision, Modality::kVision},
                         grid_head({16, 0, 0, SpanRef::modality(Modality::kVision), 64, 64, 30})},
                        {{Modality::kText, Modality::kVision}, full()},
                        {{Modality::kText, Modality::kText}, a_shape(0, 32)}}));
  EXPECT_EQ(patternFor(c, 0, 7), causal() & (sink(8) | vlines(7, 3)));
  expectError([&] { patternFor(c, 1, 0); }, ErrorCategory::kInvalidArgument,
              {"layer: 1", "configured layers: 0, 3"});
  expectError([&] { patternFor(c, 0, 8); }, ErrorCategory::kInvalidArgument,
              {"head: 8", "[0, num_heads=8)"});
}

TEST(ModelConfig, LayoutForAppliesTheRules) {
  LayoutRules tvt{LayoutRules::Kind::kTextVisionText, 8, 4, Layout()};
  EXPECT_EQ(layoutFor(tvt, 100), Layout::textVisionText(100, 8, 4));
  expectError([&] { layoutFor(tvt, 10); }, kInvalid, {"layout_rules", "prefix 8 + suffix 4"});
  LayoutRules request{LayoutRules::Kind::kRequest, 0, 0, Layout()};
  expectError([&] { layoutFor(request, 10); }, ErrorCategory::kInvalidArgument,
              {"layout_rules", "request"});
  Layout mine({{Modality::kVision, 0, 5, std::nullopt}});
  EXPECT_EQ(layoutFor(request, 10, &mine), mine);
  LayoutRules spans{LayoutRules::Kind::kSpans, 0, 0, Layout({{Modality::kVision, 10, 90, {}}})};
  EXPECT_EQ(layoutFor(spans, 100), spans.spans);
  expectError([&] { layoutFor(spans, 50); }, kInvalid, {"layout_rules.layout"});
}

// A minimal valid config as JSON, to break one field at a time.
json minimal() {
  return json::parse(R"({
    "permjit_model_config": 1, "model": "m", "num_heads": 2,
    "layout_rules": {"kind": "text_vision_text", "prefix": 4, "suffix": 2},
    "layers": [{"layer": 0, "heads": [
      {"head": 0, "type": "grid", "stride": 14, "phase_q": 0, "phase_k": 3},
      {"head": 1, "type": "a_shape", "sink": 4, "local": 64}]}]})");
}

TEST(ModelConfig, GridDefaultsApplyWhenOptionalParametersAreLeftOut) {
  ModelConfig c = modelConfigFromJson(minimal());
  EXPECT_EQ(patternFor(c, 0, 0), grid_head({14, 0, 3}));
}

TEST(ModelConfig, GridHeadWithEstimatedStrideRoundTrips) {
  json j = minimal();
  j["layers"][0]["heads"][0] = json::parse(
      R"({"head": 0, "type": "grid", "estimate_strides": [7, 14, 28], "estimate_last_q": 128,
          "sink": 8, "local": 16})");
  ModelConfig c = modelConfigFromJson(j);
  GridHeadParams expected;
  expected.sink = 8;
  expected.local = 16;
  expected.estimate_strides = {7, 14, 28};
  expected.estimate_last_q = 128;
  EXPECT_EQ(patternFor(c, 0, 0), grid_head(expected));
  EXPECT_TRUE(isDynamic(patternFor(c, 0, 0)));
  EXPECT_EQ(modelConfigFromJson(modelConfigToJson(c)), c);
  // The estimator chooses stride and phases: giving them too is an error, as are bad strides.
  json both = j;
  both["layers"][0]["heads"][0]["stride"] = 14;
  expectError([both] { modelConfigFromJson(both); }, kInvalid,
              {"config.layers[0].heads[0].stride", "not allowed with estimate_strides"});
  json bad = j;
  bad["layers"][0]["heads"][0]["estimate_strides"] = json::array({7, 1});
  expectError([bad] { patternFor(modelConfigFromJson(bad), 0, 0); }, kInvalid,
              {"grid_estimated.strides[1]", "allowed: 2..1024"});
}

TEST(ModelConfig, BadInputErrorsNameTheFieldAndTheAllowedValues) {
  auto broken = [](auto edit) {
    json j = minimal();
    edit(j);
    return [j] { modelConfigFromJson(j); };
  };
  expectError(broken([](json& j) { j["layers"][0]["heads"][0]["type"] = "spiral"; }), kInvalid,
              {"config.layers[0].heads[0].type", "unknown head type 'spiral'",
               "allowed: dense, a_shape, tri_shape, grid, vertical_slash, q_boundary, "
               "boundary_2d, full, pattern"});
  expectError(broken([](json& j) { j["layers"][0]["heads"][0]["stride"] = 1; }), kInvalid,
              {"config.layers[0].heads[0]", "grid_head.stride", "allowed: [2, "});
  expectError(broken([](json& j) { j["layers"][0]["heads"][0]["phase_k"] = 14; }), kInvalid,
              {"grid_head.phase_k", "allowed: [0, 13]"});
  expectError(broken([](json& j) { j["layers"][0]["heads"][1]["local"] = 0; }), kInvalid,
              {"config.layers[0].heads[1]", "a_shape.local"});
  expectError(broken([](json& j) { j["layers"][0]["heads"][1].erase("sink"); }), kInvalid,
              {"config.layers[0].heads[1].sink", "missing", "a_shape"});
  expectError(broken([](json& j) { j["layers"][0]["heads"][1]["stride"] = 4; }), kInvalid,
              {"config.layers[0].heads[1]", "unknown key 'stride'", "allowed:", "sink, local"});
  expectError(broken([](json& j) { j["layers"][0]["heads"].erase(1); }), kInvalid,
              {"config.layers[0].heads", "head 1 missing"});
  expectError(broken([](json& j) { j["layers"][0]["heads"][1]["head"] = 0; }), kInvalid,
              {"config.layers[0].heads[1].head", "head 0 listed twice"});
  expectError(broken([](json& j) { j["layers"][0]["heads"][1]["head"] = 2; }), kInvalid,
              {"config.layers[0].heads[1].head", "allowed: [0, num_heads=2)"});
  expectError(broken([](json& j) { j["layers"][0]["heads"][1].erase("head"); }), kInvalid,
              {"config.layers[0].heads[1].head", "missing"});
  expectError(broken([](json& j) { j["layers"].push_back(j["layers"][0]); }), kInvalid,
              {"config.layers[1].layer", "layer 0 listed twice"});
  expectError(broken([](json& j) { j["layers"][0]["layer"] = -1; }), kInvalid,
              {"config.layers[0].layer", ">= 0"});
  expectError(broken([](json& j) { j["permjit_model_config"] = 2; }), kInvalid,
              {"config.permjit_model_config", "unsupported version 2", "allowed: 1"});
  expectError(broken([](json& j) { j["num_heads"] = 0; }), kInvalid,
              {"config.num_heads", "allowed: [1, 65536]"});
  expectError(broken([](json& j) { j["extra"] = 1; }), kInvalid,
              {"config", "unknown key 'extra'", "allowed: permjit_model_config"});
  expectError(broken([](json& j) { j.erase("model"); }), kInvalid, {"config.model", "missing"});
  expectError(broken([](json& j) { j["layout_rules"]["kind"] = "magic"; }), kInvalid,
              {"config.layout_rules.kind", "allowed: text_vision_text, spans, request"});
  expectError(broken([](json& j) { j["layout_rules"]["prefix"] = -3; }), kInvalid,
              {"config.layout_rules.prefix", "allowed: [0, "});
  expectError(broken([](json& j) { j["layers"][0]["heads"][1]["recall"] = 1.5; }), kInvalid,
              {"config.layers[0].heads[1].recall", "allowed: [0, 1]"});
  expectError(broken([](json& j) {
                j["layers"][0]["heads"][1] = {{"head", 1}, {"type", "full"}};
              }),
              kInvalid, {"config.layers[0].heads[1].type", "only allowed as a boundary_2d block"});
  expectError(broken([](json& j) {
                j["layers"][0]["heads"][1] = json::parse(
                    R"({"head": 1, "type": "q_boundary", "by_modality": {"text":
                        {"type": "q_boundary", "by_modality": {"text": {"type": "dense"}}}}})");
              }),
              kInvalid, {"by_modality.text.type", "cannot nest inside a boundary head"});
  expectError(
      broken([](json& j) {
        j["layers"][0]["heads"][1] = json::parse(
            R"({"head": 1, "type": "q_boundary", "by_modality": {"sound": {"type": "dense"}}})");
      }),
      kInvalid, {"by_modality.sound", "vision, text, other"});
  expectError(broken([](json& j) {
                j["layers"][0]["heads"][1] = json::parse(R"({"head": 1, "type": "boundary_2d",
                    "blocks": [{"q": "text", "k": "text", "head": {"type": "dense"}},
                               {"q": "text", "k": "text", "head": {"type": "full"}}]})");
              }),
              kInvalid, {"blocks[1]", "listed twice"});
  expectError(broken([](json& j) {
                j["layers"][0]["heads"][1] =
                    json::parse(R"({"head": 1, "type": "pattern", "pattern": {"kind": "spiral"}})");
              }),
              kInvalid, {"config.layers[0].heads[1].pattern", "spiral"});
  expectError([] { parseModelConfig("{not json"); }, kInvalid, {"config: invalid JSON"});
  expectError([] { loadModelConfig("/nonexistent/permjit.json"); }, ErrorCategory::kIo,
              {"/nonexistent/permjit.json", "cannot open"});
}

TEST(ModelConfig, ValidateChecksConfigsBuiltInCode) {
  ModelConfig c = everyHeadType();
  c.layers[1].heads.pop_back();
  expectError([&] { validateModelConfig(c); }, kInvalid,
              {"config.layers[1].heads", "lists 7 heads", "num_heads=8"});
  c = everyHeadType();
  c.layers[1].layer = 0;
  expectError([&] { validateModelConfig(c); }, kInvalid, {"config.layers[1].layer", "layer 0"});
  c = everyHeadType();
  c.layers[0].heads[3].stride = 0;
  expectError([&] { dumpModelConfig(c); }, kInvalid, {"config.layers[0].heads[3]", "stride"});
}

}  // namespace
}  // namespace permjit::patterns
