// What compute-sanitizer's racecheck reports on the sm90a family's slot handoff, shown on a
// kernel that is correct by construction (bench/sanitize_gpu.sh runs it beside the tests).
// Warp 0 publishes 32 words per round into a 2-slot ring and warp 1 consumes them, in the
// attention kernel's protocol: st.shared then mbarrier.arrive.release on the slot's full
// barrier; mbarrier.try_wait.parity.acquire, ld.shared, then an arrive on the slot's empty
// barrier, which the producer waits for before it writes the slot again. The sum of what the
// consumer read must be exact. Mode 0 leaves the barriers out (a race racecheck must report).
// Usage: racecheck_probe MODE (0: no ordering, 1: mbarrier handoff). Exit 1 on a wrong sum in
// mode 1. Built by scripts/pack_gpu.sh when nvcc is there (nvcc -arch=sm_90a).
#include <cstdio>
#include <cstdlib>

namespace {

__device__ unsigned shared_addr(const volatile void* p) {
  return static_cast<unsigned>(__cvta_generic_to_shared(const_cast<const void*>(p)));
}
__device__ void mbarrier_init(unsigned bar, unsigned count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count));
}
__device__ void mbarrier_arrive(unsigned bar) {
  asm volatile(
      "{\n.reg .b64 state;\nmbarrier.arrive.release.cta.shared::cta.b64 state, [%0];\n}\n" ::"r"(
          bar)
      : "memory");
}
__device__ void mbarrier_wait(unsigned bar, unsigned parity) {
  asm volatile(
      "{\n.reg .pred done;\nWAIT_%=:\n"
      "mbarrier.try_wait.parity.acquire.cta.shared::cta.b64 done, [%0], %1;\n"
      "@!done bra WAIT_%=;\n}\n" ::"r"(bar),
      "r"(parity)
      : "memory");
}

constexpr int kRounds = 64;

__global__ void handoff(int ordered, unsigned long long* sum) {
  __shared__ volatile unsigned slot[2][32];
  __shared__ __align__(8) unsigned long long bars[4];  // full[2], then empty[2]
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (threadIdx.x == 0) {
    for (int s = 0; s < 2; ++s) {
      mbarrier_init(shared_addr(&bars[s]), 32);     // every producer lane
      mbarrier_init(shared_addr(&bars[2 + s]), 1);  // the consumer's lane 0
    }
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  __syncthreads();
  unsigned long long acc = 0;
  for (int it = 0; it < kRounds; ++it) {
    const int s = it & 1;
    const unsigned full = shared_addr(&bars[s]), empty = shared_addr(&bars[2 + s]);
    if (warp == 0) {
      if (ordered && it >= 2) mbarrier_wait(empty, ((it >> 1) - 1) & 1);
      slot[s][lane] = it * 32 + lane;
      if (ordered) mbarrier_arrive(full);
    } else {
      if (ordered) mbarrier_wait(full, (it >> 1) & 1);
      acc += slot[s][lane];
      __syncwarp();
      if (ordered && lane == 0) mbarrier_arrive(empty);
    }
  }
  if (warp == 1) atomicAdd(sum, acc);
}

}  // namespace

int main(int argc, char** argv) {
  const int mode = argc > 1 ? std::atoi(argv[1]) : 1;
  if (argc != 2 || (mode != 0 && mode != 1)) {
    std::fprintf(stderr, "usage: racecheck_probe MODE (0: no ordering, 1: mbarrier handoff)\n");
    return 2;
  }
  unsigned long long* sum = nullptr;
  if (cudaMalloc(&sum, sizeof(*sum)) != cudaSuccess || cudaMemset(sum, 0, sizeof(*sum))) {
    std::fprintf(stderr, "racecheck_probe: no GPU\n");
    return 2;
  }
  handoff<<<1, 64>>>(mode, sum);
  unsigned long long got = 0;
  const cudaError_t e = cudaMemcpy(&got, sum, sizeof(got), cudaMemcpyDeviceToHost);
  const unsigned long long n = kRounds * 32ull, want = n * (n - 1) / 2;
  std::printf("racecheck_probe mode %d: %s, sum %llu (exact: %llu)\n", mode, cudaGetErrorString(e),
              got, want);
  return e != cudaSuccess || (mode == 1 && got != want) ? 1 : 0;
}
