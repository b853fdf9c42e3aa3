// Tensor maps for the sm90a family's TMA loads (TmaArgs, permjit/codegen/KernelArgs.h),
// encoded on the host for one pass launch: one map per (tensor, row step) of the pass's row
// table (Q) and column table (K, V).
#pragma once

#include "permjit/codegen/KernelArgs.h"
#include "permjit/compiler/KernelSpec.h"
#include "permjit/runtime/Driver.h"

namespace permjit::runtime {

// The row steps a segment table's tiles use (1 for identity segments, the stride for residue
// segments), the kTmaSteps covering the most positions first; unused entries are 0.
void tableSteps(const sem::SegmentTable& table, int (&steps)[kTmaSteps]);

// Maps over args.q (boxes of block_m rows) and args.k, args.v (boxes of block_n rows) for the
// steps of args.rows and args.cols. A map TMA cannot express (a tensor address or stride that
// is not a multiple of 16 bytes, a stride of 2^40 bytes or more, a step longer than the
// sequence) is left absent (step 0), and its tiles load with cp.async: slower, same result.
// Encoding is host-only work (no device access, no context needed).
TmaArgs encodeTmaArgs(const Driver& driver, const AttentionArgs& args, DType dtype, int head_dim,
                      int block_m, int block_n);

}  // namespace permjit::runtime
