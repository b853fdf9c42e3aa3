permjit.head @h attributes {layout = []} {
  %0 = permjit.pred.true
  permjit.yield %0 : !permjit.pred
}
