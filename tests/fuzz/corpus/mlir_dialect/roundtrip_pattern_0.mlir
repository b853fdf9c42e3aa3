// Every pattern-level op, attribute and type prints and parses back unchanged, in the custom
// and in the generic form.

permjit.head @all_ops attributes {seq_len = 4096 : i64,
    layout = [#permjit.layout_span<text 0, 812>, #permjit.layout_span<vision 812, 4036>],
    row_map = #permjit.plan<gather [vision, text], residue 14 over #permjit.span<modality vision>>,
    col_map = #permjit.plan<identity>} {
  %0 = permjit.causal
  %1 = permjit.grid stride 14 phase 0, 13 over <modality vision>
  %2 = permjit.sink 64
  %3 = permjit.local 128
  %4 = permjit.vlines stride 3 phase 1 over <range 812, 1000>
  %5 = permjit.hlines stride 3 phase 2 over <all>
  %6 = permjit.rows <last 60>
  %7 = permjit.block <last 60> x <modality vision>
  %8 = permjit.union %1, %2, %3, %4, %5, %6, %7
  %9 = permjit.q_boundary [vision: %8, text: %3]
  %10 = permjit.boundary_2d [(vision, vision): %8, (text, text): %3]
  %11 = permjit.permute %10 axes rows by <residue 14 over #permjit.span<modality vision>>
  %12 = permjit.permute %10 axes both by <gather [text, vision]>
  %13 = permjit.vertical_slash vertical 1000 slash 6096 last_q 64
  %14 = permjit.intersect %0, %9, %11, %12, %13
  permjit.yield %14 : !permjit.mask
}

// A head without seq_len or layout spans.
permjit.head @minimal attributes {layout = []} {
  %0 = permjit.causal
  permjit.yield %0 : !permjit.mask
}
