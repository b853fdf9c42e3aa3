permjit.head @h attributes {layout = [#permjit.layout_span<text 10, 10>]} {
  %0 = permjit.causal
  permjit.yield %0 : !permjit.mask
}
