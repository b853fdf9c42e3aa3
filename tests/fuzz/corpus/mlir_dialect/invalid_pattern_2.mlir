permjit.head @h attributes {layout = []} {
  %0 = permjit.grid stride 14 phase 0, -1 over <all>
  permjit.yield %0 : !permjit.mask
}
