permjit.head @h attributes {layout = []} {
  %0 = permjit.vertical_slash vertical 10 slash 10 last_q 0
  permjit.yield %0 : !permjit.mask
}
