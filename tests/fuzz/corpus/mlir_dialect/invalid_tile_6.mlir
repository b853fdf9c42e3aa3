permjit.kernel @k head_dim 128 dtype bf16 attributes {params = [#permjit.param<"lo" const 0>]} {
  permjit.pass rows <identity> cols <identity> {
    %0 = permjit.pred.diag lo p[0] hi p[1]
    permjit.yield %0 : !permjit.pred
  }
}
