permjit.head @h attributes {layout = []} {
  %0 = permjit.rows <modality audio>
  permjit.yield %0 : !permjit.mask
}
