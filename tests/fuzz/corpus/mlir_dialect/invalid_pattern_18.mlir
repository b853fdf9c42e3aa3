permjit.head @h attributes {seq_len = 100 : i64, layout = [#permjit.layout_span<text 0, 200>]} {
  %0 = permjit.causal
  permjit.yield %0 : !permjit.mask
}
