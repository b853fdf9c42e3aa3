// A head whose pattern nests 600 levels (union, intersect, union, ...) is a verifier error, not
// a stack overflow in the planner; 500 levels still verify and plan.
// RUN: python3 %S/deep_pattern.py 600 > %t.deep.mlir
// RUN: not permjit-opt %t.deep.mlir --permjit-plan-permutations 2>&1 | FileCheck %s --check-prefix=DEEP
// DEEP: error: 'permjit.head' op body: the pattern nests 600 levels deep; allowed: at most 512
// RUN: python3 %S/deep_pattern.py 500 > %t.ok.mlir
// RUN: permjit-opt %t.ok.mlir --permjit-plan-permutations | FileCheck %s --check-prefix=OK
// OK: permjit.head @deep
