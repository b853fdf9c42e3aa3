// Pattern bounds in the dialect: a head whose pattern nests 600 levels (union, intersect, ...)
// is a verifier error, not a stack overflow in the planner; 500 levels still verify and plan.
// RUN: python3 %S/deep_pattern.py 600 > %t.deep.mlir
// RUN: not permjit-opt %t.deep.mlir --permjit-plan-permutations 2>&1 | FileCheck %s --check-prefix=DEEP
// DEEP: error: 'permjit.head' op body: the pattern nests 600 levels deep; allowed: at most 512
// RUN: python3 %S/deep_pattern.py 500 > %t.ok.mlir
// RUN: permjit-opt %t.ok.mlir --permjit-plan-permutations | FileCheck %s --check-prefix=OK
// OK: permjit.head @deep
// A union of 4097 parts (canonicalize compares parts pairwise) is an error too.
// RUN: python3 %S/deep_pattern.py --wide 4097 > %t.wide.mlir
// RUN: not permjit-opt %t.wide.mlir 2>&1 | FileCheck %s --check-prefix=WIDE
// WIDE: error: 'permjit.union' op parts: 4097; allowed: at most 4096
