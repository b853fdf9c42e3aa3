// permjit run: random inputs on the GPU, checked against the float64 CPU reference, timed.
#include <cstdio>
#include <iostream>

#include "Cli.h"
#include "permjit/runtime/AttentionCheck.h"

namespace permjit::cli {

const char* const kRunUsage =
    "usage: permjit run PATTERN.json --seq-len N --heads H [options]\n"
    "  --seq-len N  --heads H  [--kv-heads K (default H)]  [--batch B (default 1)]\n"
    "  --layout L.json  --head-dim 64|128  --dtype bf16|fp16  --tile MxNxWxS\n"
    "  --passes auto|single|lines (default auto)\n"
    "  --tensor-layout bshd|bhsd (default bshd)   --iters N timed runs (default 20)\n"
    "  --seed N     random inputs (default 1)\n"
    "Checks every row against the CPU reference when batch*heads*S*S*D <= 1e9, else a sample\n"
    "of rows; prints the relative L2 error, the median time and effective TFLOP/s on kept pairs.\n"
    "Exit code 1 when the check fails.\n";

int runCommand(const std::vector<std::string>& argv) {
  std::vector<std::string> valued = kPatternOptions;
  valued.insert(valued.end(),
                {"--heads", "--kv-heads", "--batch", "--tensor-layout", "--iters", "--seed"});
  Args args(argv, valued, {});
  PatternInput input = readPatternInput(args, true);
  if (!args.has("--heads")) throw UsageError("--heads: required");
  runtime::CheckConfig config;
  config.heads = args.getInt("--heads", 1, 1, 1 << 16);
  config.kv_heads = args.getInt("--kv-heads", config.heads, 1, config.heads);
  if (config.heads % config.kv_heads != 0) {
    throw UsageError("--kv-heads: " + std::to_string(config.kv_heads) +
                     " does not divide --heads " + std::to_string(config.heads));
  }
  config.batch = args.getInt("--batch", 1, 1, 1 << 16);
  config.seq_len = input.seq_len;
  config.layout = input.layout;
  config.seed = static_cast<uint64_t>(args.getInt("--seed", 1, 0, INT64_MAX));
  config.timing_iterations = static_cast<int>(args.getInt("--iters", 20, 1, 100000));
  std::string tensor_layout = args.getOr("--tensor-layout", "bshd");
  if (tensor_layout == "bshd") {
    config.tensor_layout = TensorLayout::kBSHD;
  } else if (tensor_layout == "bhsd") {
    config.tensor_layout = TensorLayout::kBHSD;
  } else {
    throw UsageError("--tensor-layout: '" + tensor_layout + "'; allowed: bshd, bhsd");
  }

  RuntimeOptions options;
  if (auto arch = args.get("--arch")) options.arch = *arch;
  Runtime runtime(options);  // kDriverError without a GPU: reported by main, exit 1
  Plan plan = runtime.plan(input.file.pattern, input.plan);
  runtime::CheckResult result = runtime::checkPlan(runtime, plan, input.file.pattern, config);
  double tolerance = runtime::toleranceFor(input.plan.dtype);
  std::printf("device      %s (%s)\n", runtime.deviceName().c_str(), runtime.arch().c_str());
  std::printf("pattern     %s\n", input.file.pattern.str().c_str());
  std::printf(
      "shape       batch %lld, heads %lld, kv_heads %lld, seq_len %lld, head_dim %d, %s, %s\n",
      static_cast<long long>(config.batch), static_cast<long long>(config.heads),
      static_cast<long long>(config.kv_heads), static_cast<long long>(config.seq_len),
      input.plan.head_dim, dtypeName(input.plan.dtype), tensor_layout.c_str());
  std::printf("passes      %d\n", plan.numPasses());
  std::printf("kept        %.4f%s of pairs\n", result.kept_fraction,
              result.kept_exact ? "" : " (estimated from sampled rows)");
  std::printf("check       %s, %lld rows: rel L2 %.3e (tolerance %.0e), max |lse diff| %.3e%s\n",
              result.full_reference ? "full reference" : "sampled rows",
              static_cast<long long>(result.rows_checked), result.rel_l2, tolerance,
              result.lse_max_abs, result.nan_found ? ", NaN/Inf found" : "");
  std::printf("time        %.3f ms median of %d\n", result.median_ms, config.timing_iterations);
  std::printf("throughput  %.1f effective TFLOP/s on kept pairs\n", result.eff_tflops);
  if (plan.isDynamic()) {
    std::printf("estimation  %.3f ms of it (%.1f%%): attention alone %.3f ms\n",
                result.median_ms - result.attention_ms,
                100.0 * (result.median_ms - result.attention_ms) / result.median_ms,
                result.attention_ms);
  }
  bool passed = result.passed(tolerance);
  std::printf("%s\n", passed ? "PASS" : "FAIL");
  return passed ? 0 : 1;
}

}  // namespace permjit::cli
