permjit.kernel @k head_dim 128 dtype bf16 attributes {params = [#permjit.param<"s" const 3>]} {
  permjit.pass rows <residue p[4] over vision> cols <identity> {
    %0 = permjit.pred.true
    permjit.yield %0 : !permjit.pred
  }
}
