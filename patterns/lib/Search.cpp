#include "permjit/patterns/Search.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <tuple>

#include "SearchDetail.h"
#include "permjit/dsl/JsonReader.h"
#include "permjit/dsl/Reference.h"

namespace permjit::patterns {
namespace {

[[noreturn]] void badArgument(const std::string& message) {
  throw Error(ErrorCategory::kInvalidArgument, message);
}

void say(const SearchOptions& options, const std::string& line) {
  if (options.progress != nullptr) *options.progress << "[search] " << line << std::endl;
}

// Causal softmax attention of one head, row-major S x S (zero above the diagonal), computed in
// float64 and stored as float to keep S = 4096 at 64 MiB.
std::vector<float> attentionMap(const CalibrationInput& in, int64_t head, double scale) {
  const int64_t S = in.seq_len, D = in.head_dim;
  const int64_t kv_head = head / (in.heads / in.kv_heads);
  const float* q = in.q + head * S * D;
  const float* k = in.k + kv_head * S * D;
  std::vector<float> probs(S * S, 0.0f);
  std::vector<double> logits(S);
  for (int64_t i = 0; i < S; ++i) {
    double row_max = -INFINITY;
    for (int64_t j = 0; j <= i; ++j) {
      double dot = 0.0;
      for (int64_t d = 0; d < D; ++d) dot += static_cast<double>(q[i * D + d]) * k[j * D + d];
      logits[j] = dot * scale;
      row_max = std::max(row_max, logits[j]);
    }
    double sum = 0.0;
    for (int64_t j = 0; j <= i; ++j) {
      logits[j] = std::exp(logits[j] - row_max);
      sum += logits[j];
    }
    for (int64_t j = 0; j <= i; ++j) probs[i * S + j] = static_cast<float>(logits[j] / sum);
  }
  return probs;
}

// Adds, for every (phase_q, phase_k) of a grid candidate's stride, the recall the grid head
// with those phases reaches on this attention map (the mean over rows of the kept mass):
//   rows that are trailing text or on a horizontal line keep their whole mass (1);
//   the others keep their sink/local mass plus the mass of keys on the vertical line pk
//   outside sink/local (detail::PhaseSums, detail::addPhaseRecalls).
void addPhaseScores(const std::vector<float>& probs, const Layout& layout, int64_t S,
                    const HeadSpec& grid, std::vector<double>& table) {
  const int64_t s = grid.stride;
  const std::vector<int64_t> off = detail::spanOffsets(grid.span, layout, S);
  detail::PhaseSums sums;
  sums.stride = s;
  sums.M.assign((s + 1) * s, 0.0);
  sums.full.assign(s + 1, 0.0);
  std::vector<double> line(s);
  const int64_t first_trailing = S - std::min(grid.trailing_text_rows, S);
  for (int64_t q = 0; q < S; ++q) {
    if (q >= first_trailing) {
      sums.trailing += 1.0;
      continue;
    }
    const float* row = &probs[q * S];
    double base = 0.0;
    std::fill(line.begin(), line.end(), 0.0);
    for (int64_t k = 0; k <= q; ++k) {
      if (k < grid.sink || q - k < grid.local) {
        base += row[k];
      } else if (off[k] >= 0) {
        line[off[k] % s] += row[k];
      }
    }
    const int64_t c = off[q] >= 0 ? off[q] % s : s;
    sums.full[c] += 1.0;
    for (int64_t r = 0; r < s; ++r) sums.M[c * s + r] += base + line[r];
  }
  detail::addPhaseRecalls(sums, double(S), table);
}

struct Score {
  double recall = 0.0;
  double density = 0.0;
};

Score scoreMask(const std::vector<float>& probs, const std::vector<uint8_t>& mask, int64_t S) {
  double kept_mass = 0.0;
  int64_t kept = 0;
  for (int64_t q = 0; q < S; ++q) {
    double row_mass = 0.0;
    for (int64_t k = 0; k < S; ++k) {
      if (mask[q * S + k]) {
        row_mass += probs[q * S + k];
        ++kept;
      }
    }
    kept_mass += row_mass;
  }
  return {
      detail::clampFraction(kept_mass / S),
      detail::clampFraction(static_cast<double>(kept) / (static_cast<double>(S) * (S + 1) / 2))};
}

}  // namespace

std::vector<SearchCandidate> defaultCandidates(const Layout& layout, int64_t S) {
  std::vector<SearchCandidate> out;
  out.push_back({HeadSpec{}, false});  // dense
  const int64_t sink = std::max<int64_t>(4, S / 128);
  std::vector<int64_t> windows;
  for (int64_t div : {32, 16, 8, 4}) {
    int64_t w = std::max<int64_t>(1, S / div);
    if (windows.empty() || windows.back() != w) windows.push_back(w);
  }
  for (int64_t w : windows) {
    HeadSpec h;
    h.type = HeadType::kAShape;
    h.sink = sink;
    h.local = w;
    out.push_back({h, false});
  }
  const std::vector<Span> spans = layout.normalized(S);
  int64_t trailing_text = 0;
  if (!spans.empty() && spans.back().kind == Modality::kText) {
    trailing_text = spans.back().end - spans.back().begin;
  }
  if (trailing_text > 0 && trailing_text < S) {
    for (int64_t w : windows) {
      HeadSpec h;
      h.type = HeadType::kTriShape;
      h.sink = sink;
      h.local = w;
      h.last_q_rows = trailing_text;
      out.push_back({h, false});
    }
  }
  const int64_t vision = layout.countOf(Modality::kVision, S);
  for (int64_t stride = 2; stride <= std::min<int64_t>(32, vision / 2); ++stride) {
    HeadSpec h;
    h.type = HeadType::kGrid;
    h.stride = stride;
    h.sink = sink;
    h.local = windows.front();
    h.trailing_text_rows = trailing_text < S ? trailing_text : 0;
    out.push_back({h, true});
  }
  return out;
}

size_t chooseCandidate(const std::vector<CandidateScore>& scores, double recall_budget,
                       double min_gain) {
  if (scores.empty()) badArgument("scores: need at least one candidate; got none");
  double best = 0.0;
  for (const CandidateScore& s : scores) best = std::max(best, s.recall);
  std::vector<size_t> order(scores.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (scores[a].density != scores[b].density) return scores[a].density < scores[b].density;
    return scores[a].recall > scores[b].recall;
  });
  for (size_t i = 0; i < scores.size(); ++i) {
    if (!std::isfinite(scores[i].recall) || !std::isfinite(scores[i].density)) {
      badArgument(fmt::format("scores[{}]: recall {} density {}; allowed: finite values", i,
                              scores[i].recall, scores[i].density));
    }
  }
  auto eligible = [&](size_t i) { return scores[i].recall >= recall_budget * best; };
  size_t pos = 0;
  while (!eligible(order[pos])) ++pos;  // terminates: the best candidate is eligible
  size_t chosen = order[pos];
  for (size_t i = pos + 1; i < order.size(); ++i) {
    const CandidateScore& s = scores[order[i]];
    if (eligible(order[i]) && !s.dense && s.recall > scores[chosen].recall + min_gain) {
      chosen = order[i];
    }
  }
  return chosen;
}

std::vector<HeadSearchResult> searchHeads(const std::vector<CalibrationInput>& inputs,
                                          const SearchOptions& options) {
  detail::checkInputs(inputs, options, kMaxSearchSeqLen,
                      "the CPU search holds an S x S attention map per head");
  const std::vector<SearchCandidate> candidates = detail::resolveCandidates(
      options, defaultCandidates(inputs[0].layout, inputs[0].seq_len), false);
  const int64_t heads = inputs[0].heads;
  std::vector<HeadSearchResult> results;
  for (int64_t h = 0; h < heads; ++h) {
    // Pass 1: phases of the grid candidates, scored over all inputs.
    std::vector<std::vector<double>> phase_tables(candidates.size());
    for (size_t c = 0; c < candidates.size(); ++c) {
      if (candidates[c].search_phases) {
        const int64_t s = candidates[c].head.stride;
        phase_tables[c].assign(s * s, 0.0);
      }
    }
    std::vector<Score> totals(candidates.size());
    std::vector<HeadSpec> concrete(candidates.size());
    for (size_t c = 0; c < candidates.size(); ++c) concrete[c] = candidates[c].head;
    const bool any_phase_search =
        std::any_of(candidates.begin(), candidates.end(),
                    [](const SearchCandidate& c) { return c.search_phases; });
    for (int pass = any_phase_search ? 1 : 2; pass <= 2; ++pass) {
      for (size_t i = 0; i < inputs.size(); ++i) {
        const CalibrationInput& in = inputs[i];
        const double scale = options.scale > 0.0 ? options.scale : 1.0 / std::sqrt(in.head_dim);
        say(options,
            fmt::format("head {}/{}: input {}/{}: {} (S={})", h + 1, heads, i + 1, inputs.size(),
                        pass == 1 ? "grid phases" : "candidate recall", in.seq_len));
        const std::vector<float> probs = attentionMap(in, h, scale);
        for (size_t c = 0; c < candidates.size(); ++c) {
          if (pass == 1) {
            if (candidates[c].search_phases) {
              addPhaseScores(probs, in.layout, in.seq_len, candidates[c].head, phase_tables[c]);
            }
            continue;
          }
          Pattern pattern = headPattern(concrete[c]);
          Score s = scoreMask(probs, keptMask(pattern, in.layout, in.seq_len), in.seq_len);
          totals[c].recall += s.recall / inputs.size();
          totals[c].density += s.density / inputs.size();
        }
      }
      if (pass == 1) {
        for (size_t c = 0; c < candidates.size(); ++c) {
          if (!candidates[c].search_phases) continue;
          const std::vector<double>& table = phase_tables[c];
          const size_t best = std::max_element(table.begin(), table.end()) - table.begin();
          concrete[c].phase_q = static_cast<int64_t>(best) / concrete[c].stride;
          concrete[c].phase_k = static_cast<int64_t>(best) % concrete[c].stride;
        }
      }
    }
    std::vector<double> recall(candidates.size()), density(candidates.size());
    for (size_t c = 0; c < candidates.size(); ++c) {
      recall[c] = totals[c].recall;
      density[c] = totals[c].density;
    }
    HeadSearchResult result = detail::headResult(h, concrete, recall, density, options);
    const CandidateScore& chosen = result.best();
    say(options,
        fmt::format("head {}/{}: {} recall {:.4f} density {:.4f} ({} candidates)", h + 1, heads,
                    headSummary(chosen.head), chosen.recall, chosen.density, result.scores.size()));
    results.push_back(std::move(result));
  }
  return results;
}

namespace detail {

void checkInputs(const std::vector<CalibrationInput>& inputs, const SearchOptions& options,
                 int64_t max_seq_len, const std::string& why) {
  if (inputs.empty()) badArgument("inputs: need at least one calibration input; got none");
  if (!(options.recall_budget > 0.0 && options.recall_budget <= 1.0)) {
    badArgument(
        fmt::format("recall_budget: {} is out of range; allowed: (0, 1]", options.recall_budget));
  }
  if (!(options.min_gain >= 0.0 && options.min_gain < 1.0)) {
    badArgument(fmt::format("min_gain: {} is out of range; allowed: [0, 1)", options.min_gain));
  }
  if (!(options.scale >= 0.0) || !std::isfinite(options.scale)) {
    badArgument(fmt::format("scale: {} is out of range; allowed: > 0, or 0 for 1/sqrt(head_dim)",
                            options.scale));
  }
  const CalibrationInput& first = inputs.front();
  for (size_t i = 0; i < inputs.size(); ++i) {
    const CalibrationInput& in = inputs[i];
    std::string where = fmt::format("inputs[{}]", i);
    if (in.q == nullptr || in.k == nullptr) badArgument(where + ": q and k must not be null");
    if (in.heads < 1 || in.kv_heads < 1 || in.seq_len < 1 || in.head_dim < 1) {
      badArgument(where + ": heads, kv_heads, seq_len and head_dim must be >= 1");
    }
    if (in.seq_len > max_seq_len) {
      badArgument(fmt::format("{}: seq_len {}; allowed: at most {} ({})", where, in.seq_len,
                              max_seq_len, why));
    }
    if (in.heads % in.kv_heads != 0) {
      badArgument(fmt::format("{}: heads {} is not a multiple of kv_heads {}", where, in.heads,
                              in.kv_heads));
    }
    if (in.heads != first.heads || in.kv_heads != first.kv_heads || in.head_dim != first.head_dim) {
      badArgument(fmt::format(
          "{}: heads/kv_heads/head_dim {}/{}/{} differ from inputs[0]'s "
          "{}/{}/{}",
          where, in.heads, in.kv_heads, in.head_dim, first.heads, first.kv_heads, first.head_dim));
    }
    try {
      in.layout.validate(in.seq_len);
    } catch (const Error& e) {
      badArgument(fmt::format("{}.layout: {}", where, e.what()));
    }
    // A NaN or Inf makes every recall NaN, and no candidate could be chosen.
    const int64_t q_values = in.heads * in.seq_len * in.head_dim;
    const int64_t k_values = in.kv_heads * in.seq_len * in.head_dim;
    for (auto [values, count, name] :
         {std::tuple{in.q, q_values, "q"}, std::tuple{in.k, k_values, "k"}}) {
      for (int64_t x = 0; x < count; ++x) {
        if (!std::isfinite(values[x])) {
          badArgument(fmt::format("{}.{}: element {} is {}; allowed: finite values only", where,
                                  name, x, values[x]));
        }
      }
    }
  }
}

std::vector<SearchCandidate> resolveCandidates(const SearchOptions& options,
                                               std::vector<SearchCandidate> defaults,
                                               bool allow_vertical_slash) {
  std::vector<SearchCandidate> candidates =
      options.candidates.empty() ? std::move(defaults) : options.candidates;
  for (size_t c = 0; c < candidates.size(); ++c) {
    const SearchCandidate& cand = candidates[c];
    std::string field = fmt::format("candidates[{}]", c);
    if (cand.search_phases && cand.head.type != HeadType::kGrid) {
      badArgument(field + ": search_phases is only for grid heads");
    }
    HeadSpec probe = cand.head;
    if (cand.search_phases) probe.phase_q = probe.phase_k = 0;
    Pattern pattern = headPattern(probe, field);
    if (!isDynamic(pattern)) continue;
    if (allow_vertical_slash && cand.head.type == HeadType::kVerticalSlash) continue;
    throw Error(ErrorCategory::kUnsupported,
                field + (allow_vertical_slash
                             ? ": only vertical_slash heads may be estimated per input; allowed: "
                               "vertical_slash, and static heads (a grid with estimate_strides: "
                               "give its stride without them, the search picks the phases)"
                             : ": vertical_slash heads need per-input estimated indices, which "
                               "the CPU search does not estimate (the GPU search does); allowed: "
                               "dense, a_shape, tri_shape, grid, q_boundary/boundary_2d/pattern "
                               "without vertical_slash"));
  }
  return candidates;
}

// Offset of each position inside a span in original coordinates (Pattern.h residue(x)), or -1
// outside the span.
std::vector<int64_t> spanOffsets(const SpanRef& span, const Layout& layout, int64_t S) {
  std::vector<int64_t> off(S, -1);
  for (int64_t x = 0; x < S; ++x) {
    switch (span.kind) {
      case SpanRef::Kind::kAll:
        off[x] = x;
        break;
      case SpanRef::Kind::kRange:
        if (x >= span.begin && x < span.end) off[x] = x - span.begin;
        break;
      case SpanRef::Kind::kModality:
        if (layout.modalityAt(x, S) == span.mod) off[x] = layout.localRank(x, S);
        break;
      case SpanRef::Kind::kLast:
        if (x >= S - span.count) off[x] = x - (S - span.count);
        break;
    }
  }
  return off;
}

void addPhaseRecalls(const PhaseSums& sums, double divisor, std::vector<double>& table) {
  const int64_t s = sums.stride;
  for (int64_t pk = 0; pk < s; ++pk) {
    double all_classes = 0.0;
    for (int64_t c = 0; c <= s; ++c) all_classes += sums.M[c * s + pk];
    for (int64_t pq = 0; pq < s; ++pq) {
      double kept = sums.trailing + sums.full[pq] + all_classes - sums.M[pq * s + pk];
      table[pq * s + pk] += kept / divisor;
    }
  }
}

PhaseSums phasePairSums(const HeadSpec& grid, const Layout& layout, int64_t S) {
  const int64_t s = grid.stride;
  const std::vector<int64_t> off = spanOffsets(grid.span, layout, S);
  PhaseSums sums;
  sums.stride = s;
  sums.M.assign((s + 1) * s, 0.0);
  sums.full.assign(s + 1, 0.0);
  const int64_t first_trailing = S - std::min(grid.trailing_text_rows, S);
  // line[r]: span keys of residue r in [sink, q - local], the keys a vertical line adds to row
  // q beyond its sink and local window; they enter as q grows.
  std::vector<double> line(s, 0.0);
  for (int64_t q = 0; q < S; ++q) {
    const int64_t entering = q - grid.local;
    if (entering >= grid.sink && off[entering] >= 0) line[off[entering] % s] += 1.0;
    if (q >= first_trailing) {
      sums.trailing += double(q + 1);
      continue;
    }
    const int64_t sink = std::min(grid.sink, q + 1);
    const int64_t local_lo = std::max<int64_t>(0, q - grid.local + 1);
    const double base = double(sink + (q + 1 - std::max(local_lo, sink)));
    const int64_t c = off[q] >= 0 ? off[q] % s : s;
    sums.full[c] += double(q + 1);
    for (int64_t r = 0; r < s; ++r) sums.M[c * s + r] += base + line[r];
  }
  return sums;
}

double clampFraction(double x) { return std::clamp(x, 0.0, 1.0); }

HeadSearchResult headResult(int64_t head, const std::vector<HeadSpec>& concrete,
                            const std::vector<double>& recall, const std::vector<double>& density,
                            const SearchOptions& options) {
  HeadSearchResult result;
  result.head = head;
  for (size_t c = 0; c < concrete.size(); ++c) {
    CandidateScore score;
    score.head = concrete[c];
    // The mean over inputs of fractions, again clamped against rounding.
    score.recall = clampFraction(recall[c]);
    score.density = clampFraction(density[c]);
    score.dense = concrete[c].type == HeadType::kDense;
    score.head.recall = score.recall;
    score.head.density = score.density;
    result.scores.push_back(std::move(score));
  }
  result.chosen = chooseCandidate(result.scores, options.recall_budget, options.min_gain);
  return result;
}

}  // namespace detail

ModelConfig configFromSearch(const std::vector<HeadSearchResult>& results, const std::string& model,
                             int64_t layer, const LayoutRules& layout_rules,
                             const SearchOptions& options, int64_t calibration_seq_len,
                             int64_t calibration_inputs) {
  ModelConfig config;
  config.model = model;
  config.num_heads = static_cast<int64_t>(results.size());
  config.layout_rules = layout_rules;
  LayerConfig layer_config;
  layer_config.layer = layer;
  for (const HeadSearchResult& r : results) layer_config.heads.push_back(r.best().head);
  config.layers.push_back(std::move(layer_config));
  config.search =
      SearchInfo{options.recall_budget, options.min_gain, calibration_seq_len, calibration_inputs};
  validateModelConfig(config);
  return config;
}

std::vector<SearchCandidate> parseCandidates(const std::string& text, const std::string& where) {
  const nlohmann::json value = json_io::parseStrict(text, where);
  auto fail = [&](const std::string& field, const std::string& what) {
    throw Error(ErrorCategory::kInvalidPattern, fmt::format("{}: {}: {}", where, field, what));
  };
  if (!value.is_object()) fail("candidates file", "expected an object");
  for (const auto& item : value.items()) {
    if (item.key() != "permjit_search_candidates" && item.key() != "candidates") {
      fail(item.key(), "unknown key; allowed: permjit_search_candidates, candidates");
    }
  }
  if (value.value("permjit_search_candidates", nlohmann::json()) != nlohmann::json(1)) {
    fail("permjit_search_candidates", "missing or unsupported version; allowed: 1");
  }
  if (!value.contains("candidates") || !value["candidates"].is_array() ||
      value["candidates"].empty()) {
    fail("candidates", "expected a non-empty array of heads");
  }
  std::vector<SearchCandidate> out;
  for (size_t i = 0; i < value["candidates"].size(); ++i) {
    nlohmann::json head = value["candidates"][i];
    std::string path = fmt::format("{}: candidates[{}]", where, i);
    SearchCandidate cand;
    // Not head.value("type", ""): it throws nlohmann's type_error for a non-string type, which
    // headSpecFromJson reports by path instead.
    if (head.is_object() && head.contains("type") && head.at("type") == "grid" &&
        !head.contains("phase_q") && !head.contains("phase_k")) {
      head["phase_q"] = 0;
      head["phase_k"] = 0;
      cand.search_phases = true;
    }
    cand.head = headSpecFromJson(head, path);
    HeadSpec probe = cand.head;
    headPattern(probe, path);  // parameter ranges
    out.push_back(std::move(cand));
  }
  return out;
}

}  // namespace permjit::patterns
