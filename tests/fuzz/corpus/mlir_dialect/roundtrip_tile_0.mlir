// Every tile-level op and attribute prints and parses back unchanged, in the custom and in
// the generic form.

permjit.kernel @k head_dim 128 dtype bf16 attributes {block_m = 128 : i64, block_n = 64 : i64,
    warps = 4 : i64, stages = 2 : i64, seq_len = 4096 : i64,
    layout = [#permjit.layout_span<vision 0, 4000>],
    params = [#permjit.param<"causal.lo" const 0>, #permjit.param<"inf" inf>,
              #permjit.param<"rows.begin" seq_len_minus 60>,
              #permjit.param<"q.last" count_minus text 60>,
              #permjit.param<"grid.stride" const 14>]} {
  permjit.pass rows <gather [vision, text], residue p[4] over vision>
      cols <residue p[4] over p[2], p[1]>
      attributes {density = 2.5e-01 : f64, full_tiles = 1 : i64, partial_tiles = 2 : i64, empty_tiles = 3 : i64,
                  kept_pairs_min = 10 : i64, kept_pairs_max = 20 : i64} {
    %0 = permjit.pred.diag lo p[0] hi p[1]
    %1 = permjit.pred.qrange begin p[2] end p[1] local
    %2 = permjit.pred.krange begin p[0] end p[3]
    %3 = permjit.pred.qmod base p[0] stride p[4] phase p[0] local
    %4 = permjit.pred.kmod base p[0] stride p[4] phase p[0]
    %5 = permjit.pred.qmodality vision
    %6 = permjit.pred.kmodality text
    %7 = permjit.pred.and %0, %1, %2
    %8 = permjit.pred.or %7, %3, %4, %5, %6
    %9 = permjit.pred.not %8
    %10 = permjit.pred.true
    %11 = permjit.pred.false
    %12 = permjit.pred.or %9, %10, %11
    permjit.yield %12 : !permjit.pred
  }
  permjit.pass rows <identity> cols <gather [text]> {
    %0 = permjit.pred.true
    permjit.yield %0 : !permjit.pred
  }
}

permjit.kernel @fp16 head_dim 64 dtype fp16 attributes {params = []} {
  permjit.pass rows <identity> cols <identity> {
    %0 = permjit.pred.false
    permjit.yield %0 : !permjit.pred
  }
}
