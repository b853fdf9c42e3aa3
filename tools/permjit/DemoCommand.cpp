// permjit demo: the MMInference grid head on a small text-vision-text sequence, end to end.
#include <cstdio>

#include "Cli.h"
#include "permjit/dsl/Reference.h"
#include "permjit/runtime/AttentionCheck.h"

namespace permjit::cli {

const char* const kDemoUsage =
    "usage: permjit demo\n"
    "Compiles the MMInference grid head (causal; sink 64, local 64, the last 32 text rows, grid\n"
    "stride 14 over the vision span) for a 1100-token text-vision-text sequence through the\n"
    "whole pipeline. With a GPU it runs and checks against the CPU reference (PASS/FAIL);\n"
    "without one it compiles for sm_90a and sm_80 and runs the CPU reference only.\n";

int demoCommand(const std::vector<std::string>& argv) {
  Args args(argv, {}, {});
  if (!args.positional().empty()) throw UsageError("demo takes no arguments");
  const int64_t seq_len = 1100;
  const Layout layout = Layout::textVisionText(seq_len, 76, 32);
  const Pattern pattern =
      causal() & (sink(64) | local(64) | rows(SpanRef::last(32)) | grid(14, 0, 0));
  PlanOptions plan_options;
  plan_options.head_dim = 128;
  plan_options.dtype = DType::kBF16;
  plan_options.layout = layout;
  plan_options.seq_len = seq_len;
  plan_options.name = "mminference_grid";
  std::printf("pattern   %s\n", pattern.str().c_str());
  std::printf("layout    %s, seq_len %lld\n", layout.str().c_str(),
              static_cast<long long>(seq_len));

  std::string reason = Runtime::deviceUnavailableReason();
  if (reason.empty()) {
    Runtime runtime;
    Plan plan = runtime.plan(pattern, plan_options);
    std::printf("device    %s (%s), %d pass(es), cache %s\n", runtime.deviceName().c_str(),
                runtime.arch().c_str(), plan.numPasses(),
                runtime.cacheDir().empty() ? "disabled" : runtime.cacheDir().c_str());
    runtime::CheckConfig config;
    config.heads = 4;
    config.kv_heads = 2;
    config.seq_len = seq_len;
    config.layout = layout;
    config.timing_iterations = 10;
    runtime::CheckResult result = runtime::checkPlan(runtime, plan, pattern, config);
    double tolerance = runtime::toleranceFor(plan_options.dtype);
    std::printf("kept      %.4f of pairs\n", result.kept_fraction);
    std::printf("time      %.3f ms (batch 1, heads 4, kv_heads 2, head_dim 128, bf16)\n",
                result.median_ms);
    bool passed = result.passed(tolerance);
    std::printf("%s  rel L2 %.3e vs the float64 CPU reference (tolerance %.0e)%s\n",
                passed ? "PASS" : "FAIL", result.rel_l2, tolerance,
                result.nan_found ? ", NaN/Inf in the output" : "");
    return passed ? 0 : 1;
  }

  std::printf("no CUDA driver/GPU: %s\n", reason.c_str());
  std::printf("          compiling only, then running the CPU reference\n");
  for (const char* arch : {"sm_90a", "sm_80"}) {
    RuntimeOptions options;
    options.host_only = true;
    options.arch = arch;
    Runtime runtime(options);
    Plan plan = runtime.plan(pattern, plan_options);
    size_t bytes = 0;
    for (int pass = 0; pass < plan.numPasses(); ++pass) bytes += plan.binary("cubin", pass).size();
    CacheStats stats = runtime.cacheStats();
    std::printf("compiled  %-7s %d pass(es), %zu bytes of cubin (compiles %llu, disk hits %llu)\n",
                arch, plan.numPasses(), bytes, static_cast<unsigned long long>(stats.compiles),
                static_cast<unsigned long long>(stats.disk_hits));
  }
  const AttentionShape shape{1, 1, 1, seq_len, 64};
  std::vector<double> q(seq_len * 64), k(seq_len * 64), v(seq_len * 64), out(seq_len * 64),
      lse(seq_len);
  for (size_t i = 0; i < q.size(); ++i) {
    q[i] = std::sin(0.37 * static_cast<double>(i));
    k[i] = std::cos(0.11 * static_cast<double>(i));
    v[i] = std::sin(0.05 * static_cast<double>(i) + 1.0);
  }
  std::vector<uint8_t> mask = keptMask(pattern, layout, seq_len);
  referenceAttention(shape, q.data(), k.data(), v.data(), mask.data(), 0.125, out.data(),
                     lse.data());
  double kept = 0;
  for (uint8_t m : mask) kept += m;
  std::printf("reference CPU float64 attention done: kept fraction %.4f (%.0f of %lld pairs)\n",
              kept / static_cast<double>(seq_len * seq_len), kept,
              static_cast<long long>(seq_len * seq_len));
  return 0;
}

}  // namespace permjit::cli
