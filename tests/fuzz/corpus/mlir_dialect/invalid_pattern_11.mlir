permjit.head @h attributes {layout = []} {
  %0 = permjit.rows <last -1>
  permjit.yield %0 : !permjit.mask
}
