// The pipeline, top to bottom (Halide lower() style): each step transforms the module and can
// print it. Pattern + Layout -> pattern IR -> tile IR -> KernelSpec.
#include "permjit/compiler/Pipeline.h"

#include <fmt/format.h>

#include <functional>
#include <iostream>
#include <sstream>

#include "llvm/Support/raw_os_ostream.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "permjit/compiler/Passes.h"
#include "permjit/dsl/Env.h"
#include "permjit/dsl/Error.h"

namespace permjit {
namespace {

struct Step {
  const char* name;
  std::function<std::unique_ptr<mlir::Pass>()> pass;
};

// import-dsl comes before these (it creates the module); emit-kernel-spec after them.
std::vector<Step> passSteps(const CompileOptions& options) {
  SelectTileConfigPassOptions tile;
  if (options.tile) {
    tile.blockM = options.tile->block_m;
    tile.blockN = options.tile->block_n;
    tile.warps = options.tile->warps;
    tile.stages = options.tile->stages;
  }
  LowerToTileIRPassOptions lowering;
  lowering.headDim = options.head_dim;
  lowering.dtype = dtypeName(options.dtype);
  lowering.passSplit = passSplitName(options.pass_split);
  return {
      {"canonicalize", [] { return createCanonicalizePass(); }},
      {"plan-permutations", [] { return createPlanPermutationsPass(); }},
      {"lower-to-tile-ir", [lowering] { return createLowerToTileIRPass(lowering); }},
      {"select-tile-config", [tile] { return createSelectTileConfigPass(tile); }},
      {"classify-tiles", [] { return createClassifyTilesPass(); }},
  };
}

struct Compiled {
  std::string pattern_ir, tile_ir;
  KernelSpec spec;
};

void checkOptions(const Pattern& pattern, const CompileOptions& options) {
  defaultTileConfig(options.head_dim);
  if (options.tile) validateTileConfig(*options.tile);
  if (options.seq_len < 0 || options.seq_len >= (int64_t{1} << 30)) {
    throw Error(
        ErrorCategory::kInvalidArgument,
        fmt::format("seq_len: {}; allowed: 0 (unknown) or 1 <= seq_len < 2^30", options.seq_len));
  }
  if (options.seq_len > 0) validate(pattern, options.layout, options.seq_len);
}

std::string printModule(mlir::ModuleOp module) {
  std::string text;
  llvm::raw_string_ostream os(text);
  module.print(os);
  return text;
}

// The index of `name` in spec.params; exactly one slot must carry it.
int uniqueParamSlot(const KernelSpec& spec, const std::string& name) {
  int found = -1;
  for (size_t i = 0; i < spec.params.size(); ++i) {
    if (spec.params[i].name != name) continue;
    if (found >= 0) {
      throw Error(ErrorCategory::kInternal,
                  fmt::format("grid_estimated: two param slots named '{}'", name));
    }
    found = static_cast<int>(i);
  }
  if (found < 0) {
    throw Error(ErrorCategory::kInternal,
                fmt::format("grid_estimated: the compiled spec has no '{}' slot", name));
  }
  return found;
}

Compiled runStatic(const Pattern& pattern, const CompileOptions& options);

// A grid_estimated pattern compiles as the static grid of one candidate stride (phases 0 in the
// spec; the kernels read the chosen ones from the workspace), with the estimate recorded.
Compiled run(const Pattern& pattern, const CompileOptions& options, int candidate = 0) {
  const Pattern::Node* estimated = findEstimatedGrid(pattern);
  if (estimated == nullptr) return runStatic(pattern, options);
  if (candidate < 0 || candidate >= static_cast<int>(estimated->strides.size())) {
    throw Error(ErrorCategory::kInvalidArgument,
                fmt::format("candidate: {}; allowed: 0..{} (grid_estimated.strides)", candidate,
                            estimated->strides.size() - 1));
  }
  checkOptions(pattern, options);
  Compiled out = runStatic(withGridChoice(pattern, {estimated->strides[candidate], 0, 0}), options);
  GridEstimateSpec grid;
  for (int64_t stride : estimated->strides) grid.strides.push_back(static_cast<int>(stride));
  grid.candidate = candidate;
  grid.last_q = estimated->last_q;
  grid.phase_q_slot = uniqueParamSlot(out.spec, "grid.q.phase");
  grid.phase_k_slot = uniqueParamSlot(out.spec, "grid.k.phase");
  out.spec.grid_estimate = std::move(grid);
  return out;
}

Compiled runStatic(const Pattern& pattern, const CompileOptions& options) {
  checkOptions(pattern, options);
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  context.getOrLoadDialect<ir::PermjitDialect>();
  std::string diagnostics;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic& diag) {
    diagnostics += diag.str() + "\n";
    return mlir::success();
  });
  bool dump = env::dumpIr();
  auto show = [&](const char* step, mlir::ModuleOp module) {
    if (!options.ir_out && !dump) return;
    std::string text = fmt::format("// ----- IR after {} -----\n{}\n", step, printModule(module));
    if (options.ir_out) *options.ir_out << text;
    if (dump) std::cerr << text;
  };

  Compiled out;
  mlir::OwningOpRef<mlir::ModuleOp> module =
      importPattern(context, pattern, options.layout, options.seq_len, options.name);
  show("import-dsl", *module);
  for (const Step& step : passSteps(options)) {
    mlir::PassManager pm(&context);
    pm.addPass(step.pass());
    if (mlir::failed(pm.run(*module))) {
      throw Error(ErrorCategory::kInvalidPattern,
                  fmt::format("{}: {}", step.name, diagnostics.empty() ? "failed" : diagnostics));
    }
    show(step.name, *module);
    if (std::string_view(step.name) == "plan-permutations") out.pattern_ir = printModule(*module);
  }
  out.tile_ir = printModule(*module);
  auto kernels = module->getOps<ir::KernelOp>();
  if (kernels.empty()) throw Error(ErrorCategory::kInternal, "pipeline: no permjit.kernel made");
  out.spec = emitKernelSpec(*kernels.begin());
  if (options.ir_out) *options.ir_out << "// ----- emit-kernel-spec -----\n" << out.spec.str();
  if (dump) std::cerr << "// ----- emit-kernel-spec -----\n" << out.spec.str();
  return out;
}

}  // namespace

TileConfig defaultTileConfig(int head_dim) {
  if (head_dim != 64 && head_dim != 128) {
    throw Error(ErrorCategory::kUnsupported,
                fmt::format("head_dim: {} is not supported; allowed: 64, 128", head_dim));
  }
  // Both head dims: 128 query rows x 64 keys per step, 4 warps, 2 stages (the authors' grid
  // kernel shape, and FlashAttention-2's on sm80/sm90 for these head dims).
  return TileConfig{128, 64, 4, 2};
}

void validateTileConfig(const TileConfig& tile) {
  auto check = [](const char* field, int value, std::initializer_list<int> allowed) {
    for (int a : allowed) {
      if (value == a) return;
    }
    std::string list;
    for (int a : allowed) list += (list.empty() ? "" : ", ") + std::to_string(a);
    throw Error(ErrorCategory::kUnsupported,
                fmt::format("tile.{}: {} is not supported; allowed: {}", field, value, list));
  };
  check("block_m", tile.block_m, {64, 128});
  check("block_n", tile.block_n, {32, 64, 128});
  check("warps", tile.warps, {4, 8});
  check("stages", tile.stages, {1, 2, 3});
}

const char* passSplitName(PassSplit split) {
  switch (split) {
    case PassSplit::kSingle:
      return "single";
    case PassSplit::kSplitLines:
      return "lines";
    case PassSplit::kAuto:
      return "auto";
  }
  return "?";
}

const char* stageName(Stage stage) {
  switch (stage) {
    case Stage::kPatternIR:
      return "pattern-ir";
    case Stage::kTileIR:
      return "tile-ir";
    case Stage::kSpec:
      return "spec";
  }
  return "?";
}

KernelSpec compilePattern(const Pattern& pattern, const CompileOptions& options) {
  return run(pattern, options).spec;
}

KernelSpec compileGridCandidate(const Pattern& pattern, const CompileOptions& options,
                                int candidate) {
  if (findEstimatedGrid(pattern) == nullptr) {
    throw Error(ErrorCategory::kInvalidArgument,
                "pattern: has no grid_estimated atom; compileGridCandidate needs one");
  }
  return run(pattern, options, candidate).spec;
}

std::string emitStage(const Pattern& pattern, const CompileOptions& options, Stage stage) {
  Compiled out = run(pattern, options);
  switch (stage) {
    case Stage::kPatternIR:
      return out.pattern_ir;
    case Stage::kTileIR:
      return out.tile_ir;
    case Stage::kSpec:
      return out.spec.str();
  }
  return out.spec.str();
}

}  // namespace permjit
