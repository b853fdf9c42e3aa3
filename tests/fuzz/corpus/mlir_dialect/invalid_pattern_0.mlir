// Must-fail: every verifier rule of the pattern-level ops and attributes, one case each.

permjit.head @h attributes {layout = []} {
  %0 = permjit.grid stride 0 phase 0, 0 over <all>
  permjit.yield %0 : !permjit.mask
}
