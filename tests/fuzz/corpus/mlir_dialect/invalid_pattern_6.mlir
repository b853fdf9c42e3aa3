permjit.head @h attributes {layout = []} {
  %0 = permjit.sink -5
  permjit.yield %0 : !permjit.mask
}
