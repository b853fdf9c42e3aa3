// permjit-lower-to-tile-ir pass-split=lines: a causal & (line-free terms | line terms) head
// becomes two passes whose kept sets are disjoint and together the head's; other heads keep
// one pass. auto splits like lines.
// RUN: permjit-opt %s --permjit-canonicalize --permjit-plan-permutations --permjit-lower-to-tile-ir="pass-split=lines" --permjit-select-tile-config --permjit-classify-tiles | FileCheck %s
// RUN: permjit-opt %s --permjit-canonicalize --permjit-plan-permutations --permjit-lower-to-tile-ir="pass-split=single" --permjit-select-tile-config --permjit-classify-tiles | FileCheck %s --check-prefix=SINGLE
// RUN: permjit-opt %s --permjit-canonicalize --permjit-plan-permutations --permjit-lower-to-tile-ir="pass-split=auto" | FileCheck %s --check-prefix=AUTO
// RUN: not permjit-opt %s --permjit-lower-to-tile-ir="pass-split=two" 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: pass-split: 'two' is not supported; allowed: single, lines, auto

// The MMInference grid head at S = 1024 (text [0, 100), vision [100, 1000), text [1000, 1024)).
// Pass 0: identity maps, causal & (sink | local | trailing rows). Pass 1: the residue plans,
// causal & grid & !(sink | local | trailing rows), reusing pass 0's slots p[0]..p[6]. Exact
// kept-pair counts: 197964 + 43513 = 241477, the single pass's count.
// CHECK-LABEL: permjit.kernel @grid_head
// CHECK-SAME: params = [#permjit.param<"causal.lo" const 0>, #permjit.param<"inf" inf>, #permjit.param<"sink.begin" const 0>, #permjit.param<"sink.n" const 64>, #permjit.param<"local.lo" const 0>, #permjit.param<"local.window" const 128>, #permjit.param<"q.last" seq_len_minus 24>, #permjit.param<"grid.q.base" const 0>, #permjit.param<"grid.q.stride" const 14>, #permjit.param<"grid.q.phase" const 0 role grid_phase_q>, #permjit.param<"grid.k.base" const 0>, #permjit.param<"grid.k.stride" const 14>, #permjit.param<"grid.k.phase" const 3 role grid_phase_k>, #permjit.param<"rows.residue.stride" const 14>, #permjit.param<"cols.residue.stride" const 14>]
// CHECK: permjit.pass rows <identity> cols <identity> attributes
// CHECK-SAME: kept_pairs_max = 197964 : i64, kept_pairs_min = 197964 : i64
// CHECK-NEXT: %[[C0:.*]] = permjit.pred.diag lo p[0] hi p[1]
// CHECK-NEXT: %[[S0:.*]] = permjit.pred.krange begin p[2] end p[3]
// CHECK-NEXT: %[[L0:.*]] = permjit.pred.diag lo p[4] hi p[5]
// CHECK-NEXT: %[[R0:.*]] = permjit.pred.qrange begin p[6] end p[1]
// CHECK-NEXT: %[[U0:.*]] = permjit.pred.or %[[S0]], %[[L0]], %[[R0]]
// CHECK-NEXT: %[[P0:.*]] = permjit.pred.and %[[C0]], %[[U0]]
// CHECK-NEXT: permjit.yield %[[P0]] : !permjit.pred
// CHECK: permjit.pass rows <residue p[13] over vision> cols <residue p[14] over vision> attributes
// CHECK-SAME: kept_pairs_max = 43513 : i64, kept_pairs_min = 43513 : i64
// CHECK-NEXT: %[[C1:.*]] = permjit.pred.diag lo p[0] hi p[1]
// CHECK-NEXT: permjit.pred.qmodality vision
// CHECK-NEXT: permjit.pred.qmod base p[7] stride p[8] phase p[9] local
// CHECK-NEXT: permjit.pred.and
// CHECK-NEXT: permjit.pred.kmodality vision
// CHECK-NEXT: permjit.pred.kmod base p[10] stride p[11] phase p[12] local
// CHECK-NEXT: permjit.pred.and
// CHECK-NEXT: %[[G1:.*]] = permjit.pred.or
// CHECK-NEXT: %[[S1:.*]] = permjit.pred.krange begin p[2] end p[3]
// CHECK-NEXT: %[[L1:.*]] = permjit.pred.diag lo p[4] hi p[5]
// CHECK-NEXT: %[[R1:.*]] = permjit.pred.qrange begin p[6] end p[1]
// CHECK-NEXT: %[[U1:.*]] = permjit.pred.or %[[S1]], %[[L1]], %[[R1]]
// CHECK-NEXT: %[[N1:.*]] = permjit.pred.not %[[U1]]
// CHECK-NEXT: %[[P1:.*]] = permjit.pred.and %[[C1]], %[[G1]], %[[N1]]
// CHECK-NEXT: permjit.yield %[[P1]] : !permjit.pred
// CHECK-NOT: permjit.pass
// SINGLE-LABEL: permjit.kernel @grid_head
// SINGLE: permjit.pass rows <residue p[13] over vision> cols <residue p[14] over vision> attributes
// SINGLE-SAME: kept_pairs_max = 241477 : i64, kept_pairs_min = 241477 : i64
// SINGLE-NOT: permjit.pass
// AUTO-LABEL: permjit.kernel @grid_head
// AUTO: permjit.pass rows <identity> cols <identity>
// AUTO: permjit.pass rows <residue p[13] over vision> cols <residue p[14] over vision>
// AUTO-NOT: permjit.pass
permjit.head @grid_head attributes {seq_len = 1024 : i64, layout = [
    #permjit.layout_span<text 0, 100>, #permjit.layout_span<vision 100, 1000>,
    #permjit.layout_span<text 1000, 1024>]} {
  %0 = permjit.causal
  %1 = permjit.sink 64
  %2 = permjit.local 128
  %3 = permjit.rows <last 24>
  %4 = permjit.grid stride 14 phase 0, 3 over <modality vision>
  %5 = permjit.union %1, %2, %3, %4
  %6 = permjit.intersect %0, %5
  permjit.yield %6 : !permjit.mask
}

// A union at the root (no outer intersection): pass 1 is lines & !(line-free terms).
// CHECK-LABEL: permjit.kernel @union_root
// CHECK: permjit.pass rows <identity> cols <identity>
// CHECK-NEXT: %[[S:.*]] = permjit.pred.krange begin p[0] end p[1]
// CHECK-NEXT: permjit.yield %[[S]] : !permjit.pred
// CHECK: permjit.pass rows <identity> cols <residue p[7] over p[8], p[9]>
// CHECK-NEXT: permjit.pred.krange begin p[2] end p[3]
// CHECK-NEXT: permjit.pred.kmod base p[4] stride p[5] phase p[6]
// CHECK-NEXT: %[[V:.*]] = permjit.pred.and
// CHECK-NEXT: %[[S1:.*]] = permjit.pred.krange begin p[0] end p[1]
// CHECK-NEXT: %[[N:.*]] = permjit.pred.not %[[S1]]
// CHECK-NEXT: %[[P:.*]] = permjit.pred.and %[[V]], %[[N]]
// CHECK-NEXT: permjit.yield %[[P]] : !permjit.pred
// CHECK-NOT: permjit.pass
// SINGLE-LABEL: permjit.kernel @union_root
// AUTO-LABEL: permjit.kernel @union_root
permjit.head @union_root attributes {layout = []} {
  %0 = permjit.sink 16
  %1 = permjit.vlines stride 5 phase 1 over <range 10, 90>
  %2 = permjit.union %0, %1
  permjit.yield %2 : !permjit.mask
}

// These stay single-pass: only line terms, no line terms, a line atom outside the union that
// leaves nothing without the lines, a permute hint. A boundary splits in general form (below).
// CHECK-LABEL: permjit.kernel @only_lines
// CHECK: permjit.pass rows <residue
// CHECK-NOT: permjit.pass
permjit.head @only_lines attributes {layout = []} {
  %0 = permjit.causal
  %1 = permjit.grid stride 14 phase 0, 0 over <all>
  %2 = permjit.hlines stride 7 phase 2 over <all>
  %3 = permjit.union %1, %2
  %4 = permjit.intersect %0, %3
  permjit.yield %4 : !permjit.mask
}

// CHECK-LABEL: permjit.kernel @no_lines
// CHECK: permjit.pass rows <identity> cols <identity>
// CHECK-NOT: permjit.pass
permjit.head @no_lines attributes {layout = []} {
  %0 = permjit.causal
  %1 = permjit.sink 64
  %2 = permjit.local 128
  %3 = permjit.union %1, %2
  %4 = permjit.intersect %0, %3
  permjit.yield %4 : !permjit.mask
}

// CHECK-LABEL: permjit.kernel @line_outside
// CHECK: permjit.pass rows <residue
// CHECK-NOT: permjit.pass
permjit.head @line_outside attributes {layout = []} {
  %0 = permjit.vlines stride 4 phase 0 over <all>
  %1 = permjit.sink 8
  %2 = permjit.hlines stride 4 phase 1 over <all>
  %3 = permjit.union %1, %2
  %4 = permjit.intersect %0, %3
  permjit.yield %4 : !permjit.mask
}

// The general split of a boundary head P: pass 0 = P with its lines false over identity maps,
// pass 1 = P & (its lines) & !pass 0 over the head's plans.
// CHECK-LABEL: permjit.kernel @boundary
// CHECK: permjit.pass rows <identity> cols <identity>
// CHECK-NEXT: %[[T0:.*]] = permjit.pred.qmodality text
// CHECK-NEXT: %[[L0:.*]] = permjit.pred.diag lo p[0] hi p[1]
// CHECK-NEXT: %[[F0:.*]] = permjit.pred.false
// CHECK-NEXT: %[[U0:.*]] = permjit.pred.or %[[L0]], %[[F0]]
// CHECK-NEXT: %[[P0:.*]] = permjit.pred.and %[[T0]], %[[U0]]
// CHECK-NEXT: permjit.yield %[[P0]] : !permjit.pred
// CHECK: permjit.pass rows <gather [vision, text, other]> cols <residue p[5] over p[6], p[7]>
// CHECK: %[[V:.*]] = permjit.pred.kmod base p[2] stride p[3] phase p[4]
// CHECK-NEXT: %[[LINE:.*]] = permjit.pred.and %{{.*}}, %[[V]]
// CHECK: %[[P:.*]] = permjit.pred.and %{{.*}}, %{{.*}}
// CHECK: %[[WITHOUT:.*]] = permjit.pred.and %{{.*}}, %{{.*}}
// CHECK-NEXT: %[[N:.*]] = permjit.pred.not %[[WITHOUT]]
// CHECK-NEXT: %[[ALL:.*]] = permjit.pred.and %[[P]], %[[LINE]], %[[N]]
// CHECK-NEXT: permjit.yield %[[ALL]] : !permjit.pred
// CHECK-NOT: permjit.pass
permjit.head @boundary attributes {layout = []} {
  %0 = permjit.local 16
  %1 = permjit.vlines stride 4 phase 0 over <all>
  %2 = permjit.union %0, %1
  %3 = permjit.q_boundary [text: %2]
  permjit.yield %3 : !permjit.mask
}

// CHECK-LABEL: permjit.kernel @hint
// CHECK: permjit.pass rows <gather [text, vision]>
// CHECK-NOT: permjit.pass
permjit.head @hint attributes {layout = []} {
  %0 = permjit.local 16
  %1 = permjit.vlines stride 4 phase 0 over <all>
  %2 = permjit.union %0, %1
  %3 = permjit.permute %2 axes rows by <gather [text, vision]>
  permjit.yield %3 : !permjit.mask
}
