// --permjit-pipeline: the library's buildPipeline in permjit-opt, every pass in order, each
// printing its IR with --mlir-print-ir-after-all; pipeline options reach the passes.
// RUN: permjit-opt %s --permjit-pipeline --mlir-print-ir-after-all -o /dev/null 2>&1 | FileCheck %s
// RUN: permjit-opt %s '--permjit-pipeline=head-dim=64 dtype=fp16 block-n=128' | FileCheck %s --check-prefix=OPTS
// RUN: permjit-opt %s --permjit-pipeline --mlir-timing -o /dev/null 2>&1 | FileCheck %s --check-prefix=TIMING

// CHECK: IR Dump After CanonicalizePass (permjit-canonicalize)
// CHECK: IR Dump After PlanPermutationsPass (permjit-plan-permutations)
// CHECK: row_map = #permjit.plan<residue 14 over #permjit.span<modality vision>>
// CHECK: IR Dump After LowerToTileIRPass (permjit-lower-to-tile-ir)
// CHECK: permjit.kernel @grid head_dim 128 dtype bf16
// CHECK: IR Dump After SelectTileConfigPass (permjit-select-tile-config)
// CHECK: IR Dump After ClassifyTilesPass (permjit-classify-tiles)

// OPTS: permjit.kernel @grid head_dim 64 dtype fp16
// OPTS-SAME: block_n = 128 : i64

// TIMING: Execution time report
// TIMING: LowerToTileIRPass
permjit.head @grid attributes {layout = []} {
  %0 = permjit.causal
  %1 = permjit.sink 64
  %2 = permjit.grid stride 14 phase 0, 0 over <modality vision>
  %3 = permjit.union %1, %2
  %4 = permjit.intersect %0, %3
  permjit.yield %4 : !permjit.mask
}
