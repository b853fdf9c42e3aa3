permjit.kernel @k head_dim 128 dtype bf16 attributes {params = []} {
  permjit.pass rows <identity> cols <identity> {
    %0 = permjit.causal
    permjit.yield %0 : !permjit.mask
  }
}
