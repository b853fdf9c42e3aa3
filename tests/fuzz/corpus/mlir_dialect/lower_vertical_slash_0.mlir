// A vertical_slash head lowers to two disjoint passes: pass 0 keeps the head's set on columns
// that are not estimated verticals; pass 1 runs over the gathered vertical columns only.

permjit.head @vs attributes {layout = []} {
  %0 = permjit.vertical_slash vertical 10 slash 10 last_q 64
  permjit.yield %0 : !permjit.mask
}
