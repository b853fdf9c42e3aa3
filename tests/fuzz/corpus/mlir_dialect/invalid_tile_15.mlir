permjit.kernel @k head_dim 128 dtype bf16 attributes {params = [#permjit.param<"p" const 0 role none>]} {
}
