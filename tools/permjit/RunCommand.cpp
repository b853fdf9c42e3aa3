// permjit run: random inputs on the GPU, checked against the float64 CPU reference, timed.
#include <cstdio>
#include <iostream>

#include "Cli.h"
#include "permjit/patterns/LayerCheck.h"
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
    "Exit code 1 when the check fails.\n"
    "\n"
    "usage: permjit run --model-config MODEL.json --layer N --seq-len N [options]\n"
    "  Runs every head of one layer of a model config (docs/model-config.md) in one call on\n"
    "  random inputs and checks each head against the CPU reference.\n"
    "  --kv-heads K (default: the config's num_heads)  --batch B  --head-dim  --dtype  --tile\n"
    "  --passes  --arch  --tensor-layout bshd|bhsd  --iters N (default 20)  --seed N\n"
    "  --layout L.json (the request's layout; required by \"request\" layout rules)\n";

namespace {

TensorLayout parseTensorLayout(const std::string& text) {
  if (text == "bshd") return TensorLayout::kBSHD;
  if (text == "bhsd") return TensorLayout::kBHSD;
  throw UsageError("--tensor-layout: '" + text + "'; allowed: bshd, bhsd");
}

int runLayerCommand(const std::vector<std::string>& argv) {
  Args args(
      argv,
      {"--model-config", "--layer", "--seq-len", "--layout", "--head-dim", "--dtype", "--arch",
       "--tile", "--passes", "--kv-heads", "--batch", "--tensor-layout", "--iters", "--seed"},
      {});
  if (!args.positional().empty()) {
    throw UsageError("--model-config: runs the config's layer; no PATTERN.json expected, got '" +
                     args.positional()[0] + "'");
  }
  if (!args.has("--layer")) throw UsageError("--layer: required with --model-config");
  if (!args.has("--seq-len")) throw UsageError("--seq-len: required");
  patterns::ModelConfig model = patterns::loadModelConfig(*args.get("--model-config"));
  const int layer_index = static_cast<int>(args.getInt("--layer", 0, 0, INT32_MAX));
  PlanOptions plan = readPlanOptions(args);
  patterns::LayerPlanOptions layer_options;
  layer_options.head_dim = plan.head_dim;
  layer_options.dtype = plan.dtype;
  layer_options.tile = plan.tile;
  layer_options.pass_split = plan.pass_split;

  patterns::LayerCheckConfig config;
  config.seq_len = args.getInt("--seq-len", 0, 1, (int64_t{1} << 29));
  config.kv_heads = args.getInt("--kv-heads", model.num_heads, 1, model.num_heads);
  if (model.num_heads % config.kv_heads != 0) {
    throw UsageError("--kv-heads: " + std::to_string(config.kv_heads) +
                     " does not divide the config's num_heads " + std::to_string(model.num_heads));
  }
  config.batch = args.getInt("--batch", 1, 1, 1 << 16);
  config.request_layout = readLayoutOption(args);
  config.seed = static_cast<uint64_t>(args.getInt("--seed", 1, 0, INT64_MAX));
  config.timing_iterations = static_cast<int>(args.getInt("--iters", 20, 1, 100000));
  const std::string tensor_layout = args.getOr("--tensor-layout", "bshd");
  config.tensor_layout = parseTensorLayout(tensor_layout);
  // The caller's lse is written per head; its rows stay 16-byte aligned only for S % 4 == 0.
  config.with_lse = config.seq_len % 4 == 0;

  RuntimeOptions options;
  if (auto arch = args.get("--arch")) options.arch = *arch;
  Runtime runtime(options);  // kDriverError without a GPU: reported by main, exit 1
  patterns::LayerPlan layer = patterns::planLayer(runtime, model, layer_index, layer_options);
  patterns::LayerCheckResult result = patterns::checkLayer(layer, config);
  const double tolerance = runtime::toleranceFor(plan.dtype);
  std::printf("device      %s (%s)\n", runtime.deviceName().c_str(), runtime.arch().c_str());
  std::printf("model       %s, layer %d: %lld heads, %lld distinct plans\n", model.model.c_str(),
              layer_index, static_cast<long long>(layer.numHeads()),
              static_cast<long long>(layer.numDistinctPlans()));
  std::printf("layout      %s\n", result.layout.str().c_str());
  std::printf(
      "shape       batch %lld, heads %lld, kv_heads %lld, seq_len %lld, head_dim %d, %s, %s\n",
      static_cast<long long>(config.batch), static_cast<long long>(layer.numHeads()),
      static_cast<long long>(config.kv_heads), static_cast<long long>(config.seq_len),
      plan.head_dim, dtypeName(plan.dtype), tensor_layout.c_str());
  std::printf("workspace   %zu bytes\n", layer.workspaceBytes(config.batch, config.seq_len));
  std::printf("check       %s against the CPU reference (tolerance %.0e)\n",
              result.full_reference ? "every row" : "sampled rows", tolerance);
  for (const patterns::HeadCheck& head : result.heads) {
    const Plan& head_plan = layer.headPlan(head.head);
    std::printf("  head %-4lld %s  passes %d  kept %.4f  rel L2 %.3e%s%s  %s\n",
                static_cast<long long>(head.head), head.nan_found ? "NaN" : "   ",
                head_plan.numPasses(), head.kept_fraction, head.rel_l2,
                config.with_lse ? "  max |lse diff| " : "",
                config.with_lse ? std::to_string(head.lse_max_abs).c_str() : "",
                layer.headPattern(head.head).str().c_str());
  }
  std::printf("time        %.3f ms median of %d (whole layer)\n", result.median_ms,
              config.timing_iterations);
  const bool passed = result.passed(tolerance);
  std::printf("%s\n", passed ? "PASS" : "FAIL");
  return passed ? 0 : 1;
}

}  // namespace

int runCommand(const std::vector<std::string>& argv) {
  for (const std::string& arg : argv) {
    if (arg == "--model-config" || arg.rfind("--model-config=", 0) == 0) {
      return runLayerCommand(argv);
    }
  }
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
  config.tensor_layout = parseTensorLayout(tensor_layout);

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
