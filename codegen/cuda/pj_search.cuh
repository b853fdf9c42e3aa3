// The offline search's residue-mass kernel (patterns/GpuSearch.h): the attention mass every
// grid candidate's phases would keep, binned by query class and key residue for many strides
// in one walk over the causal keys (ResidueMassArgs in KernelArgs.h has the exact sums).
//
// Grid (row groups of 64, batch * heads), 128 threads; row groups run last-first (the last rows
// walk the most keys). Per CTA:
//   1. classes:  each row's class per stride, each bin's stride (shared tables);
//   2. walk:     per 64-key tile, Q K^T with the estimator's mma.sync fragments, P from the
//                dense run's log-sum-exp, then sink/local keys into the row's base mass (a
//                register) and span keys into the row's bins, one shared atomic per stride.
//                The bins are fixed point (2^-31 units; a row's bin holds at most its mass 1)
//                for integer shared atomics: with float bins an H200 took 213 ms per 32K head;
//   3. flush:    base mass stored per row; bins added to the global tables by class (double).
#pragma once

#include "pj_estimate.cuh"

namespace permjit {
namespace dev {

// Dynamic shared memory (residueMassSmemBytes on the host): the estimator's Q and K tiles, then
// the per-row bins (64 x row_bins 32-bit words), each key's residue and each row's class per stride
// (shorts), each bin's stride (bytes).
template <class Cfg>
__device__ __forceinline__ void residue_mass(const ResidueMassArgs& a) {
  extern __shared__ __align__(128) unsigned char smem[];
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int groups = (a.seq_len + kEstimateRows - 1) / kEstimateRows;
  const int z = groups - 1 - static_cast<int>(blockIdx.x);
  const int bh = blockIdx.y, b = bh / a.heads, h = bh % a.heads;
  const int kvh = h / (a.heads / a.kv_heads);
  EstimateHead e;
  e.q = static_cast<const char*>(a.q) +
        2 * (b * a.q_stride[kStrideBatch] + h * a.q_stride[kStrideHead]);
  e.k = static_cast<const char*>(a.k) +
        2 * (b * a.k_stride[kStrideBatch] + kvh * a.k_stride[kStrideHead]);
  e.q_row = 2 * a.q_stride[kStrideSeq];
  e.k_row = 2 * a.k_stride[kStrideSeq];
  e.ws = nullptr;
  const int q_first = z * kEstimateRows;
  const int rows = min(kEstimateRows, a.seq_len - q_first);
  float* base_out = a.base + static_cast<long long>(bh) * a.seq_len;
  if (q_first >= a.first_trailing) {  // trailing rows keep everything: nothing to bin
    for (int r = tid; r < rows; r += blockDim.x) base_out[q_first + r] = 0.f;
    return;
  }

  const unsigned s_q = smem_addr(smem), s_k = s_q + Cfg::kQBytes;
  unsigned* bins = reinterpret_cast<unsigned*>(smem + EstimateSmem<Cfg>::kBytes);
  short* key_res = reinterpret_cast<short*>(bins + kEstimateRows * a.row_bins);
  short* row_class = key_res + kMaxResidueStrides * 64;
  unsigned char* bin_stride = reinterpret_cast<unsigned char*>(row_class + kMaxResidueStrides * 64);

  // 1. classes.
  for (int i = tid; i < kEstimateRows * a.row_bins; i += blockDim.x) bins[i] = 0u;
  for (int j = tid; j < a.strides_count * kEstimateRows; j += blockDim.x) {
    const int i = j / kEstimateRows, r = j % kEstimateRows, q = q_first + r;
    const int off = q < a.seq_len ? __ldg(a.offsets + q) : -1;
    row_class[j] = static_cast<short>(off >= 0 ? off % a.strides[i] : a.strides[i]);
  }
  for (int bin = tid; bin < a.row_bins; bin += blockDim.x) {
    unsigned char owner = 255;  // the padding bin belongs to no stride
    for (int i = 0; i < a.strides_count; ++i) {
      if (bin >= a.bin_offset[i] && bin < a.bin_offset[i] + a.strides[i]) owner = i;
    }
    bin_stride[bin] = owner;
  }
  load_tile<Cfg, kEstimateRows>(s_q, e.q, e.q_row, q_first, 1, rows, tid);

  float row_lse2[2], base_mass[2] = {0.f, 0.f};
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const int q = q_first + warp * 16 + (lane >> 2) + 8 * half;
    row_lse2[half] = q < a.seq_len
                         ? a.lse[static_cast<long long>(bh) * a.seq_len + q] * 1.4426950408889634f
                         : 0.f;
  }

  // 2. walk.
  const int q_last = min(q_first + rows, a.first_trailing) - 1;
  for (int kt = 0; kt <= q_last; kt += 64) {
    __syncthreads();  // the previous tile's readers of key_res are done
    for (int j = tid; j < a.strides_count * 64; j += blockDim.x) {
      const int i = j / 64, k = kt + j % 64;
      const int off = k < a.seq_len ? __ldg(a.offsets + k) : -1;
      key_res[j] = static_cast<short>(off >= 0 ? off % a.strides[i] : -1);
    }
    float acc[8][4];
    estimate_tile<Cfg>(s_q, s_k, e, kt, 1, min(64, a.seq_len - kt), tid, acc);
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int r = warp * 16 + (lane >> 2) + 8 * half, q = q_first + r;
      if (r >= rows || q > q_last) continue;
      unsigned* row_bins = bins + r * a.row_bins;
#pragma unroll
      for (int nt = 0; nt < 8; ++nt) {
#pragma unroll
        for (int c = 0; c < 2; ++c) {
          const int col = nt * 8 + 2 * (lane & 3) + c, k = kt + col;
          if (k > q) continue;
          const float p = exp2_approx(acc[nt][half * 2 + c] * a.scale_log2 - row_lse2[half]);
          if (k < a.sink || q - k < a.local) {
            base_mass[half] += p;
          } else if (key_res[col] >= 0) {
            const unsigned fixed = __float2uint_rn(p * 2147483648.f);
            if (fixed == 0u) continue;
            for (int i = 0; i < a.strides_count; ++i) {
              atomicAdd(row_bins + a.bin_offset[i] + key_res[i * 64 + col], fixed);
            }
          }
        }
      }
    }
  }
  __syncthreads();

  // 3. flush.
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    float m = base_mass[half];
    m += __shfl_xor_sync(0xffffffffu, m, 1);
    m += __shfl_xor_sync(0xffffffffu, m, 2);
    const int r = warp * 16 + (lane >> 2) + 8 * half;
    if ((lane & 3) == 0 && r < rows) base_out[q_first + r] = q_first + r <= q_last ? m : 0.f;
  }
  double* tables = a.tables + static_cast<long long>(bh) * a.table_elems;
  for (int j = tid; j < rows * a.row_bins; j += blockDim.x) {
    const int r = j / a.row_bins, bin = j % a.row_bins;
    const unsigned v = bins[j];
    const int i = bin_stride[bin];
    if (v == 0u || i == 255 || q_first + r > q_last) continue;
    const int s = a.strides[i];
    const int cls = row_class[i * kEstimateRows + r];
    atomicAdd(tables + a.table_offset[i] + cls * s + (bin - a.bin_offset[i]),
              static_cast<double>(v) * (1.0 / 2147483648.0));
  }
}

}  // namespace dev
}  // namespace permjit
