permjit.kernel @k head_dim 128 dtype bf16 attributes {params = [#permjit.param<"s" const 0>]} {
  permjit.pass rows <identity> cols <identity> {
    %0 = permjit.pred.qmod base p[0] stride p[0] phase p[0]
    permjit.yield %0 : !permjit.pred
  }
}
