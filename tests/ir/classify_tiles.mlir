// permjit-classify-tiles: exact counts on a small causal kernel (S = 256, 128 x 64 tiles):
// 2 row tiles x 4 column tiles; row tile 0 sees k tiles 0 and 1 on its diagonal (partial)
// and 2, 3 above it (empty); row tile 1 has k tiles 0, 1 full and 2, 3 partial.
// RUN: permjit-opt %s --permjit-select-tile-config --permjit-classify-tiles | FileCheck %s

// CHECK-LABEL: permjit.kernel @causal
// CHECK: permjit.pass rows <identity> cols <identity> attributes
// CHECK-SAME: density = 0.501953125
// CHECK-SAME: empty_tiles = 2 : i64, full_tiles = 2 : i64, kept_pairs_max = 32896 : i64, kept_pairs_min = 32896 : i64, partial_tiles = 4 : i64
permjit.kernel @causal head_dim 128 dtype bf16 attributes {seq_len = 256 : i64, layout = [],
    params = [#permjit.param<"causal.lo" const 0>, #permjit.param<"inf" inf>]} {
  permjit.pass rows <identity> cols <identity> {
    %0 = permjit.pred.diag lo p[0] hi p[1]
    permjit.yield %0 : !permjit.pred
  }
}

// Without seq_len nothing is counted.
// CHECK-LABEL: permjit.kernel @unknown_length
// CHECK-NOT: full_tiles
permjit.kernel @unknown_length head_dim 128 dtype bf16 attributes {layout = [],
    params = [#permjit.param<"causal.lo" const 0>, #permjit.param<"inf" inf>]} {
  permjit.pass rows <identity> cols <identity> {
    %0 = permjit.pred.diag lo p[0] hi p[1]
    permjit.yield %0 : !permjit.pred
  }
}
