// Cold compile of brand-new structures, each case in a fresh process: the first Runtime::plan()
// of the process to compiled (and, with a GPU, loaded) kernels with every cache off, which pays
// NVRTC's one-time start-up; then plan() of the same structure again (NVRTC started, caches
// still off); then, per kernel of the plan and compiled one at a time, the NVRTC front end
// (CUDA -> PTX for the virtual target compute_XY) and the whole compile (-> cubin), whose
// difference is ptxas. Runs without a GPU (host-only runtime, sm_90a) and with one (the
// device's own target). Prints one JSON line per case ({"metric": "cold_compile", ...}) and a
// table last.
//   permjit_cold_compile [--repeats N]        every case, each in a child process
//   permjit_cold_compile --case I [--repeats N]   one case in this process
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

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"grid", 64, DType::kFP16},
      {"grid", 128, DType::kBF16},
      {"dense", 128, DType::kBF16},
      {"ashape", 128, DType::kBF16},
      {"qboundary", 128, DType::kBF16},
      {"boundary2d", 128, DType::kBF16},
      {"vertical_slash", 128, DType::kBF16},
  };
  return all;
}

// One case in this process: prints its JSON lines and, last, its table row prefixed "ROW ".
int runCase(const Case& c, int repeats) {
  const bool has_gpu = Runtime::deviceUnavailableReason().empty();
  RuntimeOptions options;
  options.disable_cache = true;  // every plan compiles: a brand-new structure each time
  if (!has_gpu) {
    options.host_only = true;
    options.arch = "sm_90a";
  }
  auto start = Clock::now();
  Runtime runtime(options);
  const double runtime_ms = msSince(start);
  const std::string arch = runtime.arch();
  const unsigned cores = std::thread::hardware_concurrency();
  const int64_t seq_len = 32768;
  const bench::BenchPattern bp = bench::benchPattern(c.pattern, seq_len);
  PlanOptions plan_options;
  plan_options.head_dim = c.head_dim;
  plan_options.dtype = c.dtype;
  plan_options.layout = bp.layout;
  plan_options.seq_len = seq_len;
  plan_options.name = c.pattern;
  // The tile plan() takes without a database, fixed here so that both halves of the row (the
  // whole plan and each kernel alone) compile the same kernels.
  plan_options.tile = defaultTile(runtime.kernelFamily(), c.head_dim);
  // The process's first plan: NVRTC starts here.
  start = Clock::now();
  const int passes = runtime.plan(bp.pattern, plan_options).numPasses();
  const double first_plan_ms = msSince(start);
  std::vector<double> plan_ms;
  for (int r = 0; r < repeats; ++r) {
    start = Clock::now();
    runtime.plan(bp.pattern, plan_options);
    plan_ms.push_back(msSince(start));
  }
  // Each pass kernel alone, serially: front end (PTX) and the whole compile (cubin).
  const KernelSpec spec = compilePattern(bp.pattern, compileOptionsFor(plan_options));
  // The family the runtime renders with, so both halves of the row time the same kernels.
  const runtime::ArchName name = runtime::parseArch(arch, "arch");
  TargetInfo target = TargetInfo::forComputeCapability(name.major, name.minor);
  target.arch_specific = name.arch_specific;
  target = target.withFamily(runtime.kernelFamily());
  double front_end = 0, ptxas = 0, slowest = 0;
  for (int pass = 0; pass < static_cast<int>(spec.passes.size()); ++pass) {
    const GeneratedKernel generated = generateCuda(spec, target, pass);
    std::vector<double> ptx_ms, cubin_ms;
    for (int r = 0; r < repeats; ++r) {
      start = Clock::now();
      runtime::nvrtcCompile(programOf(generated, arch, virtualArch(arch)), runtime::Artifact::kPtx);
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
  std::printf(
      "{\"metric\": \"cold_compile\", \"pattern\": \"%s\", \"head_dim\": %d, \"arch\": \"%s\", "
      "\"device\": \"%s\", \"cores\": %u, \"passes\": %d, \"runtime_ms\": %.1f, "
      "\"first_plan_ms\": %.1f, \"plan_ms\": %.1f, \"front_end_ms\": %.1f, \"ptxas_ms\": %.1f, "
      "\"slowest_kernel_ms\": %.1f}\n",
      c.pattern.c_str(), c.head_dim, arch.c_str(), has_gpu ? runtime.deviceName().c_str() : "none",
      cores, passes, runtime_ms, first_plan_ms, median(plan_ms), front_end, ptxas, slowest);
  std::printf("ROW | %s hd%d %s | %s | %d | %.0f | %.0f | %.0f | %.0f | %.0f |\n",
              c.pattern.c_str(), c.head_dim, c.dtype == DType::kBF16 ? "bf16" : "fp16",
              kernelFamilyName(target.family), passes, first_plan_ms, median(plan_ms), front_end,
              ptxas, slowest);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int repeats = 3, only = -1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--repeats") == 0 && i + 1 < argc) {
      repeats = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--case") == 0 && i + 1 < argc) {
      only = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: permjit_cold_compile [--repeats N] [--case I]\n");
      return 2;
    }
  }
  try {
    if (only >= 0) {
      if (only >= static_cast<int>(cases().size())) {
        std::fprintf(stderr, "--case: %d; allowed: 0..%zu\n", only, cases().size() - 1);
        return 2;
      }
      return runCase(cases()[only], repeats);
    }
    std::printf("# cold compile, one fresh process per case, medians of %d (cores: %u)\n", repeats,
                std::thread::hardware_concurrency());
    std::vector<std::string> rows;
    int status = 0;
    for (size_t i = 0; i < cases().size(); ++i) {
      const std::string command = std::string(argv[0]) + " --case " + std::to_string(i) +
                                  " --repeats " + std::to_string(repeats);
      FILE* child = popen(command.c_str(), "r");
      if (child == nullptr) throw std::runtime_error("popen failed: " + command);
      char line[4096];
      while (std::fgets(line, sizeof line, child) != nullptr) {
        if (std::strncmp(line, "ROW ", 4) == 0) {
          rows.emplace_back(line + 4);
        } else {
          std::fputs(line, stdout);
        }
      }
      if (pclose(child) != 0) {
        std::fprintf(stderr, "permjit_cold_compile: case %zu failed\n", i);
        status = 1;
      }
    }
    std::printf(
        "\n| new structure | family | passes | first plan() of a process ms | plan() again ms | "
        "front end ms (sum) | ptxas ms (sum) | slowest kernel ms |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    for (const std::string& row : rows) std::fputs(row.c_str(), stdout);
    std::printf(
        "(every cache off; plan() includes the estimator kernels of dynamic plans, compiled "
        "concurrently; front end and ptxas per kernel, compiled one at a time)\n");
    return status;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "permjit_cold_compile: %s\n", e.what());
    return 1;
  }
}
