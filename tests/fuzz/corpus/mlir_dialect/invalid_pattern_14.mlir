permjit.head @h attributes {layout = []} {
  %0 = permjit.causal
  %1 = permjit.boundary_2d [(vision, text): %0, (vision, text): %0]
  permjit.yield %1 : !permjit.mask
}
