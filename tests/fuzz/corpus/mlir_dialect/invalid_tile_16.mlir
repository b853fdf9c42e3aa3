permjit.kernel @k head_dim 128 dtype bf16 attributes {params = [#permjit.param<"p" seq_len_minus 4 role grid_phase_k>]} {
}
