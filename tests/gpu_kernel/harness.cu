// Standalone GPU harness for the attention templates (codegen/cuda/*.cuh), independent of
// NVRTC and of the compiler: hand-written Pattern policies and hand-built segment tables.
//   build: nvcc -std=c++17 -O3 -arch=sm_90a -cudart static -I compiler/include
//          -I codegen/include -I codegen/cuda tests/gpu_kernel/harness.cu -o gpu_kernel_harness
//   run:   ./gpu_kernel_harness [--no-bench | --cpu-check]  (--cpu-check needs no GPU)
// Correctness: random bf16/fp16 inputs against a float CPU reference of the same mask
// (explicit lambdas, not the Pattern structs), small sizes, tile-misaligned lengths, GQA,
// batch 2, head dims 64/128, permuted rows/columns, local coordinates, and a two-pass merge.
// Performance: dense causal bf16 hd128, 8 heads, 32K and 128K, CUDA-event median.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "pj_attention_fwd.cuh"

using namespace permjit;
namespace sem = permjit::sem;

#define CHECK_CUDA(call)                                                 \
  do {                                                                   \
    cudaError_t err_ = (call);                                           \
    if (err_ != cudaSuccess) {                                           \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, \
                   cudaGetErrorString(err_));                            \
      std::exit(2);                                                      \
    }                                                                    \
  } while (0)

// ---- Pattern policies (what generateCuda renders, written by hand) ----------------------
// params: 0 = 0, 1 = INF, then pattern-specific slots.
struct CausalPattern {
  static __host__ __device__ bool keep(const sem::Coord& q, const sem::Coord& k, const int* p) {
    return sem::diag_keep(q.pos, k.pos, p[0], p[1]);
  }
  static __host__ __device__ sem::Tri classify(const sem::Bounds& q, const sem::Bounds& k,
                                               const int* p) {
    return sem::diag_classify(q.lo, q.hi, k.lo, k.hi, p[0], p[1]);
  }
};

// causal & (sink(p2) | local(p3))
struct SinkLocalPattern {
  static __host__ __device__ bool keep(const sem::Coord& q, const sem::Coord& k, const int* p) {
    return sem::diag_keep(q.pos, k.pos, p[0], p[1]) &&
           (sem::range_keep(k.pos, p[0], p[2]) || sem::diag_keep(q.pos, k.pos, p[0], p[3]));
  }
  static __host__ __device__ sem::Tri classify(const sem::Bounds& q, const sem::Bounds& k,
                                               const int* p) {
    return sem::tri_and(sem::diag_classify(q.lo, q.hi, k.lo, k.hi, p[0], p[1]),
                        sem::tri_or(sem::range_classify(k.lo, k.hi, p[0], p[2]),
                                    sem::diag_classify(q.lo, q.hi, k.lo, k.hi, p[0], p[3])));
  }
};

// MMInference grid head: causal & (sink | local | q >= text_begin | hline | vline)
// p2 sink, p3 local, p4 text_begin, p5 vs, p6 ve, p7 stride, p8 phase_q, p9 phase_k
struct GridPattern {
  static __host__ __device__ bool keep(const sem::Coord& q, const sem::Coord& k, const int* p) {
    return sem::diag_keep(q.pos, k.pos, p[0], p[1]) &&
           (sem::range_keep(k.pos, p[0], p[2]) || sem::diag_keep(q.pos, k.pos, p[0], p[3]) ||
            sem::range_keep(q.pos, p[4], p[1]) ||
            (sem::range_keep(q.pos, p[5], p[6]) && sem::mod_keep(q.pos, p[5], p[7], p[8])) ||
            (sem::range_keep(k.pos, p[5], p[6]) && sem::mod_keep(k.pos, p[5], p[7], p[9])));
  }
  static __host__ __device__ sem::Tri classify(const sem::Bounds& q, const sem::Bounds& k,
                                               const int* p) {
    using namespace sem;
    Tri any = tri_or(range_classify(k.lo, k.hi, p[0], p[2]),
                     diag_classify(q.lo, q.hi, k.lo, k.hi, p[0], p[3]));
    any = tri_or(any, range_classify(q.lo, q.hi, p[4], p[1]));
    any = tri_or(any, tri_and(range_classify(q.lo, q.hi, p[5], p[6]),
                              mod_classify(q.lo, q.hi, q.step, q.count, p[5], p[7], p[8])));
    any = tri_or(any, tri_and(range_classify(k.lo, k.hi, p[5], p[6]),
                              mod_classify(k.lo, k.hi, k.step, k.count, p[5], p[7], p[9])));
    return tri_and(diag_classify(q.lo, q.hi, k.lo, k.hi, p[0], p[1]), any);
  }
};

// The grid head as two passes (the authors' split): the dense-ish part in original order, and
// the lines in residue-permuted order minus what the first pass kept (passes must be
// disjoint; the second merges through LSE). Same params as GridPattern.
struct GridBasePattern {
  static __host__ __device__ bool base(const sem::Coord& q, const sem::Coord& k, const int* p) {
    return sem::range_keep(k.pos, p[0], p[2]) || sem::diag_keep(q.pos, k.pos, p[0], p[3]) ||
           sem::range_keep(q.pos, p[4], p[1]);
  }
  static __host__ __device__ sem::Tri baseClass(const sem::Bounds& q, const sem::Bounds& k,
                                                const int* p) {
    using namespace sem;
    return tri_or(tri_or(range_classify(k.lo, k.hi, p[0], p[2]),
                         diag_classify(q.lo, q.hi, k.lo, k.hi, p[0], p[3])),
                  range_classify(q.lo, q.hi, p[4], p[1]));
  }
  static __host__ __device__ bool keep(const sem::Coord& q, const sem::Coord& k, const int* p) {
    return sem::diag_keep(q.pos, k.pos, p[0], p[1]) && base(q, k, p);
  }
  static __host__ __device__ sem::Tri classify(const sem::Bounds& q, const sem::Bounds& k,
                                               const int* p) {
    return sem::tri_and(sem::diag_classify(q.lo, q.hi, k.lo, k.hi, p[0], p[1]), baseClass(q, k, p));
  }
};
struct GridLinesPattern {
  static __host__ __device__ bool keep(const sem::Coord& q, const sem::Coord& k, const int* p) {
    return sem::diag_keep(q.pos, k.pos, p[0], p[1]) && !GridBasePattern::base(q, k, p) &&
           ((sem::range_keep(q.pos, p[5], p[6]) && sem::mod_keep(q.pos, p[5], p[7], p[8])) ||
            (sem::range_keep(k.pos, p[5], p[6]) && sem::mod_keep(k.pos, p[5], p[7], p[9])));
  }
  static __host__ __device__ sem::Tri classify(const sem::Bounds& q, const sem::Bounds& k,
                                               const int* p) {
    using namespace sem;
    const Tri lines = tri_or(tri_and(range_classify(q.lo, q.hi, p[5], p[6]),
                                     mod_classify(q.lo, q.hi, q.step, q.count, p[5], p[7], p[8])),
                             tri_and(range_classify(k.lo, k.hi, p[5], p[6]),
                                     mod_classify(k.lo, k.hi, k.step, k.count, p[5], p[7], p[9])));
    return tri_and(tri_and(diag_classify(q.lo, q.hi, k.lo, k.hi, p[0], p[1]),
                           tri_not(GridBasePattern::baseClass(q, k, p))),
                   lines);
  }
};

// 2D-boundary style with local atoms: vision->vision keeps a local window in vision-local
// coordinates (p2), text rows are causal over everything; rows gathered vision-first.
struct ModalityPattern {
  static __host__ __device__ bool keep(const sem::Coord& q, const sem::Coord& k, const int* p) {
    return (sem::modality_keep(q.modality, sem::kVision) &&
            sem::modality_keep(k.modality, sem::kVision) &&
            sem::diag_keep(q.local, k.local, p[0], p[2])) ||
           (sem::modality_keep(q.modality, sem::kText) && sem::diag_keep(q.pos, k.pos, p[0], p[1]));
  }
  static __host__ __device__ sem::Tri classify(const sem::Bounds& q, const sem::Bounds& k,
                                               const int* p) {
    using namespace sem;
    return tri_or(tri_and(tri_and(modality_classify(q.modality, kVision),
                                  modality_classify(k.modality, kVision)),
                          diag_classify(q.llo, q.lhi, k.llo, k.lhi, p[0], p[2])),
                  tri_and(modality_classify(q.modality, kText),
                          diag_classify(q.lo, q.hi, k.lo, k.hi, p[0], p[1])));
  }
};

// causal & k in [p2, p3): one half of a two-pass split of causal attention.
struct CausalKRangePattern {
  static __host__ __device__ bool keep(const sem::Coord& q, const sem::Coord& k, const int* p) {
    return sem::diag_keep(q.pos, k.pos, p[0], p[1]) && sem::range_keep(k.pos, p[2], p[3]);
  }
  static __host__ __device__ sem::Tri classify(const sem::Bounds& q, const sem::Bounds& k,
                                               const int* p) {
    return sem::tri_and(sem::diag_classify(q.lo, q.hi, k.lo, k.hi, p[0], p[1]),
                        sem::range_classify(k.lo, k.hi, p[2], p[3]));
  }
};

template <class Cfg, class Pattern>
__global__ void __launch_bounds__(Cfg::kThreads)
    attention_kernel(const __grid_constant__ AttentionArgs args) {
  dev::attention_forward<Cfg, Pattern>(args);
}

// ---- Segment tables ---------------------------------------------------------------------
struct SegDesc {
  int kind, modality, begin, end, stride;
};
struct Span {
  int modality, begin, end;
};

// Segments in permuted order; local_begin from the layout spans (rank within modality).
static sem::SegmentTable buildTable(const std::vector<SegDesc>& segs,
                                    const std::vector<Span>& layout, int tile) {
  sem::SegmentTable t{};
  t.tile = tile;
  t.count = static_cast<int>(segs.size());
  int perm = 0;
  for (size_t i = 0; i < segs.size(); ++i) {
    sem::Segment& s = t.seg[i];
    s.kind = segs[i].kind;
    s.modality = segs[i].modality;
    s.begin = segs[i].begin;
    s.end = segs[i].end;
    s.stride = segs[i].stride;
    int local = 0;
    for (const Span& sp : layout) {
      if (sp.modality != s.modality) continue;
      if (sp.end <= s.begin)
        local += sp.end - sp.begin;
      else if (sp.begin < s.begin)
        local += s.begin - sp.begin;
    }
    s.local_begin = local;
    s.perm_begin = perm;
    s.perm_len = sem::segment_perm_len(s, tile);
    perm += s.perm_len;
  }
  t.total = perm;
  return t;
}

static std::vector<SegDesc> identitySegs(const std::vector<Span>& layout) {
  std::vector<SegDesc> out;
  for (const Span& sp : layout) out.push_back({sem::kIdentity, sp.modality, sp.begin, sp.end, 1});
  return out;
}

// ---- Host data ---------------------------------------------------------------------------
static float bf16ToFloat(uint16_t h) {
  uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
static uint16_t floatToBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fff + ((u >> 16) & 1);
  return static_cast<uint16_t>(u >> 16);
}
static float halfToFloat(uint16_t h) {
  int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
  float v = e == 0 ? std::ldexp(static_cast<float>(m), -24)
                   : std::ldexp(static_cast<float>(m | 1024), e - 25);
  return s ? -v : v;
}
static uint16_t floatToHalf(float f) {  // inputs are in normal fp16 range
  uint32_t u;
  std::memcpy(&u, &f, 4);
  uint32_t sign = (u >> 16) & 0x8000;
  float a = std::fabs(f);
  if (a < 6.1035156e-05f)
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(std::nearbyint(a * 16777216.f)));
  int e;
  float m = std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  uint32_t mant = static_cast<uint32_t>(std::nearbyint((m * 2 - 1) * 1024));
  int he = e - 1 + 15;
  if (mant == 1024) {
    mant = 0;
    ++he;
  }
  return static_cast<uint16_t>(sign | (he << 10) | mant);
}

template <class T>
struct Codec;
template <>
struct Codec<dev::BF16> {
  static float dec(uint16_t h) { return bf16ToFloat(h); }
  static uint16_t enc(float f) { return floatToBf16(f); }
  static const char* name() { return "bf16"; }
};
template <>
struct Codec<dev::FP16> {
  static float dec(uint16_t h) { return halfToFloat(h); }
  static uint16_t enc(float f) { return floatToHalf(f); }
  static const char* name() { return "fp16"; }
};

using MaskFn = std::function<bool(int q, int k)>;

struct Problem {
  int batch, heads, kv_heads, seq, dim;
};

struct Pass {
  const void* kernel;  // attention_kernel<Cfg, Pattern>
  int threads, smem, block_m;
  std::vector<int> params;
  sem::SegmentTable rows, cols;
};

template <class Cfg, class Pattern>
static Pass makePass(std::vector<int> params, const sem::SegmentTable& rows,
                     const sem::SegmentTable& cols) {
  Pass p;
  p.kernel = reinterpret_cast<const void*>(&attention_kernel<Cfg, Pattern>);
  p.threads = Cfg::kThreads;
  p.smem = Cfg::kSmemBytes;
  p.block_m = Cfg::kBlockM;
  p.params = std::move(params);
  p.rows = rows;
  p.cols = cols;
  CHECK_CUDA(cudaFuncSetAttribute(p.kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, p.smem));
  return p;
}

struct DeviceBuffers {
  void *q = nullptr, *k = nullptr, *v = nullptr, *o = nullptr;
  float* lse = nullptr;
};

static void launch(const Pass& pass, const Problem& pr, const DeviceBuffers& d, int merge,
                   float scale, bool bshd, cudaStream_t stream = 0) {
  AttentionArgs a{};
  a.q = d.q;
  a.k = d.k;
  a.v = d.v;
  a.o = d.o;
  a.lse = d.lse;
  long long S = pr.seq, D = pr.dim;
  // q/o: [B, S, H, D] (or [B, H, S, D] when !bshd); k/v: [B, Hkv, S, D].
  if (bshd) {
    long long qs[3] = {S * pr.heads * D, pr.heads * D, D};
    std::memcpy(a.q_stride, qs, sizeof qs);
    std::memcpy(a.o_stride, qs, sizeof qs);
  } else {
    long long qs[3] = {pr.heads * S * D, D, S * D};
    std::memcpy(a.q_stride, qs, sizeof qs);
    std::memcpy(a.o_stride, qs, sizeof qs);
  }
  long long ks[3] = {pr.kv_heads * S * D, D, S * D};
  std::memcpy(a.k_stride, ks, sizeof ks);
  std::memcpy(a.v_stride, ks, sizeof ks);
  a.batch = pr.batch;
  a.heads = pr.heads;
  a.kv_heads = pr.kv_heads;
  a.seq_len = pr.seq;
  a.scale_log2 = scale * 1.4426950408889634f;
  a.merge = merge;
  for (size_t i = 0; i < pass.params.size(); ++i) a.params[i] = pass.params[i];
  a.rows = pass.rows;
  a.cols = pass.cols;
  dim3 grid(pr.batch * pr.heads, pass.rows.total / pass.block_m);
  void* kargs[] = {&a};
  CHECK_CUDA(cudaLaunchKernel(pass.kernel, grid, dim3(pass.threads), kargs, pass.smem, stream));
}

// ---- Correctness -------------------------------------------------------------------------
static int g_failures = 0;

template <class T>
static void checkCase(const char* name, const Problem& pr, const std::vector<Pass>& passes,
                      const MaskFn& mask, bool bshd, uint32_t seed) {
  const int B = pr.batch, H = pr.heads, Hk = pr.kv_heads, S = pr.seq, D = pr.dim;
  const size_t nq = static_cast<size_t>(B) * H * S * D, nk = static_cast<size_t>(B) * Hk * S * D;
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<uint16_t> hq(nq), hk(nk), hv(nk);
  for (auto& x : hq) x = Codec<T>::enc(nd(rng));
  for (auto& x : hk) x = Codec<T>::enc(nd(rng));
  for (auto& x : hv) x = Codec<T>::enc(nd(rng));
  DeviceBuffers d;
  CHECK_CUDA(cudaMalloc(&d.q, nq * 2));
  CHECK_CUDA(cudaMalloc(&d.k, nk * 2));
  CHECK_CUDA(cudaMalloc(&d.v, nk * 2));
  CHECK_CUDA(cudaMalloc(&d.o, nq * 2));
  CHECK_CUDA(cudaMalloc(&d.lse, static_cast<size_t>(B) * H * S * 4));
  CHECK_CUDA(cudaMemcpy(d.q, hq.data(), nq * 2, cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(d.k, hk.data(), nk * 2, cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(d.v, hv.data(), nk * 2, cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemset(d.o, 0xff, nq * 2));  // poison: NaN in both dtypes
  CHECK_CUDA(cudaMemset(d.lse, 0xff, static_cast<size_t>(B) * H * S * 4));
  const float scale = 1.f / std::sqrt(static_cast<float>(D));
  for (size_t i = 0; i < passes.size(); ++i) launch(passes[i], pr, d, i > 0, scale, bshd);
  CHECK_CUDA(cudaGetLastError());
  CHECK_CUDA(cudaDeviceSynchronize());
  std::vector<uint16_t> ho(nq);
  std::vector<float> hl(static_cast<size_t>(B) * H * S);
  CHECK_CUDA(cudaMemcpy(ho.data(), d.o, nq * 2, cudaMemcpyDeviceToHost));
  CHECK_CUDA(cudaMemcpy(hl.data(), d.lse, hl.size() * 4, cudaMemcpyDeviceToHost));

  auto qidx = [&](int b, int h, int s) {
    return bshd ? ((static_cast<size_t>(b) * S + s) * H + h) * D
                : ((static_cast<size_t>(b) * H + h) * S + s) * D;
  };
  auto kidx = [&](int b, int h, int s) { return ((static_cast<size_t>(b) * Hk + h) * S + s) * D; };
  double err2 = 0, ref2 = 0, lse_err = 0;
  long long kept_total = 0, bad = 0;
  std::vector<double> sc(S), acc(D);
  for (int b = 0; b < B; ++b) {
    for (int h = 0; h < H; ++h) {
      const int hk_ = h / (H / Hk);
      for (int qi = 0; qi < S; ++qi) {
        double mx = -INFINITY;
        for (int ki = 0; ki < S; ++ki) {
          if (!mask(qi, ki)) {
            sc[ki] = -INFINITY;
            continue;
          }
          double dot = 0;
          for (int x = 0; x < D; ++x)
            dot += Codec<T>::dec(hq[qidx(b, h, qi) + x]) * Codec<T>::dec(hk[kidx(b, hk_, ki) + x]);
          sc[ki] = dot * scale;
          mx = std::max(mx, sc[ki]);
          ++kept_total;
        }
        std::fill(acc.begin(), acc.end(), 0.0);
        double sum = 0;
        if (mx > -INFINITY) {
          for (int ki = 0; ki < S; ++ki) {
            if (sc[ki] == -INFINITY) continue;
            double p = std::exp(sc[ki] - mx);
            sum += p;
            for (int x = 0; x < D; ++x) acc[x] += p * Codec<T>::dec(hv[kidx(b, hk_, ki) + x]);
          }
        }
        for (int x = 0; x < D; ++x) {
          double ref = sum > 0 ? acc[x] / sum : 0.0;
          double got = Codec<T>::dec(ho[qidx(b, h, qi) + x]);
          if (!std::isfinite(got)) ++bad;
          err2 += (got - ref) * (got - ref);
          ref2 += ref * ref;
        }
        double lref = sum > 0 ? mx + std::log(sum) : -INFINITY;
        double lgot = hl[(static_cast<size_t>(b) * H + h) * S + qi];
        if (std::isinf(lref)) {
          if (!(std::isinf(lgot) && lgot < 0)) ++bad;
        } else if (!std::isfinite(lgot)) {
          ++bad;
        } else {
          lse_err = std::max(lse_err, std::fabs(lgot - lref));
        }
      }
    }
  }
  const double rel = std::sqrt(err2 / std::max(ref2, 1e-30));
  const double tol = std::is_same<T, dev::BF16>::value ? 2e-2 : 5e-3;
  const bool ok = bad == 0 && rel < tol && lse_err < 2e-3;
  std::printf(
      "%-4s %-40s B=%d H=%d Hkv=%d S=%4d D=%3d %s  kept=%.3f  relL2=%.2e  lse_maxerr=%.1e  "
      "bad=%lld\n",
      ok ? "ok" : "FAIL", name, B, H, Hk, S, D, Codec<T>::name(),
      static_cast<double>(kept_total) / (static_cast<double>(B) * H * S * S), rel, lse_err, bad);
  if (!ok) ++g_failures;
  CHECK_CUDA(cudaFree(d.q));
  CHECK_CUDA(cudaFree(d.k));
  CHECK_CUDA(cudaFree(d.v));
  CHECK_CUDA(cudaFree(d.o));
  CHECK_CUDA(cudaFree(d.lse));
}

template <class T, int D, int BM = 128, int BN = 64, int W = 4, int ST = 2>
static void correctnessSuite(uint32_t seed) {
  using Cfg = dev::AttentionConfig<T, D, BM, BN, W, ST>;
  const int INF = sem::kPosInf;
  char label[96];
  // Dense causal, tile-misaligned, GQA, batch 2.
  {
    Problem pr{2, 4, 2, 333, D};
    std::vector<Span> lay{{sem::kText, 0, pr.seq}};
    auto rows = buildTable(identitySegs(lay), lay, BM),
         cols = buildTable(identitySegs(lay), lay, BN);
    std::snprintf(label, sizeof label, "causal [%dx%d w%d s%d]", BM, BN, W, ST);
    checkCase<T>(
        label, pr, {makePass<Cfg, CausalPattern>({0, INF}, rows, cols)},
        [](int q, int k) { return k <= q; }, true, seed);
  }
  // Sink + local, [B, H, S, D] q/o layout.
  {
    Problem pr{1, 2, 1, 517, D};
    std::vector<Span> lay{{sem::kText, 0, pr.seq}};
    auto rows = buildTable(identitySegs(lay), lay, BM),
         cols = buildTable(identitySegs(lay), lay, BN);
    const int sink = 37, local = 150;
    checkCase<T>(
        "sink(37)+local(150)", pr,
        {makePass<Cfg, SinkLocalPattern>({0, INF, sink, local}, rows, cols)},
        [=](int q, int k) { return k <= q && (k < sink || q - k < local); }, false, seed + 1);
  }
  // Grid head with residue-permuted rows and columns.
  {
    Problem pr{2, 2, 2, 700, D};
    const int S = pr.seq, vs = 81, ve = S - 45, stride = 7, pq = 2, pk = 5, sink = 20, local = 40;
    const int text_begin = ve;
    std::vector<Span> lay{{sem::kText, 0, vs}, {sem::kVision, vs, ve}, {sem::kText, ve, S}};
    std::vector<SegDesc> segs{{sem::kIdentity, sem::kText, 0, vs, 1},
                              {sem::kResidue, sem::kVision, vs, ve, stride},
                              {sem::kIdentity, sem::kText, ve, S, 1}};
    auto rows = buildTable(segs, lay, BM), cols = buildTable(segs, lay, BN);
    checkCase<T>(
        "grid(7) residue rows+cols", pr,
        {makePass<Cfg, GridPattern>({0, INF, sink, local, text_begin, vs, ve, stride, pq, pk}, rows,
                                    cols)},
        [=](int q, int k) {
          if (k > q) return false;
          return k < sink || q - k < local || q >= text_begin ||
                 (q >= vs && q < ve && (q - vs) % stride == pq) ||
                 (k >= vs && k < ve && (k - vs) % stride == pk);
        },
        true, seed + 2);
  }
  // The same grid head as two merged passes: original order, then residue-permuted lines.
  {
    Problem pr{2, 2, 1, 700, D};
    const int S = pr.seq, vs = 81, ve = S - 45, stride = 7, pq = 2, pk = 5, sink = 20, local = 40;
    std::vector<Span> lay{{sem::kText, 0, vs}, {sem::kVision, vs, ve}, {sem::kText, ve, S}};
    std::vector<SegDesc> segs{{sem::kIdentity, sem::kText, 0, vs, 1},
                              {sem::kResidue, sem::kVision, vs, ve, stride},
                              {sem::kIdentity, sem::kText, ve, S, 1}};
    const std::vector<int> params{0, INF, sink, local, ve, vs, ve, stride, pq, pk};
    checkCase<T>(
        "grid(7) as 2 merged passes", pr,
        {makePass<Cfg, GridBasePattern>(params, buildTable(identitySegs(lay), lay, BM),
                                        buildTable(identitySegs(lay), lay, BN)),
         makePass<Cfg, GridLinesPattern>(params, buildTable(segs, lay, BM),
                                         buildTable(segs, lay, BN))},
        [=](int q, int k) {
          if (k > q) return false;
          return k < sink || q - k < local || q >= ve ||
                 (q >= vs && q < ve && (q - vs) % stride == pq) ||
                 (k >= vs && k < ve && (k - vs) % stride == pk);
        },
        true, seed + 6);
  }
  // Modality gather (vision rows first) with a vision-local window; rows never kept: none
  // (text rows keep at least themselves), so also test a row set that keeps nothing below.
  {
    Problem pr{1, 2, 2, 450, D};
    const int S = pr.seq, a = 100, bnd = 380, w = 33;
    std::vector<Span> lay{{sem::kText, 0, a}, {sem::kVision, a, bnd}, {sem::kText, bnd, S}};
    std::vector<SegDesc> rsegs{{sem::kIdentity, sem::kVision, a, bnd, 1},
                               {sem::kIdentity, sem::kText, 0, a, 1},
                               {sem::kIdentity, sem::kText, bnd, S, 1}};
    auto rows = buildTable(rsegs, lay, BM), cols = buildTable(identitySegs(lay), lay, BN);
    checkCase<T>(
        "modality gather + local atoms", pr,
        {makePass<Cfg, ModalityPattern>({0, INF, w}, rows, cols)},
        [=](int q, int k) {
          bool qv = q >= a && q < bnd, kv = k >= a && k < bnd;
          if (qv) return kv && q - k >= 0 && q - k < w;
          return k <= q;
        },
        true, seed + 3);
  }
  // Two passes merged through LSE: causal split at key 200; rows before 200 keep nothing in
  // pass 2 and the sink pattern below leaves whole rows empty.
  {
    Problem pr{2, 2, 1, 389, D};
    std::vector<Span> lay{{sem::kText, 0, pr.seq}};
    auto rows = buildTable(identitySegs(lay), lay, BM),
         cols = buildTable(identitySegs(lay), lay, BN);
    const int cut = 200;
    checkCase<T>(
        "causal as 2 merged passes", pr,
        {makePass<Cfg, CausalKRangePattern>({0, INF, 0, cut}, rows, cols),
         makePass<Cfg, CausalKRangePattern>({0, INF, cut, INF}, rows, cols)},
        [](int q, int k) { return k <= q; }, true, seed + 4);
    checkCase<T>(
        "empty rows (k in [250,300))", pr,
        {makePass<Cfg, CausalKRangePattern>({0, INF, 250, 300}, rows, cols)},
        [](int q, int k) { return k <= q && k >= 250 && k < 300; }, true, seed + 5);
  }
}

// ---- Performance -------------------------------------------------------------------------
// Times one pattern (CUDA-event median after warm-up) and reports effective TFLOP/s on kept
// pairs: 4 * heads * head_dim * kept / time.
template <class Cfg>
static void benchPasses(const char* pattern, int S, int H, const std::vector<Pass>& passes,
                        double kept, const char* label) {
  const int D = Cfg::kHeadDim;
  Problem pr{1, H, H, S, D};
  const size_t n = static_cast<size_t>(H) * S * D;
  DeviceBuffers d;
  CHECK_CUDA(cudaMalloc(&d.q, n * 2));
  CHECK_CUDA(cudaMalloc(&d.k, n * 2));
  CHECK_CUDA(cudaMalloc(&d.v, n * 2));
  CHECK_CUDA(cudaMalloc(&d.o, n * 2));
  CHECK_CUDA(cudaMalloc(&d.lse, static_cast<size_t>(H) * S * 4));
  {
    std::vector<uint16_t> h(n);
    std::mt19937 rng(7);
    std::normal_distribution<float> nd(0.f, 1.f);
    for (void* dst : {d.q, d.k, d.v}) {
      for (auto& x : h) x = floatToBf16(nd(rng));
      CHECK_CUDA(cudaMemcpy(dst, h.data(), n * 2, cudaMemcpyHostToDevice));
    }
  }
  const float scale = 1.f / std::sqrt(static_cast<float>(D));
  const int reps = S >= 100000 ? 5 : 20;
  auto run_all = [&] {
    for (size_t i = 0; i < passes.size(); ++i) launch(passes[i], pr, d, i > 0, scale, true);
  };
  for (int i = 0; i < 2; ++i) run_all();
  CHECK_CUDA(cudaDeviceSynchronize());
  cudaEvent_t e0, e1;
  CHECK_CUDA(cudaEventCreate(&e0));
  CHECK_CUDA(cudaEventCreate(&e1));
  std::vector<float> ms;
  for (int i = 0; i < reps; ++i) {
    CHECK_CUDA(cudaEventRecord(e0));
    run_all();
    CHECK_CUDA(cudaEventRecord(e1));
    CHECK_CUDA(cudaEventSynchronize(e1));
    float t;
    CHECK_CUDA(cudaEventElapsedTime(&t, e0, e1));
    ms.push_back(t);
  }
  CHECK_CUDA(cudaGetLastError());
  std::sort(ms.begin(), ms.end());
  const double med = ms[ms.size() / 2];
  const double tflops = 4.0 * H * D * kept / (med * 1e-3) / 1e12;
  std::printf("bench %-10s bf16 hd%d H=%d S=%6d kept=%5.1f%% %-14s %9.3f ms  %6.1f TFLOP/s\n",
              pattern, D, H, S, 100.0 * kept / (static_cast<double>(S) * S), label, med, tflops);
  CHECK_CUDA(cudaEventDestroy(e0));
  CHECK_CUDA(cudaEventDestroy(e1));
  CHECK_CUDA(cudaFree(d.q));
  CHECK_CUDA(cudaFree(d.k));
  CHECK_CUDA(cudaFree(d.v));
  CHECK_CUDA(cudaFree(d.o));
  CHECK_CUDA(cudaFree(d.lse));
}

template <class Cfg, class Pattern>
static void benchPattern(const char* pattern, int S, int H, const std::vector<int>& params,
                         const std::vector<SegDesc>& segs, const std::vector<Span>& layout,
                         double kept, const char* label) {
  benchPasses<Cfg>(pattern, S, H,
                   {makePass<Cfg, Pattern>(params, buildTable(segs, layout, Cfg::kBlockM),
                                           buildTable(segs, layout, Cfg::kBlockN))},
                   kept, label);
}

static long long floorDiv(long long a, long long b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

// Kept pairs per row of the grid head, in closed form (the reference mask is too big at 128K).
struct GridCounter {
  long long sink, local, text_begin, vs, ve, stride, pq, pk;
  long long lines(long long lo, long long hi) const {  // vertical-line keys in [lo, hi)
    lo = std::max(lo, vs);
    hi = std::min(hi, ve);
    if (hi <= lo) return 0;
    const long long first = floorDiv(lo - vs - pk + stride - 1, stride);
    const long long last = floorDiv(hi - 1 - vs - pk, stride);
    return std::max(0LL, last - first + 1);
  }
  long long row(long long q) const {
    if (q >= text_begin || (q >= vs && q < ve && (q - vs) % stride == pq)) return q + 1;
    const long long b1 = std::min(sink, q + 1), a2 = std::max(0LL, q - local + 1), b2 = q + 1;
    const long long ov_lo = a2, ov_hi = std::min(b1, b2);
    const long long ov = std::max(0LL, ov_hi - ov_lo);
    return b1 + (b2 - a2) - ov + lines(0, q + 1) - lines(0, b1) - lines(a2, b2) +
           (ov > 0 ? lines(ov_lo, ov_hi) : 0);
  }
};

template <class Cfg>
static void benchSuite(const char* label) {
  const int H = 8, INF = sem::kPosInf;
  for (int S : {32768, 131072}) {
    std::vector<Span> lay{{sem::kText, 0, S}};
    benchPattern<Cfg, CausalPattern>("causal", S, H, {0, INF}, identitySegs(lay), lay,
                                     static_cast<double>(S) * (S + 1) / 2, label);
  }
  {
    const int S = 131072, sink = 128, local = 4096;
    std::vector<Span> lay{{sem::kText, 0, S}};
    double kept = 0;
    for (long long q = 0; q < S; ++q) {
      const long long b1 = std::min<long long>(sink, q + 1), a2 = std::max(0LL, q - local + 1);
      kept += b1 + (q + 1 - a2) - std::max(0LL, b1 - a2);
    }
    benchPattern<Cfg, SinkLocalPattern>("a-shape", S, H, {0, INF, sink, local}, identitySegs(lay),
                                        lay, kept, label);
  }
  {
    // The bench grid head (bench/BenchPatterns.h): stride 14, sink 1024, local 1024, vision span [812, S - 60), the
    // trailing 60 text rows dense; phases 0. Rows and columns residue-permuted.
    const int S = 131072, vs = 812, ve = S - 60, stride = 14;
    GridCounter gc{1024, 1024, ve, vs, ve, stride, 0, 0};
    double kept = 0;
    for (long long q = 0; q < S; ++q) kept += gc.row(q);
    std::vector<Span> lay{{sem::kText, 0, vs}, {sem::kVision, vs, ve}, {sem::kText, ve, S}};
    std::vector<SegDesc> segs{{sem::kIdentity, sem::kText, 0, vs, 1},
                              {sem::kResidue, sem::kVision, vs, ve, stride},
                              {sem::kIdentity, sem::kText, ve, S, 1}};
    const std::vector<int> params{0, INF, 1024, 1024, ve, vs, ve, stride, 0, 0};
    benchPattern<Cfg, GridPattern>("grid", S, H, params, segs, lay, kept, label);
    benchPasses<Cfg>(
        "grid 2-pass", S, H,
        {makePass<Cfg, GridBasePattern>(params, buildTable(identitySegs(lay), lay, Cfg::kBlockM),
                                        buildTable(identitySegs(lay), lay, Cfg::kBlockN)),
         makePass<Cfg, GridLinesPattern>(params, buildTable(segs, lay, Cfg::kBlockM),
                                         buildTable(segs, lay, Cfg::kBlockN))},
        kept, label);
  }
}

// ---- CPU-only checks (no GPU needed: `--cpu-check`) ------------------------------------
// Every classify verdict must be exact where it claims ALL or NONE, keep must equal the
// reference mask over the whole permuted space, and the grid's two passes must partition it.
template <class Pattern>
static bool checkClassifier(const char* name, const std::vector<int>& params,
                            const sem::SegmentTable& rows, const sem::SegmentTable& cols,
                            const MaskFn& mask, std::vector<uint8_t>* covered) {
  long long wrong_claims = 0, wrong_keep = 0, pairs = 0;
  const int S = static_cast<int>(std::sqrt(static_cast<double>(covered->size())));
  for (int t = 0; t < rows.total / rows.tile; ++t) {
    const sem::Bounds qb = sem::tile_bounds(rows, t);
    if (qb.count == 0) continue;
    for (int u = 0; u < cols.total / cols.tile; ++u) {
      const sem::Bounds kb = sem::tile_bounds(cols, u);
      if (kb.count == 0) continue;
      const sem::Tri c = Pattern::classify(qb, kb, params.data());
      for (int i = 0; i < qb.count; ++i) {
        const sem::Coord qc = sem::map_index(rows, t * rows.tile + i);
        for (int j = 0; j < kb.count; ++j) {
          const sem::Coord kc = sem::map_index(cols, u * cols.tile + j);
          const bool keep = Pattern::keep(qc, kc, params.data());
          ++pairs;
          if ((c == sem::kNone && keep) || (c == sem::kAll && !keep)) ++wrong_claims;
          if (keep != mask(qc.pos, kc.pos)) ++wrong_keep;
          if (keep) ++(*covered)[static_cast<size_t>(qc.pos) * S + kc.pos];
        }
      }
    }
  }
  const bool ok = wrong_claims == 0 && wrong_keep == 0 && pairs == static_cast<long long>(S) * S;
  std::printf("%-4s classify/keep %-24s pairs=%lld wrong_claims=%lld wrong_keep=%lld\n",
              ok ? "ok" : "FAIL", name, pairs, wrong_claims, wrong_keep);
  return ok;
}

static int cpuChecks() {
  int failures = 0;
  const int INF = sem::kPosInf;
  for (int BM : {64, 128}) {
    const int BN = 64, S = 1500, vs = 181, ve = S - 45, stride = 14, pq = 3, pk = 11;
    const int sink = 100, local = 90;
    std::vector<Span> lay{{sem::kText, 0, vs}, {sem::kVision, vs, ve}, {sem::kText, ve, S}};
    std::vector<SegDesc> segs{{sem::kIdentity, sem::kText, 0, vs, 1},
                              {sem::kResidue, sem::kVision, vs, ve, stride},
                              {sem::kIdentity, sem::kText, ve, S, 1}};
    const std::vector<int> params{0, INF, sink, local, ve, vs, ve, stride, pq, pk};
    auto grid = [=](int q, int k) {
      if (k > q) return false;
      return k < sink || q - k < local || q >= ve ||
             (q >= vs && q < ve && (q - vs) % stride == pq) ||
             (k >= vs && k < ve && (k - vs) % stride == pk);
    };
    auto base = [=](int q, int k) { return k <= q && (k < sink || q - k < local || q >= ve); };
    auto rows = buildTable(segs, lay, BM), cols = buildTable(segs, lay, BN);
    auto id_rows = buildTable(identitySegs(lay), lay, BM);
    auto id_cols = buildTable(identitySegs(lay), lay, BN);
    std::vector<uint8_t> one(static_cast<size_t>(S) * S), two(static_cast<size_t>(S) * S);
    failures += !checkClassifier<GridPattern>("grid, residue maps", params, rows, cols, grid, &one);
    failures += !checkClassifier<GridBasePattern>("grid pass 1, identity", params, id_rows, id_cols,
                                                  base, &two);
    failures += !checkClassifier<GridLinesPattern>(
        "grid pass 2, residue", params, rows, cols,
        [=](int q, int k) { return grid(q, k) && !base(q, k); }, &two);
    long long bad = 0;
    for (int q = 0; q < S; ++q) {
      for (int k = 0; k < S; ++k) {
        const size_t i = static_cast<size_t>(q) * S + k;
        bad += one[i] != grid(q, k) || two[i] != grid(q, k);  // each pair once, when kept
      }
    }
    std::printf("%-4s grid passes partition the mask (block_m %d): %lld bad pairs\n",
                bad ? "FAIL" : "ok", BM, bad);
    failures += bad != 0;
  }
  return failures;
}

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "--cpu-check") {
    const int failures = cpuChecks();
    std::printf("cpu checks: %s\n", failures ? "FAIL" : "PASS");
    return failures ? 1 : 0;
  }
  const bool bench = mode != "--no-bench";
  int dev_id = 0;
  CHECK_CUDA(cudaSetDevice(dev_id));
  cudaDeviceProp prop;
  CHECK_CUDA(cudaGetDeviceProperties(&prop, dev_id));
  std::printf("device: %s (sm_%d%d, %d SMs)\n", prop.name, prop.major, prop.minor,
              prop.multiProcessorCount);

  correctnessSuite<dev::BF16, 128>(11);
  correctnessSuite<dev::BF16, 64>(21);
  correctnessSuite<dev::FP16, 128>(31);
  correctnessSuite<dev::FP16, 64>(41);
  correctnessSuite<dev::BF16, 128, 128, 128, 8, 2>(51);
  correctnessSuite<dev::BF16, 128, 64, 64, 4, 3>(61);
  correctnessSuite<dev::FP16, 64, 64, 64, 4, 4>(71);
  {
    // The benchmark's closed-form kept count against brute force.
    const long long S = 3000, vs = 301, ve = S - 17, st = 14;
    GridCounter gc{100, 90, ve, vs, ve, st, 3, 5};
    long long brute = 0, closed = 0;
    for (long long q = 0; q < S; ++q) {
      closed += gc.row(q);
      for (long long k = 0; k <= q; ++k) {
        brute += k < 100 || q - k < 90 || q >= ve || (q >= vs && q < ve && (q - vs) % st == 3) ||
                 (k >= vs && k < ve && (k - vs) % st == 5);
      }
    }
    std::printf("%-4s grid kept-pair count: closed form %lld, brute force %lld\n",
                closed == brute ? "ok" : "FAIL", closed, brute);
    if (closed != brute) ++g_failures;
  }
  std::printf("correctness: %s (%d failing case(s))\n", g_failures ? "FAIL" : "PASS", g_failures);

  if (bench) {
    benchSuite<dev::AttentionConfig<dev::BF16, 128, 128, 64, 4, 2>>("128x64 w4 s2");
    benchSuite<dev::AttentionConfig<dev::BF16, 128, 128, 128, 8, 2>>("128x128 w8 s2");
  }
  return g_failures ? 1 : 0;
}
