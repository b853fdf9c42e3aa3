#include "permjit/patterns/GpuSearch.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <thread>

#include "SearchDetail.h"
#include "permjit/dsl/Json.h"
#include "permjit/patterns/HeadTypes.h"
#include "permjit/runtime/AttentionCheck.h"
#include "permjit/runtime/Driver.h"
#include "permjit/runtime/ResidueMass.h"

namespace permjit::patterns {
namespace {

using runtime::DeviceBuffer;
using runtime::Driver;

[[noreturn]] void badArgument(const std::string& message) {
  throw Error(ErrorCategory::kInvalidArgument, message);
}

void say(const SearchOptions& options, const std::string& line) {
  if (options.progress != nullptr) *options.progress << "[search] " << line << std::endl;
}

// One input's tensors on the device: q [heads, S, Dp] and k [kv_heads, S, Dp] in the kernels'
// type, zero-padded from the capture's head dim D to Dp.
struct DeviceInput {
  std::unique_ptr<DeviceBuffer> q, k;
};

// Rounds [heads, S, D] float32 to [heads, S, Dp] 16-bit on the host (on several threads: a
// 32K x 28-head layer is 117M values per tensor), then uploads it.
std::unique_ptr<DeviceBuffer> upload(const std::shared_ptr<Driver>& driver, const float* values,
                                     int64_t rows, int64_t D, int64_t Dp, DType dtype,
                                     const std::string& where) {
  std::vector<uint16_t> bits(static_cast<size_t>(rows * Dp), 0);
  const unsigned threads = std::clamp(std::thread::hardware_concurrency(), 1u, 16u);
  std::vector<int64_t> bad(threads, -1);
  auto convert = [&](unsigned t) {
    const int64_t lo = rows * t / threads, hi = rows * (t + 1) / threads;
    for (int64_t r = lo; r < hi; ++r) {
      for (int64_t d = 0; d < D; ++d) {
        const float x = values[r * D + d];
        if (dtype == DType::kFP16 && !(std::fabs(x) <= 65504.0f) && bad[t] < 0) bad[t] = r * D + d;
        bits[r * Dp + d] = runtime::floatToHalfBits(x, dtype);
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(convert, t);
  convert(0);
  for (std::thread& thread : pool) thread.join();
  for (int64_t element : bad) {
    if (element >= 0) {
      badArgument(fmt::format(
          "{}: element {} is {}, outside float16's range; allowed: |x| <= 65504, or dtype bf16",
          where, element, values[element]));
    }
  }
  auto buffer = std::make_unique<DeviceBuffer>(driver, bits.size() * 2);
  buffer->upload(bits.data(), bits.size() * 2);
  return buffer;
}

std::string layoutKey(const Layout& layout, int64_t S) {
  return layoutToJson(layout).dump() + "/" + std::to_string(S);
}

// The phase-searched grid candidates that share one walk: their sink, local window, span and
// trailing rows, and so the same split of every row's keys.
struct PhaseGroup {
  HeadSpec shape;               // a member's head (stride aside)
  std::vector<size_t> members;  // candidate indices
};

bool sameWalk(const HeadSpec& a, const HeadSpec& b) {
  return a.sink == b.sink && a.local == b.local && a.trailing_text_rows == b.trailing_text_rows &&
         a.span == b.span;
}

// Everything one search holds on the device and the plans it reuses.
class GpuSearch {
 public:
  GpuSearch(Runtime& runtime, const std::vector<CalibrationInput>& inputs,
            const SearchOptions& options, const GpuSearchOptions& gpu)
      : runtime_(runtime), inputs_(inputs), options_(options), gpu_(gpu) {}

  std::vector<HeadSearchResult> run();

 private:
  Plan& planFor(const HeadSpec& head);
  // Row q's kept count of `head` at S / layout (zero q and k: exp(lse) counts the kept keys).
  double keptPairs(const HeadSpec& head, const CalibrationInput& in);
  void runPlan(const Plan& plan, const CalibrationInput& in, int64_t heads, int64_t kv_heads,
               const void* q, const void* k, float* lse);
  std::vector<float> download(const DeviceBuffer& buffer, size_t count);
  // Adds each head's phase recall table of every member of `group` on input i.
  void phaseTables(const PhaseGroup& group, const CalibrationInput& in, const DeviceInput& dev,
                   const DeviceBuffer& dense_lse,
                   std::vector<std::vector<std::vector<double>>>& tables);

  Runtime& runtime_;
  const std::vector<CalibrationInput>& inputs_;
  const SearchOptions& options_;
  const GpuSearchOptions& gpu_;
  std::shared_ptr<Driver> driver_;
  std::vector<SearchCandidate> candidates_;
  int64_t head_dim_ = 0;  // Dp
  double scale_ = 0;
  std::map<std::string, Plan> plans_;
  std::map<std::string, double> kept_;  // keptPairs by head and layout
  // Phase-searched grid candidates: density per (phase_q, phase_k), by candidate and layout.
  std::map<std::string, std::vector<double>> phase_density_;
  const std::vector<double>& phaseDensity(size_t candidate, const CalibrationInput& in);
  // Scratch grown as needed, owned by run() inside its context scope (freed before the context
  // it was allocated in is popped).
  struct Scratch {
    std::unique_ptr<DeviceBuffer> out, lse, zeros, zero_lse, workspace;
  };
  Scratch* scratch_ = nullptr;
};

Plan& GpuSearch::planFor(const HeadSpec& head) {
  const std::string key = headSpecToJson(head).dump();
  auto found = plans_.find(key);
  if (found != plans_.end()) return found->second;
  PlanOptions plan_options;
  plan_options.head_dim = static_cast<int>(head_dim_);
  plan_options.dtype = gpu_.dtype;
  plan_options.name = "search";
  return plans_.emplace(key, runtime_.plan(headPattern(head), plan_options)).first->second;
}

void GpuSearch::runPlan(const Plan& plan, const CalibrationInput& in, int64_t heads,
                        int64_t kv_heads, const void* q, const void* k, float* lse) {
  const size_t out_bytes = static_cast<size_t>(heads * in.seq_len * head_dim_ * 2);
  if (!scratch_->out || scratch_->out->bytes() < out_bytes)
    scratch_->out = std::make_unique<DeviceBuffer>(driver_, out_bytes);
  RunArgs args;
  args.q = q;
  args.k = k;
  args.v = k;  // the LSE does not depend on V
  args.o = scratch_->out->data();
  args.lse = lse;
  args.heads = heads;
  args.kv_heads = kv_heads;
  args.seq_len = in.seq_len;
  args.head_dim = head_dim_;
  args.dtype = gpu_.dtype;
  args.tensor_layout = TensorLayout::kBHSD;
  args.layout = in.layout;
  args.softmax_scale = static_cast<float>(scale_);
  if (plan.isDynamic()) {
    const size_t bytes = plan.workspaceBytes(1, heads, in.seq_len);
    if (!scratch_->workspace || scratch_->workspace->bytes() < bytes) {
      scratch_->workspace = std::make_unique<DeviceBuffer>(driver_, bytes);
    }
    args.workspace = scratch_->workspace->data();
    args.workspace_bytes = scratch_->workspace->bytes();
  }
  plan.run(args, nullptr);
}

std::vector<float> GpuSearch::download(const DeviceBuffer& buffer, size_t count) {
  driver_->check(driver_->cuStreamSynchronize(nullptr), "cuStreamSynchronize (search)");
  std::vector<float> out(count);
  buffer.download(out.data(), count * sizeof(float));
  return out;
}

double GpuSearch::keptPairs(const HeadSpec& head, const CalibrationInput& in) {
  const int64_t S = in.seq_len;
  if (head.type == HeadType::kDense) return 0.5 * double(S) * double(S + 1);
  const std::string key = headSpecToJson(head).dump() + "@" + layoutKey(in.layout, S);
  auto found = kept_.find(key);
  if (found != kept_.end()) return found->second;
  const size_t zero_bytes = static_cast<size_t>(S * head_dim_ * 2);
  if (!scratch_->zeros || scratch_->zeros->bytes() < zero_bytes) {
    scratch_->zeros = std::make_unique<DeviceBuffer>(driver_, zero_bytes);
    scratch_->zeros->fill(0);
  }
  if (!scratch_->zero_lse || scratch_->zero_lse->bytes() < static_cast<size_t>(S) * 4) {
    scratch_->zero_lse = std::make_unique<DeviceBuffer>(driver_, static_cast<size_t>(S) * 4);
  }
  runPlan(planFor(head), in, 1, 1, scratch_->zeros->data(), scratch_->zeros->data(),
          static_cast<float*>(scratch_->zero_lse->data()));
  const std::vector<float> lse = download(*scratch_->zero_lse, static_cast<size_t>(S));
  double kept = 0;
  for (float l : lse) kept += std::isfinite(l) ? std::nearbyint(std::exp(double(l))) : 0.0;
  kept_.emplace(key, kept);
  return kept;
}

const std::vector<double>& GpuSearch::phaseDensity(size_t candidate, const CalibrationInput& in) {
  const HeadSpec& grid = candidates_[candidate].head;
  const std::string key = headSpecToJson(grid).dump() + "@" + layoutKey(in.layout, in.seq_len);
  auto found = phase_density_.find(key);
  if (found != phase_density_.end()) return found->second;
  const double causal = 0.5 * double(in.seq_len) * double(in.seq_len + 1);
  std::vector<double> table(grid.stride * grid.stride, 0.0);
  detail::addPhaseRecalls(detail::phasePairSums(grid, in.layout, in.seq_len), causal, table);
  return phase_density_.emplace(key, std::move(table)).first->second;
}

void GpuSearch::phaseTables(const PhaseGroup& group, const CalibrationInput& in,
                            const DeviceInput& dev, const DeviceBuffer& dense_lse,
                            std::vector<std::vector<std::vector<double>>>& tables) {
  const int64_t S = in.seq_len, H = in.heads;
  const HeadSpec& shape = group.shape;
  const std::vector<int64_t> off64 = detail::spanOffsets(shape.span, in.layout, S);
  const std::vector<int> offsets(off64.begin(), off64.end());
  DeviceBuffer d_offsets(driver_, offsets.size() * sizeof(int));
  d_offsets.upload(offsets.data(), offsets.size() * sizeof(int));
  const int64_t first_trailing = S - std::min(shape.trailing_text_rows, S);
  DeviceBuffer d_base(driver_, static_cast<size_t>(H * S) * sizeof(float));
  // Strides into launches: at most kMaxResidueStrides each, their sum under the row's bins.
  std::vector<std::vector<size_t>> launches(1);
  int64_t bins = 0;
  for (size_t member : group.members) {
    const int64_t s = candidates_[member].head.stride;
    if (s + 1 > kMaxResidueRowBins) {
      throw Error(ErrorCategory::kUnsupported,
                  fmt::format("candidates[{}]: stride {} with searched phases; allowed: at most "
                              "{} on the GPU (give phase_q and phase_k for larger strides)",
                              member, s, kMaxResidueRowBins - 1));
    }
    if (launches.back().size() == kMaxResidueStrides || bins + s + 1 > kMaxResidueRowBins) {
      launches.emplace_back();
      bins = 0;
    }
    launches.back().push_back(member);
    bins += s;
  }
  for (const std::vector<size_t>& members : launches) {
    ResidueMassArgs a{};
    a.q = dev.q->data();
    a.k = dev.k->data();
    a.q_stride[kStrideBatch] = H * S * head_dim_;
    a.q_stride[kStrideSeq] = head_dim_;
    a.q_stride[kStrideHead] = S * head_dim_;
    a.k_stride[kStrideBatch] = in.kv_heads * S * head_dim_;
    a.k_stride[kStrideSeq] = head_dim_;
    a.k_stride[kStrideHead] = S * head_dim_;
    a.lse = static_cast<const float*>(dense_lse.data());
    a.offsets = static_cast<const int*>(d_offsets.data());
    a.base = static_cast<float*>(d_base.data());
    a.heads = static_cast<int>(H);
    a.kv_heads = static_cast<int>(in.kv_heads);
    a.seq_len = static_cast<int>(S);
    a.sink = static_cast<int>(std::min<int64_t>(shape.sink, S));
    a.local = static_cast<int>(std::min<int64_t>(shape.local, S));
    a.first_trailing = static_cast<int>(first_trailing);
    a.scale_log2 = static_cast<float>(scale_ * 1.4426950408889634);
    a.strides_count = static_cast<int>(members.size());
    int row_bins = 0;
    long long elems = 0;
    for (size_t i = 0; i < members.size(); ++i) {
      const int s = static_cast<int>(candidates_[members[i]].head.stride);
      a.strides[i] = s;
      a.bin_offset[i] = row_bins;
      a.table_offset[i] = static_cast<int>(elems);
      row_bins += s;
      elems += static_cast<long long>(s + 1) * s;
    }
    a.row_bins = row_bins | 1;
    a.table_elems = elems;
    DeviceBuffer d_tables(driver_, static_cast<size_t>(H * elems) * sizeof(double));
    d_tables.fill(0);
    a.tables = static_cast<double*>(d_tables.data());
    runtime::launchResidueMass(runtime_, static_cast<int>(head_dim_), gpu_.dtype, a, H, nullptr);
    driver_->check(driver_->cuStreamSynchronize(nullptr), "cuStreamSynchronize (residue mass)");
    std::vector<double> sums(static_cast<size_t>(H * elems));
    d_tables.download(sums.data(), sums.size() * sizeof(double));
    std::vector<float> base(static_cast<size_t>(H * S));
    d_base.download(base.data(), base.size() * sizeof(float));
    for (int64_t h = 0; h < H; ++h) {
      for (size_t i = 0; i < members.size(); ++i) {
        const int64_t s = a.strides[i];
        detail::PhaseSums ps;
        ps.stride = s;
        ps.M.assign(sums.begin() + h * elems + a.table_offset[i],
                    sums.begin() + h * elems + a.table_offset[i] + (s + 1) * s);
        ps.full.assign(s + 1, 0.0);
        std::vector<double> class_base(s + 1, 0.0);
        for (int64_t q = 0; q < first_trailing; ++q) {
          const int64_t c = offsets[q] >= 0 ? offsets[q] % s : s;
          ps.full[c] += 1.0;
          class_base[c] += base[h * S + q];
        }
        for (int64_t c = 0; c <= s; ++c) {
          for (int64_t r = 0; r < s; ++r) ps.M[c * s + r] += class_base[c];
        }
        ps.trailing = double(S - first_trailing);
        std::vector<double>& table = tables[h][members[i]];
        if (table.empty()) table.assign(s * s, 0.0);
        detail::addPhaseRecalls(ps, double(S), table);
      }
    }
  }
}

std::vector<HeadSearchResult> GpuSearch::run() {
  detail::checkInputs(inputs_, options_, kMaxGpuSearchSeqLen,
                      "the GPU search's longest input; the kernels take int32 positions");
  if (!runtime_.hasDevice()) {
    throw Error(ErrorCategory::kDriverError,
                "runtime: host-only; the GPU search needs a device runtime");
  }
  if (gpu_.dtype != DType::kFP16 && gpu_.dtype != DType::kBF16) {
    badArgument("dtype: allowed: fp16, bf16");
  }
  const CalibrationInput& first = inputs_[0];
  if (first.head_dim > 128) {
    throw Error(
        ErrorCategory::kUnsupported,
        fmt::format("inputs[0]: head_dim {}; allowed: at most 128 on the GPU", first.head_dim));
  }
  head_dim_ = first.head_dim <= 64 ? 64 : 128;
  scale_ = options_.scale > 0.0 ? options_.scale : 1.0 / std::sqrt(double(first.head_dim));
  candidates_ =
      detail::resolveCandidates(options_, defaultGpuCandidates(first.layout, first.seq_len), true);
  for (size_t c = 0; c < candidates_.size(); ++c) {
    if (candidates_[c].head.type == HeadType::kGrid &&
        !candidates_[c].head.estimate_strides.empty()) {
      throw Error(ErrorCategory::kUnsupported,
                  fmt::format("candidates[{}]: a grid with estimate_strides; allowed: a grid "
                              "with a stride (the search picks its phases)",
                              c));
    }
  }
  driver_ = Driver::open();
  runtime::ScopedContext context(*driver_, driver_->primaryContext(gpu_.device_ordinal));
  Scratch scratch;
  scratch_ = &scratch;

  std::vector<PhaseGroup> groups;
  for (size_t c = 0; c < candidates_.size(); ++c) {
    if (!candidates_[c].search_phases) continue;
    auto group = std::find_if(groups.begin(), groups.end(), [&](const PhaseGroup& g) {
      return sameWalk(g.shape, candidates_[c].head);
    });
    if (group == groups.end()) group = groups.insert(groups.end(), {candidates_[c].head, {}});
    group->members.push_back(c);
  }

  // Where the time goes, per stage (each ends in a download, so device work is counted).
  using Clock = std::chrono::steady_clock;
  double upload_s = 0, dense_s = 0, residue_s = 0, candidates_s = 0;
  auto since = [](Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
  };
  const int64_t H = first.heads;
  const size_t C = candidates_.size();
  const double n = double(inputs_.size());
  std::vector<std::vector<double>> recall(H, std::vector<double>(C, 0.0));
  std::vector<std::vector<double>> density(H, std::vector<double>(C, 0.0));
  // [input][head][candidate]: the phase recall table (phase-searched candidates only).
  std::vector<std::vector<std::vector<std::vector<double>>>> tables(inputs_.size());
  for (size_t i = 0; i < inputs_.size(); ++i) {
    const CalibrationInput& in = inputs_[i];
    const int64_t S = in.seq_len;
    const std::string where = fmt::format("inputs[{}]", i);
    say(options_,
        fmt::format(
            "input {}/{}: {} heads, S={}: dense, {} residue walk(s), {} "
            "candidate run(s)",
            i + 1, inputs_.size(), H, S, groups.size(),
            std::count_if(candidates_.begin(), candidates_.end(), [](const SearchCandidate& c) {
              return !c.search_phases && c.head.type != HeadType::kDense;
            })));
    auto stage = Clock::now();
    DeviceInput dev;
    dev.q = upload(driver_, in.q, H * S, in.head_dim, head_dim_, gpu_.dtype, where + ".q");
    dev.k =
        upload(driver_, in.k, in.kv_heads * S, in.head_dim, head_dim_, gpu_.dtype, where + ".k");
    upload_s += since(stage);
    stage = Clock::now();
    DeviceBuffer dense_lse(driver_, static_cast<size_t>(H * S) * sizeof(float));
    runPlan(planFor(HeadSpec{}), in, H, in.kv_heads, dev.q->data(), dev.k->data(),
            static_cast<float*>(dense_lse.data()));
    const std::vector<float> lse_dense = download(dense_lse, static_cast<size_t>(H * S));

    dense_s += since(stage);
    stage = Clock::now();
    tables[i].assign(H, std::vector<std::vector<double>>(C));
    for (const PhaseGroup& group : groups) phaseTables(group, in, dev, dense_lse, tables[i]);
    residue_s += since(stage);
    stage = Clock::now();

    const double causal = 0.5 * double(S) * double(S + 1);
    if (!scratch_->lse || scratch_->lse->bytes() < static_cast<size_t>(H * S) * 4) {
      scratch_->lse = std::make_unique<DeviceBuffer>(driver_, static_cast<size_t>(H * S) * 4);
    }
    for (size_t c = 0; c < C; ++c) {
      const SearchCandidate& cand = candidates_[c];
      if (cand.search_phases) continue;
      if (cand.head.type == HeadType::kDense) {
        for (int64_t h = 0; h < H; ++h) {
          recall[h][c] += 1.0 / n;
          density[h][c] += 1.0 / n;
        }
        continue;
      }
      const Plan& plan = planFor(cand.head);
      runPlan(plan, in, H, in.kv_heads, dev.q->data(), dev.k->data(),
              static_cast<float*>(scratch_->lse->data()));
      const std::vector<float> lse = download(*scratch_->lse, static_cast<size_t>(H * S));
      std::vector<double> kept(H, 0.0);
      if (plan.isDynamic()) {
        RunArgs args;
        args.heads = H;
        args.kv_heads = in.kv_heads;
        args.seq_len = S;
        args.head_dim = head_dim_;
        args.workspace = scratch_->workspace->data();
        args.workspace_bytes = scratch_->workspace->bytes();
        const std::vector<DynamicIndices> chosen = plan.estimatedIndices(args, nullptr);
        for (int64_t h = 0; h < H; ++h) {
          kept[h] = double(verticalSlashKeptPairs(chosen[h].vertical, chosen[h].slash, S));
        }
      } else {
        std::fill(kept.begin(), kept.end(), keptPairs(cand.head, in));
      }
      for (int64_t h = 0; h < H; ++h) {
        double mass = 0.0;
        for (int64_t q = 0; q < S; ++q) {
          const float l = lse[h * S + q];
          if (std::isfinite(l)) mass += std::exp(double(l) - double(lse_dense[h * S + q]));
        }
        recall[h][c] += detail::clampFraction(mass / double(S)) / n;
        density[h][c] += detail::clampFraction(kept[h] / causal) / n;
      }
    }
    candidates_s += since(stage);
  }
  say(options_, fmt::format("time: inputs to the device {:.2f} s, dense {:.2f} s, residue walks "
                            "{:.2f} s, candidate runs {:.2f} s",
                            upload_s, dense_s, residue_s, candidates_s));

  // Phases from the tables summed over inputs; then the concrete grid's recall on each input
  // (its table entry) and density (kept counts at each input's length and layout).
  std::vector<HeadSearchResult> results;
  for (int64_t h = 0; h < H; ++h) {
    std::vector<HeadSpec> concrete(C);
    for (size_t c = 0; c < C; ++c) {
      concrete[c] = candidates_[c].head;
      if (!candidates_[c].search_phases) continue;
      const int64_t s = concrete[c].stride;
      std::vector<double> total(s * s, 0.0);
      for (size_t i = 0; i < inputs_.size(); ++i) {
        for (int64_t j = 0; j < s * s; ++j) total[j] += tables[i][h][c][j];
      }
      const size_t best = std::max_element(total.begin(), total.end()) - total.begin();
      concrete[c].phase_q = static_cast<int64_t>(best) / s;
      concrete[c].phase_k = static_cast<int64_t>(best) % s;
      for (size_t i = 0; i < inputs_.size(); ++i) {
        const CalibrationInput& in = inputs_[i];
        recall[h][c] += detail::clampFraction(tables[i][h][c][best]) / n;
        density[h][c] += detail::clampFraction(phaseDensity(c, in)[best]) / n;
      }
    }
    HeadSearchResult result = detail::headResult(h, concrete, recall[h], density[h], options_);
    const CandidateScore& chosen = result.best();
    say(options_,
        fmt::format("head {}/{}: {} recall {:.4f} density {:.4f} ({} candidates)", h + 1, H,
                    headSummary(chosen.head), chosen.recall, chosen.density, result.scores.size()));
    results.push_back(std::move(result));
  }
  return results;
}

}  // namespace

std::vector<SearchCandidate> defaultGpuCandidates(const Layout& layout, int64_t seq_len) {
  std::vector<SearchCandidate> out = defaultCandidates(layout, seq_len);
  for (auto [vertical_div, slash_div] : {std::pair<int64_t, int64_t>{32, 16}, {16, 8}}) {
    HeadSpec h;
    h.type = HeadType::kVerticalSlash;
    h.vertical = std::max<int64_t>(1, seq_len / vertical_div);
    h.slash = std::max<int64_t>(1, seq_len / slash_div);
    h.last_q = std::min<int64_t>(64, seq_len);
    out.push_back({h, false});
  }
  return out;
}

std::vector<HeadSearchResult> searchHeadsGpu(Runtime& runtime,
                                             const std::vector<CalibrationInput>& inputs,
                                             const SearchOptions& options,
                                             const GpuSearchOptions& gpu) {
  return GpuSearch(runtime, inputs, options, gpu).run();
}

}  // namespace permjit::patterns
