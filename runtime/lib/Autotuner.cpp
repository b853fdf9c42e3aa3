// The autotuner's search: compile every candidate (several at once), check each against the
// CPU reference, time the survivors and pick the fastest, all through a TuningBackend.
#include "permjit/runtime/Autotuner.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>

namespace permjit::runtime {
namespace {

// "\r[#######.......] 7/18 timing 128x64x4x2" on one line, finished with a newline.
class ProgressBar {
 public:
  ProgressBar(std::ostream* out, std::string phase, size_t total)
      : out_(out), phase_(std::move(phase)), total_(total) {}
  void step(const std::string& what) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++done_;
    if (!out_) return;
    constexpr size_t kWidth = 24;
    size_t filled = total_ == 0 ? kWidth : kWidth * done_ / total_;
    *out_ << "\r[" << std::string(filled, '#') << std::string(kWidth - filled, '.') << "] " << done_
          << "/" << total_ << " " << phase_ << " " << what << "          ";
    if (done_ == total_) *out_ << "\n";
    out_->flush();
  }

 private:
  std::ostream* out_;
  std::string phase_;
  size_t total_;
  size_t done_ = 0;
  std::mutex mutex_;
};

Error invalid(const std::string& message) {
  return Error(ErrorCategory::kInvalidArgument, message);
}

void checkShape(const Pattern& pattern, const TuneShape& shape, const TuneOptions& options) {
  if (shape.seq_len <= 0) {
    throw invalid("seq_len: " + std::to_string(shape.seq_len) + "; allowed: >= 1");
  }
  if (shape.batch <= 0) throw invalid("batch: " + std::to_string(shape.batch) + "; allowed: >= 1");
  if (shape.heads <= 0) throw invalid("heads: " + std::to_string(shape.heads) + "; allowed: >= 1");
  int64_t kv_heads = shape.kv_heads == 0 ? shape.heads : shape.kv_heads;
  if (kv_heads <= 0 || shape.heads % kv_heads != 0) {
    throw invalid("kv_heads: " + std::to_string(kv_heads) + "; allowed: divisors of heads " +
                  std::to_string(shape.heads));
  }
  if (options.max_candidates < 0) {
    throw invalid("max_candidates: " + std::to_string(options.max_candidates) +
                  "; allowed: >= 0 (0: every candidate)");
  }
  if (options.iterations < 1 || options.warmup < 0) {
    throw invalid("iterations: " + std::to_string(options.iterations) + ", warmup " +
                  std::to_string(options.warmup) + "; allowed: iterations >= 1, warmup >= 0");
  }
  try {
    shape.layout.validate(shape.seq_len);
    validate(pattern, shape.layout, shape.seq_len);
  } catch (const Error& error) {
    throw invalid("layout: does not fit seq_len " + std::to_string(shape.seq_len) +
                  " and this pattern: " + error.what());
  }
}

}  // namespace

const char* candidateStatusName(CandidateResult::Status status) {
  switch (status) {
    case CandidateResult::Status::kTimed:
      return "timed";
    case CandidateResult::Status::kUnsupported:
      return "unsupported";
    case CandidateResult::Status::kCompileFailed:
      return "compile failed";
    case CandidateResult::Status::kCheckFailed:
      return "check failed";
  }
  return "unknown";
}

TuningEntry TuneResult::entry() const {
  TuningEntry e;
  e.key = key;
  e.tile = best_tile;
  e.pass_split = best_split;
  e.default_ms = default_ms;
  e.tuned_ms = best_ms;
  e.date = isoDateNow();
  e.pattern = pattern_name;
  return e;
}

TuneResult searchCandidates(TuningBackend& backend, const Pattern& pattern,
                            const PlanOptions& plan_options, const TuneShape& shape,
                            const TuneOptions& options) {
  checkShape(pattern, shape, options);
  const int64_t check_seq_len = options.check_seq_len > 0 ? options.check_seq_len : shape.seq_len;
  const Layout& check_layout = options.check_seq_len > 0 ? options.check_layout : shape.layout;
  if (options.check_seq_len > 0) {
    try {
      check_layout.validate(check_seq_len);
      validate(pattern, check_layout, check_seq_len);
    } catch (const Error& error) {
      throw invalid("check_layout: does not fit check_seq_len " + std::to_string(check_seq_len) +
                    ": " + error.what());
    }
  }
  PlanOptions base = plan_options;
  base.layout = shape.layout;
  base.seq_len = shape.seq_len;

  TuneResult result;
  result.pattern_name = plan_options.name;
  const std::vector<TuneCandidate> tiles = candidateConfigs(
      pattern, plan_options, options.tiles, options.max_candidates, backend.device().family);
  result.default_tile = tiles[0].tile;
  result.default_split = tiles[0].pass_split;
  result.candidates.resize(tiles.size());
  std::vector<std::optional<Plan>> plans(tiles.size());

  // ---- Compile: several candidates at once (TuningBackend::compile is thread-safe).
  {
    ProgressBar bar(options.progress, "compile", tiles.size());
    unsigned threads = options.compile_threads > 0
                           ? static_cast<unsigned>(options.compile_threads)
                           : std::min(8u, std::max(1u, std::thread::hardware_concurrency()));
    threads = std::min<unsigned>(threads, static_cast<unsigned>(tiles.size()));
    std::atomic<size_t> next{0};
    auto worker = [&] {
      for (size_t i = next++; i < tiles.size(); i = next++) {
        CandidateResult& candidate = result.candidates[i];
        candidate.tile = tiles[i].tile;
        candidate.pass_split = tiles[i].pass_split;
        candidate.is_default = i == 0;
        PlanOptions plan_options_i = base;
        plan_options_i.tile = tiles[i].tile;
        plan_options_i.pass_split = tiles[i].pass_split;
        try {
          plans[i] = backend.compile(pattern, plan_options_i);
        } catch (const std::exception& error) {
          // Nothing may escape a worker thread; every failure is this candidate's result.
          const auto* permjit_error = dynamic_cast<const Error*>(&error);
          candidate.status =
              permjit_error && permjit_error->category() == ErrorCategory::kUnsupported
                  ? CandidateResult::Status::kUnsupported
                  : CandidateResult::Status::kCompileFailed;
          candidate.note = error.what();
        }
        bar.step(candidateName(tiles[i]));
      }
    };
    std::exception_ptr failure;
    std::mutex failure_mutex;
    auto guarded = [&] {
      try {
        worker();
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        failure = std::current_exception();
      }
    };
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(guarded);
    guarded();
    for (std::thread& thread : pool) thread.join();
    if (failure) std::rethrow_exception(failure);
  }
  if (!plans[0]) {
    throw Error(ErrorCategory::kInternal, "autotune: the default " + candidateName(tiles[0]) +
                                              " does not compile: " + result.candidates[0].note);
  }
  result.key = tuningKeyFor(backend.device(), tuningKeySpec(pattern, base), shape.seq_len);

  // ---- Check each compiled candidate once against the CPU reference.
  size_t compiled =
      std::count_if(plans.begin(), plans.end(), [](auto& p) { return p.has_value(); });
  {
    ProgressBar bar(options.progress, "check", compiled);
    CheckConfig check;
    check.batch = 1;
    check.heads = 1;
    check.kv_heads = 1;
    check.seq_len = check_seq_len;
    check.layout = check_layout;
    check.tensor_layout = shape.tensor_layout;
    const double tolerance = toleranceFor(plan_options.dtype);
    for (size_t i = 0; i < tiles.size(); ++i) {
      if (!plans[i]) continue;
      CandidateResult& candidate = result.candidates[i];
      CheckResult checked = backend.check(*plans[i], pattern, check);
      candidate.rel_l2 = checked.rel_l2;
      if (!checked.passed(tolerance)) {
        candidate.status = CandidateResult::Status::kCheckFailed;
        candidate.note = "rel L2 " + std::to_string(checked.rel_l2) + " above " +
                         std::to_string(tolerance) + (checked.nan_found ? " (NaN/Inf)" : "");
        plans[i].reset();
      }
      bar.step(candidateName(tiles[i]));
    }
  }
  if (!plans[0]) {
    throw Error(ErrorCategory::kInternal, "autotune: the default " + candidateName(tiles[0]) +
                                              " fails the CPU reference check (" +
                                              result.candidates[0].note + "); not tuning");
  }

  // ---- Time the survivors at the target shape.
  {
    std::unique_ptr<TuningBackend::Timer> timer =
        backend.timer(shape, plan_options.head_dim, plan_options.dtype);
    size_t survivors =
        std::count_if(plans.begin(), plans.end(), [](auto& p) { return p.has_value(); });
    ProgressBar bar(options.progress, "timing", survivors);
    for (size_t i = 0; i < tiles.size(); ++i) {
      if (!plans[i]) continue;
      result.candidates[i].ms = timer->medianMs(*plans[i], options.warmup, options.iterations);
      bar.step(candidateName(tiles[i]));
    }
  }
  result.default_ms = result.candidates[0].ms;
  result.best_tile = result.default_tile;
  result.best_split = result.default_split;
  result.best_ms = result.default_ms;
  for (CandidateResult& candidate : result.candidates) {
    if (candidate.status != CandidateResult::Status::kTimed) continue;
    candidate.gain = result.default_ms / candidate.ms - 1.0;
    if (candidate.ms < result.best_ms &&
        candidate.ms <= result.default_ms * (1.0 - options.min_gain)) {
      result.best_ms = candidate.ms;
      result.best_tile = candidate.tile;
      result.best_split = candidate.pass_split;
    }
  }
  return result;
}

std::string summaryTable(const TuneResult& result) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof(line), "%-24s %-15s %12s %10s %9s\n", "tile/split", "status",
                "check rel L2", "median ms", "vs default");
  out += line;
  for (const CandidateResult& c : result.candidates) {
    std::string name = candidateName({c.tile, c.pass_split}) + (c.is_default ? " (def)" : "");
    const bool chosen = c.status == CandidateResult::Status::kTimed && c.tile == result.best_tile &&
                        c.pass_split == result.best_split;
    if (c.status == CandidateResult::Status::kTimed) {
      std::snprintf(line, sizeof(line), "%-24s %-15s %12.2e %10.3f %+8.1f%%%s\n", name.c_str(),
                    candidateStatusName(c.status), c.rel_l2, c.ms, 100.0 * c.gain,
                    chosen ? "  <- chosen" : "");
    } else {
      std::snprintf(line, sizeof(line), "%-24s %-15s %12s %10s %9s\n", name.c_str(),
                    candidateStatusName(c.status),
                    c.status == CandidateResult::Status::kCheckFailed
                        ? std::to_string(c.rel_l2).c_str()
                        : "-",
                    "-", "-");
    }
    out += line;
  }
  std::snprintf(line, sizeof(line), "default %s %.3f ms -> tuned %s %.3f ms (%+.1f%%)\n",
                candidateName({result.default_tile, result.default_split}).c_str(),
                result.default_ms, candidateName({result.best_tile, result.best_split}).c_str(),
                result.best_ms, 100.0 * result.gain());
  out += line;
  return out;
}

}  // namespace permjit::runtime
