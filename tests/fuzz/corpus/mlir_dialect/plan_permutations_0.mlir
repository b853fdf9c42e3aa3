// permjit-plan-permutations: residue plans from lines, modality gathers from boundaries,
// explicit permute hints override.

permjit.head @grid attributes {layout = []} {
  %0 = permjit.grid stride 14 phase 0, 0 over <modality vision>
  permjit.yield %0 : !permjit.mask
}

permjit.head @vlines_only attributes {layout = []} {
  %0 = permjit.causal
  %1 = permjit.vlines stride 5 phase 1 over <range 10, 90>
  %2 = permjit.intersect %0, %1
  permjit.yield %2 : !permjit.mask
}

permjit.head @qb attributes {layout = []} {
  %0 = permjit.local 4
  %1 = permjit.q_boundary [text: %0]
  permjit.yield %1 : !permjit.mask
}

// In a 2D block a grid over the whole modality becomes a residue plan over that modality.
permjit.head @b2d attributes {layout = []} {
  %0 = permjit.grid stride 3 phase 0, 1 over <all>
  %1 = permjit.local 4
  %2 = permjit.boundary_2d [(vision, vision): %0, (text, text): %1]
  permjit.yield %2 : !permjit.mask
}

permjit.head @hint attributes {layout = []} {
  %0 = permjit.grid stride 14 phase 0, 0 over <modality vision>
  %1 = permjit.permute %0 axes rows by <gather [text, vision]>
  permjit.yield %1 : !permjit.mask
}
