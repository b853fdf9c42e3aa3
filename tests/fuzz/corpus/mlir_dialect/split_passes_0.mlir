// permjit-lower-to-tile-ir pass-split=lines: a causal & (line-free terms | line terms) head
// becomes two passes whose kept sets are disjoint and together the head's; other heads keep
// one pass. auto splits like lines.

// BAD: pass-split: 'two' is not supported; allowed: single, lines, auto

// The MMInference grid head at S = 1024 (text [0, 100), vision [100, 1000), text [1000, 1024)).
// Pass 0: identity maps, causal & (sink | local | trailing rows). Pass 1: the residue plans,
// causal & grid & !(sink | local | trailing rows), reusing pass 0's slots p[0]..p[6]. Exact
// kept-pair counts: 197964 + 43513 = 241477, the single pass's count.
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
permjit.head @only_lines attributes {layout = []} {
  %0 = permjit.causal
  %1 = permjit.grid stride 14 phase 0, 0 over <all>
  %2 = permjit.hlines stride 7 phase 2 over <all>
  %3 = permjit.union %1, %2
  %4 = permjit.intersect %0, %3
  permjit.yield %4 : !permjit.mask
}

permjit.head @no_lines attributes {layout = []} {
  %0 = permjit.causal
  %1 = permjit.sink 64
  %2 = permjit.local 128
  %3 = permjit.union %1, %2
  %4 = permjit.intersect %0, %3
  permjit.yield %4 : !permjit.mask
}

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
permjit.head @boundary attributes {layout = []} {
  %0 = permjit.local 16
  %1 = permjit.vlines stride 4 phase 0 over <all>
  %2 = permjit.union %0, %1
  %3 = permjit.q_boundary [text: %2]
  permjit.yield %3 : !permjit.mask
}

permjit.head @hint attributes {layout = []} {
  %0 = permjit.local 16
  %1 = permjit.vlines stride 4 phase 0 over <all>
  %2 = permjit.union %0, %1
  %3 = permjit.permute %2 axes rows by <gather [text, vision]>
  permjit.yield %3 : !permjit.mask
}
