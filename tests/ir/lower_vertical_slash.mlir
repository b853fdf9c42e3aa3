// A vertical_slash head lowers to two disjoint passes: pass 0 keeps the head's set on columns
// that are not estimated verticals; pass 1 runs over the gathered vertical columns only.
// RUN: permjit-opt %s --permjit-lower-to-tile-ir | FileCheck %s

// CHECK-LABEL: permjit.kernel @vs
// CHECK-SAME: vertical_slash = array<i64: 10, 10, 64>
// CHECK: permjit.pass rows <identity> cols <identity> {
// CHECK: %[[S:.*]] = permjit.pred.slash
// CHECK: %[[V:.*]] = permjit.pred.kvertical
// CHECK: %[[NV:.*]] = permjit.pred.not %[[V]]
// CHECK: permjit.pred.and %[[S]], %[[NV]]
// CHECK: permjit.pass rows <identity> cols <identity> attributes {gather_vertical}
// CHECK: permjit.pred.true
permjit.head @vs attributes {layout = []} {
  %0 = permjit.vertical_slash vertical 10 slash 10 last_q 64
  permjit.yield %0 : !permjit.mask
}
