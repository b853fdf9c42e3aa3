// Kernel-cache latencies on the host-only path (KernelCache::binary, no GPU needed): cold NVRTC
// compile, disk hit and memory hit of the MMInference grid head's real generated kernel.
// Prints one JSON line {"metric": "cache_host", ...}.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "permjit/codegen/CudaSource.h"
#include "permjit/compiler/Pipeline.h"
#include "permjit/runtime/KernelCache.h"

using namespace permjit;
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

double usSince(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
}

// The MMInference grid head of the bench suite: vision span [812, S - 60), stride 14.
runtime::CudaProgram gridHeadProgram() {
  Pattern pattern =
      causal() & (sink(1024) | local(1024) | rows(SpanRef::last(60)) | grid(14, 0, 0));
  CompileOptions options;
  options.name = "grid";
  options.seq_len = 32768;
  options.layout = Layout::textVisionText(options.seq_len, 812, 60);
  KernelSpec spec = compilePattern(pattern, options);
  TargetInfo target = TargetInfo::forComputeCapability(9, 0);
  GeneratedKernel generated = generateCuda(spec, target, 0);
  runtime::CudaProgram program;
  program.name = generated.kernel_name + ".cu";
  program.source = generated.source;
  program.headers = generated.headers;
  program.headers_digest = generated.headers_digest;
  program.options = generated.nvrtc_options;
  program.arch = target.nvrtcArch();
  program.kernel_name = generated.kernel_name;
  return program;
}

}  // namespace

int main() {
  try {
    runtime::CudaProgram program = gridHeadProgram();
    size_t header_bytes = 0;
    for (const auto& header : program.headers) header_bytes += header.second.size();
    fs::path dir = fs::temp_directory_path() / ("permjit-cache-bench-" + std::to_string(getpid()));
    fs::remove_all(dir);
    runtime::KernelCache::Options options;
    options.dir = dir.string();

    double cold_ms = 0, disk_us = 0;
    {
      runtime::KernelCache cache(options);
      auto start = Clock::now();
      cache.binary(program, runtime::Artifact::kCubin);
      cold_ms = usSince(start) / 1e3;
    }
    runtime::KernelCache cache(options);
    auto start = Clock::now();
    cache.binary(program, runtime::Artifact::kCubin);
    disk_us = usSince(start);

    const int kLookups = 10000;
    std::vector<double> lookup_us(kLookups);
    for (int i = 0; i < kLookups; ++i) {
      auto begin = Clock::now();
      cache.binary(program, runtime::Artifact::kCubin);
      lookup_us[i] = usSince(begin);
    }
    std::sort(lookup_us.begin(), lookup_us.end());
    runtime::CacheStats stats = cache.stats();
    fs::remove_all(dir);

    std::printf(
        "{\"metric\": \"cache_host\", \"kernel\": \"%s\", \"arch\": \"%s\", \"source_bytes\": %zu, "
        "\"header_bytes\": %zu, \"cold_compile_ms\": %.1f, \"disk_hit_us\": %.1f, "
        "\"memory_hit_us_median\": %.3f, \"memory_hit_us_p99\": %.3f, \"lookups\": %d, "
        "\"memory_hits\": %llu, \"disk_hits\": %llu, \"compiles\": %llu}\n",
        program.kernel_name.c_str(), program.arch.c_str(), program.source.size(), header_bytes,
        cold_ms, disk_us, lookup_us[kLookups / 2], lookup_us[kLookups * 99 / 100], kLookups,
        static_cast<unsigned long long>(stats.memory_hits),
        static_cast<unsigned long long>(stats.disk_hits),
        static_cast<unsigned long long>(stats.compiles));
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "permjit_cache_bench: %s\n", error.what());
    return 1;
  }
}
