// Cold compile of brand-new structures: the time from Runtime::plan() to compiled (and, with a
// GPU, loaded) kernels with every cache off, for each bench pattern and both head dims; then,
// per kernel of the plan and compiled one at a time, the NVRTC front end (CUDA -> PTX for the
// virtual target compute_XY) and the whole compile (-> cubin), whose difference is ptxas.
// Runs without a GPU (host-only runtime, sm_90a) and with one (the device's own target).
// Prints one JSON line per case ({"metric": "cold_compile", ...}) and a table last.
//   permjit_cold_compile [--repeats N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "BenchPatterns.h"
#include "permjit/codegen/CudaSource.h"
#include "permjit/permjit.h"
#include "permjit/runtime/Nvrtc.h"

using namespace permjit;

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

struct Case {
  std::string pattern;
  int head_dim;
  DType dtype;
};

struct KernelTimes {
  std::string name;
  double front_end_ms = 0, total_ms = 0;
};

// The kernel for NVRTC target `target` ("sm_90a": cubin; "compute_90a": PTX only).
runtime::CudaProgram programOf(const GeneratedKernel& generated, const std::string& arch,
                               const std::string& target) {
  runtime::CudaProgram program;
  program.name = generated.kernel_name + ".cu";
  program.source = generated.source;
  program.headers = generated.headers;
  program.headers_digest = generated.headers_digest;
  for (const std::string& option : generated.nvrtc_options) {
    if (option.rfind("--gpu-architecture", 0) != 0) program.options.push_back(option);
  }
  program.options.push_back("--gpu-architecture=" + target);
  program.arch = arch;
  program.kernel_name = generated.kernel_name;
  return program;
}

// "sm_90a" -> "compute_90a": NVRTC stops after PTX for a virtual target.
std::string virtualArch(const std::string& arch) { return "compute_" + arch.substr(3); }

}  // namespace

int main(int argc, char** argv) {
  int repeats = 3;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--repeats") == 0 && i + 1 < argc) {
      repeats = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: permjit_cold_compile [--repeats N]\n");
      return 2;
    }
  }
  try {
    const bool has_gpu = Runtime::deviceUnavailableReason().empty();
    RuntimeOptions options;
    options.disable_cache = true;  // every plan compiles: a brand-new structure each time
    if (!has_gpu) {
      options.host_only = true;
      options.arch = "sm_90a";
    }
    Runtime runtime(options);
    const std::string arch = runtime.arch();
    const unsigned cores = std::thread::hardware_concurrency();
    std::printf("# cold compile on %s (%u cores), target %s, medians of %d\n",
                has_gpu ? runtime.deviceName().c_str() : "no GPU", cores, arch.c_str(), repeats);

    const std::vector<Case> cases = {
        {"grid", 64, DType::kFP16},
        {"grid", 128, DType::kBF16},
        {"dense", 128, DType::kBF16},
        {"ashape", 128, DType::kBF16},
        {"qboundary", 128, DType::kBF16},
        {"boundary2d", 128, DType::kBF16},
        {"vertical_slash", 128, DType::kBF16},
    };
    const int64_t seq_len = 32768;
    struct Row {
      std::string label;
      int kernels;
      double plan_ms, front_end_ms, ptxas_ms, slowest_ms;
    };
    std::vector<Row> rows;
    for (const Case& c : cases) {
      const bench::BenchPattern bp = bench::benchPattern(c.pattern, seq_len);
      PlanOptions plan_options;
      plan_options.head_dim = c.head_dim;
      plan_options.dtype = c.dtype;
      plan_options.layout = bp.layout;
      plan_options.seq_len = seq_len;
      plan_options.name = c.pattern;
      std::vector<double> plan_ms;
      int passes = 0;
      for (int r = 0; r < repeats; ++r) {
        const auto start = Clock::now();
        Plan plan = runtime.plan(bp.pattern, plan_options);
        plan_ms.push_back(msSince(start));
        passes = plan.numPasses();
      }
      // Each pass kernel alone, serially: front end (PTX) and the whole compile (cubin).
      const KernelSpec spec = compilePattern(bp.pattern, compileOptionsFor(plan_options));
      const TargetInfo target = [&] {
        const runtime::ArchName name = runtime::parseArch(arch, "arch");
        TargetInfo t = TargetInfo::forComputeCapability(name.major, name.minor);
        t.arch_specific = name.arch_specific;
        return t;
      }();
      double front_end = 0, ptxas = 0, slowest = 0;
      for (int pass = 0; pass < static_cast<int>(spec.passes.size()); ++pass) {
        const GeneratedKernel generated = generateCuda(spec, target, pass);
        std::vector<double> ptx_ms, cubin_ms;
        for (int r = 0; r < repeats; ++r) {
          auto start = Clock::now();
          runtime::nvrtcCompile(programOf(generated, arch, virtualArch(arch)),
                                runtime::Artifact::kPtx);
          ptx_ms.push_back(msSince(start));
          start = Clock::now();
          runtime::nvrtcCompile(programOf(generated, arch, arch), runtime::Artifact::kCubin);
          cubin_ms.push_back(msSince(start));
        }
        const double fe = median(ptx_ms), total = median(cubin_ms);
        front_end += fe;
        ptxas += std::max(0.0, total - fe);
        slowest = std::max(slowest, total);
        std::printf(
            "{\"metric\": \"cold_compile_kernel\", \"pattern\": \"%s\", \"head_dim\": %d, "
            "\"pass\": %d, \"kernel\": \"%s\", \"front_end_ms\": %.1f, \"total_ms\": %.1f}\n",
            c.pattern.c_str(), c.head_dim, pass, generated.kernel_name.c_str(), fe, total);
      }
      const std::string label = c.pattern + " hd" + std::to_string(c.head_dim) + " " +
                                (c.dtype == DType::kBF16 ? "bf16" : "fp16");
      rows.push_back({label, passes, median(plan_ms), front_end, ptxas, slowest});
      std::printf(
          "{\"metric\": \"cold_compile\", \"pattern\": \"%s\", \"head_dim\": %d, \"arch\": "
          "\"%s\", \"cores\": %u, \"gpu\": %s, \"passes\": %d, \"plan_ms\": %.1f, "
          "\"front_end_ms\": %.1f, \"ptxas_ms\": %.1f, \"slowest_kernel_ms\": %.1f}\n",
          c.pattern.c_str(), c.head_dim, arch.c_str(), cores, has_gpu ? "true" : "false", passes,
          median(plan_ms), front_end, ptxas, slowest);
    }
    std::printf(
        "\n| new structure | passes | plan() ms | front end ms (sum) | ptxas ms (sum) | slowest "
        "kernel ms |\n| --- | --- | --- | --- | --- | --- |\n");
    for (const Row& r : rows) {
      std::printf("| %s | %d | %.0f | %.0f | %.0f | %.0f |\n", r.label.c_str(), r.kernels,
                  r.plan_ms, r.front_end_ms, r.ptxas_ms, r.slowest_ms);
    }
    std::printf(
        "(plan() includes the estimator kernels of dynamic plans, compiled concurrently)\n");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "permjit_cold_compile: %s\n", e.what());
    return 1;
  }
}
