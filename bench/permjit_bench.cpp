// permjit's side of the benchmark table (bench/gpu_check.sh runs it next to the baselines).
//
// For each case: plan once, warm up, then time `iterations` launches one by one with CUDA
// events and report the median, plus effective TFLOP/s on kept pairs. Also measures the JIT
// path: cold NVRTC compile (empty cache dir), disk hit (fresh runtime, same dir) and memory
// hit (same runtime), and the number of NVRTC compiles. Prints one JSON object per line.
//
// Usage: permjit_bench [--mode full|quick] [--iterations N]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "permjit/codegen/CudaSource.h"
#include "permjit/compiler/Pipeline.h"
#include "permjit/permjit.h"
#include "permjit/runtime/AttentionCheck.h"
#include "permjit/runtime/Driver.h"
#include "permjit/runtime/KernelCache.h"

namespace {

using namespace permjit;

struct Case {
  std::string name;  // matches bench/baselines.py --pattern
  int64_t seq_len;
  int64_t heads;
  int head_dim;
  DType dtype;
  PassSplit split = PassSplit::kAuto;
  std::string label = "permjit";  // the table column
};

// The MMInference grid head of ANCHORS.md: vision span [812, S - 60), stride 14.
Pattern patternFor(const std::string& name) {
  if (name == "dense") return causal();
  if (name == "grid") {
    return causal() & (sink(1024) | local(1024) | rows(SpanRef::last(60)) | grid(14, 0, 0));
  }
  if (name == "ashape") return causal() & (sink(128) | local(4096));
  throw Error(ErrorCategory::kInvalidArgument, "bench case: unknown pattern " + name);
}

Layout layoutFor(const std::string& name, int64_t seq_len) {
  if (name == "grid") return Layout::textVisionText(seq_len, 812, 60);
  return Layout();
}

// Kept pairs where a closed form exists; other patterns take theirs from the FlexAttention
// baseline row of the same mask (bench/table.py), or -1.
double keptPairs(const std::string& name, int64_t s) {
  if (name == "dense") return 0.5 * double(s) * double(s + 1);
  if (name == "ashape") {
    // sink 128 | local 4096, causal: per row q, keys [0, 128) U (q - 4096, q].
    double total = 0;
    for (int64_t q = 0; q < s; ++q) {
      int64_t window_lo = std::max<int64_t>(0, q - 4095);
      int64_t sink_only = std::min<int64_t>(128, window_lo);
      total += double(q - window_lo + 1) + double(sink_only);
    }
    return total;
  }
  return -1;
}

double medianOf(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

void fillRandom(std::vector<uint16_t>& host, DType dtype, uint64_t seed) {
  uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& x : host) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    float u = float((state >> 40) & 0xFFFFFF) / float(1 << 24) * 2.0f - 1.0f;
    x = runtime::floatToHalfBits(u, dtype);
  }
}

void runCase(Runtime& rt, runtime::Driver& drv, const Case& c, int iterations,
             const std::string& card) {
  PlanOptions po;
  po.head_dim = c.head_dim;
  po.dtype = c.dtype;
  po.name = c.name;
  po.pass_split = c.split;
  Plan plan = rt.plan(patternFor(c.name), po);

  const size_t elems = size_t(c.seq_len) * c.heads * c.head_dim;
  auto driver = runtime::Driver::open();
  runtime::DeviceBuffer q(driver, elems * 2), k(driver, elems * 2), v(driver, elems * 2),
      o(driver, elems * 2);
  // Split plans merge their passes through the log-sum-exp, so the bench always provides it.
  runtime::DeviceBuffer lse(driver, size_t(c.seq_len) * c.heads * sizeof(float));
  std::vector<uint16_t> host(elems);
  fillRandom(host, c.dtype, 1);
  q.upload(host.data(), elems * 2);
  fillRandom(host, c.dtype, 2);
  k.upload(host.data(), elems * 2);
  fillRandom(host, c.dtype, 3);
  v.upload(host.data(), elems * 2);

  RunArgs args;
  args.q = q.data();
  args.k = k.data();
  args.v = v.data();
  args.o = o.data();
  args.lse = static_cast<float*>(lse.data());
  args.batch = 1;
  args.heads = c.heads;
  args.kv_heads = c.heads;
  args.seq_len = c.seq_len;
  args.head_dim = c.head_dim;
  args.dtype = c.dtype;
  args.tensor_layout = TensorLayout::kBSHD;
  args.layout = layoutFor(c.name, c.seq_len);

  CUevent start, stop;
  drv.check(drv.cuEventCreate(&start, CU_EVENT_DEFAULT), "cuEventCreate");
  drv.check(drv.cuEventCreate(&stop, CU_EVENT_DEFAULT), "cuEventCreate");
  for (int i = 0; i < 3; ++i) plan.run(args, nullptr);
  drv.check(drv.cuStreamSynchronize(nullptr), "cuStreamSynchronize");
  std::vector<double> times;
  for (int i = 0; i < iterations; ++i) {
    drv.check(drv.cuEventRecord(start, nullptr), "cuEventRecord");
    plan.run(args, nullptr);
    drv.check(drv.cuEventRecord(stop, nullptr), "cuEventRecord");
    drv.check(drv.cuEventSynchronize(stop), "cuEventSynchronize");
    float ms = 0;
    drv.check(drv.cuEventElapsedTime(&ms, start, stop), "cuEventElapsedTime");
    times.push_back(ms);
  }
  drv.cuEventDestroy_v2(start);
  drv.cuEventDestroy_v2(stop);

  double ms = medianOf(times);
  double kept = keptPairs(c.name, c.seq_len);
  double tflops = kept > 0 ? 4.0 * c.heads * c.head_dim * kept / (ms * 1e-3) / 1e12 : -1;
  std::printf(
      "{\"baseline\": \"%s\", \"pattern\": \"%s\", \"seq_len\": %lld, \"heads\": %lld, "
      "\"head_dim\": %d, \"dtype\": \"%s\", \"ms\": %.4f, \"eff_tflops\": %.2f, "
      "\"kept_pairs\": %.0f, \"passes\": %d, \"card\": \"%s\"}\n",
      c.label.c_str(), c.name.c_str(), (long long)c.seq_len, (long long)c.heads, c.head_dim,
      dtypeName(c.dtype), ms, tflops, kept, plan.numPasses(), card.c_str());
  std::fflush(stdout);
}

// Cold compile, disk hit and memory hit of one kernel, each in a fresh cache directory state.
void measureJit(const std::string& card) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / "permjit-bench-cache";
  fs::remove_all(dir);
  PlanOptions po;
  po.name = "grid";
  Pattern p = patternFor("grid");
  auto ms_since = [](auto t0) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  };
  RuntimeOptions ro;
  ro.cache_dir = dir.string();
  double cold, disk, memory_us, plan_other_params_ms;
  uint64_t compiles = 0;
  {
    Runtime rt(ro);
    auto t0 = std::chrono::steady_clock::now();
    rt.plan(p, po);
    cold = ms_since(t0);
    compiles = rt.cacheStats().compiles;
  }
  {
    Runtime rt(ro);
    auto t0 = std::chrono::steady_clock::now();
    rt.plan(p, po);
    disk = ms_since(t0);
    // Same structure, other parameters: the whole pipeline runs, the kernel comes from memory.
    Pattern other = causal() & (sink(512) | local(2048) | rows(SpanRef::last(30)) | grid(16, 3, 5));
    t0 = std::chrono::steady_clock::now();
    rt.plan(other, po);
    plan_other_params_ms = ms_since(t0);
    t0 = std::chrono::steady_clock::now();
    const int kRepeats = 100;
    for (int i = 0; i < kRepeats; ++i) rt.plan(p, po);
    memory_us = ms_since(t0) * 1e3 / kRepeats;
    compiles += rt.cacheStats().compiles;
  }
  // The cache layers alone, on one kernel: what an engine pays per lookup.
  double layer_cold_ms, layer_disk_ms, layer_memory_us;
  {
    auto drv = runtime::Driver::open();
    CUcontext ctx = drv->primaryContext(0);
    auto info = drv->device(0);
    CompileOptions co;
    co.name = "grid";
    KernelSpec spec = compilePattern(p, co);
    GeneratedKernel gen =
        generateCuda(spec, TargetInfo::forComputeCapability(info.major, info.minor), 0);
    runtime::CudaProgram program;
    program.source = gen.source;
    program.headers = gen.headers;
    program.headers_digest = gen.headers_digest;
    program.options = gen.nvrtc_options;
    program.arch = TargetInfo::forComputeCapability(info.major, info.minor).nvrtcArch();
    program.kernel_name = gen.kernel_name;
    fs::path layer_dir = dir / "layers";
    runtime::KernelCache::Options opts;
    opts.dir = layer_dir.string();
    {
      runtime::KernelCache cache(opts);
      auto t0 = std::chrono::steady_clock::now();
      cache.kernel(program, *drv, drv, ctx);
      layer_cold_ms = ms_since(t0);
    }
    runtime::KernelCache cache(opts);
    auto t0 = std::chrono::steady_clock::now();
    cache.kernel(program, *drv, drv, ctx);
    layer_disk_ms = ms_since(t0);
    const int kLookups = 1000;
    t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kLookups; ++i) cache.kernel(program, *drv, drv, ctx);
    layer_memory_us = ms_since(t0) * 1e3 / kLookups;
  }
  std::printf(
      "{\"metric\": \"cache\", \"cold_compile_ms\": %.1f, \"disk_hit_ms\": %.2f, "
      "\"memory_hit_us\": %.2f}\n",
      layer_cold_ms, layer_disk_ms, layer_memory_us);
  std::printf(
      "{\"metric\": \"jit\", \"cold_compile_ms\": %.1f, \"disk_hit_plan_ms\": %.2f, "
      "\"memory_hit_plan_us\": %.1f, \"other_params_plan_ms\": %.2f, \"nvrtc_compiles\": %llu, "
      "\"card\": \"%s\"}\n",
      cold, disk, memory_us, plan_other_params_ms, (unsigned long long)compiles, card.c_str());
  std::fflush(stdout);
  fs::remove_all(dir);
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = "full";
  int iterations = 20;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--mode" && i + 1 < argc) {
      mode = argv[++i];
    } else if (a == "--iterations" && i + 1 < argc) {
      iterations = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: permjit_bench [--mode full|quick] [--iterations N]\n");
      return 2;
    }
  }
  if (mode != "full" && mode != "quick") {
    std::fprintf(stderr, "--mode: expected full or quick, got %s\n", mode.c_str());
    return 2;
  }
  try {
    std::string reason = Runtime::deviceUnavailableReason();
    if (!reason.empty()) {
      std::fprintf(stderr, "permjit_bench needs a GPU: %s\n", reason.c_str());
      return 1;
    }
    Runtime rt;
    auto drv = runtime::Driver::open();
    // Device buffers below are allocated in the primary context the runtime launches in.
    drv->check(drv->cuCtxSetCurrent(drv->primaryContext(0)), "cuCtxSetCurrent");
    std::string card = rt.deviceName();
    measureJit(card);
    std::vector<Case> cases;
    if (mode == "quick") {
      cases = {{"dense", 32768, 8, 128, DType::kBF16},
               {"grid", 32768, 8, 128, DType::kBF16},
               {"grid", 32768, 8, 128, DType::kBF16, PassSplit::kSingle, "permjit_single"}};
    } else {
      cases = {{"dense", 32768, 8, 128, DType::kBF16},
               {"dense", 131072, 8, 128, DType::kBF16},
               {"grid", 131072, 8, 128, DType::kBF16},
               {"grid", 131072, 8, 128, DType::kBF16, PassSplit::kSingle, "permjit_single"},
               {"dense", 32768, 8, 64, DType::kBF16},
               {"dense", 32768, 8, 128, DType::kFP16},
               {"ashape", 32768, 8, 128, DType::kBF16},
               {"ashape", 131072, 8, 128, DType::kBF16}};
    }
    for (const Case& c : cases) runCase(rt, *drv, c, iterations, card);
  } catch (const Error& e) {
    std::fprintf(stderr, "permjit_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
