permjit.head @grid_and_vs attributes {layout = [#permjit.layout_span<vision 10, 90>]} {
  %0 = permjit.vertical_slash vertical 10 slash 10 last_q 64
  %1 = permjit.grid stride 14 phase 0, 3 over <modality vision>
  %2 = permjit.union %0, %1
  permjit.yield %2 : !permjit.mask
}
