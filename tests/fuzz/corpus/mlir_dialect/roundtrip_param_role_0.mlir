// A param slot's optional role (`role grid_phase_q` / `role grid_phase_k`) prints and parses
// back unchanged, in the custom and in the generic form; a slot without one prints no role.

permjit.kernel @k head_dim 128 dtype bf16 attributes {
    params = [#permjit.param<"grid.q.base" const 0>, #permjit.param<"grid.q.stride" const 14>,
              #permjit.param<"grid.q.phase" const 0 role grid_phase_q>,
              #permjit.param<"grid.k.phase" const 3 role grid_phase_k>,
              #permjit.param<"hlines.phase" const 2>]} {
  permjit.pass rows <identity> cols <identity> {
    %0 = permjit.pred.qmod base p[0] stride p[1] phase p[2]
    %1 = permjit.pred.kmod base p[0] stride p[1] phase p[3]
    %2 = permjit.pred.qmod base p[0] stride p[1] phase p[4]
    %3 = permjit.pred.or %0, %1, %2
    permjit.yield %3 : !permjit.pred
  }
}
