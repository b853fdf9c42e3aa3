// A vertical_slash head lowers to two disjoint passes: pass 0 keeps the head's diagonals on every
// column (no vertical column cut out of its tiles); pass 1 runs over the gathered vertical
// columns and keeps what pass 0 did not.
// RUN: permjit-opt %s --permjit-lower-to-tile-ir | FileCheck %s

// CHECK-LABEL: permjit.kernel @vs
// CHECK-SAME: vertical_slash = array<i64: 10, 10, 64>
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
