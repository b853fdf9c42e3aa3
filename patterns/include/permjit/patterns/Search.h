// Offline per-head pattern search (MMInference Algorithm 4), CPU implementation for small
// calibration inputs (S up to a few thousand). For each head: dense causal softmax attention
// on the captured Q/K; for every candidate head type its recall (mean over rows of the
// attention mass the candidate keeps, evaluated with the dsl reference keptMask) and its cost
// (kept pairs); then the choice rule of docs/search.md. Grid candidates may leave their phases
// to the search: every (phase_q, phase_k) of the stride is scored in closed form from the
// attention map and the best pair becomes the concrete candidate.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "permjit/dsl/Pattern.h"
#include "permjit/patterns/ModelConfig.h"

namespace permjit::patterns {

struct SearchCandidate {
  HeadSpec head;
  bool search_phases = false;  // grid only: phase_q / phase_k are chosen per head
};

// One calibration input: q [heads, S, D], k [kv_heads, S, D] row-major float32; head h reads
// kv head h / (heads / kv_heads).
// The longest calibration input the CPU search takes: it holds one head's S x S float32
// attention map and a byte mask per candidate (about 5 GiB at this bound).
constexpr int64_t kMaxSearchSeqLen = 32768;

struct CalibrationInput {
  const float* q = nullptr;
  const float* k = nullptr;
  int64_t heads = 0, kv_heads = 0, seq_len = 0, head_dim = 0;
  Layout layout;
};

struct SearchOptions {
  double recall_budget = 0.95;  // eligible: recall >= recall_budget * (best recall of the head)
  double min_gain = 0.01;       // a costlier sparse candidate must add more than this recall
  double scale = 0.0;           // softmax scale; 0 means 1 / sqrt(head_dim)
  std::vector<SearchCandidate> candidates;  // empty: defaultCandidates(first input)
  std::ostream* progress = nullptr;         // one line per step, e.g. &std::cerr
};

struct CandidateScore {
  HeadSpec head;         // concrete (phases resolved)
  double recall = 0.0;   // mean over inputs of the mean kept mass per row
  double density = 0.0;  // mean over inputs of kept pairs / causal pairs S (S + 1) / 2
  bool dense = false;    // the candidate keeps every causal pair
};

struct HeadSearchResult {
  int64_t head = 0;
  size_t chosen = 0;  // index into scores
  std::vector<CandidateScore> scores;
  const CandidateScore& best() const { return scores[chosen]; }
};

// Candidates for a layout and length: dense; a_shape with windows S/32, S/16, S/8, S/4;
// tri_shape with those windows when the layout ends with text; grid heads with strides
// 2..min(32, vision/2), phases searched, sink max(4, S/128), local S/32, trailing rows = the
// trailing text.
std::vector<SearchCandidate> defaultCandidates(const Layout& layout, int64_t seq_len);

// The choice rule (docs/search.md): among candidates with recall >= budget * best recall, the
// cheapest (by density); then walk the costlier eligible sparse candidates in increasing cost
// and move to one only if it adds more than min_gain recall over the current choice.
size_t chooseCandidate(const std::vector<CandidateScore>& scores, double recall_budget,
                       double min_gain);

// Runs the search for every head of the inputs (all inputs must agree on heads, kv_heads and
// head_dim). Throws Error(kInvalidArgument) on disagreeing or bad shapes and options.
std::vector<HeadSearchResult> searchHeads(const std::vector<CalibrationInput>& inputs,
                                          const SearchOptions& options);

// The config of one searched layer: chosen head types annotated with recall and density.
ModelConfig configFromSearch(const std::vector<HeadSearchResult>& results, const std::string& model,
                             int64_t layer, const LayoutRules& layout_rules,
                             const SearchOptions& options, int64_t calibration_seq_len,
                             int64_t calibration_inputs);

// Parses a candidate list file: {"permjit_search_candidates": 1, "candidates": [head, ...]}
// with heads in the model-config head form; a grid head without phase_q and phase_k has its
// phases searched.
std::vector<SearchCandidate> parseCandidates(const std::string& text, const std::string& where);

}  // namespace permjit::patterns
