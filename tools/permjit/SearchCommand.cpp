// `permjit search`: the offline head-pattern search over captured Q/K .npy files.
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "Cli.h"
#include "permjit/dsl/Files.h"
#include "permjit/dsl/Json.h"
#include "permjit/patterns/GpuSearch.h"
#include "permjit/patterns/HeadTypes.h"
#include "permjit/patterns/Npy.h"
#include "permjit/patterns/Search.h"

namespace permjit::cli {

using namespace permjit::patterns;
namespace fs = std::filesystem;

const char* const kSearchUsage =
    R"(usage: permjit search --q Q.npy --k K.npy [--q Q2.npy --k K2.npy ...]
                      [--device cpu|gpu] [--dtype fp16|bf16]
                      [--layer N] [--recall-budget 0.95] [--min-gain 0.01] [--scale X]
                      [--prefix N --suffix M | --layout L.json] [--candidates C.json]
                      [--model NAME] [--merge] -o config.json

Offline per-head pattern search on captured calibration tensors.
  --device cpu        float64 on the CPU (default; S up to a few thousand)
  --device gpu        permjit's kernels on GPU 0 (S up to 1M; candidates may include
                      vertical_slash, and the default list adds two): same choice rule
  --dtype             what the GPU search rounds the tensors to (default fp16; bf16 for values
                      beyond float16's range)
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
  --model NAME        model name written into the config (default "unnamed", or the
                      merged file's)
  --merge             add the layer to an existing config at -o instead of replacing the file;
                      its model, num_heads, layout rules and search settings must be this
                      search's (checked before the search runs)
  -o, --output PATH   where to write the model config (docs/model-config.md); should that
                      fail, the search results go to PATH.search-results.json
Progress goes to stderr, then a table of every head's choice. Exit codes: 0 ok, 2 bad
arguments or input, 1 other failures.
)";

namespace {

std::string readText(const std::string& path) { return readRegularFile(path, "file"); }

// The raw outcome of a search (every candidate's score, the chosen one per head), for when the
// config cannot be written: the search's work survives a failure after it.
nlohmann::json searchResultsJson(const std::vector<HeadSearchResult>& results,
                                 const std::string& model, int64_t layer) {
  nlohmann::json heads = nlohmann::json::array();
  for (const HeadSearchResult& r : results) {
    nlohmann::json candidates = nlohmann::json::array();
    for (const CandidateScore& score : r.scores) candidates.push_back(headSpecToJson(score.head));
    heads.push_back({{"head", r.head}, {"chosen", r.chosen}, {"candidates", candidates}});
  }
  return {{"permjit_search_results", 1}, {"model", model}, {"layer", layer}, {"heads", heads}};
}

void writeSearchResults(const std::vector<HeadSearchResult>& results, const std::string& model,
                        int64_t layer, const std::string& path) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error(ErrorCategory::kIo, fmt::format("{}: cannot open for writing", path));
  out << searchResultsJson(results, model, layer).dump(2) << "\n";
  out.close();
  if (!out) throw Error(ErrorCategory::kIo, fmt::format("{}: write failed", path));
}

std::string layoutRulesText(const LayoutRules& rules) {
  ModelConfig probe;
  probe.layout_rules = rules;
  return modelConfigToJson(probe)["layout_rules"].dump();
}

// --merge adds a layer to an existing config: the config's model, head count, layout rules and
// its one search record (it describes every layer) must be this search's.
void checkMergeable(const ModelConfig& existing, const std::string& path,
                    const std::optional<std::string>& model, int64_t num_heads,
                    const std::string& q_file, const LayoutRules& rules, const SearchInfo& info) {
  auto differs = [&](const std::string& what) {
    return Error(ErrorCategory::kInvalidArgument, fmt::format("--merge {}: {}", path, what));
  };
  if (model && *model != existing.model) {
    throw differs(fmt::format("model '{}' differs from this search's '{}' (--model)",
                              existing.model, *model));
  }
  if (existing.num_heads != num_heads) {
    throw differs(fmt::format("num_heads {} differs from this search's {} (the heads of {})",
                              existing.num_heads, num_heads, q_file));
  }
  if (!(existing.layout_rules == rules)) {
    throw differs(
        fmt::format("layout_rules {} differ from this search's {} (--prefix/--suffix "
                    "or --layout)",
                    layoutRulesText(existing.layout_rules), layoutRulesText(rules)));
  }
  if (existing.search) {
    const SearchInfo& e = *existing.search;
    if (e.recall_budget != info.recall_budget) {
      throw differs(fmt::format("search.recall_budget {} differs from this search's {}",
                                e.recall_budget, info.recall_budget));
    }
    if (e.min_gain != info.min_gain) {
      throw differs(fmt::format("search.min_gain {} differs from this search's {}", e.min_gain,
                                info.min_gain));
    }
    if (e.calibration_seq_len != info.calibration_seq_len) {
      throw differs(fmt::format("search.calibration_seq_len {} differs from this search's {}",
                                e.calibration_seq_len, info.calibration_seq_len));
    }
    if (e.calibration_inputs != info.calibration_inputs) {
      throw differs(
          fmt::format("search.calibration_inputs {} differs from this search's {} "
                      "(--q/--k pairs)",
                      e.calibration_inputs, info.calibration_inputs));
    }
  }
}

// Per head: the chosen type, its recall and density, and, where the head stays dense, the best
// sparse candidate (highest recall, then lowest density) and what it would keep.
void printSummary(const std::vector<HeadSearchResult>& results, int64_t layer) {
  std::cerr << fmt::format("[search] layer {}: {:>4}  {:<44} {:>8} {:>8}  {}\n", layer, "head",
                           "chosen", "recall", "density", "best sparse (when dense)");
  for (const HeadSearchResult& r : results) {
    const CandidateScore& chosen = r.best();
    std::string best_sparse;
    if (chosen.dense) {
      const CandidateScore* best = nullptr;
      for (const CandidateScore& s : r.scores) {
        if (s.dense) continue;
        if (best == nullptr || s.recall > best->recall ||
            (s.recall == best->recall && s.density < best->density)) {
          best = &s;
        }
      }
      if (best != nullptr) {
        best_sparse = fmt::format("{} recall {:.4f} density {:.4f}", headSummary(best->head),
                                  best->recall, best->density);
      }
    }
    std::string summary = headSummary(chosen.head);
    if (summary.size() > 44) summary = summary.substr(0, 41) + "...";
    std::cerr << fmt::format("[search] layer {}: {:>4}  {:<44} {:>8.4f} {:>8.4f}  {}\n", layer,
                             r.head, summary, chosen.recall, chosen.density, best_sparse);
  }
}

}  // namespace

int searchCommand(const std::vector<std::string>& argv) {
  Args args(argv,
            {"--layer", "--recall-budget", "--min-gain", "--scale", "--prefix", "--suffix",
             "--layout", "--candidates", "--model", "-o", "--output", "--device", "--dtype"},
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
  const std::string device = args.getOr("--device", "cpu");
  if (device != "cpu" && device != "gpu") {
    throw UsageError(fmt::format("--device: '{}'; allowed: cpu, gpu", device));
  }
  GpuSearchOptions gpu;
  if (args.has("--dtype")) {
    if (device != "gpu") throw UsageError("--dtype: only with --device gpu");
    gpu.dtype = parseDType(*args.get("--dtype"));
  }
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
  const std::optional<std::string> model_option = args.get("--model");
  const int64_t num_heads = inputs[0].heads;
  const int64_t seq_len = inputs[0].seq_len, num_inputs = static_cast<int64_t>(inputs.size());
  const SearchInfo info{options.recall_budget, options.min_gain, seq_len, num_inputs};
  // Everything that can be refused without the search is refused before it: the search is
  // the expensive part.
  const fs::path output_dir = fs::absolute(output).parent_path();
  if (!fs::is_directory(output_dir)) {
    throw Error(ErrorCategory::kIo,
                fmt::format("-o {}: the directory {} does not exist", output, output_dir.string()));
  }
  {
    // A directory the config cannot be written to fails now, not after the search.
    const fs::path probe = output_dir / fmt::format(".permjit-search-probe-{}", ::getpid());
    std::ofstream file(probe);
    if (!file) {
      throw Error(ErrorCategory::kIo, fmt::format("-o {}: the directory {} is not writable", output,
                                                  output_dir.string()));
    }
    file.close();
    fs::remove(probe);
  }
  std::optional<ModelConfig> merge_into;
  if (args.has("--merge") && fs::exists(output)) {
    merge_into = loadModelConfig(output);
    checkMergeable(*merge_into, output, model_option, num_heads, q_files[0], rules, info);
  }
  const std::string model = model_option.value_or(merge_into ? merge_into->model : "unnamed");

  std::vector<HeadSearchResult> results;
  if (device == "gpu") {
    // Made only now: everything above is checked without touching the driver.
    Runtime runtime;
    results = searchHeadsGpu(runtime, inputs, options, gpu);
  } else {
    results = searchHeads(inputs, options);
  }
  printSummary(results, layer);
  ModelConfig config;
  try {
    config = configFromSearch(results, model, layer, rules, options, seq_len, num_inputs);
    if (merge_into) {
      std::erase_if(merge_into->layers, [&](const LayerConfig& l) { return l.layer == layer; });
      merge_into->layers.push_back(config.layers[0]);
      std::sort(merge_into->layers.begin(), merge_into->layers.end(),
                [](const LayerConfig& a, const LayerConfig& b) { return a.layer < b.layer; });
      merge_into->search = config.search;
      config = std::move(*merge_into);
    }
    saveModelConfig(config, output);
  } catch (const Error& error) {
    // Whatever failed, the searched heads are not lost: they go to a file beside the output.
    const std::string kept = output + ".search-results.json";
    std::string where;
    try {
      writeSearchResults(results, model, layer, kept);
      where = "the search results are kept in " + kept;
    } catch (const Error& also) {
      std::cerr << searchResultsJson(results, model, layer).dump(2) << "\n";
      where = fmt::format("the search results are printed above ({})", also.what());
    }
    throw Error(error.category(), fmt::format("{}; {}", error.what(), where));
  }
  std::cerr << fmt::format("[search] wrote {} (layer {}, {} heads)\n", output, layer,
                           config.num_heads);
  return 0;
}

}  // namespace permjit::cli
