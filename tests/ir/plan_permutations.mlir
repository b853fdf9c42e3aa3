// permjit-plan-permutations: residue plans from lines, modality gathers from boundaries,
// explicit permute hints override.
// RUN: permjit-opt %s --permjit-plan-permutations | FileCheck %s

// CHECK-LABEL: permjit.head @grid
// CHECK-SAME: col_map = #permjit.plan<residue 14 over #permjit.span<modality vision>>
// CHECK-SAME: row_map = #permjit.plan<residue 14 over #permjit.span<modality vision>>
permjit.head @grid attributes {layout = []} {
  %0 = permjit.grid stride 14 phase 0, 0 over <modality vision>
  permjit.yield %0 : !permjit.mask
}

// CHECK-LABEL: permjit.head @vlines_only
// CHECK-SAME: col_map = #permjit.plan<residue 5 over #permjit.span<range 10, 90>>
// CHECK-SAME: row_map = #permjit.plan<identity>
permjit.head @vlines_only attributes {layout = []} {
  %0 = permjit.causal
  %1 = permjit.vlines stride 5 phase 1 over <range 10, 90>
  %2 = permjit.intersect %0, %1
  permjit.yield %2 : !permjit.mask
}

// CHECK-LABEL: permjit.head @qb
// CHECK-SAME: col_map = #permjit.plan<identity>
// CHECK-SAME: row_map = #permjit.plan<gather [vision, text, other]>
permjit.head @qb attributes {layout = []} {
  %0 = permjit.local 4
  %1 = permjit.q_boundary [text: %0]
  permjit.yield %1 : !permjit.mask
}

// In a 2D block a grid over the whole modality becomes a residue plan over that modality.
// CHECK-LABEL: permjit.head @b2d
// CHECK-SAME: col_map = #permjit.plan<gather [vision, text, other], residue 3 over #permjit.span<modality vision>>
// CHECK-SAME: row_map = #permjit.plan<gather [vision, text, other], residue 3 over #permjit.span<modality vision>>
permjit.head @b2d attributes {layout = []} {
  %0 = permjit.grid stride 3 phase 0, 1 over <all>
  %1 = permjit.local 4
  %2 = permjit.boundary_2d [(vision, vision): %0, (text, text): %1]
  permjit.yield %2 : !permjit.mask
}

// CHECK-LABEL: permjit.head @hint
// CHECK-SAME: col_map = #permjit.plan<residue 14 over #permjit.span<modality vision>>
// CHECK-SAME: row_map = #permjit.plan<gather [text, vision]>
permjit.head @hint attributes {layout = []} {
  %0 = permjit.grid stride 14 phase 0, 0 over <modality vision>
  %1 = permjit.permute %0 axes rows by <gather [text, vision]>
  permjit.yield %1 : !permjit.mask
}
