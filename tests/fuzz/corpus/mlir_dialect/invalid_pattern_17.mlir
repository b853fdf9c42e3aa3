permjit.head @h attributes {layout = [#permjit.layout_span<text 0, 100>,
                                      #permjit.layout_span<vision 50, 200>]} {
  %0 = permjit.causal
  permjit.yield %0 : !permjit.mask
}
