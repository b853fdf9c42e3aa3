// A vertical_slash head lowers to two disjoint passes: pass 0 keeps the head's diagonals on every
// column (no vertical column cut out of its tiles); pass 1 runs over the gathered vertical
// columns and keeps what pass 0 did not.
// RUN: permjit-opt %s --permjit-lower-to-tile-ir | FileCheck %s

// CHECK-LABEL: permjit.kernel @vs
// CHECK-SAME: vertical_slash = array<i64: 10, 10, 64, -1>
// CHECK: permjit.pass rows <identity> cols <identity> {
// CHECK-NEXT: %[[S:.*]] = permjit.pred.slash
// CHECK-NEXT: permjit.yield %[[S]]
// CHECK-NOT: permjit.pred.kvertical
// CHECK: permjit.pass rows <identity> cols <identity> attributes {gather_vertical}
// CHECK: %[[T:.*]] = permjit.pred.true
// CHECK: %[[S1:.*]] = permjit.pred.slash
// CHECK: %[[N:.*]] = permjit.pred.not %[[S1]]
// CHECK: permjit.pred.and %[[T]], %[[N]]

// The diagonals' pass of a causal A-shape | vertical_slash head keeps the static atoms too; the
// vertical pass drops what they keep.
// CHECK-LABEL: permjit.kernel @ashape_vs
// CHECK: permjit.pass rows <identity> cols <identity> {
// CHECK: permjit.pred.krange
// CHECK: permjit.pred.slash
// CHECK-NOT: permjit.pred.kvertical
// CHECK: attributes {gather_vertical}
// CHECK: permjit.pred.not
permjit.head @vs attributes {layout = []} {
  %0 = permjit.vertical_slash vertical 10 slash 10 last_q 64
  permjit.yield %0 : !permjit.mask
}

permjit.head @ashape_vs attributes {layout = []} {
  %c = permjit.causal
  %s = permjit.sink 64
  %l = permjit.local 128
  %v = permjit.vertical_slash vertical 10 slash 10 last_q 64
  %u = permjit.union %s, %l, %v
  %i = permjit.intersect %c, %u
  permjit.yield %i : !permjit.mask
}

// The paper's Q-Boundary: one vertical_slash per query modality, each with its own sets (the
// kernel's sizes list vision's atom, then text's). Two passes per atom; atom 1's diagonals'
// pass holds only its modality's rows and drops what pass 0 keeps without any atom, and each
// vertical pass holds only its atom's rows.
// CHECK-LABEL: permjit.kernel @per_modality
// CHECK-SAME: vertical_slash = array<i64: 10, 20, 64, 0, 30, 40, 32, 1>
// CHECK: permjit.pass rows <identity> cols <identity> {
// CHECK-NOT: attributes
// CHECK: permjit.pred.slash
// CHECK: permjit.pass rows <identity> cols <identity> attributes {gather_vertical}
// CHECK: permjit.pred.not
// CHECK-NEXT: %[[V0:.*]] = permjit.pred.qmodality vision
// CHECK-NEXT: permjit.pred.and %[[V0]], %{{[0-9]+}}, %{{[0-9]+}}
// CHECK: permjit.pass rows <identity> cols <identity> attributes {atom = 1 : i64}
// CHECK: permjit.pred.not
// CHECK-NEXT: %[[T1:.*]] = permjit.pred.qmodality text
// CHECK-NEXT: permjit.pred.and %[[T1]], %{{[0-9]+}}, %{{[0-9]+}}
// CHECK: permjit.pass rows <identity> cols <identity> attributes {atom = 1 : i64, gather_vertical}
// CHECK: permjit.pred.not
// CHECK-NEXT: %[[T2:.*]] = permjit.pred.qmodality text
// CHECK-NEXT: permjit.pred.and %[[T2]], %{{[0-9]+}}, %{{[0-9]+}}
// CHECK-NOT: permjit.pass
permjit.head @per_modality attributes {layout = [#permjit.layout_span<vision 10, 90>]} {
  %c = permjit.causal
  %t = permjit.vertical_slash vertical 30 slash 40 last_q 32
  %v = permjit.vertical_slash vertical 10 slash 20 last_q 64
  %ct = permjit.intersect %c, %t
  %cv = permjit.intersect %c, %v
  %q = permjit.q_boundary [text: %ct, vision: %cv]
  permjit.yield %q : !permjit.mask
}
