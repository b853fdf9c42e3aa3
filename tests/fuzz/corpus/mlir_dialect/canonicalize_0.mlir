// permjit-canonicalize: flatten nested unions, drop duplicates, fold single-child sets and
// causal & local(w) -> local(w).

permjit.head @flatten_dedup attributes {layout = []} {
  %0 = permjit.causal
  %1 = permjit.grid stride 14 phase 0, 0 over <modality vision>
  %2 = permjit.sink 64
  %3 = permjit.sink 64
  %4 = permjit.union %1, %2
  %5 = permjit.rows <last 60>
  %6 = permjit.union %4, %3, %5
  %7 = permjit.intersect %0, %6
  permjit.yield %7 : !permjit.mask
}

permjit.head @local_absorbs_causal attributes {layout = []} {
  %0 = permjit.causal
  %1 = permjit.local 128
  %2 = permjit.intersect %0, %1
  permjit.yield %2 : !permjit.mask
}

permjit.head @single_child attributes {layout = []} {
  %0 = permjit.sink 8
  %1 = permjit.union %0
  permjit.yield %1 : !permjit.mask
}

// Different parameters are not duplicates.
permjit.head @distinct attributes {layout = []} {
  %0 = permjit.sink 8
  %1 = permjit.sink 9
  %2 = permjit.union %0, %1
  permjit.yield %2 : !permjit.mask
}
