permjit.head @h attributes {layout = []} {
  %0 = permjit.hlines stride -2 phase 0 over <all>
  permjit.yield %0 : !permjit.mask
}
