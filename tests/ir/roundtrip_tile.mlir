// Every tile-level op and attribute prints and parses back unchanged, in the custom and in
// the generic form.
// RUN: permjit-opt %s | permjit-opt | FileCheck %s
// RUN: permjit-opt %s --mlir-print-op-generic | permjit-opt | FileCheck %s

// CHECK-LABEL: permjit.kernel @k head_dim 128 dtype bf16
// CHECK-SAME: block_m = 128
// CHECK-SAME: block_n = 64
// CHECK-SAME: params = [#permjit.param<"causal.lo" const 0>, #permjit.param<"inf" inf>, #permjit.param<"rows.begin" seq_len_minus 60>, #permjit.param<"q.last" count_minus text 60>, #permjit.param<"grid.stride" const 14>]
permjit.kernel @k head_dim 128 dtype bf16 attributes {block_m = 128 : i64, block_n = 64 : i64,
    warps = 4 : i64, stages = 2 : i64, seq_len = 4096 : i64,
    layout = [#permjit.layout_span<vision 0, 4000>],
    params = [#permjit.param<"causal.lo" const 0>, #permjit.param<"inf" inf>,
              #permjit.param<"rows.begin" seq_len_minus 60>,
              #permjit.param<"q.last" count_minus text 60>,
              #permjit.param<"grid.stride" const 14>]} {
  // CHECK: permjit.pass rows <gather [vision, text], residue p[4] over vision> cols <residue p[4] over p[2], p[1]>
  // CHECK-SAME: density = 2.500000e-01
  // CHECK-SAME: empty_tiles = 3
  // CHECK-SAME: full_tiles = 1
  permjit.pass rows <gather [vision, text], residue p[4] over vision>
      cols <residue p[4] over p[2], p[1]>
      attributes {density = 2.5e-01 : f64, full_tiles = 1 : i64, partial_tiles = 2 : i64, empty_tiles = 3 : i64,
                  kept_pairs_min = 10 : i64, kept_pairs_max = 20 : i64} {
    // CHECK: %[[D:.*]] = permjit.pred.diag lo p[0] hi p[1]{{$}}
    %0 = permjit.pred.diag lo p[0] hi p[1]
    // CHECK: %[[R:.*]] = permjit.pred.qrange begin p[2] end p[1] local
    %1 = permjit.pred.qrange begin p[2] end p[1] local
    // CHECK: permjit.pred.krange begin p[0] end p[3]
    %2 = permjit.pred.krange begin p[0] end p[3]
    // CHECK: permjit.pred.qmod base p[0] stride p[4] phase p[0] local
    %3 = permjit.pred.qmod base p[0] stride p[4] phase p[0] local
    // CHECK: permjit.pred.kmod base p[0] stride p[4] phase p[0]
    %4 = permjit.pred.kmod base p[0] stride p[4] phase p[0]
    // CHECK: permjit.pred.qmodality vision
    %5 = permjit.pred.qmodality vision
    // CHECK: permjit.pred.kmodality text
    %6 = permjit.pred.kmodality text
    // CHECK: %[[A:.*]] = permjit.pred.and %[[D]], %[[R]]
    %7 = permjit.pred.and %0, %1, %2
    // CHECK: %[[O:.*]] = permjit.pred.or %[[A]]
    %8 = permjit.pred.or %7, %3, %4, %5, %6
    // CHECK: %[[N:.*]] = permjit.pred.not %[[O]]
    %9 = permjit.pred.not %8
    // CHECK: permjit.pred.true
    %10 = permjit.pred.true
    // CHECK: permjit.pred.false
    %11 = permjit.pred.false
    %12 = permjit.pred.or %9, %10, %11
    permjit.yield %12 : !permjit.pred
  }
  // CHECK: permjit.pass rows <identity> cols <gather [text]>
  permjit.pass rows <identity> cols <gather [text]> {
    %0 = permjit.pred.true
    permjit.yield %0 : !permjit.pred
  }
}

// CHECK-LABEL: permjit.kernel @fp16 head_dim 64 dtype fp16
permjit.kernel @fp16 head_dim 64 dtype fp16 attributes {params = []} {
  permjit.pass rows <identity> cols <identity> {
    %0 = permjit.pred.false
    permjit.yield %0 : !permjit.pred
  }
}
