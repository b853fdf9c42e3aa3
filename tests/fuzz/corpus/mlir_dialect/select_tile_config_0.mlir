// permjit-select-tile-config: defaults, overrides, and a rejected override.

// DEFAULT: block_m = 128 : i64, block_n = 64 : i64
// DEFAULT-SAME: stages = 2 : i64, warps = 4 : i64
// OVERRIDE: block_m = 64 : i64, block_n = 32 : i64
// OVERRIDE-SAME: stages = 3 : i64, warps = 8 : i64
// BAD: tile.block_n: 48 is not supported; allowed: 32, 64, 128
permjit.kernel @k head_dim 64 dtype bf16 attributes {params = []} {
  permjit.pass rows <identity> cols <identity> {
    %0 = permjit.pred.true
    permjit.yield %0 : !permjit.pred
  }
}
