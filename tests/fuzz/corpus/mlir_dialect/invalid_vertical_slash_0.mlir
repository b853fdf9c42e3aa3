// Must-fail: a head the estimator cannot serve.

permjit.head @two attributes {layout = []} {
  %0 = permjit.vertical_slash vertical 10 slash 10 last_q 64
  %1 = permjit.vertical_slash vertical 4 slash 4 last_q 64
  %2 = permjit.union %0, %1
  permjit.yield %2 : !permjit.mask
}
