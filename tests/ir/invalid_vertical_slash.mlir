// Must-fail: a head the estimator cannot serve.
// RUN: permjit-opt %s -split-input-file --permjit-lower-to-tile-ir -verify-diagnostics

permjit.head @two attributes {layout = []} {
  %0 = permjit.vertical_slash vertical 10 slash 10 last_q 64
  // expected-error @+1 {{several vertical_slash atoms and one lies outside a q_boundary branch; allowed: one per head, or one per q_boundary modality}}
  %1 = permjit.vertical_slash vertical 4 slash 4 last_q 64
  %2 = permjit.union %0, %1
  permjit.yield %2 : !permjit.mask
}

// -----

permjit.head @two_in_one_branch attributes {layout = [#permjit.layout_span<vision 10, 90>]} {
  %0 = permjit.vertical_slash vertical 10 slash 10 last_q 64
  // expected-error @+1 {{q_boundary branch 'vision' holds two vertical_slash atoms; allowed: one per query modality}}
  %1 = permjit.vertical_slash vertical 4 slash 4 last_q 64
  %2 = permjit.union %0, %1
  %3 = permjit.q_boundary [vision: %2]
  permjit.yield %3 : !permjit.mask
}

// -----

permjit.head @grid_and_vs attributes {layout = [#permjit.layout_span<vision 10, 90>]} {
  // expected-error @+1 {{vertical_slash: combined with key-modality or modality-local predicates}}
  %0 = permjit.vertical_slash vertical 10 slash 10 last_q 64
  %1 = permjit.grid stride 14 phase 0, 3 over <modality vision>
  %2 = permjit.union %0, %1
  permjit.yield %2 : !permjit.mask
}
