// AttentionArgs: the single by-value parameter of every generated attention kernel.
//
// Freestanding like TileSemantics.h (no standard headers) because the NVRTC source embeds it
// verbatim; the host fills the same struct and passes its address to cuLaunchKernel. Keep it
// under 4 KB (the classic kernel-parameter limit); static_assert below.
#pragma once

#include "permjit/compiler/TileSemantics.h"

namespace permjit {

// Element strides of one tensor as {batch, seq, head}; head_dim is contiguous. Covers both
// [B, S, H, D] and [B, H, S, D].
enum StrideAxis : int { kStrideBatch = 0, kStrideSeq = 1, kStrideHead = 2 };

struct AttentionArgs {
  // q, o: [batch, seq_len, heads, head_dim]-shaped through their strides; k, v likewise with
  // kv_heads. Element type is the kernel's dtype (bf16 or fp16).
  const void* q;
  const void* k;
  const void* v;
  void* o;
  // Natural-log log-sum-exp per row, [batch, heads, seq_len] contiguous; may be null unless
  // merge != 0 (merging needs the previous passes' statistics).
  float* lse;
  long long q_stride[3];
  long long k_stride[3];
  long long v_stride[3];
  long long o_stride[3];
  int batch;
  int heads;
  int kv_heads;  // GQA: head h reads kv head h / (heads / kv_heads)
  int seq_len;
  // Softmax scale pre-multiplied by log2(e): the kernel exponentiates with exp2.
  float scale_log2;
  // Nonzero for passes after the first: combine this pass's result with the o/lse already in
  // memory through log-sum-exp.
  int merge;
  int params[sem::kMaxParams];  // bound KernelSpec::params
  sem::SegmentTable rows;       // permuted row space; rows.tile == block_m
  sem::SegmentTable cols;       // permuted column space; cols.tile == block_n
};

static_assert(sizeof(AttentionArgs) <= 4096, "AttentionArgs must fit the 4 KB parameter limit");

}  // namespace permjit
