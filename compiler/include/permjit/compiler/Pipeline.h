// The compiler's entry points: Pattern + Layout -> permjit IR -> pass pipeline -> KernelSpec.
// The steps, in order (compiler/lib/Pipeline.cpp): import-dsl, then the passes of buildPipeline
// (permjit-canonicalize, permjit-plan-permutations, permjit-lower-to-tile-ir,
// permjit-select-tile-config, permjit-classify-tiles), then emit-kernel-spec.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

#include "permjit/compiler/KernelSpec.h"
#include "permjit/dsl/Pattern.h"

namespace mlir {
class OpPassManager;
}

namespace permjit {

// How many launches a pattern becomes.
//   kSingle     one fused pass over one permutation plan (every pattern). The default: one
//               launch, no LSE buffer needed.
//   kSplitLines for causal-or-not & (union of terms) where some terms hold line atoms (grid,
//               vlines, hlines) and others do not: pass 0 computes the line-free terms in
//               original order, pass 1 the line terms over their residue permutation minus
//               what pass 0 keeps, merged through the softmax statistics (the authors' two-pass
//               grid kernel). Other patterns (no line terms, only line terms, boundaries,
//               permute hints, line atoms outside the union) stay single-pass.
//   kAuto       the compiler's choice: kSplitLines wherever the pattern splits. Measured on
//               the MMInference grid head (stride 14, sink 1024, local 1024, 60 trailing text
//               rows, S = 131072, bf16, hd 128, 8 heads; H200, tests/gpu_kernel harness whose
//               hand-written passes match these predicates): fused 58.8 ms, split 27.9 ms
//               (128x64 tiles); 66.6 vs 29.1 ms (128x128). A split plan needs the LSE buffer.
enum class PassSplit { kSingle, kSplitLines, kAuto };
const char* passSplitName(PassSplit split);  // "single" | "lines" | "auto" (pass option value)

struct CompileOptions {
  int head_dim = 128;
  DType dtype = DType::kBF16;
  std::optional<TileConfig> tile;  // overrides defaultTileConfig(head_dim)
  Layout layout;
  int64_t seq_len = 0;  // 0: unknown (no validation against it, no tile statistics)
  // Print the IR after import-dsl and after every pass that changed it, then the KernelSpec
  // (PERMJIT_DUMP_IR=1 prints the same to stderr).
  std::ostream* ir_out = nullptr;
  std::string name = "pattern";  // kernel symbol and KernelSpec::name
  PassSplit pass_split = PassSplit::kSingle;
};

enum class Stage { kPatternIR, kTileIR, kSpec };

// The pipeline's passes with the options `options` gives them (head dim, dtype, pass split,
// tile). The one builder: compilePattern runs it, and permjit-opt registers it as
// --permjit-pipeline (registerPermjitPipeline), so --mlir-print-ir-after-all and
// --mlir-timing show the same steps as a compile.
void buildPipeline(mlir::OpPassManager& pm, const CompileOptions& options);

// Registers --permjit-pipeline="head-dim=128 dtype=bf16 pass-split=single block-m=0 ..." (the
// options of the passes that take any; 0 keeps the default tile field). Idempotent.
void registerPermjitPipeline();

// Runs the whole pipeline. A vertical_slash head yields a dynamic spec (KernelSpec::dynamic,
// a gathered-vertical second pass). Throws Error: kUnsupported for head dims / tile configs
// outside the supported sets; kInvalidPattern for patterns that do not fit the layout / seq_len
// or fail IR verification (message names the field).
// A grid_estimated pattern compiles as candidate 0 (see compileGridCandidate).
KernelSpec compilePattern(const Pattern& pattern, const CompileOptions& options);

// A grid_estimated pattern for one of its candidate strides: the static grid of stride
// strides[candidate] with both phases 0 in the spec, and KernelSpec::grid_estimate telling the
// code generator which param slots hold the phases the kernels read from the run's workspace.
// Candidates with the same structure render the same source (one compiled kernel). Throws
// Error(kInvalidArgument) for a pattern without grid_estimated or a candidate out of range.
KernelSpec compileGridCandidate(const Pattern& pattern, const CompileOptions& options,
                                int candidate);

// The text of one stage: pattern IR after plan-permutations, tile IR after classify-tiles, or
// KernelSpec::str().
std::string emitStage(const Pattern& pattern, const CompileOptions& options, Stage stage);

// block_m 128, block_n 64, 4 warps, 2 stages for head dims 64 and 128; Error(kUnsupported)
// for any other head dim.
TileConfig defaultTileConfig(int head_dim);

// Throws Error(kUnsupported) naming the field when a tile config is outside the supported set
// (block_m {64,128}, block_n {32,64,128}, warps {4,8}, stages {1,2,3}).
void validateTileConfig(const TileConfig& tile);

const char* stageName(Stage stage);  // "pattern-ir" | "tile-ir" | "spec"

}  // namespace permjit
