// Pipeline steps, KernelSpec structure keys and bad input through the public API.
#include "permjit/compiler/Pipeline.h"

#include <gtest/gtest.h>

#include <sstream>

#include "permjit/compiler/Plan.h"
#include "permjit/dsl/Error.h"

namespace permjit {
namespace {

Layout textVisionText(int64_t s) { return Layout::textVisionText(s, s / 8, s / 16); }

Pattern gridHead(int64_t stride, int64_t pq, int64_t pk) {
  return causal() & (sink(64) | local(128) | rows(SpanRef::last(60)) | grid(stride, pq, pk));
}

CompileOptions options(int64_t seq_len, Layout layout) {
  CompileOptions o;
  o.seq_len = seq_len;
  o.layout = std::move(layout);
  return o;
}

template <typename F>
Error captureError(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no permjit::Error thrown";
  return Error(ErrorCategory::kInternal, "none");
}

TEST(Pipeline, PrintsIrAfterEveryStepThatChangedIt) {
  std::ostringstream ir;
  CompileOptions o = options(4096, textVisionText(4096));
  o.ir_out = &ir;
  // causal & (sink | sink | ...): canonicalize drops the duplicate, so every pass changes it.
  compilePattern(causal() & (sink(64) | sink(64) | local(128) | grid(14, 0, 0)), o);
  std::string text = ir.str();
  size_t at = 0;
  for (const char* step : {"import-dsl", "(permjit-canonicalize)", "(permjit-plan-permutations)",
                           "(permjit-lower-to-tile-ir)", "(permjit-select-tile-config)",
                           "(permjit-classify-tiles)", "emit-kernel-spec"}) {
    size_t found = text.find(step, at);
    ASSERT_NE(found, std::string::npos) << step << "\n" << text;
    at = found;
  }
}

TEST(Pipeline, SkipsTheIrOfAStepThatChangedNothing) {
  std::ostringstream ir;
  CompileOptions o = options(4096, textVisionText(4096));
  o.ir_out = &ir;
  compilePattern(causal() & (sink(64) | local(128)), o);  // already canonical
  EXPECT_EQ(ir.str().find("(permjit-canonicalize)"), std::string::npos) << ir.str();
  EXPECT_NE(ir.str().find("(permjit-plan-permutations)"), std::string::npos) << ir.str();
}

TEST(Pipeline, PrintsNothingUnlessAsked) {
  // No ir_out: compilePattern must not print the module (the old pipeline printed it twice per
  // compile); emitStage keeps only the stage it returns.
  CompileOptions o = options(4096, textVisionText(4096));
  std::string spec = emitStage(gridHead(14, 0, 0), o, Stage::kSpec);
  EXPECT_EQ(spec.find("permjit.kernel"), std::string::npos);
  EXPECT_NE(spec.find("pass 0"), std::string::npos) << spec;
}

TEST(Pipeline, PassFailureKeepsItsErrorCategory) {
  // 40 alternating text/vision spans: a q_boundary gather needs more than kMaxSegments row
  // segments, which classify-tiles reports as unsupported (not as a bad pattern).
  std::vector<Span> spans;
  for (int i = 0; i < 40; ++i) {
    spans.push_back({i % 2 ? Modality::kVision : Modality::kText, i * 64, (i + 1) * 64});
  }
  CompileOptions o = options(40 * 64, Layout(spans));
  Error e = captureError([&] {
    compilePattern(
        causal() & q_boundary({{Modality::kVision, local(64)}, {Modality::kText, sink(16)}}), o);
  });
  EXPECT_EQ(e.category(), ErrorCategory::kUnsupported) << e.what();
  EXPECT_NE(std::string(e.what()).find("permjit-classify-tiles:"), std::string::npos) << e.what();
  EXPECT_EQ(std::string(e.what()).find("permjit.category"), std::string::npos) << e.what();
}

TEST(Pipeline, StagesShowEachLevel) {
  CompileOptions o = options(4096, textVisionText(4096));
  std::string pattern_ir = emitStage(gridHead(14, 0, 0), o, Stage::kPatternIR);
  EXPECT_NE(pattern_ir.find("permjit.head @pattern"), std::string::npos);
  EXPECT_NE(pattern_ir.find("row_map = #permjit.plan<residue 14 over #permjit.span<modality "
                            "vision>>"),
            std::string::npos)
      << pattern_ir;
  std::string tile_ir = emitStage(gridHead(14, 0, 0), o, Stage::kTileIR);
  EXPECT_NE(tile_ir.find("permjit.kernel @pattern head_dim 128 dtype bf16"), std::string::npos);
  EXPECT_NE(tile_ir.find("full_tiles"), std::string::npos) << tile_ir;
  std::string spec = emitStage(gridHead(14, 0, 0), o, Stage::kSpec);
  EXPECT_NE(spec.find("pass 0: rows residue("), std::string::npos) << spec;
}

TEST(Pipeline, CanonicalizeFoldsCausalIntoLocal) {
  KernelSpec spec = compilePattern(causal() & local(8), options(0, Layout()));
  ASSERT_EQ(spec.nodes.size(), 1u);
  EXPECT_EQ(spec.nodes[0].op, ExprOp::kDiag);
  EXPECT_EQ(spec.params[spec.nodes[0].slots[1]].value, 8);
}

TEST(Pipeline, CanonicalizeDropsDuplicates) {
  KernelSpec once = compilePattern(causal() & (sink(4) | local(8)), options(0, Layout()));
  KernelSpec twice =
      compilePattern(causal() & (sink(4) | local(8) | sink(4)), options(0, Layout()));
  EXPECT_EQ(once.structureKey(), twice.structureKey());
}

TEST(Pipeline, LowersAShape) {
  KernelSpec spec = compilePattern(causal() & (sink(64) | local(128)), options(0, Layout()));
  ASSERT_EQ(spec.passes.size(), 1u);
  const ExprNode& root = spec.nodes[spec.passes[0].expr_root];
  EXPECT_EQ(root.op, ExprOp::kAnd);
  ASSERT_EQ(root.children.size(), 2u);
  EXPECT_EQ(spec.nodes[root.children[0]].op, ExprOp::kDiag);
  EXPECT_EQ(spec.params[spec.nodes[root.children[0]].slots[1]].kind, ParamSlot::Kind::kInf);
  const ExprNode& either = spec.nodes[root.children[1]];
  EXPECT_EQ(either.op, ExprOp::kOr);
  EXPECT_EQ(spec.nodes[either.children[0]].op, ExprOp::kKRange);
  EXPECT_TRUE(spec.passes[0].rows.isIdentity());
  EXPECT_TRUE(spec.passes[0].cols.isIdentity());
}

TEST(Pipeline, PlansGridAndBoundaries) {
  KernelSpec grid = compilePattern(gridHead(14, 0, 0), options(0, Layout()));
  EXPECT_GE(grid.passes[0].rows.residue_stride_slot, 0);
  EXPECT_EQ(grid.passes[0].rows.residue_modality, sem::kVision);
  EXPECT_GE(grid.passes[0].cols.residue_stride_slot, 0);
  KernelSpec qb = compilePattern(q_boundary({{Modality::kText, causal()}}), options(0, Layout()));
  EXPECT_EQ(qb.passes[0].rows.modality_order, (std::vector<int>{0, 1, 2}));
  EXPECT_TRUE(qb.passes[0].cols.isIdentity());
  KernelSpec b2 = compilePattern(boundary_2d({{{Modality::kText, Modality::kText}, causal()}}),
                                 options(0, Layout()));
  EXPECT_FALSE(b2.passes[0].cols.isIdentity());
  EXPECT_TRUE(b2.nodes[b2.passes[0].expr_root].op == ExprOp::kAnd);
}

TEST(Pipeline, TileConfigDefaultsAndOverride) {
  EXPECT_EQ(defaultTileConfig(64), (TileConfig{128, 64, 4, 2}));
  EXPECT_EQ(defaultTileConfig(128), (TileConfig{128, 64, 4, 2}));
  CompileOptions o;
  o.head_dim = 64;
  o.dtype = DType::kFP16;
  o.tile = TileConfig{64, 32, 8, 3};
  KernelSpec spec = compilePattern(causal(), o);
  EXPECT_EQ(spec.tile, (TileConfig{64, 32, 8, 3}));
  EXPECT_EQ(spec.head_dim, 64);
  EXPECT_EQ(spec.dtype, DType::kFP16);
}

TEST(StructureKey, SharedAcrossParameterValues) {
  std::string a =
      compilePattern(gridHead(14, 0, 0), options(4096, textVisionText(4096))).structureKey();
  std::string b =
      compilePattern(causal() & (sink(7) | local(3) | rows(SpanRef::last(9)) | grid(5, 4, 1)),
                     options(1000, textVisionText(1000)))
          .structureKey();
  std::string c = compilePattern(gridHead(20, 19, 0), options(0, Layout())).structureKey();
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, c);
  std::string r1 =
      compilePattern(causal() & rows(SpanRef::range(3, 90)), options(0, Layout())).structureKey();
  std::string r2 =
      compilePattern(causal() & rows(SpanRef::range(40, 41)), options(0, Layout())).structureKey();
  EXPECT_EQ(r1, r2);
}

TEST(StructureKey, DiffersAcrossStructures) {
  CompileOptions o = options(0, Layout());
  std::string grid = compilePattern(gridHead(14, 0, 0), o).structureKey();
  std::string a_shape = compilePattern(causal() & (sink(64) | local(128)), o).structureKey();
  std::string last = compilePattern(causal() & rows(SpanRef::last(5)), o).structureKey();
  std::string range = compilePattern(causal() & rows(SpanRef::range(0, 5)), o).structureKey();
  EXPECT_NE(grid, a_shape);
  EXPECT_NE(last, range);
  CompileOptions hd64 = o;
  hd64.head_dim = 64;
  EXPECT_NE(compilePattern(gridHead(14, 0, 0), hd64).structureKey(), grid);
  CompileOptions other_tile = o;
  other_tile.tile = TileConfig{64, 64, 4, 2};
  EXPECT_NE(compilePattern(gridHead(14, 0, 0), other_tile).structureKey(), grid);
}

CompileOptions splitOptions(int64_t seq_len, Layout layout, PassSplit split) {
  CompileOptions o = options(seq_len, std::move(layout));
  o.pass_split = split;
  return o;
}

TEST(PassSplit, DefaultIsSingleAndAutoSplits) {
  EXPECT_EQ(CompileOptions().pass_split, PassSplit::kSingle);
  EXPECT_STREQ(passSplitName(PassSplit::kSingle), "single");
  EXPECT_STREQ(passSplitName(PassSplit::kSplitLines), "lines");
  EXPECT_STREQ(passSplitName(PassSplit::kAuto), "auto");
  KernelSpec single = compilePattern(gridHead(14, 0, 0), options(0, Layout()));
  KernelSpec automatic =
      compilePattern(gridHead(14, 0, 0), splitOptions(0, Layout(), PassSplit::kAuto));
  KernelSpec lines =
      compilePattern(gridHead(14, 0, 0), splitOptions(0, Layout(), PassSplit::kSplitLines));
  EXPECT_EQ(single.passes.size(), 1u);
  EXPECT_EQ(automatic.structureKey(), lines.structureKey());
  // What does not split stays the same single pass under auto.
  Pattern a_shape = causal() & (sink(64) | local(128));
  EXPECT_EQ(compilePattern(a_shape, splitOptions(0, Layout(), PassSplit::kAuto)).structureKey(),
            compilePattern(a_shape, options(0, Layout())).structureKey());
}

TEST(PassSplit, GridHeadBecomesPlainPassThenLinePass) {
  KernelSpec spec =
      compilePattern(gridHead(14, 0, 3), splitOptions(0, Layout(), PassSplit::kSplitLines));
  ASSERT_EQ(spec.passes.size(), 2u);
  EXPECT_TRUE(spec.passes[0].rows.isIdentity());
  EXPECT_TRUE(spec.passes[0].cols.isIdentity());
  EXPECT_EQ(spec.passes[1].rows.residue_modality, sem::kVision);
  EXPECT_EQ(spec.passes[1].cols.residue_modality, sem::kVision);
  // pass 1 = and(causal, grid, not(or(sink, local, rows))); pass 0 = and(causal, or(...)).
  const ExprNode& plain = spec.nodes[spec.passes[0].expr_root];
  const ExprNode& lines = spec.nodes[spec.passes[1].expr_root];
  ASSERT_EQ(plain.op, ExprOp::kAnd);
  ASSERT_EQ(lines.op, ExprOp::kAnd);
  ASSERT_EQ(lines.children.size(), 3u);
  const ExprNode& excluded = spec.nodes[lines.children[2]];
  ASSERT_EQ(excluded.op, ExprOp::kNot);
  const ExprNode& plain_terms = spec.nodes[plain.children[1]];
  const ExprNode& excluded_terms = spec.nodes[excluded.children[0]];
  ASSERT_EQ(excluded_terms.children.size(), 3u);
  // The same pattern ops, lowered again in pass 1, read the same param slots.
  for (size_t i = 0; i < 3; ++i) {
    const ExprNode& a = spec.nodes[plain_terms.children[i]];
    const ExprNode& b = spec.nodes[excluded_terms.children[i]];
    EXPECT_EQ(a.op, b.op);
    EXPECT_EQ(a.slots[0], b.slots[0]);
    EXPECT_EQ(a.slots[1], b.slots[1]);
  }
  EXPECT_NE(spec.str().find("pass 1: rows residue("), std::string::npos) << spec.str();
  EXPECT_NE(spec.str().find("merges through the LSE"), std::string::npos);
}

TEST(PassSplit, StructureKeySeparatesSingleAndSplit) {
  CompileOptions single = options(4096, textVisionText(4096));
  CompileOptions split = splitOptions(4096, textVisionText(4096), PassSplit::kSplitLines);
  std::string single_key = compilePattern(gridHead(14, 0, 0), single).structureKey();
  std::string split_key = compilePattern(gridHead(14, 0, 0), split).structureKey();
  EXPECT_NE(single_key, split_key);
  // Split plans still share a kernel across parameter values.
  std::string other =
      compilePattern(causal() & (sink(7) | local(3) | rows(SpanRef::last(9)) | grid(5, 4, 1)),
                     splitOptions(1000, textVisionText(1000), PassSplit::kSplitLines))
          .structureKey();
  EXPECT_EQ(split_key, other);
}

TEST(PassSplit, OtherShapesStaySingleOrSplitInGeneralForm) {
  CompileOptions o = splitOptions(0, Layout(), PassSplit::kSplitLines);
  PermuteBy gather_text;
  gather_text.kind = PermuteBy::Kind::kModality;
  gather_text.order = {Modality::kText, Modality::kVision};
  const Pattern single_pass[] = {
      causal() & (sink(64) | local(128)),          // no line terms
      causal() & (grid(14, 0, 0) | vlines(7, 1)),  // only line terms
      vlines(4, 0) & (sink(8) | hlines(4, 1)),     // nothing kept without the lines
      permute(local(16) | vlines(4, 0), PermuteAxes::kRows, gather_text),  // a plan hint
  };
  for (const Pattern& p : single_pass) {
    EXPECT_EQ(compilePattern(p, o).passes.size(), 1u) << p.str();
  }
  EXPECT_EQ(compilePattern(sink(16) | vlines(5, 1), o).passes.size(), 2u);
  // The general split: a boundary, a line under an intersection that keeps pairs without it.
  EXPECT_EQ(
      compilePattern(q_boundary({{Modality::kText, local(16) | vlines(4, 0)}}), o).passes.size(),
      2u);
  EXPECT_EQ(compilePattern((sink(8) | vlines(4, 0)) & (local(64) | hlines(4, 1)), o).passes.size(),
            2u);
}

TEST(Pipeline, VerticalSlashSplitsIntoStaticAndGatheredPasses) {
  CompileOptions o = options(4096, Layout{});
  KernelSpec spec = compilePattern(causal() & (sink(64) | vertical_slash(100, 200, 64)), o);
  ASSERT_TRUE(spec.isDynamic());
  ASSERT_EQ(spec.dynamic.size(), 1u);
  EXPECT_EQ(spec.dynamic[0].vertical, 100);
  EXPECT_EQ(spec.dynamic[0].slash, 200);
  EXPECT_EQ(spec.dynamic[0].last_q, 64);
  EXPECT_EQ(spec.dynamic[0].query_modality, -1);
  ASSERT_EQ(spec.passes.size(), 2u);
  EXPECT_FALSE(spec.passes[0].cols.gather_vertical);
  EXPECT_TRUE(spec.passes[1].cols.gather_vertical);
  EXPECT_FALSE(compilePattern(causal() & sink(64), o).isDynamic());
}

// The slots of spec.params the lowering marked with `role`.
std::vector<int> slotsWithRole(const KernelSpec& spec, ParamRole role) {
  std::vector<int> out;
  for (size_t i = 0; i < spec.params.size(); ++i) {
    if (spec.params[i].role == role) out.push_back(static_cast<int>(i));
  }
  return out;
}

TEST(GridEstimated, PhaseSlotsCarryTheirRoles) {
  Pattern pattern =
      causal() & (sink(64) | local(128) | rows(SpanRef::last(60)) | grid_estimated({7, 14}));
  for (PassSplit split : {PassSplit::kSingle, PassSplit::kSplitLines}) {
    for (int candidate : {0, 1}) {
      KernelSpec spec = compileGridCandidate(pattern, splitOptions(0, Layout(), split), candidate);
      ASSERT_TRUE(spec.grid_estimate);
      EXPECT_EQ(slotsWithRole(spec, ParamRole::kGridPhaseQ),
                std::vector<int>{spec.grid_estimate->phase_q_slot});
      EXPECT_EQ(slotsWithRole(spec, ParamRole::kGridPhaseK),
                std::vector<int>{spec.grid_estimate->phase_k_slot});
      // The marked slots are the grid's q and k phases (the names are only for printing).
      EXPECT_EQ(spec.params[spec.grid_estimate->phase_q_slot].name, "grid.q.phase");
      EXPECT_EQ(spec.params[spec.grid_estimate->phase_k_slot].name, "grid.k.phase");
      EXPECT_NE(spec.str().find("grid.q.phase = const 0 role grid_phase_q"), std::string::npos)
          << spec.str();
    }
  }
}

TEST(GridEstimated, LinesNextToItKeepUnmarkedPhases) {
  // hlines/vlines are allowed next to a grid_estimated; their phases are not the estimate's.
  KernelSpec spec = compilePattern(causal() & (hlines(5, 1) | vlines(3, 2) | grid_estimated({14})),
                                   options(0, Layout()));
  ASSERT_TRUE(spec.grid_estimate);
  EXPECT_EQ(spec.params[spec.grid_estimate->phase_q_slot].name, "grid.q.phase");
  EXPECT_EQ(spec.params[spec.grid_estimate->phase_k_slot].name, "grid.k.phase");
  EXPECT_EQ(spec.params[spec.grid_estimate->phase_q_slot].role, ParamRole::kGridPhaseQ);
  EXPECT_EQ(spec.params[spec.grid_estimate->phase_k_slot].role, ParamRole::kGridPhaseK);
  for (const ParamSlot& p : spec.params) {
    if (p.name == "hlines.phase" || p.name == "vlines.phase") {
      EXPECT_EQ(p.role, ParamRole::kNone) << p.name;
    }
  }
}

TEST(StructureKey, RolesAreNotPartOfIt) {
  // A static grid marks its phases; the same lines as hlines | vlines do not. Both render the
  // same kernel, so they keep one structure key.
  CompileOptions o = options(0, Layout());
  KernelSpec grid_spec = compilePattern(causal() & grid(14, 0, 3, SpanRef::all()), o);
  KernelSpec lines_spec =
      compilePattern(causal() & (hlines(14, 0, SpanRef::all()) | vlines(14, 3, SpanRef::all())), o);
  EXPECT_EQ(slotsWithRole(grid_spec, ParamRole::kGridPhaseQ).size(), 1u);
  EXPECT_TRUE(slotsWithRole(lines_spec, ParamRole::kGridPhaseQ).empty());
  EXPECT_EQ(grid_spec.structureKey(), lines_spec.structureKey());
}

TEST(BadInput, TwoVerticalSlashAtomsInOneHead) {
  Error e = captureError([] {
    compilePattern(vertical_slash(100, 200) | vertical_slash(10, 20), options(4096, Layout{}));
  });
  EXPECT_NE(std::string(e.what()).find("vertical_slash"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("allowed: one"), std::string::npos) << e.what();
}

TEST(BadInput, HeadDimAndTileNamed) {
  CompileOptions o;
  o.head_dim = 96;
  Error e = captureError([&] { compilePattern(causal(), o); });
  EXPECT_EQ(e.category(), ErrorCategory::kUnsupported);
  EXPECT_NE(std::string(e.what()).find("head_dim"), std::string::npos);
  o.head_dim = 128;
  o.tile = TileConfig{128, 48, 4, 2};
  e = captureError([&] { compilePattern(causal(), o); });
  EXPECT_NE(std::string(e.what()).find("tile.block_n"), std::string::npos);
  o.tile = TileConfig{128, 64, 6, 2};
  e = captureError([&] { compilePattern(causal(), o); });
  EXPECT_NE(std::string(e.what()).find("tile.warps"), std::string::npos);
}

TEST(BadInput, SeqLenAndLayout) {
  CompileOptions o;
  o.seq_len = -3;
  Error e = captureError([&] { compilePattern(causal(), o); });
  EXPECT_EQ(e.category(), ErrorCategory::kInvalidArgument);
  EXPECT_NE(std::string(e.what()).find("seq_len"), std::string::npos);
  o = options(100, Layout({Span{Modality::kVision, 10, 200, std::nullopt}}));
  e = captureError([&] { compilePattern(causal(), o); });
  EXPECT_EQ(e.category(), ErrorCategory::kInvalidPattern);
  KernelSpec spec = compilePattern(causal(), CompileOptions());
  e = captureError([&] { bindParams(spec, Layout(), 0); });
  EXPECT_NE(std::string(e.what()).find("seq_len"), std::string::npos);
}

}  // namespace
}  // namespace permjit
