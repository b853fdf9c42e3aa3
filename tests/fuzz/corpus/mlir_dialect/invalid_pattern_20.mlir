permjit.head @h attributes {seq_len = 0 : i64, layout = []} {
  %0 = permjit.causal
  permjit.yield %0 : !permjit.mask
}
