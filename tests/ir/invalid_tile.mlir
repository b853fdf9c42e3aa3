// Must-fail: every verifier rule of the tile-level ops and attributes, one case each.
// RUN: permjit-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{head_dim: 96 is not supported; allowed: 64, 128}}
permjit.kernel @k head_dim 96 dtype bf16 attributes {params = []} {
  permjit.pass rows <identity> cols <identity> {
    %0 = permjit.pred.true
    permjit.yield %0 : !permjit.pred
  }
}

// -----

// expected-error @+1 {{block_m: 256 is not supported; allowed: 64, 128}}
permjit.kernel @k head_dim 128 dtype bf16 attributes {params = [], block_m = 256 : i64} {
  permjit.pass rows <identity> cols <identity> {
    %0 = permjit.pred.true
    permjit.yield %0 : !permjit.pred
  }
}

// -----

// expected-error @+1 {{block_n: 16 is not supported; allowed: 32, 64, 128}}
permjit.kernel @k head_dim 128 dtype bf16 attributes {params = [], block_n = 16 : i64} {
  permjit.pass rows <identity> cols <identity> {
    %0 = permjit.pred.true
    permjit.yield %0 : !permjit.pred
  }
}

// -----

// expected-error @+1 {{warps: 2 is not supported; allowed: 4, 8}}
permjit.kernel @k head_dim 128 dtype bf16 attributes {params = [], warps = 2 : i64} {
  permjit.pass rows <identity> cols <identity> {
    %0 = permjit.pred.true
    permjit.yield %0 : !permjit.pred
  }
}

// -----

// expected-error @+1 {{stages: 4 is not supported; allowed: 1, 2, 3}}
permjit.kernel @k head_dim 128 dtype bf16 attributes {params = [], stages = 4 : i64} {
  permjit.pass rows <identity> cols <identity> {
    %0 = permjit.pred.true
    permjit.yield %0 : !permjit.pred
  }
}

// -----

// expected-error @+1 {{body: needs at least one permjit.pass}}
permjit.kernel @k head_dim 128 dtype bf16 attributes {params = []} {
}

// -----

permjit.kernel @k head_dim 128 dtype bf16 attributes {params = [#permjit.param<"lo" const 0>]} {
  permjit.pass rows <identity> cols <identity> {
    // expected-error @+1 {{hi: param slot 1 is out of range; the kernel has 1 params}}
    %0 = permjit.pred.diag lo p[0] hi p[1]
    permjit.yield %0 : !permjit.pred
  }
}

// -----

permjit.kernel @k head_dim 128 dtype bf16 attributes {params = [#permjit.param<"b" const 0>]} {
  permjit.pass rows <identity> cols <identity> {
    // expected-error @+1 {{end: param slot 7 is out of range; the kernel has 1 params}}
    %0 = permjit.pred.krange begin p[0] end p[7]
    permjit.yield %0 : !permjit.pred
  }
}

// -----

permjit.kernel @k head_dim 128 dtype bf16 attributes {params = [#permjit.param<"s" const 0>]} {
  permjit.pass rows <identity> cols <identity> {
    // expected-error @+1 {{stride: param slot 0 ('s') holds 0; allowed: >= 1}}
    %0 = permjit.pred.qmod base p[0] stride p[0] phase p[0]
    permjit.yield %0 : !permjit.pred
  }
}

// -----

permjit.kernel @k head_dim 128 dtype bf16 attributes {params = [#permjit.param<"s" const 3>]} {
  // expected-error @+1 {{rows.stride_slot: param slot 4 is out of range; the kernel has 1 params}}
  permjit.pass rows <residue p[4] over vision> cols <identity> {
    %0 = permjit.pred.true
    permjit.yield %0 : !permjit.pred
  }
}

// -----

permjit.kernel @k head_dim 128 dtype bf16 attributes {params = []} {
  permjit.pass rows <identity> cols <identity> {
    // expected-error @+1 {{parts: must not be empty}}
    %0 = permjit.pred.or
    permjit.yield %0 : !permjit.pred
  }
}

// -----

permjit.kernel @k head_dim 128 dtype bf16 attributes {params = []} {
  // expected-error @+1 {{body: must end with permjit.yield of a !permjit.pred}}
  permjit.pass rows <identity> cols <identity> {
    %0 = permjit.causal
    permjit.yield %0 : !permjit.mask
  }
}

// -----

// expected-error @+1 {{param 'n': count_minus needs a modality; allowed: vision, text, other}}
permjit.kernel @k head_dim 128 dtype bf16 attributes {params = [#permjit.param<"n" count_minus 4>]} {
  permjit.pass rows <identity> cols <identity> {
    %0 = permjit.pred.true
    permjit.yield %0 : !permjit.pred
  }
}

// -----

// expected-error @+1 {{param: unknown kind 'sometimes'}}
permjit.kernel @k head_dim 128 dtype bf16 attributes {params = [#permjit.param<"n" sometimes 4>]} {
}

// -----

// expected-error @+1 {{param 'p': unknown role 'grid_phase_z'; allowed: grid_phase_q, grid_phase_k}}
permjit.kernel @k head_dim 128 dtype bf16 attributes {params = [#permjit.param<"p" const 0 role grid_phase_z>]} {
}

// -----

// expected-error @+1 {{param 'p': unknown role 'none'; allowed: grid_phase_q, grid_phase_k}}
permjit.kernel @k head_dim 128 dtype bf16 attributes {params = [#permjit.param<"p" const 0 role none>]} {
}

// -----

// expected-error @+1 {{param 'p': role grid_phase_k needs kind const; got seq_len_minus}}
permjit.kernel @k head_dim 128 dtype bf16 attributes {params = [#permjit.param<"p" seq_len_minus 4 role grid_phase_k>]} {
}

// -----

permjit.kernel @k head_dim 128 dtype bf16 attributes {params = []} {
  // expected-error @+1 {{recipe: a residue permutation needs exactly one of a modality or a [begin, end) slot pair}}
  permjit.pass rows <residue p[0] over vision, residue p[0] over p[0], p[0]> cols <identity> {
    %0 = permjit.pred.true
    permjit.yield %0 : !permjit.pred
  }
}

// -----

// expected-error @+1 {{body: only permjit.pass ops are allowed, found permjit.causal}}
permjit.kernel @k head_dim 128 dtype bf16 attributes {params = []} {
  %0 = permjit.causal
}
