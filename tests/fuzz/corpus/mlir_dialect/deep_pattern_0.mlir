// Pattern bounds in the dialect: a head whose pattern nests 600 levels (union, intersect, ...)
// is a verifier error, not a stack overflow in the planner; 500 levels still verify and plan.
// DEEP: error: 'permjit.head' op body: the pattern nests 600 levels deep; allowed: at most 512
// OK: permjit.head @deep
// A union of 4097 parts (canonicalize compares parts pairwise) is an error too.
// WIDE: error: 'permjit.union' op parts: 4097; allowed: at most 4096
