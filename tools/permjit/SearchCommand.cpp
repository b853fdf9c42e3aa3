// `permjit search`: the offline head-pattern search over captured Q/K .npy files.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

#include "Cli.h"
#include "permjit/dsl/Files.h"
#include "permjit/dsl/Json.h"
#include "permjit/dsl/JsonReader.h"
#include "permjit/patterns/GpuSearch.h"
#include "permjit/patterns/HeadTypes.h"
#include "permjit/patterns/Npy.h"
#include "permjit/patterns/Safetensors.h"
#include "permjit/patterns/Search.h"

namespace permjit::cli {

using namespace permjit::patterns;
namespace fs = std::filesystem;

const char* const kSearchUsage =
    R"(usage: permjit search (--q Q.npy --k K.npy [--q Q2.npy --k K2.npy ...] [--layer N]
                       | --capture DIR [--layers 0,3,5])
                      [--device cpu|gpu] [--dtype fp16|bf16]
                      [--recall-budget 0.95] [--min-gain 0.01] [--scale X]
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
  --capture DIR       every layer of a capture (python/permjit/transformers.py capture_qk:
                      DIR/capture.json, DIR/layer_<L>/q_<N>.npy and k_<N>.npy, DIR/layout_<N>.json;
                      without capture.json the layer_<L> folders are read), or of one
                      .safetensors file (tensors layer_<L>/q_<N> and layer_<L>/k_<N>, F32, F16 or
                      BF16; metadata layout_<N>: input N's layout JSON), searched layer by
                      layer into one config; each input keeps its captured layout (the config's
                      layout rule is then "request") unless --prefix/--suffix/--layout are given
  --layers L,...      only these layers of the capture
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
Progress goes to stderr: per layer the search's stages, a table of every head's choice (with the
best sparse candidate beside a head that stays dense), and a bar with the time left. Should a
layer fail or the config not be written, the layers searched so far go to
PATH.search-results.json. Exit codes: 0 ok, 2 bad arguments or input, 1 other failures.
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

// One layer's calibration inputs: .npy pairs and, from a capture, each input's layout file.
struct LayerFiles {
  int64_t layer = 0;
  std::vector<std::string> q, k;  // .npy paths, or tensor names of `safetensors`
  // Per input: (where, layout JSON) from the capture; nullopt: the layout rules.
  std::vector<std::optional<std::pair<std::string, std::string>>> layouts;
  std::shared_ptr<const SafetensorsHeader> safetensors;  // null: .npy files
};

// A capture in one safetensors file: tensors "layer_<L>/q_<N>" and "layer_<L>/k_<N>", [H, S, D]
// or [S, D]; metadata "layout_<N>" holds input N's layout JSON.
std::vector<LayerFiles> readSafetensorsCapture(const std::string& path) {
  auto header = std::make_shared<const SafetensorsHeader>(readSafetensorsHeader(path));
  std::map<int64_t, LayerFiles> layers;
  for (const auto& [name, info] : header->tensors) {
    const size_t slash = name.find('/');
    if (name.rfind("layer_", 0) != 0 || slash == std::string::npos) {
      throw Error(
          ErrorCategory::kIo,
          fmt::format("{}: tensor '{}'; allowed: layer_<L>/q_<N> and layer_<L>/k_<N>", path, name));
    }
    int64_t layer = 0;
    try {
      size_t used = 0;
      layer = std::stoll(name.substr(6, slash - 6), &used);
      if (used != slash - 6) throw std::invalid_argument(name);
    } catch (const std::exception&) {
      throw Error(ErrorCategory::kIo, fmt::format("{}: tensor '{}': no layer number", path, name));
    }
    const std::string file = name.substr(slash + 1);
    if (file.rfind("q_", 0) != 0) {
      if (file.rfind("k_", 0) != 0) {
        throw Error(ErrorCategory::kIo,
                    fmt::format("{}: tensor '{}'; allowed: layer_<L>/q_<N> and layer_<L>/k_<N>",
                                path, name));
      }
      const std::string q = name.substr(0, slash + 1) + "q_" + file.substr(2);
      if (header->tensors.count(q) == 0) {
        throw Error(ErrorCategory::kIo, fmt::format("{}: tensor '{}' has no '{}'", path, name, q));
      }
      continue;  // found through its q
    }
    const std::string k = name.substr(0, slash + 1) + "k_" + file.substr(2);
    if (header->tensors.count(k) == 0) {
      throw Error(ErrorCategory::kIo, fmt::format("{}: tensor '{}' has no '{}'", path, name, k));
    }
    LayerFiles& files = layers[layer];
    files.layer = layer;
    files.safetensors = header;
    files.q.push_back(name);
    files.k.push_back(k);
    const auto layout = header->metadata.find("layout_" + file.substr(2));
    if (layout != header->metadata.end()) {
      files.layouts.emplace_back(
          std::pair{fmt::format("{}: __metadata__.{}", path, layout->first), layout->second});
    } else {
      files.layouts.emplace_back(std::nullopt);
    }
  }
  std::vector<LayerFiles> out;
  for (auto& [layer, files] : layers) out.push_back(std::move(files));
  return out;
}

std::string joinPath(const fs::path& dir, const std::string& name) { return (dir / name).string(); }

// The input index N of a capture file ".../q_NNNN.npy".
int64_t captureIndex(const std::string& name, const std::string& where) {
  const std::string stem = fs::path(name).stem().string();
  const size_t underscore = stem.rfind('_');
  if (underscore == std::string::npos || underscore + 1 == stem.size() ||
      stem.find_first_not_of("0123456789", underscore + 1) != std::string::npos) {
    throw Error(ErrorCategory::kIo,
                fmt::format("{}: '{}' is not a capture file name; expected q_<N>.npy or "
                            "k_<N>.npy",
                            where, name));
  }
  return std::stoll(stem.substr(underscore + 1));
}

// A capture directory (python/permjit/transformers.py Capture): capture.json names every
// layer's q/k files and each input's layout file; without it, every layer_<L>/q_<N>.npy with
// its k_<N>.npy. `only`: the layers to search (empty: all).
std::vector<LayerFiles> readCapture(const std::string& dir, const std::vector<int64_t>& only) {
  const fs::path root(dir);
  if (!fs::is_directory(root) && !fs::is_regular_file(root)) {
    throw Error(ErrorCategory::kIo,
                fmt::format("--capture {}: neither a directory nor a safetensors file", dir));
  }
  std::vector<LayerFiles> layers;
  const fs::path manifest_path = root / "capture.json";
  auto layoutText = [](const std::string& path) {
    return std::optional<std::pair<std::string, std::string>>(std::pair{path, readText(path)});
  };
  if (fs::is_regular_file(root)) {
    layers = readSafetensorsCapture(dir);
  } else if (fs::exists(manifest_path)) {
    const std::string where = manifest_path.string();
    const nlohmann::json manifest = json_io::parseStrict(readText(where), where);
    auto fail = [&](const std::string& what) {
      return Error(ErrorCategory::kIo, fmt::format("{}: {}", where, what));
    };
    if (!manifest.is_object() || !manifest.contains("layers") || !manifest["layers"].is_object() ||
        !manifest.contains("inputs") || !manifest["inputs"].is_array()) {
      throw fail("expected an object with \"inputs\" (array) and \"layers\" (object)");
    }
    const nlohmann::json& inputs = manifest["inputs"];
    for (const auto& [key, value] : manifest["layers"].items()) {
      LayerFiles files;
      try {
        files.layer = std::stoll(key);
      } catch (const std::exception&) {
        throw fail(fmt::format("layers.{}: not a layer number", key));
      }
      if (!value.is_object() || !value.contains("q") || !value.contains("k") ||
          !value["q"].is_array() || !value["k"].is_array() ||
          value["q"].size() != value["k"].size() || value["q"].empty()) {
        throw fail(
            fmt::format("layers.{}: expected \"q\" and \"k\", lists of the same length", key));
      }
      for (size_t i = 0; i < value["q"].size(); ++i) {
        if (!value["q"][i].is_string() || !value["k"][i].is_string()) {
          throw fail(fmt::format("layers.{}.q[{}]/k[{}]: expected file names", key, i, i));
        }
        const std::string q = value["q"][i], k = value["k"][i];
        const int64_t index = captureIndex(q, where);
        if (index != captureIndex(k, where)) {
          throw fail(fmt::format("layers.{}: {} and {} are different inputs", key, q, k));
        }
        if (index < 0 || index >= static_cast<int64_t>(inputs.size()) ||
            !inputs[index].is_object()) {
          throw fail(fmt::format("layers.{}: {} is input {}; inputs has {}", key, q, index,
                                 inputs.size()));
        }
        const nlohmann::json layout = inputs[index].value("layout", nlohmann::json());
        files.q.push_back(joinPath(root, q));
        files.k.push_back(joinPath(root, k));
        files.layouts.push_back(layout.is_string()
                                    ? layoutText(joinPath(root, layout.get<std::string>()))
                                    : std::nullopt);
      }
      layers.push_back(std::move(files));
    }
  } else {
    for (const fs::directory_entry& entry : fs::directory_iterator(root)) {
      const std::string name = entry.path().filename().string();
      if (!entry.is_directory() || name.rfind("layer_", 0) != 0) continue;
      LayerFiles files;
      try {
        files.layer = std::stoll(name.substr(6));
      } catch (const std::exception&) {
        continue;
      }
      std::vector<std::string> q_names;
      for (const fs::directory_entry& file : fs::directory_iterator(entry.path())) {
        const std::string f = file.path().filename().string();
        if (file.path().extension() != ".npy") continue;
        if (f.rfind("q_", 0) == 0) q_names.push_back(f);
        if (f.rfind("k_", 0) == 0 && !fs::exists(entry.path() / ("q_" + f.substr(2)))) {
          throw Error(ErrorCategory::kIo, fmt::format("{}: {} has no q_{} beside it",
                                                      entry.path().string(), f, f.substr(2)));
        }
      }
      std::sort(q_names.begin(), q_names.end());
      for (const std::string& q : q_names) {
        const std::string k = "k_" + q.substr(2);
        if (!fs::exists(entry.path() / k)) {
          throw Error(ErrorCategory::kIo,
                      fmt::format("{}: {} has no {} beside it", entry.path().string(), q, k));
        }
        files.q.push_back((entry.path() / q).string());
        files.k.push_back((entry.path() / k).string());
        const fs::path layout =
            root / fmt::format("layout_{}.json", fs::path(q).stem().string().substr(2));
        files.layouts.push_back(fs::exists(layout) ? layoutText(layout.string()) : std::nullopt);
      }
      if (!files.q.empty()) layers.push_back(std::move(files));
    }
  }
  std::sort(layers.begin(), layers.end(),
            [](const LayerFiles& a, const LayerFiles& b) { return a.layer < b.layer; });
  if (!only.empty()) {
    std::vector<LayerFiles> kept;
    for (int64_t layer : only) {
      auto found = std::find_if(layers.begin(), layers.end(),
                                [&](const LayerFiles& l) { return l.layer == layer; });
      if (found == layers.end()) {
        throw Error(ErrorCategory::kIo,
                    fmt::format("--layers: layer {} is not in the capture {}", layer, dir));
      }
      kept.push_back(*found);
    }
    layers = std::move(kept);
  }
  if (layers.empty()) {
    throw Error(ErrorCategory::kIo, fmt::format("--capture {}: no captured layers", dir));
  }
  return layers;
}

// A NaN or Inf makes every recall NaN: refused naming the file and the element.
void checkFinite(const NpyArray& array, const std::string& path) {
  for (size_t i = 0; i < array.data.size(); ++i) {
    if (!std::isfinite(array.data[i])) {
      throw Error(
          ErrorCategory::kInvalidArgument,
          fmt::format("{}: element {} is {}; allowed: finite values only", path, i, array.data[i]));
    }
  }
}

// A capture tensor as [H, S, D]: [S, D] is one head.
NpyArray headsOf(NpyArray a, const std::string& where) {
  if (a.shape.size() == 2) a.shape.insert(a.shape.begin(), 1);
  if (a.shape.size() != 3 || a.shape[0] < 1 || a.shape[1] < 1 || a.shape[2] < 1) {
    throw Error(ErrorCategory::kIo,
                fmt::format("{}: shape of rank {}; expected [S, D] (one head) or [H, S, D], every "
                            "dimension >= 1",
                            where, a.shape.size()));
  }
  return a;
}

// One layer's tensors read and checked: shapes agree between q and k, across the layer's inputs
// and with the first layer searched (heads, kv_heads, head_dim).
struct LayerInputs {
  std::vector<NpyArray> qs, ks;
  std::vector<CalibrationInput> inputs;
};

LayerInputs readLayer(const LayerFiles& files, const LayoutRules& rules, bool rules_given,
                      const CalibrationInput* first_layer) {
  LayerInputs out;
  for (size_t i = 0; i < files.q.size(); ++i) {
    const std::string q_file =
        files.safetensors ? files.safetensors->path + ": " + files.q[i] : files.q[i];
    const std::string k_file =
        files.safetensors ? files.safetensors->path + ": " + files.k[i] : files.k[i];
    if (files.safetensors) {
      out.qs.push_back(headsOf(readSafetensor(*files.safetensors, files.q[i]), q_file));
      out.ks.push_back(headsOf(readSafetensor(*files.safetensors, files.k[i]), k_file));
    } else {
      out.qs.push_back(readHeadsNpy(q_file, "q"));
      out.ks.push_back(readHeadsNpy(k_file, "k"));
    }
    const NpyArray& q = out.qs.back();
    const NpyArray& k = out.ks.back();
    if (k.shape[1] != q.shape[1] || k.shape[2] != q.shape[2]) {
      throw Error(ErrorCategory::kIo,
                  fmt::format("{}: K shape [{}, {}, {}] does not match {}'s Q shape [{}, {}, {}]; "
                              "expected the same S and D",
                              k_file, k.shape[0], k.shape[1], k.shape[2], q_file, q.shape[0],
                              q.shape[1], q.shape[2]));
    }
    if (q.shape[0] % k.shape[0] != 0) {
      throw Error(ErrorCategory::kIo, fmt::format("{}: {} K heads do not divide {}'s {} Q heads",
                                                  k_file, k.shape[0], q_file, q.shape[0]));
    }
    const CalibrationInput* reference = first_layer != nullptr ? first_layer
                                        : out.inputs.empty()   ? nullptr
                                                               : &out.inputs.front();
    if (reference != nullptr &&
        (q.shape[0] != reference->heads || k.shape[0] != reference->kv_heads ||
         q.shape[2] != reference->head_dim)) {
      throw Error(ErrorCategory::kIo,
                  fmt::format("{}: {} heads, {} kv heads, head_dim {}; the {} has {}, {}, {} "
                              "(they must agree across inputs and layers)",
                              q_file, q.shape[0], k.shape[0], q.shape[2],
                              first_layer != nullptr ? "first layer searched" : "layer's input 0",
                              reference->heads, reference->kv_heads, reference->head_dim));
    }
    checkFinite(q, q_file);
    checkFinite(k, k_file);
    CalibrationInput in;
    in.q = q.data.data();
    in.k = k.data.data();
    in.heads = q.shape[0];
    in.kv_heads = k.shape[0];
    in.seq_len = q.shape[1];
    in.head_dim = q.shape[2];
    if (files.layouts[i] && !rules_given) {
      const std::string& path = files.layouts[i]->first;
      in.layout = layoutFromJson(json_io::parseStrict(files.layouts[i]->second, path));
      try {
        in.layout.validate(in.seq_len);
      } catch (const Error& e) {
        throw Error(ErrorCategory::kIo, fmt::format("{}: {} (input of {} tokens, {})", path,
                                                    e.what(), in.seq_len, q_file));
      }
    } else {
      in.layout = layoutFor(rules, in.seq_len);
    }
    out.inputs.push_back(std::move(in));
  }
  return out;
}

std::string duration(double seconds) {
  const int64_t s = static_cast<int64_t>(std::lround(seconds));
  return s >= 60 ? fmt::format("{}m{:02}s", s / 60, s % 60) : fmt::format("{}s", s);
}

}  // namespace

int searchCommand(const std::vector<std::string>& argv) {
  Args args(
      argv,
      {"--layer", "--recall-budget", "--min-gain", "--scale", "--prefix", "--suffix", "--layout",
       "--candidates", "--model", "-o", "--output", "--device", "--dtype", "--capture", "--layers"},
      {"--merge"}, {"--q", "--k"});
  if (!args.positional().empty()) {
    throw UsageError(fmt::format("unexpected argument '{}'", args.positional()[0]));
  }
  const std::vector<std::string> q_files = args.all("--q"), k_files = args.all("--k");
  const bool capture = args.has("--capture");
  if (capture && (!q_files.empty() || !k_files.empty() || args.has("--layer"))) {
    throw UsageError("--capture: cannot be combined with --q/--k/--layer (use --layers)");
  }
  if (!capture && args.has("--layers")) throw UsageError("--layers: only with --capture");
  if (!capture && q_files.empty()) {
    throw UsageError("--q: missing; give at least one --q/--k pair, or --capture DIR");
  }
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
  std::vector<int64_t> only_layers;
  if (args.has("--layers")) {
    std::stringstream list(*args.get("--layers"));
    for (std::string item; std::getline(list, item, ',');) {
      try {
        size_t used = 0;
        only_layers.push_back(std::stoll(item, &used));
        if (used != item.size() || only_layers.back() < 0) throw std::invalid_argument(item);
      } catch (const std::exception&) {
        throw UsageError(
            fmt::format("--layers: '{}' is not a layer number; allowed: a comma "
                        "list such as 0,3,5",
                        item));
      }
    }
  }
  const bool rules_given = args.has("--layout") || args.has("--prefix") || args.has("--suffix");
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

  std::vector<LayerFiles> layers;
  if (capture) {
    layers = readCapture(*args.get("--capture"), only_layers);
  } else {
    LayerFiles files;
    files.layer = args.getInt("--layer", 0, 0, 1 << 20);
    files.q = q_files;
    files.k = k_files;
    files.layouts.assign(q_files.size(), std::nullopt);
    layers.push_back(std::move(files));
  }
  // A capture's inputs carry their own layouts (the config's rule is then "request") unless
  // --prefix/--suffix/--layout give one for all.
  const bool request_layouts =
      capture && !rules_given && std::all_of(layers.begin(), layers.end(), [](const LayerFiles& l) {
        return std::all_of(l.layouts.begin(), l.layouts.end(),
                           [](const auto& f) { return f.has_value(); });
      });
  if (capture && !rules_given && !request_layouts) {
    // Some inputs carry a layout and some do not: no one rule fits them all.
    const bool any = std::any_of(layers.begin(), layers.end(), [](const LayerFiles& f) {
      return std::any_of(f.layouts.begin(), f.layouts.end(),
                         [](const auto& layout) { return layout.has_value(); });
    });
    for (const LayerFiles& l : layers) {
      for (size_t i = 0; any && i < l.q.size(); ++i) {
        if (l.layouts[i]) continue;
        throw Error(ErrorCategory::kIo,
                    fmt::format("--capture: {} has no layout while other inputs have one; give "
                                "every input a layout, or one rule for all with "
                                "--prefix/--suffix/--layout",
                                l.q[i]));
      }
    }
  }
  LayoutRules config_rules = rules;
  if (request_layouts) config_rules.kind = LayoutRules::Kind::kRequest;

  // Everything that can be refused without the search is refused before it: the search is
  // the expensive part. The first layer is read now (its shapes fix the config's).
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
  std::cerr << fmt::format("[search] reading layer {} ({} input(s))\n", layers[0].layer,
                           layers[0].q.size());
  std::optional<LayerInputs> current = readLayer(layers[0], rules, !request_layouts, nullptr);
  const CalibrationInput first = current->inputs[0];
  const std::optional<std::string> model_option = args.get("--model");
  const int64_t num_heads = first.heads, seq_len = first.seq_len;
  const int64_t num_inputs = static_cast<int64_t>(current->inputs.size());
  const SearchInfo info{options.recall_budget, options.min_gain, seq_len, num_inputs};
  std::optional<ModelConfig> merge_into;
  if (args.has("--merge") && fs::exists(output)) {
    merge_into = loadModelConfig(output);
    checkMergeable(*merge_into, output, model_option, num_heads, layers[0].q[0], config_rules,
                   info);
  }
  const std::string model = model_option.value_or(merge_into ? merge_into->model : "unnamed");

  std::unique_ptr<Runtime> runtime;
  if (device == "gpu") runtime = std::make_unique<Runtime>();  // after every check above
  std::vector<std::pair<int64_t, std::vector<HeadSearchResult>>> searched;
  // Whatever fails after a layer was searched, the searched layers are not lost: they go to a
  // file beside the output.
  auto keepResults = [&](const Error& error) -> Error {
    if (searched.empty()) return error;
    const std::string kept = output + ".search-results.json";
    nlohmann::json all = nlohmann::json::array();
    for (const auto& [layer, results] : searched) {
      all.push_back(searchResultsJson(results, model, layer));
    }
    std::string where;
    try {
      writeFileAtomically(kept, (all.size() == 1 ? all[0] : all).dump(2) + "\n", "search results");
      where = "the search results are kept in " + kept;
    } catch (const Error& also) {
      std::cerr << all.dump(2) << "\n";
      where = fmt::format("the search results are printed above ({})", also.what());
    }
    return Error(error.category(), fmt::format("{}; {}", error.what(), where));
  };
  const auto start = std::chrono::steady_clock::now();
  for (size_t l = 0; l < layers.size(); ++l) {
    try {
      if (!current) {
        std::cerr << fmt::format("[search] reading layer {} ({} input(s))\n", layers[l].layer,
                                 layers[l].q.size());
        current = readLayer(layers[l], rules, !request_layouts, &first);
      }
      std::vector<HeadSearchResult> results =
          runtime ? searchHeadsGpu(*runtime, current->inputs, options, gpu)
                  : searchHeads(current->inputs, options);
      current.reset();
      printSummary(results, layers[l].layer);
      searched.emplace_back(layers[l].layer, std::move(results));
    } catch (const Error& error) {
      throw keepResults(
          Error(error.category(), fmt::format("layer {}: {}", layers[l].layer, error.what())));
    } catch (const std::exception& other) {  // out of host memory, threads, the file system
      throw keepResults(Error(ErrorCategory::kInternal,
                              fmt::format("layer {}: {}", layers[l].layer, other.what())));
    }
    // The progress bar: layers done, time so far, and the time left at this pace.
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const size_t done = l + 1, width = 30;
    const size_t filled = done * width / layers.size();
    std::cerr << fmt::format("[search] [{}{}] layer {} done: {}/{} layers, {} elapsed, ETA {}\n",
                             std::string(filled, '#'), std::string(width - filled, '.'),
                             layers[l].layer, done, layers.size(), duration(elapsed),
                             duration(elapsed / done * (layers.size() - done)));
  }

  // The whole search at a glance: per layer, how many heads of each type, their mean density
  // (the share of causal pairs left to compute) and the lowest recall.
  std::cerr << "[search] summary: layer  heads by chosen type                          mean "
               "density  min recall\n";
  for (const auto& [layer, results] : searched) {
    std::map<std::string, int> by_type;
    double density = 0, min_recall = 1;
    for (const HeadSearchResult& r : results) {
      ++by_type[headTypeName(r.best().head.type)];
      density += r.best().density / double(results.size());
      min_recall = std::min(min_recall, r.best().recall);
    }
    std::string types;
    for (const auto& [type, count] : by_type) {
      types += fmt::format("{}{} {}", types.empty() ? "" : ", ", count, type);
    }
    std::cerr << fmt::format("[search] summary: {:>5}  {:<45} {:>12.4f} {:>11.4f}\n", layer, types,
                             density, min_recall);
  }
  ModelConfig config;
  try {
    for (const auto& [layer, results] : searched) {
      ModelConfig one =
          configFromSearch(results, model, layer, config_rules, options, seq_len, num_inputs);
      if (config.layers.empty()) {
        config = std::move(one);
      } else {
        config.layers.push_back(std::move(one.layers[0]));
      }
    }
    if (merge_into) {
      for (const LayerConfig& layer : config.layers) {
        std::erase_if(merge_into->layers,
                      [&](const LayerConfig& l) { return l.layer == layer.layer; });
        merge_into->layers.push_back(layer);
      }
      std::sort(merge_into->layers.begin(), merge_into->layers.end(),
                [](const LayerConfig& a, const LayerConfig& b) { return a.layer < b.layer; });
      merge_into->search = config.search;
      config = std::move(*merge_into);
    }
    validateModelConfig(config);
    saveModelConfig(config, output);
  } catch (const Error& error) {
    throw keepResults(error);
  } catch (const std::exception& other) {
    throw keepResults(Error(ErrorCategory::kInternal, other.what()));
  }
  // A results file an earlier failed run left beside the output is now stale.
  std::error_code ignored;
  fs::remove(output + ".search-results.json", ignored);
  std::cerr << fmt::format("[search] wrote {} ({} layer(s) searched, {} heads each)\n", output,
                           searched.size(), config.num_heads);
  return 0;
}

}  // namespace permjit::cli
