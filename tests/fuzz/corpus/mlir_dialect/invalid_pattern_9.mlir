permjit.head @h attributes {layout = []} {
  %0 = permjit.intersect
  permjit.yield %0 : !permjit.mask
}
