// permjit tune: autotune the tile configuration and pass split of one pattern's shape class on
// this GPU and store the winner in the tuning database (docs/tuning.md).
#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "permjit/dsl/Env.h"
#include "permjit/dsl/Json.h"
#include "permjit/permjit.h"
#include "permjit/runtime/Autotuner.h"
#include "permjit/runtime/TuningDb.h"

namespace permjit::cli {
namespace {

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
    "usage.\n";

struct Usage {
  std::string message;
};

class TuneArgs {
 public:
  TuneArgs(int argc, char** argv) {
    const std::vector<std::string> valued = {
        "--seq-len",  "--heads",   "--kv-heads", "--batch",         "--layout",
        "--head-dim", "--dtype",   "--iters",    "--check-seq-len", "--check-layout",
        "--db",       "--threads", "--driver"};
    for (int i = 1; i < argc; ++i) {
      std::string arg = argv[i];
      if (arg == "--dry-run") {
        values_[arg] = "1";
        continue;
      }
      if (arg.size() < 2 || arg[0] != '-') {
        positional_.push_back(arg);
        continue;
      }
      std::string name = arg, value;
      bool inline_value = false;
      if (auto eq = arg.find('='); eq != std::string::npos) {
        name = arg.substr(0, eq);
        value = arg.substr(eq + 1);
        inline_value = true;
      }
      bool known = false;
      for (const auto& option : valued) known = known || option == name;
      if (!known) {
        std::string allowed;
        for (const auto& option : valued) allowed += " " + option;
        throw Usage{"unknown option '" + name + "'; allowed:" + allowed + " --dry-run"};
      }
      if (!inline_value) {
        if (i + 1 >= argc) throw Usage{name + ": missing value"};
        value = argv[++i];
      }
      if (values_.count(name)) throw Usage{name + ": given twice"};
      values_[name] = value;
    }
  }
  const std::vector<std::string>& positional() const { return positional_; }
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  std::optional<std::string> get(const std::string& name) const {
    auto found = values_.find(name);
    if (found == values_.end()) return std::nullopt;
    return found->second;
  }
  int64_t getInt(const std::string& name, int64_t fallback, int64_t min, int64_t max) const {
    auto text = get(name);
    if (!text) return fallback;
    int64_t value = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
    if (ec != std::errc() || end != text->data() + text->size()) {
      throw Usage{name + ": '" + *text + "' is not an integer"};
    }
    if (value < min || value > max) {
      throw Usage{name + ": " + *text + " is out of range; allowed: " + std::to_string(min) + ".." +
                  std::to_string(max)};
    }
    return value;
  }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> positional_;
};

Layout readLayout(const std::string& option, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Usage{option + ": cannot read '" + path + "'"};
  nlohmann::json json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) throw Usage{option + ": '" + path + "' is not JSON"};
  // A bare layout object, or a pattern file whose "layout" is used.
  return json.contains("layout") ? layoutFromJson(json["layout"]) : layoutFromJson(json);
}

int tune(int argc, char** argv) {
  TuneArgs args(argc, argv);
  if (args.positional().size() != 1) {
    throw Usage{"expected exactly one PATTERN.json, got " +
                std::to_string(args.positional().size()) + " positional arguments"};
  }
  if (!args.has("--seq-len")) throw Usage{"--seq-len: required"};
  runtime::TuneShape shape;
  shape.seq_len = args.getInt("--seq-len", 0, 1, int64_t{1} << 29);
  shape.heads = args.getInt("--heads", 8, 1, 1 << 16);
  shape.kv_heads = args.getInt("--kv-heads", shape.heads, 1, shape.heads);
  if (shape.heads % shape.kv_heads != 0) {
    throw Usage{"--kv-heads: " + std::to_string(shape.kv_heads) + " does not divide --heads " +
                std::to_string(shape.heads)};
  }
  shape.batch = args.getInt("--batch", 1, 1, 1 << 16);
  PlanOptions plan;
  plan.head_dim = static_cast<int>(args.getInt("--head-dim", 128, 1, 1024));
  std::string dtype = args.get("--dtype").value_or("bf16");
  if (dtype == "bf16") {
    plan.dtype = DType::kBF16;
  } else if (dtype == "fp16") {
    plan.dtype = DType::kFP16;
  } else {
    throw Usage{"--dtype: '" + dtype + "'; allowed: bf16, fp16"};
  }
  runtime::TuneOptions options;
  options.iterations = static_cast<int>(args.getInt("--iters", 20, 1, 100000));
  options.compile_threads = static_cast<int>(args.getInt("--threads", 0, 0, 256));
  options.check_seq_len = args.getInt("--check-seq-len", 0, 1, int64_t{1} << 29);
  if (auto path = args.get("--check-layout")) {
    if (!args.has("--check-seq-len")) throw Usage{"--check-layout: needs --check-seq-len"};
    options.check_layout = readLayout("--check-layout", *path);
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
  if (auto path = args.get("--layout")) {
    shape.layout = readLayout("--layout", *path);
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

}  // namespace

// argv[0] is "tune". Handles its own errors: usage problems exit 2, no GPU or a failure 1.
int runTuneCommand(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::printf("%s", kTuneUsage);
      return 0;
    }
  }
  try {
    return tune(argc, argv);
  } catch (const Usage& usage) {
    std::fprintf(stderr, "permjit tune: %s\n%s", usage.message.c_str(), kTuneUsage);
    return 2;
  } catch (const Error& error) {
    ErrorCategory category = error.category();
    bool bad_input = category == ErrorCategory::kInvalidPattern ||
                     category == ErrorCategory::kInvalidArgument ||
                     category == ErrorCategory::kUnsupported || category == ErrorCategory::kIo;
    std::fprintf(stderr, "permjit tune: %s: %s\n", errorCategoryName(category), error.what());
    return bad_input ? 2 : 1;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "permjit tune: internal error: %s\n", error.what());
    return 1;
  }
}

}  // namespace permjit::cli
