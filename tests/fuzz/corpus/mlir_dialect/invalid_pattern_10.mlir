permjit.head @h attributes {layout = []} {
  %0 = permjit.rows <range 9, 3>
  permjit.yield %0 : !permjit.mask
}
