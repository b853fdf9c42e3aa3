// Must-fail: every verifier rule of the tile-level ops and attributes, one case each.

permjit.kernel @k head_dim 96 dtype bf16 attributes {params = []} {
  permjit.pass rows <identity> cols <identity> {
    %0 = permjit.pred.true
    permjit.yield %0 : !permjit.pred
  }
}
