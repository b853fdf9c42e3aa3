// --permjit-pipeline: the library's buildPipeline in permjit-opt, every pass in order, each
// printing its IR with --mlir-print-ir-after-all; pipeline options reach the passes.


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
