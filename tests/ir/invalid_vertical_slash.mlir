// Must-fail: a head the estimator cannot serve.
// RUN: permjit-opt %s -split-input-file --permjit-lower-to-tile-ir -verify-diagnostics

permjit.head @two attributes {layout = []} {
  %0 = permjit.vertical_slash vertical 10 slash 10 last_q 64
  // expected-error @+1 {{a head holds 2 vertical_slash atoms; allowed: one}}
  %1 = permjit.vertical_slash vertical 4 slash 4 last_q 64
  %2 = permjit.union %0, %1
  permjit.yield %2 : !permjit.mask
}

// -----

permjit.head @grid_and_vs attributes {layout = [#permjit.layout_span<vision 10, 90>]} {
  // expected-error @+1 {{vertical_slash: combined with key-modality or modality-local predicates}}
  %0 = permjit.vertical_slash vertical 10 slash 10 last_q 64
  %1 = permjit.grid stride 14 phase 0, 3 over <modality vision>
  %2 = permjit.union %0, %1
  permjit.yield %2 : !permjit.mask
}
