permjit.head @h attributes {layout = []} {
  %0 = permjit.causal
  %1 = permjit.permute %0 axes rows by <identity>
  permjit.yield %1 : !permjit.mask
}
