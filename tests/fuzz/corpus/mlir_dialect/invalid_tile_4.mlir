permjit.kernel @k head_dim 128 dtype bf16 attributes {params = [], stages = 4 : i64} {
  permjit.pass rows <identity> cols <identity> {
    %0 = permjit.pred.true
    permjit.yield %0 : !permjit.pred
  }
}
