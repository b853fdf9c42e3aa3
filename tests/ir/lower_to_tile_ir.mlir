// permjit-lower-to-tile-ir: the lowering table, param slots and recipes.
// RUN: permjit-opt %s --permjit-plan-permutations --permjit-lower-to-tile-ir="head-dim=64 dtype=fp16" | FileCheck %s

// CHECK-LABEL: permjit.kernel @a_shape head_dim 64 dtype fp16
// CHECK-SAME: params = [#permjit.param<"causal.lo" const 0>, #permjit.param<"inf" inf>, #permjit.param<"sink.begin" const 0>, #permjit.param<"sink.n" const 64>, #permjit.param<"local.lo" const 0>, #permjit.param<"local.window" const 128>, #permjit.param<"q.last" seq_len_minus 60>]
// CHECK: permjit.pass rows <identity> cols <identity>
// CHECK: %[[C:.*]] = permjit.pred.diag lo p[0] hi p[1]
// CHECK: %[[S:.*]] = permjit.pred.krange begin p[2] end p[3]
// CHECK: %[[L:.*]] = permjit.pred.diag lo p[4] hi p[5]
// CHECK: %[[R:.*]] = permjit.pred.qrange begin p[6] end p[1]
// CHECK: %[[U:.*]] = permjit.pred.or %[[S]], %[[L]], %[[R]]
// CHECK: %[[I:.*]] = permjit.pred.and %[[C]], %[[U]]
// CHECK: permjit.yield %[[I]] : !permjit.pred
permjit.head @a_shape attributes {layout = []} {
  %0 = permjit.causal
  %1 = permjit.sink 64
  %2 = permjit.local 128
  %3 = permjit.rows <last 60>
  %4 = permjit.union %1, %2, %3
  %5 = permjit.intersect %0, %4
  permjit.yield %5 : !permjit.mask
}

// CHECK-LABEL: permjit.kernel @grid
// CHECK: permjit.pass rows <residue p[6] over vision> cols <residue p[7] over vision>
// CHECK: permjit.pred.qmodality vision
// CHECK: permjit.pred.qmod base p[0] stride p[1] phase p[2] local
// CHECK: permjit.pred.kmodality vision
// CHECK: permjit.pred.kmod base p[3] stride p[4] phase p[5] local
permjit.head @grid attributes {layout = [#permjit.layout_span<vision 10, 90>]} {
  %0 = permjit.grid stride 14 phase 0, 3 over <modality vision>
  permjit.yield %0 : !permjit.mask
}

// In a 2D block: local atoms, last(n) from the modality count, modality spans fold.
// CHECK-LABEL: permjit.kernel @b2d
// CHECK-SAME: #permjit.param<"q.last" count_minus text 4>
// CHECK: %[[QM:.*]] = permjit.pred.qmodality text
// CHECK: %[[KM:.*]] = permjit.pred.kmodality text
// CHECK: permjit.pred.qrange begin p[{{[0-9]+}}] end p[{{[0-9]+}}] local
// CHECK: permjit.pred.false
// CHECK: permjit.pred.diag lo p[{{[0-9]+}}] hi p[{{[0-9]+}}] local
permjit.head @b2d attributes {layout = []} {
  %0 = permjit.rows <last 4>
  %1 = permjit.rows <modality vision>
  %2 = permjit.causal
  %3 = permjit.union %0, %1, %2
  %4 = permjit.boundary_2d [(text, text): %3]
  permjit.yield %4 : !permjit.mask
}
