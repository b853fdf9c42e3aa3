// Every pattern-level op, attribute and type prints and parses back unchanged, in the custom
// and in the generic form.
// RUN: permjit-opt %s | permjit-opt | FileCheck %s
// RUN: permjit-opt %s --mlir-print-op-generic | permjit-opt | FileCheck %s

// CHECK-LABEL: permjit.head @all_ops
// CHECK-SAME: col_map = #permjit.plan<identity>
// CHECK-SAME: layout = [#permjit.layout_span<text 0, 812>, #permjit.layout_span<vision 812, 4036>]
// CHECK-SAME: row_map = #permjit.plan<gather [vision, text], residue 14 over #permjit.span<modality vision>>
// CHECK-SAME: seq_len = 4096
permjit.head @all_ops attributes {seq_len = 4096 : i64,
    layout = [#permjit.layout_span<text 0, 812>, #permjit.layout_span<vision 812, 4036>],
    row_map = #permjit.plan<gather [vision, text], residue 14 over #permjit.span<modality vision>>,
    col_map = #permjit.plan<identity>} {
  // CHECK: %[[C:.*]] = permjit.causal
  %0 = permjit.causal
  // CHECK: %[[G:.*]] = permjit.grid stride 14 phase 0, 13 over <modality vision>
  %1 = permjit.grid stride 14 phase 0, 13 over <modality vision>
  // CHECK: %[[S:.*]] = permjit.sink 64
  %2 = permjit.sink 64
  // CHECK: %[[L:.*]] = permjit.local 128
  %3 = permjit.local 128
  // CHECK: permjit.vlines stride 3 phase 1 over <range 812, 1000>
  %4 = permjit.vlines stride 3 phase 1 over <range 812, 1000>
  // CHECK: permjit.hlines stride 3 phase 2 over <all>
  %5 = permjit.hlines stride 3 phase 2 over <all>
  // CHECK: permjit.rows <last 60>
  %6 = permjit.rows <last 60>
  // CHECK: permjit.block <last 60> x <modality vision>
  %7 = permjit.block <last 60> x <modality vision>
  // CHECK: %[[U:.*]] = permjit.union %[[G]], %[[S]], %[[L]]
  %8 = permjit.union %1, %2, %3, %4, %5, %6, %7
  // CHECK: %[[Q:.*]] = permjit.q_boundary [vision: %[[U]], text: %[[L]]]
  %9 = permjit.q_boundary [vision: %8, text: %3]
  // CHECK: %[[B:.*]] = permjit.boundary_2d [(vision, vision): %[[U]], (text, text): %[[L]]]
  %10 = permjit.boundary_2d [(vision, vision): %8, (text, text): %3]
  // CHECK: %[[P:.*]] = permjit.permute %[[B]] axes rows by <residue 14 over #permjit.span<modality vision>>
  %11 = permjit.permute %10 axes rows by <residue 14 over #permjit.span<modality vision>>
  // CHECK: permjit.permute %[[B]] axes both by <gather [text, vision]>
  %12 = permjit.permute %10 axes both by <gather [text, vision]>
  // CHECK: %[[V:.*]] = permjit.vertical_slash vertical 1000 slash 6096 last_q 64
  %13 = permjit.vertical_slash vertical 1000 slash 6096 last_q 64
  // CHECK: %[[I:.*]] = permjit.intersect %[[C]], %[[Q]], %[[P]]
  %14 = permjit.intersect %0, %9, %11, %12, %13
  // CHECK: permjit.yield %[[I]] : !permjit.mask
  permjit.yield %14 : !permjit.mask
}

// A head without seq_len or layout spans.
// CHECK-LABEL: permjit.head @minimal
// CHECK-NOT: seq_len
permjit.head @minimal attributes {layout = []} {
  %0 = permjit.causal
  permjit.yield %0 : !permjit.mask
}
