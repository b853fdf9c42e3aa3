permjit.kernel @k head_dim 128 dtype bf16 attributes {params = [#permjit.param<"b" const 0>]} {
  permjit.pass rows <identity> cols <identity> {
    %0 = permjit.pred.krange begin p[0] end p[7]
    permjit.yield %0 : !permjit.pred
  }
}
