// Must-fail: every verifier rule of the pattern-level ops and attributes, one case each.
// RUN: permjit-opt %s -split-input-file -verify-diagnostics

permjit.head @h attributes {layout = []} {
  // expected-error @+1 {{stride: 0 is not allowed; allowed: >= 1}}
  %0 = permjit.grid stride 0 phase 0, 0 over <all>
  permjit.yield %0 : !permjit.mask
}

// -----

permjit.head @h attributes {layout = []} {
  // expected-error @+1 {{phase_q: 14 is outside [0, stride = 14)}}
  %0 = permjit.grid stride 14 phase 14, 0 over <all>
  permjit.yield %0 : !permjit.mask
}

// -----

permjit.head @h attributes {layout = []} {
  // expected-error @+1 {{phase_k: -1 is outside [0, stride = 14)}}
  %0 = permjit.grid stride 14 phase 0, -1 over <all>
  permjit.yield %0 : !permjit.mask
}

// -----

permjit.head @h attributes {layout = []} {
  // expected-error @+1 {{phase: 5 is outside [0, stride = 5)}}
  %0 = permjit.vlines stride 5 phase 5 over <all>
  permjit.yield %0 : !permjit.mask
}

// -----

permjit.head @h attributes {layout = []} {
  // expected-error @+1 {{stride: -2 is not allowed; allowed: >= 1}}
  %0 = permjit.hlines stride -2 phase 0 over <all>
  permjit.yield %0 : !permjit.mask
}

// -----

permjit.head @h attributes {layout = []} {
  // expected-error @+1 {{window: -1 is negative; allowed: >= 0}}
  %0 = permjit.local -1
  permjit.yield %0 : !permjit.mask
}

// -----

permjit.head @h attributes {layout = []} {
  // expected-error @+1 {{n: -5 is negative; allowed: >= 0}}
  %0 = permjit.sink -5
  permjit.yield %0 : !permjit.mask
}

// -----

permjit.head @h attributes {layout = []} {
  // expected-error @+1 {{last_q: must be >= 1}}
  %0 = permjit.vertical_slash vertical 10 slash 10 last_q 0
  permjit.yield %0 : !permjit.mask
}

// -----

permjit.head @h attributes {layout = []} {
  // expected-error @+1 {{parts: must not be empty}}
  %0 = permjit.union
  permjit.yield %0 : !permjit.mask
}

// -----

permjit.head @h attributes {layout = []} {
  // expected-error @+1 {{parts: must not be empty}}
  %0 = permjit.intersect
  permjit.yield %0 : !permjit.mask
}

// -----

permjit.head @h attributes {layout = []} {
  // expected-error @+1 {{span: range begin 9 > end 3; allowed: begin <= end}}
  %0 = permjit.rows <range 9, 3>
  permjit.yield %0 : !permjit.mask
}

// -----

permjit.head @h attributes {layout = []} {
  // expected-error @+1 {{span: last count -1 is negative}}
  %0 = permjit.rows <last -1>
  permjit.yield %0 : !permjit.mask
}

// -----

permjit.head @h attributes {layout = []} {
  // expected-error @+1 {{modality: unknown 'audio'; allowed: vision, text, other}}
  %0 = permjit.rows <modality audio>
  permjit.yield %0 : !permjit.mask
}

// -----

permjit.head @h attributes {layout = []} {
  %0 = permjit.causal
  // expected-error @+1 {{modalities: duplicate key 'text'}}
  %1 = permjit.q_boundary [text: %0, text: %0]
  permjit.yield %1 : !permjit.mask
}

// -----

permjit.head @h attributes {layout = []} {
  %0 = permjit.causal
  // expected-error @+1 {{pairs: duplicate key (vision, text)}}
  %1 = permjit.boundary_2d [(vision, text): %0, (vision, text): %0]
  permjit.yield %1 : !permjit.mask
}

// -----

permjit.head @h attributes {layout = []} {
  %0 = permjit.causal
  // expected-error @+1 {{by: a permute hint is either a residue plan or a modality gather}}
  %1 = permjit.permute %0 axes rows by <identity>
  permjit.yield %1 : !permjit.mask
}

// -----

permjit.head @h attributes {layout = []} {
  %0 = permjit.causal
  // expected-error @+1 {{gather: modality 'text' listed twice}}
  %1 = permjit.permute %0 axes rows by <gather [text, text]>
  permjit.yield %1 : !permjit.mask
}

// -----

// expected-error @+1 {{layout: span 1 [50, 200) overlaps or precedes the previous one}}
permjit.head @h attributes {layout = [#permjit.layout_span<text 0, 100>,
                                      #permjit.layout_span<vision 50, 200>]} {
  %0 = permjit.causal
  permjit.yield %0 : !permjit.mask
}

// -----

// expected-error @+1 {{layout: span 0 ends at 200, past seq_len 100}}
permjit.head @h attributes {seq_len = 100 : i64, layout = [#permjit.layout_span<text 0, 200>]} {
  %0 = permjit.causal
  permjit.yield %0 : !permjit.mask
}

// -----

// expected-error @+1 {{layout: span [10, 10) is empty or negative}}
permjit.head @h attributes {layout = [#permjit.layout_span<text 10, 10>]} {
  %0 = permjit.causal
  permjit.yield %0 : !permjit.mask
}

// -----

// expected-error @+1 {{seq_len: 0; allowed: >= 1}}
permjit.head @h attributes {seq_len = 0 : i64, layout = []} {
  %0 = permjit.causal
  permjit.yield %0 : !permjit.mask
}

// -----

// expected-error @+1 {{body: must end with permjit.yield of a !permjit.mask}}
permjit.head @h attributes {layout = []} {
  %0 = permjit.pred.true
  permjit.yield %0 : !permjit.pred
}
