// The pipeline, top to bottom (Halide lower() style): import-dsl makes the module, the passes of
// buildPipeline transform it (each able to print its IR, only when it changed, with optional
// timing per pass), emit-kernel-spec reads the result. Pattern + Layout -> pattern IR -> tile IR
// -> KernelSpec. permjit-opt runs the same passes as --permjit-pipeline.
#include "permjit/compiler/Pipeline.h"

#include <fmt/format.h>

#include <iostream>
#include <optional>

#include "Passes/PassError.h"
#include "llvm/Support/raw_os_ostream.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassInstrumentation.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "permjit/compiler/Passes.h"
#include "permjit/dsl/Env.h"
#include "permjit/dsl/Error.h"

namespace permjit {
namespace {

// The pass options the pipeline's steps take, from the compile options.
struct StepOptions {
  LowerToTileIRPassOptions lowering;
  SelectTileConfigPassOptions tile;
};

StepOptions stepOptions(const CompileOptions& options) {
  StepOptions out;
  if (options.tile) {
    out.tile.blockM = options.tile->block_m;
    out.tile.blockN = options.tile->block_n;
    out.tile.warps = options.tile->warps;
    out.tile.stages = options.tile->stages;
  }
  out.lowering.headDim = options.head_dim;
  out.lowering.dtype = dtypeName(options.dtype);
  out.lowering.passSplit = passSplitName(options.pass_split);
  return out;
}

// The steps between import-dsl (which makes the module) and emit-kernel-spec (which reads it).
void addSteps(mlir::OpPassManager& pm, const StepOptions& options) {
  pm.addPass(createCanonicalizePass());
  pm.addPass(createPlanPermutationsPass());
  pm.addPass(createLowerToTileIRPass(options.lowering));
  pm.addPass(createSelectTileConfigPass(options.tile));
  pm.addPass(createClassifyTilesPass());
}

// permjit-opt's --permjit-pipeline options: the pass options of the steps that take any.
struct PipelineCliOptions : public mlir::PassPipelineOptions<PipelineCliOptions> {
  Option<int64_t> headDim{*this, "head-dim", llvm::cl::desc("head dimension (64 or 128)"),
                          llvm::cl::init(128)};
  Option<std::string> dtype{*this, "dtype", llvm::cl::desc("bf16 or fp16"), llvm::cl::init("bf16")};
  Option<std::string> passSplit{*this, "pass-split",
                                llvm::cl::desc("single, lines or auto (Pipeline.h)"),
                                llvm::cl::init("single")};
  Option<int64_t> blockM{*this, "block-m", llvm::cl::desc("rows per CTA (0: default)"),
                         llvm::cl::init(0)};
  Option<int64_t> blockN{*this, "block-n", llvm::cl::desc("keys per step (0: default)"),
                         llvm::cl::init(0)};
  Option<int64_t> warps{*this, "warps", llvm::cl::desc("warps per CTA (0: default)"),
                        llvm::cl::init(0)};
  Option<int64_t> stages{*this, "stages", llvm::cl::desc("pipeline stages (0: default)"),
                         llvm::cl::init(0)};
};

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

// The index of the slot of spec.params the lowering marked with `role`; exactly one must be.
int uniqueParamSlot(const KernelSpec& spec, ParamRole role) {
  int found = -1;
  for (size_t i = 0; i < spec.params.size(); ++i) {
    if (spec.params[i].role != role) continue;
    if (found >= 0) {
      throw Error(ErrorCategory::kInternal,
                  fmt::format("grid_estimated: param slots p{} and p{} both have role {}; "
                              "expected exactly one",
                              found, i, paramRoleName(role)));
    }
    found = static_cast<int>(i);
  }
  if (found < 0) {
    throw Error(ErrorCategory::kInternal,
                fmt::format("grid_estimated: the compiled spec has no param slot with role {}; "
                            "expected exactly one",
                            paramRoleName(role)));
  }
  return found;
}

// What to keep of a run besides the spec: the IR texts emitStage asks for.
struct Keep {
  bool pattern_ir = false;
  bool tile_ir = false;
};

// Names the step that failed and keeps the pattern IR (after plan-permutations) when asked.
class StepRecorder : public mlir::PassInstrumentation {
 public:
  explicit StepRecorder(bool keep_pattern_ir) : keep_pattern_ir_(keep_pattern_ir) {}
  void runAfterPass(mlir::Pass* pass, mlir::Operation* op) override {
    if (!keep_pattern_ir_ || pass->getArgument() != "permjit-plan-permutations") return;
    llvm::raw_string_ostream os(pattern_ir_);
    op->print(os);
  }
  void runAfterPassFailed(mlir::Pass* pass, mlir::Operation*) override {
    failed_step_ = pass->getArgument().str();
  }
  std::string& patternIr() { return pattern_ir_; }
  const std::string& failedStep() const { return failed_step_; }

 private:
  bool keep_pattern_ir_;
  std::string pattern_ir_, failed_step_;
};

Compiled runStatic(const Pattern& pattern, const CompileOptions& options, Keep keep);

// A grid_estimated pattern compiles as the static grid of one candidate stride (phases 0 in the
// spec; the kernels read the chosen ones from the workspace), with the estimate recorded.
Compiled run(const Pattern& pattern, const CompileOptions& options, Keep keep, int candidate = 0) {
  const Pattern::Node* estimated = findEstimatedGrid(pattern);
  if (estimated == nullptr) return runStatic(pattern, options, keep);
  if (candidate < 0 || candidate >= static_cast<int>(estimated->strides.size())) {
    throw Error(ErrorCategory::kInvalidArgument,
                fmt::format("candidate: {}; allowed: 0..{} (grid_estimated.strides)", candidate,
                            estimated->strides.size() - 1));
  }
  checkOptions(pattern, options);
  Compiled out =
      runStatic(withGridChoice(pattern, {estimated->strides[candidate], 0, 0}), options, keep);
  GridEstimateSpec grid;
  for (int64_t stride : estimated->strides) grid.strides.push_back(static_cast<int>(stride));
  grid.candidate = candidate;
  grid.last_q = estimated->last_q;
  grid.phase_q_slot = uniqueParamSlot(out.spec, ParamRole::kGridPhaseQ);
  grid.phase_k_slot = uniqueParamSlot(out.spec, ParamRole::kGridPhaseK);
  out.spec.grid_estimate = std::move(grid);
  return out;
}

Compiled runStatic(const Pattern& pattern, const CompileOptions& options, Keep keep) {
  checkOptions(pattern, options);
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  context.getOrLoadDialect<ir::PermjitDialect>();
  // Errors are collected (and rethrown below with the category a pass gave them); notes that
  // only carry the category stay out of the message.
  std::string diagnostics;
  std::optional<ErrorCategory> category;
  mlir::ScopedDiagnosticHandler handler(&context, [&](mlir::Diagnostic& diag) {
    if (auto c = passes::permjitCategory(diag)) {
      if (!category) category = c;
      diagnostics += diag.str() + "\n";
    } else {
      llvm::raw_string_ostream os(diagnostics);
      diag.print(os);
      for (const mlir::Diagnostic& note : diag.getNotes()) os << "\n  note: " << note.str();
      os << "\n";
    }
    return mlir::success();
  });

  // IR after every step, only when asked (CompileOptions::ir_out, PERMJIT_DUMP_IR), and after a
  // pass only when it changed the module (Halide's lower() log). MLIR's own printer, so the
  // text is what `permjit-opt --permjit-pipeline --mlir-print-ir-after-all` prints.
  const bool dump = env::dumpIr();
  const bool print_ir = options.ir_out != nullptr || dump;
  std::string ir_log;
  llvm::raw_string_ostream ir_stream(ir_log);
  auto flushIr = [&] {
    if (!print_ir) return;
    if (options.ir_out) *options.ir_out << ir_log;
    if (dump) std::cerr << ir_log;
    ir_log.clear();
  };

  Compiled out;
  mlir::OwningOpRef<mlir::ModuleOp> module =
      importPattern(context, pattern, options.layout, options.seq_len, options.name);
  if (print_ir) ir_stream << "// -----// IR Dump After import-dsl //----- //\n" << *module << "\n";

  mlir::PassManager pm(&context);
  buildPipeline(pm, options);
  if (print_ir) {
    pm.enableIRPrinting([](mlir::Pass*, mlir::Operation*) { return false; },
                        [](mlir::Pass*, mlir::Operation*) { return true; },
                        /*printModuleScope=*/true, /*printAfterOnlyOnChange=*/true,
                        /*printAfterOnlyOnFailure=*/false, ir_stream);
  }
  if (env::passTiming()) pm.enableTiming();
  auto recorder = std::make_unique<StepRecorder>(keep.pattern_ir);
  StepRecorder& steps = *recorder;
  pm.addInstrumentation(std::move(recorder));
  if (mlir::failed(pm.run(*module))) {
    flushIr();
    const std::string step = steps.failedStep().empty() ? "pipeline" : steps.failedStep();
    throw Error(category.value_or(ErrorCategory::kInvalidPattern),
                fmt::format("{}: {}", step, diagnostics.empty() ? "failed" : diagnostics));
  }
  out.pattern_ir = std::move(steps.patternIr());
  if (keep.tile_ir) out.tile_ir = printModule(*module);
  auto kernels = module->getOps<ir::KernelOp>();
  if (kernels.empty()) throw Error(ErrorCategory::kInternal, "pipeline: no permjit.kernel made");
  out.spec = emitKernelSpec(*kernels.begin());
  if (print_ir) ir_stream << "// -----// emit-kernel-spec //----- //\n" << out.spec.str();
  flushIr();
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

void buildPipeline(mlir::OpPassManager& pm, const CompileOptions& options) {
  addSteps(pm, stepOptions(options));
}

void registerPermjitPipeline() {
  static mlir::PassPipelineRegistration<PipelineCliOptions> registration(
      "permjit-pipeline",
      "The whole permjit pipeline (canonicalize, plan-permutations, lower-to-tile-ir, "
      "select-tile-config, classify-tiles), as compilePattern runs it",
      [](mlir::OpPassManager& pm, const PipelineCliOptions& cli) {
        StepOptions options;
        options.lowering.headDim = cli.headDim;
        options.lowering.dtype = cli.dtype;
        options.lowering.passSplit = cli.passSplit;
        options.tile.blockM = cli.blockM;
        options.tile.blockN = cli.blockN;
        options.tile.warps = cli.warps;
        options.tile.stages = cli.stages;
        addSteps(pm, options);
      });
}

KernelSpec compilePattern(const Pattern& pattern, const CompileOptions& options) {
  return run(pattern, options, Keep{}).spec;
}

KernelSpec compileGridCandidate(const Pattern& pattern, const CompileOptions& options,
                                int candidate) {
  if (findEstimatedGrid(pattern) == nullptr) {
    throw Error(ErrorCategory::kInvalidArgument,
                "pattern: has no grid_estimated atom; compileGridCandidate needs one");
  }
  return run(pattern, options, Keep{}, candidate).spec;
}

std::string emitStage(const Pattern& pattern, const CompileOptions& options, Stage stage) {
  Keep keep;
  keep.pattern_ir = stage == Stage::kPatternIR;
  keep.tile_ir = stage == Stage::kTileIR;
  Compiled out = run(pattern, options, keep);
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
