permjit.head @h attributes {layout = []} {
  %0 = permjit.union
  permjit.yield %0 : !permjit.mask
}
