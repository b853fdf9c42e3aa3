// permjit tune: autotune the tile configuration and pass split of one pattern's shape class on
// this GPU and store the winner in the tuning database (docs/tuning.md).
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "Cli.h"
#include "permjit/dsl/Env.h"
#include "permjit/dsl/Json.h"
#include "permjit/permjit.h"
#include "permjit/runtime/Autotuner.h"
#include "permjit/runtime/TuningDb.h"

namespace permjit::cli {

const char* const kTuneUsage =
    "usage: permjit tune PATTERN.json --seq-len N [options]\n"
    "  --seq-len N        target sequence length (its power-of-two bucket is the database key)\n"
    "  --heads H          heads at the target shape (default 8); --kv-heads K (default H)\n"
    "  --batch B          (default 1)   --layout L.json  modality spans (default: the file's)\n"
    "  --head-dim 64|128  (default 128) --dtype bf16|fp16 (default bf16)\n"
    "  --iters N          timed runs per candidate, median (default 20)\n"
    "  --check-seq-len N  check candidates at this length with --check-layout L.json\n"
    "                     (default: the target length, one head, sampled rows when long)\n"
    "  --db PATH          tuning database (default $PERMJIT_TUNING_DB or <cache dir>/tuning.json)\n"
    "  --dry-run          tune and print, do not store\n"
    "  --threads N        parallel compiles (default min(cores, 8))\n"
    "  --driver LIB       CUDA driver library (default libcuda.so.1)\n"
    "Compiles every supported tile configuration, crossed with one fused pass and the two\n"
    "merged passes where the pattern splits, checks each against the CPU reference, times\n"
    "each with CUDA events on this GPU and stores the fastest tile and split (never slower\n"
    "than the default). Needs a CUDA GPU. Exit codes: 0 tuned, 1 no GPU or a failure, 2 bad\n"
    "usage or input.\n";

int tuneCommand(const std::vector<std::string>& argv) {
  Args args(argv,
            {"--seq-len", "--heads", "--kv-heads", "--batch", "--layout", "--head-dim", "--dtype",
             "--iters", "--check-seq-len", "--check-layout", "--db", "--threads", "--driver"},
            {"--dry-run"});
  if (args.positional().size() != 1) {
    throw UsageError("expected exactly one PATTERN.json, got " +
                     std::to_string(args.positional().size()) + " positional arguments");
  }
  if (!args.has("--seq-len")) throw UsageError("--seq-len: required");
  runtime::TuneShape shape;
  shape.seq_len = args.getInt("--seq-len", 0, 1, int64_t{1} << 29);
  shape.heads = args.getInt("--heads", 8, 1, 1 << 16);
  shape.kv_heads = args.getInt("--kv-heads", shape.heads, 1, shape.heads);
  if (shape.heads % shape.kv_heads != 0) {
    throw UsageError("--kv-heads: " + std::to_string(shape.kv_heads) + " does not divide --heads " +
                     std::to_string(shape.heads));
  }
  shape.batch = args.getInt("--batch", 1, 1, 1 << 16);
  PlanOptions plan;
  plan.head_dim = static_cast<int>(args.getInt("--head-dim", 128, 1, 1024));
  plan.dtype = parseDType(args.getOr("--dtype", "bf16"));
  runtime::TuneOptions options;
  options.iterations = static_cast<int>(args.getInt("--iters", 20, 1, 100000));
  options.compile_threads = static_cast<int>(args.getInt("--threads", 0, 0, 256));
  options.check_seq_len = args.getInt("--check-seq-len", 0, 1, int64_t{1} << 29);
  if (args.has("--check-layout")) {
    if (!args.has("--check-seq-len")) throw UsageError("--check-layout: needs --check-seq-len");
    options.check_layout = *readLayoutOption(args, "--check-layout");
  }
  const std::string db_path = args.get("--db").value_or(env::tuningDbPath());
  const std::string driver = args.get("--driver").value_or("libcuda.so.1");

  // The GPU question first, before reading anything large: tuning means timing on a device.
  if (std::string reason = Runtime::deviceUnavailableReason(driver); !reason.empty()) {
    std::fprintf(stderr,
                 "permjit tune: needs a CUDA GPU: it times every candidate kernel on the device, "
                 "and none is usable here (%s). Tune on the GPU machine, then copy the database "
                 "(%s) or point PERMJIT_TUNING_DB at it.\n",
                 reason.c_str(), db_path.c_str());
    return 1;
  }

  PatternFile file = loadPatternFile(args.positional()[0]);
  if (std::optional<Layout> layout = readLayoutOption(args)) {
    shape.layout = *layout;
  } else if (file.layout) {
    shape.layout = *file.layout;
  }
  if (!file.name.empty()) plan.name = file.name;
  plan.layout = shape.layout;
  plan.seq_len = shape.seq_len;

  RuntimeOptions runtime_options;
  runtime_options.driver_library = driver;
  Runtime runtime(runtime_options);
  std::fprintf(stderr, "permjit tune: %s on %s (%s), seq_len %lld (bucket %lld), heads %lld\n",
               plan.name.c_str(), runtime.deviceName().c_str(), runtime.arch().c_str(),
               static_cast<long long>(shape.seq_len),
               static_cast<long long>(runtime::seqBucket(shape.seq_len)),
               static_cast<long long>(shape.heads));
  runtime::TuneResult result = runtime::autotune(runtime, file.pattern, plan, shape, options);
  std::printf("%s", runtime::summaryTable(result).c_str());
  if (args.has("--dry-run")) {
    std::printf("not stored (--dry-run)\n");
    return 0;
  }
  std::vector<std::string> warnings;
  runtime::TuningDb::update(db_path, result.entry(), &warnings);
  for (const auto& warning : warnings)
    std::fprintf(stderr, "permjit: warning: %s\n", warning.c_str());
  std::printf("stored in %s for %s\n", db_path.c_str(), result.key.str().c_str());
  return 0;
}

}  // namespace permjit::cli
