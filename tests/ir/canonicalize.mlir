// permjit-canonicalize: flatten nested unions, drop duplicates, fold single-child sets and
// causal & local(w) -> local(w).
// RUN: permjit-opt %s --permjit-canonicalize | FileCheck %s

// CHECK-LABEL: permjit.head @flatten_dedup
// CHECK-DAG: %[[G:.*]] = permjit.grid stride 14
// CHECK-DAG: %[[S:.*]] = permjit.sink 64
// CHECK-DAG: %[[R:.*]] = permjit.rows <last 60>
// CHECK-DAG: %[[C:.*]] = permjit.causal
// CHECK: %[[U:.*]] = permjit.union %[[G]], %[[S]], %[[R]]
// CHECK-NOT: permjit.union
// CHECK: %[[I:.*]] = permjit.intersect %[[C]], %[[U]]
// CHECK: permjit.yield %[[I]]
permjit.head @flatten_dedup attributes {layout = []} {
  %0 = permjit.causal
  %1 = permjit.grid stride 14 phase 0, 0 over <modality vision>
  %2 = permjit.sink 64
  %3 = permjit.sink 64
  %4 = permjit.union %1, %2
  %5 = permjit.rows <last 60>
  %6 = permjit.union %4, %3, %5
  %7 = permjit.intersect %0, %6
  permjit.yield %7 : !permjit.mask
}

// CHECK-LABEL: permjit.head @local_absorbs_causal
// CHECK-NOT: permjit.causal
// CHECK-NOT: permjit.intersect
// CHECK: %[[L:.*]] = permjit.local 128
// CHECK: permjit.yield %[[L]]
permjit.head @local_absorbs_causal attributes {layout = []} {
  %0 = permjit.causal
  %1 = permjit.local 128
  %2 = permjit.intersect %0, %1
  permjit.yield %2 : !permjit.mask
}

// CHECK-LABEL: permjit.head @single_child
// CHECK-NOT: permjit.union
// CHECK: %[[S:.*]] = permjit.sink 8
// CHECK: permjit.yield %[[S]]
permjit.head @single_child attributes {layout = []} {
  %0 = permjit.sink 8
  %1 = permjit.union %0
  permjit.yield %1 : !permjit.mask
}

// Different parameters are not duplicates.
// CHECK-LABEL: permjit.head @distinct
// CHECK: permjit.union %{{.*}}, %{{.*}}
permjit.head @distinct attributes {layout = []} {
  %0 = permjit.sink 8
  %1 = permjit.sink 9
  %2 = permjit.union %0, %1
  permjit.yield %2 : !permjit.mask
}
