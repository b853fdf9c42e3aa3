// Layout of a dynamic plan's device workspace (RunArgs::workspace): one block per (batch, head)
// holding the online estimator's statistics and scores and the index sets it chooses. The
// estimator kernels (codegen/cuda/pj_estimate.cuh) and the attention kernels read the same
// offsets; Plan::estimatedIndices copies the sets back from them.
#pragma once

#include <cstddef>
#include <cstdint>

#include "permjit/codegen/CudaSource.h"
#include "permjit/compiler/KernelSpec.h"

namespace permjit::runtime {

// Byte offsets inside one head's block; every region starts 256-byte aligned.
struct WorkspaceLayout {
  int64_t seq_len = 0, last_q = 0, chunks = 0, vertical = 0, slash = 0;
  size_t partial = 0;      // float2 [chunks][last_q]: per-chunk running (max, sum) of a row
  size_t lse = 0;          // float [last_q]: log-sum-exp (log2 domain, scaled) of each last row
  size_t col_score = 0;    // float [seq_len]: attention mass of each key column
  size_t diag_score = 0;   // float [seq_len]: attention mass of each diagonal offset q - k
  size_t col_flag = 0;     // uint8 [seq_len]: chosen vertical columns
  size_t diag_flag = 0;    // uint8 [seq_len]: chosen slash offsets
  size_t col_prefix = 0;   // int [seq_len + 1]: chosen columns before each position
  size_t diag_prefix = 0;  // int [seq_len + 1]: chosen offsets below each offset
  size_t col_list = 0;     // int [vertical]: chosen columns, ascending
  size_t head_bytes = 0;   // bytes of one (batch, head) block, a multiple of 256
};

// Throws Error(kInvalidArgument) for seq_len < 1.
WorkspaceLayout workspaceLayout(const DynamicSpec& dynamic, int64_t seq_len);
// batch * heads * head_bytes; 0 for a static spec.
size_t dynamicWorkspaceBytes(const KernelSpec& spec, int64_t batch, int64_t heads, int64_t seq_len);

}  // namespace permjit::runtime
