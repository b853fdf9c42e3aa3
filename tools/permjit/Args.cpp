#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include "Cli.h"
#include "permjit/codegen/CudaSource.h"
#include "permjit/dsl/Files.h"
#include "permjit/dsl/Json.h"
#include "permjit/dsl/JsonReader.h"

namespace permjit::cli {

Args::Args(const std::vector<std::string>& argv, const std::vector<std::string>& valued,
           const std::vector<std::string>& switches, const std::vector<std::string>& repeatable) {
  auto contains = [](const std::vector<std::string>& list, const std::string& name) {
    return std::find(list.begin(), list.end(), name) != list.end();
  };
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg.size() < 2 || arg[0] != '-' || arg == "-") {
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
    if (contains(switches, name)) {
      if (inline_value) throw UsageError(name + ": takes no value");
      values_[name] = {"1"};
    } else if (contains(valued, name) || contains(repeatable, name)) {
      if (!inline_value) {
        if (i + 1 >= argv.size()) throw UsageError(name + ": missing value");
        value = argv[++i];
      }
      if (values_.count(name) && !contains(repeatable, name)) {
        throw UsageError(name + ": given twice");
      }
      values_[name].push_back(value);
    } else {
      std::string allowed;
      for (const auto* list : {&valued, &repeatable, &switches}) {
        for (const auto& option : *list) allowed += " " + option;
      }
      throw UsageError("unknown option '" + name + "'; allowed:" + allowed);
    }
  }
}

std::optional<std::string> Args::get(const std::string& name) const {
  auto found = values_.find(name);
  if (found == values_.end()) return std::nullopt;
  if (found->second.size() > 1) throw UsageError(name + ": given more than once");
  return found->second.front();
}

std::string Args::getOr(const std::string& name, const std::string& fallback) const {
  return get(name).value_or(fallback);
}

std::vector<std::string> Args::all(const std::string& name) const {
  auto found = values_.find(name);
  return found == values_.end() ? std::vector<std::string>{} : found->second;
}

int64_t Args::getInt(const std::string& name, int64_t fallback, int64_t min, int64_t max) const {
  auto text = get(name);
  if (!text) return fallback;
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size()) {
    throw UsageError(name + ": '" + *text + "' is not an integer");
  }
  if (value < min || value > max) {
    throw UsageError(name + ": " + *text + " is out of range; allowed: " + std::to_string(min) +
                     ".." + std::to_string(max));
  }
  return value;
}

double Args::getReal(const std::string& name, double fallback, double min, double max) const {
  auto text = get(name);
  if (!text) return fallback;
  double value = 0;
  auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc() || end != text->data() + text->size()) {
    throw UsageError(name + ": '" + *text + "' is not a number");
  }
  // Written so that NaN is out of range too.
  if (!(value >= min && value <= max)) {
    throw UsageError(
        fmt::format("{}: {} is out of range; allowed: [{}, {}]", name, *text, min, max));
  }
  return value;
}

const std::vector<std::string> kPatternOptions = {"--seq-len", "--layout", "--head-dim", "--dtype",
                                                  "--arch",    "--tile",   "--passes"};

DType parseDType(const std::string& text) {
  if (text == "bf16") return DType::kBF16;
  if (text == "fp16") return DType::kFP16;
  throw UsageError("--dtype: '" + text + "'; allowed: bf16, fp16");
}

std::optional<Layout> readLayoutOption(const Args& args, const std::string& option) {
  auto path = args.get(option);
  if (!path) return std::nullopt;
  // A layout file: a bare layout object, or a pattern file whose "layout" is used.
  std::string text;
  nlohmann::json json;
  try {
    text = readRegularFile(*path, "layout file");
    json = json_io::parseStrict(text, *path);
  } catch (const Error& error) {
    throw UsageError(option + ": " + error.what());
  }
  return json.contains("layout") ? layoutFromJson(json["layout"]) : layoutFromJson(json);
}

std::string targetArch(const Args& args) {
  if (auto arch = args.get("--arch")) return *arch;
  if (Runtime::deviceUnavailableReason().empty()) {
    RuntimeOptions options;
    options.disable_cache = true;
    return Runtime(options).arch();
  }
  return "sm_90a";
}

TileConfig defaultPlanTile(const Args& args, int head_dim) {
  RuntimeOptions options;
  options.host_only = true;
  options.disable_cache = true;
  options.arch = targetArch(args);
  return defaultTile(Runtime(options).kernelFamily(), head_dim);
}

PlanOptions readPlanOptions(const Args& args) {
  PlanOptions plan;
  plan.head_dim = static_cast<int>(args.getInt("--head-dim", 128, 1, 1024));
  plan.dtype = parseDType(args.getOr("--dtype", "bf16"));
  if (auto tile = args.get("--tile")) {
    TileConfig config;
    char x1, x2, x3;
    std::istringstream in(*tile);
    if (!(in >> config.block_m >> x1 >> config.block_n >> x2 >> config.warps >> x3 >>
          config.stages) ||
        x1 != 'x' || x2 != 'x' || x3 != 'x' || !in.eof()) {
      throw UsageError("--tile: '" + *tile +
                       "'; allowed: BLOCK_MxBLOCK_NxWARPSxSTAGES, e.g. 128x64x4x2");
    }
    plan.tile = config;
  }
  std::string passes = args.getOr("--passes", "auto");
  if (passes == "auto") {
    plan.pass_split = PassSplit::kAuto;
  } else if (passes == "single") {
    plan.pass_split = PassSplit::kSingle;
  } else if (passes == "lines") {
    plan.pass_split = PassSplit::kSplitLines;
  } else {
    throw UsageError("--passes: '" + passes + "'; allowed: auto, single, lines");
  }
  return plan;
}

PatternInput readPatternInput(const Args& args, bool need_seq_len) {
  if (args.positional().size() != 1) {
    throw UsageError("expected exactly one PATTERN.json, got " +
                     std::to_string(args.positional().size()) + " positional arguments");
  }
  PatternInput input;
  input.file = loadPatternFile(args.positional()[0]);
  if (need_seq_len && !args.has("--seq-len")) throw UsageError("--seq-len: required");
  input.seq_len = args.getInt("--seq-len", 0, 1, (int64_t{1} << 29));
  if (std::optional<Layout> layout = readLayoutOption(args)) {
    input.layout = *layout;
  } else if (input.file.layout) {
    input.layout = *input.file.layout;
  }
  input.plan = readPlanOptions(args);
  if (input.seq_len > 0) {
    input.plan.layout = input.layout;
    input.plan.seq_len = input.seq_len;
  }
  if (!input.file.name.empty()) input.plan.name = input.file.name;
  return input;
}

}  // namespace permjit::cli
