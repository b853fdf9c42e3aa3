// lower-to-tile-ir rejects dynamic patterns with a clear diagnostic.
// RUN: not permjit-opt %s --permjit-lower-to-tile-ir 2>&1 | FileCheck %s
// CHECK: vertical_slash: a dynamic pattern (per-input estimated indices) is not supported by the static pipeline yet
permjit.head @vs attributes {layout = []} {
  %0 = permjit.vertical_slash vertical 10 slash 10 last_q 64
  permjit.yield %0 : !permjit.mask
}
