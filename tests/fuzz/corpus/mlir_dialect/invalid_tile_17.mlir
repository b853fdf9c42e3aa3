permjit.kernel @k head_dim 128 dtype bf16 attributes {params = []} {
  permjit.pass rows <residue p[0] over vision, residue p[0] over p[0], p[0]> cols <identity> {
    %0 = permjit.pred.true
    permjit.yield %0 : !permjit.pred
  }
}
