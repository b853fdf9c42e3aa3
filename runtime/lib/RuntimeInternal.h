// Internal state behind Runtime and Plan, shared with the runtime's device test harness.
#pragma once

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "permjit/codegen/CudaSource.h"
#include "permjit/dsl/Env.h"
#include "permjit/permjit.h"
#include "permjit/runtime/Driver.h"
#include "permjit/runtime/KernelCache.h"

namespace permjit {

namespace runtime {

// PERMJIT_VERBOSE's stage times: lap(stage) prints "permjit: <what>: <stage> N ms" for the time
// since the previous lap (or construction), and nothing when the variable is unset.
class StageClock {
 public:
  explicit StageClock(std::string what)
      : what_(std::move(what)), on_(env::verbose()), last_(std::chrono::steady_clock::now()) {}
  void lap(const char* stage) {
    if (!on_) return;
    const auto now = std::chrono::steady_clock::now();
    std::fprintf(stderr, "permjit: %s: %s %.1f ms\n", what_.c_str(), stage,
                 std::chrono::duration<double, std::milli>(now - last_).count());
    last_ = now;
  }

 private:
  std::string what_;
  bool on_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace runtime

struct Runtime::State {
  RuntimeOptions options;
  std::string arch;
  TargetInfo target;  // arch and kernel family every plan's kernels are rendered for
  std::shared_ptr<runtime::Driver> driver;  // null when host-only
  runtime::Driver::DeviceInfo device;
  CUcontext context = nullptr;
  std::unique_ptr<runtime::KernelCache> cache;
  std::string no_device_reason;
  int key_split_min_tiles = 0;  // RuntimeOptions::key_split_min_tiles, resolved (0: off)
};

struct PassKernel {
  GeneratedKernel generated;
  runtime::CudaProgram program;
  std::shared_ptr<runtime::LoadedKernel> loaded;  // null when host-only
  // The key split's entry points besides function() (GeneratedKernel::split_count_name of a
  // pass, split_plan_name of the plan's key-split module); null when absent or host-only.
  CUfunction split_count = nullptr, split_plan = nullptr;
};

// One stage of a dynamic plan's online estimator.
struct EstimatorKernel {
  EstimatorStage stage;
  PassKernel kernel;  // opted in to estimatorMaxExtraSmem(stage)
};

// One candidate stride of a grid_estimated plan: its spec (that stride's params) and kernels.
struct GridCandidatePlan {
  KernelSpec spec;
  std::vector<PassKernel> passes;
};

struct Plan::Impl {
  std::shared_ptr<Runtime::State> state;
  Pattern pattern;
  KernelSpec spec;  // grid_estimated: candidate 0's
  std::vector<PassKernel> passes;
  // Dynamic plans: the online estimator's kernels, in launch order (estimatorStages).
  std::vector<EstimatorKernel> estimators;
  // grid_estimated: every candidate, in the pattern's order (the first is spec/passes above).
  std::vector<GridCandidatePlan> grid_candidates;
  // Static plans with the key split: the tile configuration's plan and combine kernels
  // (generateKeySplitKernels); default (no loaded module) otherwise.
  PassKernel key_split;
};

struct RuntimeAccess {
  static const std::shared_ptr<Runtime::State>& state(const Runtime& runtime) {
    return runtime.state_;
  }
  static Plan plan(std::shared_ptr<const Plan::Impl> impl) { return Plan(std::move(impl)); }
};

namespace runtime {
// The NVRTC program of a generated kernel for `arch`: what the kernel cache keys and compiles.
inline CudaProgram programFor(const GeneratedKernel& generated, const std::string& arch) {
  CudaProgram program;
  program.name = generated.kernel_name + ".cu";
  program.source = generated.source;
  program.headers = generated.headers;
  program.headers_digest = generated.headers_digest;
  program.options = generated.nvrtc_options;
  // Source lines in the cubin for compute-sanitizer's and ncu's reports; an option, so the
  // cache keys these kernels apart from the plain ones.
  if (env::lineInfo()) program.options.push_back("-lineinfo");
  program.arch = arch;
  program.kernel_name = generated.kernel_name;
  return program;
}

// Compiles exactly `compile` for the runtime's target through its cache (no tuning database):
// Runtime::plan after it resolved the tile, and the autotuner's candidates. The plan's distinct
// kernels compile on up to `compile_threads` threads at once (1: on the calling thread).
Plan buildPlan(const std::shared_ptr<Runtime::State>& state, const Pattern& pattern,
               const CompileOptions& compile, unsigned compile_threads);
}  // namespace runtime

}  // namespace permjit
