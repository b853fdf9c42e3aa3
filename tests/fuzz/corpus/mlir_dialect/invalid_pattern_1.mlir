permjit.head @h attributes {layout = []} {
  %0 = permjit.grid stride 14 phase 14, 0 over <all>
  permjit.yield %0 : !permjit.mask
}
