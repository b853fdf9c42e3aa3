permjit.head @h attributes {layout = []} {
  %0 = permjit.causal
  %1 = permjit.q_boundary [text: %0, text: %0]
  permjit.yield %1 : !permjit.mask
}
