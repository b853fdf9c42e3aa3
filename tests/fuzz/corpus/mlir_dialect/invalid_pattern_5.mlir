permjit.head @h attributes {layout = []} {
  %0 = permjit.local -1
  permjit.yield %0 : !permjit.mask
}
