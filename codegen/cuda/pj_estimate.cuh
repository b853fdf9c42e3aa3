// The online vertical_slash estimator (MInference), on the GPU inside every run, per input and
// (batch, head) and vertical_slash atom. From the attention of the last `last_q` queries (of the
// atom's modality, for an atom of one q_boundary branch) over all keys:
//   1. estimate_stats:  per key chunk, each last row's running (max, sum) of its logits;
//   2. estimate_lse:    combine the chunks into each row's log-sum-exp; clear diagonal scores;
//   3. estimate_scores: softmax probabilities again, summed per key column (vertical score)
//                       and per diagonal offset q - k (slash score);
//   4. estimate_select: top-k of each score (the first keep_columns columns and the
//                       keep_diagonals nearest diagonals always win), written as bitmaps, prefix
//                       counts, the slash set's pair arrays (its partial tiles' masks) and, for
//                       the columns, the ascending list the attention kernel gathers.
// The grid estimator (stages 5-7, end of file) reuses stages 1-3 with extra sample rows.
// Q K^T uses the attention template's mma.sync fragments (64 query rows per CTA, 16 per warp).
#pragma once

#include "permjit/codegen/KernelArgs.h"
#include "pj_tile.cuh"

namespace permjit {
namespace dev {

constexpr int kEstimateChunk = 512;  // keys per CTA; must match runtime/Workspace.h
constexpr int kEstimateRows = 64;    // query rows per row group (4 warps x 16)
constexpr int kEstimateThreads = 128;

template <class T, int D>
using EstimateConfig = AttentionConfig<T, D, kEstimateRows, 64, 4, 2>;

struct EstimateHead {
  const char* q;  // first last row's head base
  const char* k;
  long long q_row, k_row;  // bytes per position
  unsigned char* ws;
};

__device__ __forceinline__ EstimateHead estimate_head(const EstimateArgs& a, int bh) {
  const int b = bh / a.heads, h = bh % a.heads;
  const int kvh = h / (a.heads / a.kv_heads);
  EstimateHead e;
  e.q = static_cast<const char*>(a.q) +
        2 * (b * a.q_stride[kStrideBatch] + h * a.q_stride[kStrideHead]);
  e.k = static_cast<const char*>(a.k) +
        2 * (b * a.k_stride[kStrideBatch] + kvh * a.k_stride[kStrideHead]);
  e.q_row = 2 * a.q_stride[kStrideSeq];
  e.k_row = 2 * a.k_stride[kStrideSeq];
  e.ws = a.workspace + static_cast<long long>(bh) * a.ws_head_bytes;
  return e;
}

// S = Q K^T of the CTA's 64 query rows (staged in s_q) and one 64-key tile (staged in s_k), in
// the accumulator layout of attention_forward: acc[nt][e] is row lane/4 + 8 * (e / 2) of the
// warp's 16, column nt * 8 + 2 * (lane % 4) + e % 2.
template <class Cfg>
__device__ __forceinline__ void estimate_qk(unsigned s_q, unsigned s_k, int warp, int lane,
                                            float (&acc)[8][4]) {
  using T = typename Cfg::DType;
  constexpr int D = Cfg::kHeadDim, kRowBytes = D * 2;
  const unsigned q_frag = s_q + (warp * 16 + (lane & 15)) * kRowBytes;
  const unsigned q_chunk = ((lane >> 4) ^ (lane & 7)) * 16;
  const unsigned k_frag = s_k + ((lane & 7) + ((lane >> 4) << 3)) * kRowBytes;
  const unsigned k_chunk = (((lane >> 3) & 1) ^ (lane & 7)) * 16;
#pragma unroll
  for (int nt = 0; nt < 8; ++nt) {
#pragma unroll
    for (int e = 0; e < 4; ++e) acc[nt][e] = 0.f;
  }
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) {
    unsigned qf[4];
    ldmatrix_x4(qf, q_frag + (q_chunk ^ (kk * 32)));
#pragma unroll
    for (int np = 0; np < 4; ++np) {
      unsigned kf[4];
      ldmatrix_x4(kf, k_frag + np * 16 * kRowBytes + (k_chunk ^ (kk * 32)));
      mma_16816<T>(acc[2 * np], qf, kf[0], kf[1]);
      mma_16816<T>(acc[2 * np + 1], qf, kf[2], kf[3]);
    }
  }
}

// Stages the 64 keys first + j * step (j < count) in s_k and computes S = Q K^T of them against
// the staged query rows (estimate_qk's layout). Both barriers included: s_k is free afterwards.
template <class Cfg>
__device__ __forceinline__ void estimate_tile(unsigned s_q, unsigned s_k, const EstimateHead& e,
                                              int first, int step, int count, int tid,
                                              float (&acc)[8][4]) {
  load_tile<Cfg, 64>(s_k, e.k, e.k_row, first, step, count, tid);
  cp_async_commit();
  cp_async_wait<0>();
  __syncthreads();
  estimate_qk<Cfg>(s_q, s_k, tid >> 5, tid & 31, acc);
  __syncthreads();
}

// Shared staging of the estimator's score kernels: 64 Q rows, one 64-key K tile.
template <class Cfg>
struct EstimateSmem {
  static constexpr int kBytes = Cfg::kQBytes + Cfg::kKVBytes;
};

// The scored query rows: sample_rows positions from sample_first (grid estimation; a multiple
// of 64, so row groups never straddle the two ranges), then the last_q estimate rows: the runs
// of consecutive positions run_first[i].. (estimate rows run_row[i]..), the last last_q
// positions for a head-wide atom, the last last_q of one modality for a q_boundary branch's.
// Row r of group z is estimate row z * 64 + r in both ranges.
__device__ __forceinline__ int estimate_rows(const EstimateArgs& a) {
  return a.sample_rows + a.last_q;
}
__device__ __forceinline__ int estimate_groups(const EstimateArgs& a) {
  return a.sample_rows / kEstimateRows + (a.last_q + kEstimateRows - 1) / kEstimateRows;
}

// The position of scored row r; -1 past the last.
__device__ __forceinline__ int estimate_row_position(const EstimateArgs& a, int r) {
  if (r < a.sample_rows) return a.sample_first + r;
  r -= a.sample_rows;
  if (r < 0 || r >= a.last_q) return -1;
  int run = 0;
  while (run + 1 < a.row_runs && a.run_row[run + 1] <= r) ++run;
  return a.run_first[run] + r - a.run_row[run];
}

// The position of this lane's row `half` (the accumulator layout's rows) in group z.
__device__ __forceinline__ int estimate_lane_row(const EstimateArgs& a, int z, int warp, int lane,
                                                 int half) {
  return estimate_row_position(a, z * kEstimateRows + warp * 16 + (lane >> 2) + 8 * half);
}

// Row group z's largest position (-1 when it has none): keys after it are masked for the whole
// group. Positions rise with the row (inside a run, and runs are in ascending order), so it is
// the position of the group's last row.
__device__ __forceinline__ int estimate_group_last(const EstimateArgs& a, int z) {
  const int last = min(z * kEstimateRows + kEstimateRows, estimate_rows(a)) - 1;
  return last >= z * kEstimateRows ? estimate_row_position(a, last) : -1;
}

// Issues the cp.async copies of row group z's query rows into s_q (zero rows past the last).
// The next estimate_tile waits for them: call it only when at least one tile follows (a CTA
// must not leave copies in flight into shared memory it gives up or reloads).
template <class Cfg>
__device__ __forceinline__ void load_estimate_rows(unsigned s_q, const EstimateArgs& a,
                                                   const EstimateHead& e, int z, int tid) {
  constexpr int kRowsPerPass = Cfg::kThreads / Cfg::kChunks;
  const int chunk = tid % Cfg::kChunks;
#pragma unroll
  for (int i = 0; i < kEstimateRows / kRowsPerPass; ++i) {
    const int row = tid / Cfg::kChunks + i * kRowsPerPass;
    const int q = estimate_row_position(a, z * kEstimateRows + row);
    const char* src = e.q + (q >= 0 ? static_cast<long long>(q) * e.q_row : 0) + chunk * 16;
    cp_async_16(s_q + swizzle<Cfg::kHeadDim>(row, chunk), src, q >= 0 ? 16 : 0);
  }
}

// 1. Grid (batch * heads, chunks, row groups).
template <class Cfg>
__device__ __forceinline__ void estimate_stats(const EstimateArgs& a) {
  extern __shared__ __align__(128) unsigned char smem[];
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const EstimateHead e = estimate_head(a, blockIdx.x);
  const int chunk = blockIdx.y, z = blockIdx.z;
  const unsigned s_q = smem_addr(smem), s_k = s_q + Cfg::kQBytes;
  const int q_last = estimate_group_last(a, z);
  const int q_row[2] = {estimate_lane_row(a, z, warp, lane, 0),
                        estimate_lane_row(a, z, warp, lane, 1)};
  float run_max[2] = {neg_inf(), neg_inf()}, run_sum[2] = {0.f, 0.f};
  const int k0 = chunk * kEstimateChunk;
  // A chunk past every row of the group keeps nothing: its partials are (-inf, 0), unloaded.
  if (k0 <= q_last) load_estimate_rows<Cfg>(s_q, a, e, z, tid);
  for (int t = 0; t < kEstimateChunk / 64; ++t) {
    const int kt = k0 + t * 64;
    if (kt >= a.seq_len || kt > q_last) break;  // causal: the rest is masked for every row
    float acc[8][4];
    estimate_tile<Cfg>(s_q, s_k, e, kt, 1, min(64, a.seq_len - kt), tid, acc);
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int q = q_row[half];
      float mx = run_max[half];
#pragma unroll
      for (int nt = 0; nt < 8; ++nt) {
#pragma unroll
        for (int c = 0; c < 2; ++c) {
          const int k = kt + nt * 8 + 2 * (lane & 3) + c;
          float s = acc[nt][half * 2 + c] * a.scale_log2;
          if (k > q || k >= a.seq_len) s = neg_inf();
          acc[nt][half * 2 + c] = s;
          mx = fmaxf(mx, s);
        }
      }
      if (mx == neg_inf()) continue;
      float sum = run_sum[half] * exp2_approx(run_max[half] - mx);
#pragma unroll
      for (int nt = 0; nt < 8; ++nt) {
        sum += exp2_approx(acc[nt][half * 2] - mx) + exp2_approx(acc[nt][half * 2 + 1] - mx);
      }
      run_max[half] = mx;
      run_sum[half] = sum;
    }
  }
  // Combine the quad's column slices, then lane 4*i writes row i's partial (max, sum).
  const int rows = estimate_rows(a);
  float2* partial = reinterpret_cast<float2*>(e.ws + a.ws_partial);
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    float m = run_max[half], l = run_sum[half];
#pragma unroll
    for (int off = 1; off <= 2; off <<= 1) {
      const float om = __shfl_xor_sync(0xffffffffu, m, off);
      const float ol = __shfl_xor_sync(0xffffffffu, l, off);
      const float nm = fmaxf(m, om);
      l = nm == neg_inf() ? 0.f : l * exp2_approx(m - nm) + ol * exp2_approx(om - nm);
      m = nm;
    }
    const int r = z * kEstimateRows + warp * 16 + (lane >> 2) + 8 * half;
    if ((lane & 3) == 0 && r < rows) partial[chunk * rows + r] = make_float2(m, l);
  }
}

// 2. Grid (batch * heads, rows / 8), 256 threads. lse[r] = log2 of row r's sum of 2^(scaled
// logit), one warp per row over its chunk partials (a lane per chunk, then a butterfly: at 1M
// there are 2048 chunks, which one thread per row walked at L2 latency); the CTAs also clear,
// each its slice, what later stages accumulate with atomics (diagonal scores, the grid's
// residue bins and row capture).
__device__ __forceinline__ void lse_combine(float& m, float& l, float om, float ol) {
  const float nm = fmaxf(m, om);
  l = nm == neg_inf() ? 0.f : l * exp2_approx(m - nm) + ol * exp2_approx(om - nm);
  m = nm;
}

__device__ __forceinline__ void estimate_lse(const EstimateArgs& a) {
  const EstimateHead e = estimate_head(a, blockIdx.x);
  const float2* partial = reinterpret_cast<const float2*>(e.ws + a.ws_partial);
  float* lse = reinterpret_cast<float*>(e.ws + a.ws_lse);
  const int rows = estimate_rows(a);
  const int lane = threadIdx.x & 31, r = blockIdx.y * (blockDim.x / 32) + (threadIdx.x >> 5);
  if (r < rows) {
    float m = neg_inf(), l = 0.f;
    for (int c = lane; c < a.chunks; c += 32) {
      const float2 p = partial[c * rows + r];
      lse_combine(m, l, p.x, p.y);
    }
#pragma unroll
    for (int off = 16; off >= 1; off >>= 1) {
      const float om = __shfl_xor_sync(0xffffffffu, m, off);
      const float ol = __shfl_xor_sync(0xffffffffu, l, off);
      lse_combine(m, l, om, ol);
    }
    if (lane == 0) lse[r] = m + __log2f(l);
  }
  const int first = blockIdx.y * blockDim.x + threadIdx.x, step = gridDim.y * blockDim.x;
  if (a.diag_scores) {
    float* diag = reinterpret_cast<float*>(e.ws + a.ws_diag_score);
    for (int i = first; i < a.seq_len; i += step) diag[i] = 0.f;
  }
  if (a.grid_candidates > 0) {
    float* capture = reinterpret_cast<float*>(e.ws + a.ws_row_capture);
    for (int i = first; i < a.sample_rows; i += step) capture[i] = 0.f;
    float* bins = reinterpret_cast<float*>(e.ws + a.ws_grid_bins);
    for (int i = first; i < a.grid_candidates * kGridBinsPerCandidate; i += step) bins[i] = 0.f;
  }
}

// 3. Grid (batch * heads, chunks). Owns the column scores of its chunk (plain stores); the
// diagonal scores of neighbouring chunks overlap, so those are added atomically.
template <class Cfg>
__device__ __forceinline__ void estimate_scores(const EstimateArgs& a) {
  extern __shared__ __align__(128) unsigned char smem[];
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const EstimateHead e = estimate_head(a, blockIdx.x);
  const int chunk = blockIdx.y, k0 = chunk * kEstimateChunk;
  const unsigned s_q = smem_addr(smem), s_k = s_q + Cfg::kQBytes;
  float* col_acc = reinterpret_cast<float*>(smem + EstimateSmem<Cfg>::kBytes);
  // Diagonal offsets d - d_lo, d_lo = row_lo - k0 - 511: the offsets the estimate rows (from
  // row_lo to row_hi) reach in this chunk. Rows spread wider than the window the launch sized
  // (diag_window 0) add to the global scores directly.
  float* diag_acc = col_acc + kEstimateChunk;
  float* diag_score = reinterpret_cast<float*>(e.ws + a.ws_diag_score);
  const int row_lo = estimate_row_position(a, a.sample_rows);
  const int row_hi = estimate_row_position(a, estimate_rows(a) - 1);
  const int d_lo = row_lo - k0 - (kEstimateChunk - 1);
  const int d_count =
      a.diag_scores && a.diag_window && row_lo >= 0 ? row_hi - row_lo + kEstimateChunk : 0;
  for (int i = tid; i < kEstimateChunk + d_count; i += blockDim.x) col_acc[i] = 0.f;
  const float* lse = reinterpret_cast<const float*>(e.ws + a.ws_lse);
  const int rows = estimate_rows(a), groups = estimate_groups(a);
  for (int z = 0; z < groups; ++z) {
    __syncthreads();  // the previous group's reads of s_q are done
    const int q_last = estimate_group_last(a, z);
    if (k0 > q_last) continue;  // causal: no key of the chunk for any row of the group
    load_estimate_rows<Cfg>(s_q, a, e, z, tid);
    const int q_row[2] = {estimate_lane_row(a, z, warp, lane, 0),
                          estimate_lane_row(a, z, warp, lane, 1)};
    float row_lse[2];
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      const int r = z * kEstimateRows + warp * 16 + (lane >> 2) + 8 * half;
      row_lse[half] = r < rows ? lse[r] : 0.f;
    }
    for (int t = 0; t < kEstimateChunk / 64; ++t) {
      const int kt = k0 + t * 64;
      // Every (CTA-uniform) group of the chunk reaches the barriers of estimate_tile alike.
      if (kt >= a.seq_len || kt > q_last) break;
      float acc[8][4];
      estimate_tile<Cfg>(s_q, s_k, e, kt, 1, min(64, a.seq_len - kt), tid, acc);
#pragma unroll
      for (int nt = 0; nt < 8; ++nt) {
#pragma unroll
        for (int c = 0; c < 2; ++c) {
          const int col = t * 64 + nt * 8 + 2 * (lane & 3) + c;
          const int k = k0 + col;
          float col_sum = 0.f;
#pragma unroll
          for (int half = 0; half < 2; ++half) {
            const int r = z * kEstimateRows + warp * 16 + (lane >> 2) + 8 * half;
            const int q = q_row[half];
            float p = 0.f;
            if (r < rows && k <= q && k < a.seq_len) {
              p = exp2_approx(acc[nt][half * 2 + c] * a.scale_log2 - row_lse[half]);
              if (a.diag_scores) {
                atomicAdd(a.diag_window ? diag_acc + (q - k - d_lo) : diag_score + (q - k), p);
              }
            }
            col_sum += p;
          }
          // The 8 lanes with this lane's column hold the warp's 16 rows.
          col_sum += __shfl_xor_sync(0xffffffffu, col_sum, 4);
          col_sum += __shfl_xor_sync(0xffffffffu, col_sum, 8);
          col_sum += __shfl_xor_sync(0xffffffffu, col_sum, 16);
          if (lane < 4) atomicAdd(col_acc + col, col_sum);
        }
      }
    }
  }
  __syncthreads();
  float* col_score = reinterpret_cast<float*>(e.ws + a.ws_col_score);
  for (int i = tid; i < kEstimateChunk && k0 + i < a.seq_len; i += blockDim.x) {
    col_score[k0 + i] = col_acc[i];
  }
  // grid_estimated: the chunk's column mass binned by residue for every candidate stride.
  if (a.grid_candidates > 0) {
    float* bins = reinterpret_cast<float*>(e.ws + a.ws_grid_bins);
    for (int i = tid; i < kEstimateChunk; i += blockDim.x) {
      const int k = k0 + i;
      if (k < a.grid_begin || k >= a.grid_end || col_acc[i] == 0.f) continue;
      for (int c = 0; c < a.grid_candidates; ++c) {
        atomicAdd(bins + c * kGridBinsPerCandidate + (k - a.grid_begin) % a.grid_strides[c],
                  col_acc[i]);
      }
    }
  }
  for (int i = tid; i < d_count; i += blockDim.x) {  // d_count is 0 without diagonal scores
    const int d = d_lo + i;
    if (d >= 0 && d < a.seq_len && diag_acc[i] != 0.f) atomicAdd(diag_score + d, diag_acc[i]);
  }
}

// ---- 4. top-k selection --------------------------------------------------------------------
constexpr int kSelectThreads = 1024;
constexpr int kSelectItems = 8;  // consecutive values per thread per scan step

// Scores are non-negative, so their bit patterns order like the values; forced entries get
// the largest key.
__device__ __forceinline__ unsigned select_key(const float* score, int i, int forced) {
  return i < forced ? 0xffffffffu : __float_as_uint(fmaxf(score[i], 0.f));
}

// Grid (batch * heads, 2): y = 0 chooses the vertical columns, y = 1 the slash offsets.
__device__ __forceinline__ void estimate_select(const EstimateArgs& a) {
  __shared__ int hist[256];
  __shared__ int tmp[32];
  __shared__ unsigned s_prefix;
  __shared__ int s_need;
  const EstimateHead e = estimate_head(a, blockIdx.x);
  const bool vertical = blockIdx.y == 0;
  const int n = a.seq_len;
  const float* score =
      reinterpret_cast<const float*>(e.ws + (vertical ? a.ws_col_score : a.ws_diag_score));
  unsigned* bitmap =
      reinterpret_cast<unsigned*>(e.ws + (vertical ? a.ws_col_bitmap : a.ws_diag_bitmap));
  int* prefix = reinterpret_cast<int*>(e.ws + (vertical ? a.ws_col_prefix : a.ws_diag_prefix));
  int* list = reinterpret_cast<int*>(e.ws + a.ws_col_list);
  const int want = vertical ? a.vertical : a.slash;
  const int forced = vertical ? a.keep_columns : a.keep_diagonals;

  // Radix select, 8 bits at a time from the top: the key of the want-th largest value.
  unsigned threshold = 0;
  int need = want;  // how many of the keys equal to the threshold are still to take
  if (want < n) {
    unsigned prefix_bits = 0, mask = 0;
    for (int shift = 24; shift >= 0; shift -= 8) {
      for (int i = threadIdx.x; i < 256; i += blockDim.x) hist[i] = 0;
      __syncthreads();
      // kSelectItems keys per thread and step, loaded before any is counted: one CTA walks the
      // whole set (1M keys at 1M tokens), so the walk is bound by load latency unless several
      // loads are in flight. Warp-aggregated: scores of one head share their top bits, so most
      // lanes of a warp hit one bin; one atomic per distinct bin and warp, not one per lane.
      for (int base = 0; base < n; base += kSelectThreads * kSelectItems) {
        const int first = base + threadIdx.x * kSelectItems;
        unsigned keys[kSelectItems];
#pragma unroll
        for (int j = 0; j < kSelectItems; ++j) {
          keys[j] = first + j < n ? select_key(score, first + j, forced) : 0u;
        }
#pragma unroll
        for (int j = 0; j < kSelectItems; ++j) {
          const bool counted = first + j < n && (keys[j] & mask) == prefix_bits;
          const int bin = counted ? static_cast<int>((keys[j] >> shift) & 255) : 256;
          const unsigned peers = __match_any_sync(0xffffffffu, bin);
          if (counted && (threadIdx.x & 31) == __ffs(peers) - 1) {
            atomicAdd(&hist[bin], __popc(peers));
          }
        }
      }
      __syncthreads();
      if (threadIdx.x == 0) {
        int left = need, digit = 255;
        for (; digit > 0; --digit) {
          if (hist[digit] >= left) break;
          left -= hist[digit];
        }
        s_prefix = prefix_bits | (static_cast<unsigned>(digit) << shift);
        s_need = left;
      }
      __syncthreads();
      prefix_bits = s_prefix;
      need = s_need;
      mask |= 255u << shift;
      __syncthreads();
    }
    threshold = prefix_bits;
  }

  // In index order: keep keys above the threshold and the first `need` keys equal to it;
  // write the bitmap, exclusive prefix counts and (vertical) the ascending list.
  int kept_before = 0, ties_before = 0;
  const int step = kSelectThreads * kSelectItems;
  for (int base = 0; base < n; base += step) {
    const int first = base + threadIdx.x * kSelectItems;
    unsigned keys[kSelectItems];
    int ties = 0;
#pragma unroll
    for (int j = 0; j < kSelectItems; ++j) {
      const int i = first + j;
      keys[j] = i < n ? select_key(score, i, forced) : 0u;
      ties += (i < n && want < n && keys[j] == threshold) ? 1 : 0;
    }
    int tie_total;
    int tie_rank = ties_before + block_scan(ties, tmp, tie_total) - ties;
    bool take[kSelectItems];
    int kept = 0;
#pragma unroll
    for (int j = 0; j < kSelectItems; ++j) {
      const int i = first + j;
      bool t = false;
      if (i < n) {
        if (want >= n) {
          t = true;
        } else if (keys[j] > threshold) {
          t = true;
        } else if (keys[j] == threshold) {
          t = tie_rank < need;
          ++tie_rank;
        }
      }
      take[j] = t;
      kept += t ? 1 : 0;
    }
    int kept_total;
    int rank = kept_before + block_scan(kept, tmp, kept_total) - kept;
    // The bitmap: a thread's kSelectItems values are one byte of a word, four threads' bytes
    // one word (values past n are not chosen, so the last word's tail is 0).
    static_assert(kSelectItems == 8, "one byte of the bitmap per thread");
    unsigned byte = 0;
#pragma unroll
    for (int j = 0; j < kSelectItems; ++j) byte |= take[j] ? 1u << j : 0u;
    unsigned word = byte << (8 * (threadIdx.x & 3));
    word |= __shfl_xor_sync(0xffffffffu, word, 1);
    word |= __shfl_xor_sync(0xffffffffu, word, 2);
    if ((threadIdx.x & 3) == 0 && first < n) bitmap[first >> 5] = word;
#pragma unroll
    for (int j = 0; j < kSelectItems; ++j) {
      const int i = first + j;
      if (i >= n) break;
      prefix[i] = rank;
      if (take[j]) {
        if (vertical) list[rank] = i;
        ++rank;
      }
    }
    kept_before += kept_total;
    ties_before += tie_total;
  }
  if (threadIdx.x == 0) prefix[n] = kept_before;
  if (vertical) return;
  // The slash set's pair arrays, from the bitmap this CTA just wrote (visible to the CTA after
  // the barrier): what the attention kernels' slash_bits read.
  __syncthreads();
  sem::DynamicSets d{};
  d.bits[sem::kSlashSet] = bitmap;
  d.word_count[sem::kSlashSet] = sem::set_words(n);
  const int pair_words = sem::slash_pair_words(n);
  unsigned* pairs = reinterpret_cast<unsigned*>(e.ws + a.ws_diag_pairs);
  for (int i = threadIdx.x; i < 8 * pair_words; i += blockDim.x) {
    pairs[i] = sem::slash_pair_word(d, i / pair_words, i % pair_words);
  }
}

// ---- the online grid estimator (grid_estimated) -------------------------------------------
// Stages 1-3 above run with the grid's sample rows (the last rows of its span) before the last
// last_q rows and without diagonal scores; then:
//   5. estimate_grid_columns: per candidate stride s, the column mass of every key residue
//      (k - grid_begin) mod s inside the span (binned by estimate_scores); the key phase is the
//      heaviest residue, and the candidate's score is that mass above chance (the span's mass / s,
//      what s-periodic lines catch on unstructured attention), as a fraction of the scored rows.
//      The cheapest (largest) stride within kGridScoreTolerance of the best score wins, so
//      structureless attention gets the cheapest candidate.
//   6. estimate_grid_rows: per sample row, the share of its attention the chosen vertical lines
//      capture (Q K^T over the line keys only);
//   7. estimate_grid_phase: the query phase is the residue whose sample rows those lines serve
//      worst (largest mean uncaptured share): making those rows whole recovers the most mass.

// A costlier (smaller) stride must score this much more (a share of the scored rows' attention)
// than a cheaper one to be chosen: the recall step the offline search accepts (docs/method.md).
constexpr float kGridScoreTolerance = 0.01f;

// 5. Grid (batch * heads), 32 threads per candidate. Reads the residue bins estimate_scores
// filled.
__device__ __forceinline__ void estimate_grid_columns(const EstimateArgs& a) {
  __shared__ float lift[8];
  __shared__ int phase[8];
  const EstimateHead e = estimate_head(a, blockIdx.x);
  const float* bins = reinterpret_cast<const float*>(e.ws + a.ws_grid_bins);
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  if (warp < a.grid_candidates) {
    const int stride = a.grid_strides[warp];
    const float* mine = bins + warp * kGridBinsPerCandidate;
    float best = -1.f, span_mass = 0.f;
    int best_r = 0;
    for (int r = lane; r < stride; r += 32) {
      const float m = mine[r];
      span_mass += m;
      if (m > best) best = m, best_r = r;
    }
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) {
      span_mass += __shfl_xor_sync(0xffffffffu, span_mass, off);
      const float om = __shfl_xor_sync(0xffffffffu, best, off);
      const int orr = __shfl_xor_sync(0xffffffffu, best_r, off);
      if (om > best || (om == best && orr < best_r)) best = om, best_r = orr;
    }
    if (lane == 0) {
      lift[warp] = (best - span_mass / stride) / estimate_rows(a);
      phase[warp] = best_r;
    }
  }
  __syncthreads();
  if (tid == 0) {
    float* mass = reinterpret_cast<float*>(e.ws + a.ws_grid_mass);
    float best = lift[0];
    for (int c = 0; c < a.grid_candidates; ++c) {
      mass[c] = lift[c];
      best = fmaxf(best, lift[c]);
    }
    // The cheapest (largest) stride that scores within the tolerance of the best.
    int chosen = -1;
    for (int c = 0; c < a.grid_candidates; ++c) {
      if (lift[c] < best - kGridScoreTolerance) continue;
      if (chosen < 0 || a.grid_strides[c] > a.grid_strides[chosen]) chosen = c;
    }
    if (chosen < 0) chosen = 0;  // only when every score is NaN (non-finite inputs)
    int* choice = reinterpret_cast<int*>(e.ws + a.ws_grid_choice);
    choice[kGridChoiceCandidate] = chosen;
    choice[kGridChoiceStride] = a.grid_strides[chosen];
    choice[kGridChoicePhaseQ] = 0;  // estimate_grid_phase decides
    choice[kGridChoicePhaseK] = phase[chosen];
  }
}

// 6. Grid (batch * heads, line chunks). Only keys on the chosen vertical lines matter, so each
// CTA gathers kEstimateChunk of them (positions grid_begin + phase_k + j * stride) and adds
// each sample row's probabilities on them to row_capture (cleared by estimate_lse).
template <class Cfg>
__device__ __forceinline__ void estimate_grid_rows(const EstimateArgs& a) {
  extern __shared__ __align__(128) unsigned char smem[];
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const EstimateHead e = estimate_head(a, blockIdx.x);
  const int* choice = reinterpret_cast<const int*>(e.ws + a.ws_grid_choice);
  const int stride = choice[kGridChoiceStride];
  const int first_line = a.grid_begin + choice[kGridChoicePhaseK];
  const int lines = first_line < a.grid_end ? (a.grid_end - first_line + stride - 1) / stride : 0;
  const int j0 = blockIdx.y * kEstimateChunk;
  const int last_sample = a.sample_first + a.sample_rows - 1;
  if (j0 >= lines || first_line + j0 * stride > last_sample) return;  // causal: nothing kept
  const unsigned s_q = smem_addr(smem), s_k = s_q + Cfg::kQBytes;
  const float* lse = reinterpret_cast<const float*>(e.ws + a.ws_lse);
  float* capture = reinterpret_cast<float*>(e.ws + a.ws_row_capture);
  for (int z = 0; z < a.sample_rows / kEstimateRows; ++z) {
    __syncthreads();  // the previous group's reads of s_q are done
    const int q_last = estimate_group_last(a, z);
    if (first_line + j0 * stride > q_last) continue;  // causal: no line key for the group
    load_estimate_rows<Cfg>(s_q, a, e, z, tid);
    float row_lse[2], captured[2] = {0.f, 0.f};
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      row_lse[half] = lse[z * kEstimateRows + warp * 16 + (lane >> 2) + 8 * half];
    }
    for (int t = 0; t < kEstimateChunk / 64; ++t) {
      const int jt = j0 + t * 64;
      const int kt = first_line + jt * stride;  // the tile's first key
      if (jt >= lines || kt > q_last) break;
      float acc[8][4];
      estimate_tile<Cfg>(s_q, s_k, e, kt, stride, min(64, lines - jt), tid, acc);
#pragma unroll
      for (int nt = 0; nt < 8; ++nt) {
#pragma unroll
        for (int c = 0; c < 2; ++c) {
          const int j = jt + nt * 8 + 2 * (lane & 3) + c;
          const int k = first_line + j * stride;
#pragma unroll
          for (int half = 0; half < 2; ++half) {
            const int q = estimate_lane_row(a, z, warp, lane, half);
            if (j < lines && k <= q) {
              captured[half] += exp2_approx(acc[nt][half * 2 + c] * a.scale_log2 - row_lse[half]);
            }
          }
        }
      }
    }
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      float v = captured[half];
      v += __shfl_xor_sync(0xffffffffu, v, 1);
      v += __shfl_xor_sync(0xffffffffu, v, 2);
      const int r = z * kEstimateRows + warp * 16 + (lane >> 2) + 8 * half;
      if ((lane & 3) == 0 && v != 0.f) atomicAdd(capture + r, v);
    }
  }
}

// 7. Grid (batch * heads), kSelectThreads threads.
__device__ __forceinline__ void estimate_grid_phase(const EstimateArgs& a) {
  __shared__ float uncaptured[kGridBinsPerCandidate];
  __shared__ int count[kGridBinsPerCandidate];
  const EstimateHead e = estimate_head(a, blockIdx.x);
  int* choice = reinterpret_cast<int*>(e.ws + a.ws_grid_choice);
  const float* capture = reinterpret_cast<const float*>(e.ws + a.ws_row_capture);
  const int stride = choice[kGridChoiceStride];
  const int tid = threadIdx.x, lane = tid & 31;
  for (int r = tid; r < stride; r += blockDim.x) uncaptured[r] = 0.f, count[r] = 0;
  __syncthreads();
  for (int i = tid; i < a.sample_rows; i += blockDim.x) {
    const int q = a.sample_first + i;
    if (q < a.grid_begin || q >= a.grid_end) continue;
    const int r = (q - a.grid_begin) % stride;
    atomicAdd(&uncaptured[r], 1.f - fminf(capture[i], 1.f));
    atomicAdd(&count[r], 1);
  }
  __syncthreads();
  if (tid < 32) {
    float best = -1.f;
    int best_r = 0;
    for (int r = lane; r < stride; r += 32) {
      if (count[r] == 0) continue;
      const float m = uncaptured[r] / count[r];
      if (m > best) best = m, best_r = r;
    }
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) {
      const float om = __shfl_xor_sync(0xffffffffu, best, off);
      const int orr = __shfl_xor_sync(0xffffffffu, best_r, off);
      if (om > best || (om == best && orr < best_r)) best = om, best_r = orr;
    }
    if (lane == 0) choice[kGridChoicePhaseQ] = best_r;
  }
}

}  // namespace dev
}  // namespace permjit
