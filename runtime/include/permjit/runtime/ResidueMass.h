// The offline search's residue-mass kernel (codegen/cuda/pj_search.cuh) on a Runtime's device:
// compiled through the runtime's kernel cache like a plan's kernels, launched on a stream.
#pragma once

#include "permjit/codegen/KernelArgs.h"
#include "permjit/permjit.h"

namespace permjit::runtime {

// Enqueues one residue-mass launch over batch_heads (batch, head) blocks: args as in
// KernelArgs.h, device pointers in the runtime's context. Checks the launch's own fields
// (counts, strides, bins against kMaxResidueRowBins, shared memory against the device) and
// throws Error(kInvalidArgument) naming the field, Error(kDriverError) on a host-only runtime.
void launchResidueMass(const Runtime& runtime, int head_dim, DType dtype,
                       const ResidueMassArgs& args, int64_t batch_heads, void* stream);

}  // namespace permjit::runtime
