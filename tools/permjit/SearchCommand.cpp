// `permjit search`: the offline head-pattern search over captured Q/K .npy files.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "Cli.h"
#include "permjit/dsl/Json.h"
#include "permjit/patterns/HeadTypes.h"
#include "permjit/patterns/Npy.h"
#include "permjit/patterns/Search.h"

namespace permjit::cli {

using namespace permjit::patterns;

const char* const kSearchUsage =
    R"(usage: permjit search --q Q.npy --k K.npy [--q Q2.npy --k K2.npy ...]
                      [--layer N] [--recall-budget 0.95] [--min-gain 0.01] [--scale X]
                      [--prefix N --suffix M | --layout L.json] [--candidates C.json]
                      [--model NAME] [--merge] -o config.json

Offline per-head pattern search on captured calibration tensors (CPU; S up to a few thousand).
  --q, --k            query and key tensors of one calibration input, float32 or float16 .npy,
                      shape [S, D] (one head) or [H, S, D] (K may have fewer heads: GQA).
                      Repeat the pair for several inputs (same H and D).
  --layer N           the layer these heads belong to (default 0)
  --recall-budget B   keep candidates with recall >= B * best recall, in (0, 1] (default 0.95)
  --min-gain G        a costlier candidate must add more than G recall (default 0.01)
  --scale X           softmax scale (default 1/sqrt(D))
  --prefix, --suffix  text tokens before / after the vision span (layout rule
                      text_vision_text; default 0 and 0: the whole sequence is vision)
  --layout L.json     a fixed layout ({"spans": [...]}) instead of prefix/suffix
  --candidates C.json candidate head list (docs/search.md); default: dense, A-shape and
                      tri-shape windows, grid strides 2..32 with searched phases
  --model NAME        model name written into the config (default "unnamed")
  --merge             add the layer to an existing config at -o instead of replacing the file
  -o, --output PATH   where to write the model config (docs/model-config.md)
Progress goes to stderr. Exit codes: 0 ok, 2 bad arguments or input, 1 other failures.
)";

namespace {

std::string readText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCategory::kIo, fmt::format("{}: cannot open", path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

int searchCommand(const std::vector<std::string>& argv) {
  Args args(argv,
            {"--layer", "--recall-budget", "--min-gain", "--scale", "--prefix", "--suffix",
             "--layout", "--candidates", "--model", "-o", "--output"},
            {"--merge"}, {"--q", "--k"});
  if (!args.positional().empty()) {
    throw UsageError(fmt::format("unexpected argument '{}'", args.positional()[0]));
  }
  const std::vector<std::string> q_files = args.all("--q"), k_files = args.all("--k");
  if (q_files.empty()) throw UsageError("--q: missing; give at least one --q/--k pair");
  if (q_files.size() != k_files.size()) {
    throw UsageError(fmt::format("--q/--k: {} --q but {} --k; give them in pairs", q_files.size(),
                                 k_files.size()));
  }
  if (args.has("-o") && args.has("--output")) throw UsageError("-o and --output: give one");
  const std::string output = args.get("-o").value_or(args.getOr("--output", ""));
  if (output.empty()) throw UsageError("-o: missing; where to write the config");
  if (args.has("--layout") && (args.has("--prefix") || args.has("--suffix"))) {
    throw UsageError("--layout: cannot be combined with --prefix/--suffix");
  }
  SearchOptions options;
  options.recall_budget = args.getReal("--recall-budget", 0.95, 1e-9, 1.0);
  options.min_gain = args.getReal("--min-gain", 0.01, 0.0, 0.999);
  options.scale = args.getReal("--scale", 0.0, 1e-30, 1e30);
  const int64_t layer = args.getInt("--layer", 0, 0, 1 << 20);
  LayoutRules rules;
  if (args.has("--layout")) {
    rules.kind = LayoutRules::Kind::kSpans;
    rules.spans = *readLayoutOption(args);
  } else {
    rules.prefix = args.getInt("--prefix", 0, 0, kMaxPositionParam);
    rules.suffix = args.getInt("--suffix", 0, 0, kMaxPositionParam);
  }
  if (args.has("--candidates")) {
    const std::string path = *args.get("--candidates");
    options.candidates = parseCandidates(readText(path), path);
  }
  options.progress = &std::cerr;

  std::vector<NpyArray> qs, ks;
  std::vector<CalibrationInput> inputs;
  for (size_t i = 0; i < q_files.size(); ++i) {
    std::cerr << fmt::format("[search] reading {} and {}\n", q_files[i], k_files[i]);
    qs.push_back(readHeadsNpy(q_files[i], "--q"));
    ks.push_back(readHeadsNpy(k_files[i], "--k"));
    const NpyArray& q = qs.back();
    const NpyArray& k = ks.back();
    if (k.shape[1] != q.shape[1] || k.shape[2] != q.shape[2]) {
      throw Error(ErrorCategory::kIo,
                  fmt::format("{}: K shape [{}, {}, {}] does not match {}'s Q shape [{}, {}, {}]; "
                              "expected the same S and D",
                              k_files[i], k.shape[0], k.shape[1], k.shape[2], q_files[i],
                              q.shape[0], q.shape[1], q.shape[2]));
    }
    if (q.shape[0] % k.shape[0] != 0) {
      throw Error(ErrorCategory::kIo, fmt::format("{}: {} K heads do not divide {}'s {} Q heads",
                                                  k_files[i], k.shape[0], q_files[i], q.shape[0]));
    }
    CalibrationInput in;
    in.q = q.data.data();
    in.k = k.data.data();
    in.heads = q.shape[0];
    in.kv_heads = k.shape[0];
    in.seq_len = q.shape[1];
    in.head_dim = q.shape[2];
    in.layout = layoutFor(rules, in.seq_len);
    inputs.push_back(std::move(in));
  }
  std::vector<HeadSearchResult> results = searchHeads(inputs, options);
  ModelConfig config =
      configFromSearch(results, args.getOr("--model", "unnamed"), layer, rules, options,
                       inputs[0].seq_len, static_cast<int64_t>(inputs.size()));
  if (args.has("--merge") && std::filesystem::exists(output)) {
    ModelConfig existing = loadModelConfig(output);
    if (existing.num_heads != config.num_heads || !(existing.layout_rules == config.layout_rules)) {
      throw Error(ErrorCategory::kInvalidArgument,
                  fmt::format("{}: --merge needs the same num_heads and layout rules; the file "
                              "has num_heads {}, this search {}",
                              output, existing.num_heads, config.num_heads));
    }
    std::erase_if(existing.layers, [&](const LayerConfig& l) { return l.layer == layer; });
    existing.layers.push_back(config.layers[0]);
    std::sort(existing.layers.begin(), existing.layers.end(),
              [](const LayerConfig& a, const LayerConfig& b) { return a.layer < b.layer; });
    existing.search = config.search;
    config = std::move(existing);
  }
  saveModelConfig(config, output);
  std::cerr << fmt::format("[search] wrote {} (layer {}, {} heads)\n", output, layer,
                           config.num_heads);
  return 0;
}

}  // namespace permjit::cli
