// permjit-lower-to-tile-ir: the lowering table, param slots and recipes.

permjit.head @a_shape attributes {layout = []} {
  %0 = permjit.causal
  %1 = permjit.sink 64
  %2 = permjit.local 128
  %3 = permjit.rows <last 60>
  %4 = permjit.union %1, %2, %3
  %5 = permjit.intersect %0, %4
  permjit.yield %5 : !permjit.mask
}

permjit.head @grid attributes {layout = [#permjit.layout_span<vision 10, 90>]} {
  %0 = permjit.grid stride 14 phase 0, 3 over <modality vision>
  permjit.yield %0 : !permjit.mask
}

// In a 2D block: local atoms, last(n) from the modality count, modality spans fold.
permjit.head @b2d attributes {layout = []} {
  %0 = permjit.rows <last 4>
  %1 = permjit.rows <modality vision>
  %2 = permjit.causal
  %3 = permjit.union %0, %1, %2
  %4 = permjit.boundary_2d [(text, text): %3]
  permjit.yield %4 : !permjit.mask
}
