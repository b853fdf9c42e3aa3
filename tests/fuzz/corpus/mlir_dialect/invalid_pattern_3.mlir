permjit.head @h attributes {layout = []} {
  %0 = permjit.vlines stride 5 phase 5 over <all>
  permjit.yield %0 : !permjit.mask
}
