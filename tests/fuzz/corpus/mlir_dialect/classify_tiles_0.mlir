// permjit-classify-tiles: exact counts on a small causal kernel (S = 256, 128 x 64 tiles):
// 2 row tiles x 4 column tiles; row tile 0 sees k tiles 0 and 1 on its diagonal (partial)
// and 2, 3 above it (empty); row tile 1 has k tiles 0, 1 full and 2, 3 partial.

permjit.kernel @causal head_dim 128 dtype bf16 attributes {seq_len = 256 : i64, layout = [],
    params = [#permjit.param<"causal.lo" const 0>, #permjit.param<"inf" inf>]} {
  permjit.pass rows <identity> cols <identity> {
    %0 = permjit.pred.diag lo p[0] hi p[1]
    permjit.yield %0 : !permjit.pred
  }
}

// Without seq_len nothing is counted.
permjit.kernel @unknown_length head_dim 128 dtype bf16 attributes {layout = [],
    params = [#permjit.param<"causal.lo" const 0>, #permjit.param<"inf" inf>]} {
  permjit.pass rows <identity> cols <identity> {
    %0 = permjit.pred.diag lo p[0] hi p[1]
    permjit.yield %0 : !permjit.pred
  }
}
