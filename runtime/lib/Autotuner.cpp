#include "permjit/runtime/Autotuner.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <thread>

#include "RuntimeInternal.h"
#include "permjit/codegen/CudaSource.h"
#include "permjit/compiler/Pipeline.h"
#include "permjit/runtime/AttentionCheck.h"
#include "permjit/runtime/Nvrtc.h"

namespace permjit::runtime {
namespace {

std::atomic<uint64_t> g_timing_runs{0};

void warn(const std::string& message) {
  std::fprintf(stderr, "permjit: warning: %s\n", message.c_str());
}

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

// Cheap reproducible random inputs in [-1, 1): timing only needs non-degenerate values.
std::vector<uint16_t> randomHalfBits(size_t count, DType dtype, uint64_t seed) {
  std::vector<uint16_t> bits(count);
  uint64_t state = seed * 0x9e3779b97f4a7c15ull + 1;
  for (size_t i = 0; i < count; ++i) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    float value = static_cast<float>(state >> 40) / static_cast<float>(1u << 23) - 1.0f;
    bits[i] = floatToHalfBits(value, dtype);
  }
  return bits;
}

class ScopedContext {
 public:
  ScopedContext(std::shared_ptr<Driver> driver, CUcontext context) : driver_(std::move(driver)) {
    driver_->check(driver_->cuCtxGetCurrent(&previous_), "cuCtxGetCurrent");
    driver_->check(driver_->cuCtxSetCurrent(context), "cuCtxSetCurrent");
  }
  ~ScopedContext() { driver_->cuCtxSetCurrent(previous_); }
  ScopedContext(const ScopedContext&) = delete;
  ScopedContext& operator=(const ScopedContext&) = delete;

 private:
  std::shared_ptr<Driver> driver_;
  CUcontext previous_ = nullptr;
};

// Inputs at the target shape, allocated once and shared by every candidate's timing.
class TimingBench {
 public:
  TimingBench(std::shared_ptr<Driver> driver, const TuneShape& shape, int head_dim, DType dtype)
      : driver_(driver) {
    const int64_t kv_heads = shape.kv_heads == 0 ? shape.heads : shape.kv_heads;
    const size_t q_count =
        static_cast<size_t>(shape.batch * shape.heads * shape.seq_len * head_dim);
    const size_t kv_count = static_cast<size_t>(shape.batch * kv_heads * shape.seq_len * head_dim);
    q_ = std::make_unique<DeviceBuffer>(driver, q_count * 2);
    k_ = std::make_unique<DeviceBuffer>(driver, kv_count * 2);
    v_ = std::make_unique<DeviceBuffer>(driver, kv_count * 2);
    o_ = std::make_unique<DeviceBuffer>(driver, q_count * 2);
    lse_ = std::make_unique<DeviceBuffer>(
        driver, static_cast<size_t>(shape.batch * shape.heads * shape.seq_len) * sizeof(float));
    q_->upload(randomHalfBits(q_count, dtype, 1).data(), q_count * 2);
    k_->upload(randomHalfBits(kv_count, dtype, 2).data(), kv_count * 2);
    v_->upload(randomHalfBits(kv_count, dtype, 3).data(), kv_count * 2);
    args_.q = q_->data();
    args_.k = k_->data();
    args_.v = v_->data();
    args_.o = o_->data();
    args_.lse = static_cast<float*>(lse_->data());
    args_.batch = shape.batch;
    args_.heads = shape.heads;
    args_.kv_heads = kv_heads;
    args_.seq_len = shape.seq_len;
    args_.head_dim = head_dim;
    args_.dtype = dtype;
    args_.tensor_layout = shape.tensor_layout;
    args_.layout = shape.layout;
    driver->check(driver->cuEventCreate(&start_, CU_EVENT_DEFAULT), "cuEventCreate");
    driver->check(driver->cuEventCreate(&stop_, CU_EVENT_DEFAULT), "cuEventCreate");
  }
  ~TimingBench() {
    driver_->cuEventDestroy_v2(start_);
    driver_->cuEventDestroy_v2(stop_);
  }

  // Median of `iterations` event-timed runs after `warmup` untimed ones, in ms.
  double medianMs(const Plan& plan, int warmup, int iterations) {
    for (int i = 0; i < warmup; ++i) {
      plan.run(args_, nullptr);
      ++g_timing_runs;
    }
    std::vector<float> times;
    for (int i = 0; i < iterations; ++i) {
      driver_->check(driver_->cuEventRecord(start_, nullptr), "cuEventRecord");
      plan.run(args_, nullptr);
      ++g_timing_runs;
      driver_->check(driver_->cuEventRecord(stop_, nullptr), "cuEventRecord");
      driver_->check(driver_->cuEventSynchronize(stop_), "cuEventSynchronize (timed run)");
      float ms = 0;
      driver_->check(driver_->cuEventElapsedTime(&ms, start_, stop_), "cuEventElapsedTime");
      times.push_back(ms);
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
  }

 private:
  std::shared_ptr<Driver> driver_;
  std::unique_ptr<DeviceBuffer> q_, k_, v_, o_, lse_;
  RunArgs args_;
  CUevent start_ = nullptr, stop_ = nullptr;
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

// The process's view of the database file, reloaded when the file changes; warnings of a
// load are printed once.
struct DbCache {
  std::mutex mutex;
  std::string path;
  int64_t mtime_ns = -1, size = -1;
  TuningDb db;
};

DbCache& dbCache() {
  static DbCache cache;
  return cache;
}

TuningDb currentDb(const std::string& path) {
  DbCache& cache = dbCache();
  std::lock_guard<std::mutex> lock(cache.mutex);
  struct stat info {};
  int64_t mtime_ns = -2, size = -2;
  if (::stat(path.c_str(), &info) == 0) {
    mtime_ns = static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000000 + info.st_mtim.tv_nsec;
    size = static_cast<int64_t>(info.st_size);
  }
  if (cache.path != path || cache.mtime_ns != mtime_ns || cache.size != size) {
    std::vector<std::string> warnings;
    cache.db = TuningDb::load(path, &warnings);
    for (const std::string& message : warnings) warn(message);
    cache.path = path;
    cache.mtime_ns = mtime_ns;
    cache.size = size;
  }
  return cache.db;
}

// The spec whose structure keys the database: the pattern lowered with the compiler's default
// tile and pass split, whatever the plan later chooses, so tuning and lookup always agree.
KernelSpec keySpec(const Pattern& pattern, const PlanOptions& options) {
  CompileOptions compile;
  compile.head_dim = options.head_dim;
  compile.dtype = options.dtype;
  compile.layout = options.layout;
  compile.seq_len = options.seq_len;
  compile.name = options.name;
  return compilePattern(pattern, compile);
}

// The tuned tile, if it still renders for this runtime's target (with the split the plan
// would use) and fits the device.
bool tileStillRenders(Runtime& runtime, const Pattern& pattern, const PlanOptions& options,
                      const TileConfig& tile, PassSplit split, std::string* why) {
  const auto& state = RuntimeAccess::state(runtime);
  try {
    CompileOptions compile;
    compile.head_dim = options.head_dim;
    compile.dtype = options.dtype;
    compile.tile = tile;
    compile.layout = options.layout;
    compile.seq_len = options.seq_len;
    compile.name = options.name;
    compile.pass_split = split;
    KernelSpec spec = compilePattern(pattern, compile);
    ArchName arch = parseArch(state->arch, "arch");
    TargetInfo target = TargetInfo::forComputeCapability(arch.major, arch.minor);
    target.arch_specific = arch.arch_specific;
    for (size_t pass = 0; pass < spec.passes.size(); ++pass) {
      GeneratedKernel kernel = generateCuda(spec, target, static_cast<int>(pass));
      if (state->driver && kernel.smem_bytes > state->device.max_smem_optin) {
        *why = "needs " + std::to_string(kernel.smem_bytes) + " bytes of shared memory, the " +
               "device allows " + std::to_string(state->device.max_smem_optin);
        return false;
      }
    }
  } catch (const Error& error) {
    *why = error.what();
    return false;
  }
  return true;
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

uint64_t timingRunCount() { return g_timing_runs.load(); }

std::string candidateName(const TuneCandidate& candidate) {
  return tileName(candidate.tile) + "/" + passSplitName(candidate.pass_split);
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

std::vector<TileConfig> candidateTiles(int head_dim) {
  const TileConfig fallback = defaultTileConfig(head_dim);
  std::vector<TileConfig> tiles = {fallback};
  for (int block_m : {64, 128})
    for (int block_n : {32, 64, 128})
      for (int warps : {4, 8})
        for (int stages : {2, 3}) {
          TileConfig tile{block_m, block_n, warps, stages};
          if (tile == fallback) continue;
          try {
            validateTileConfig(tile);
          } catch (const Error&) {
            continue;  // outside the compiler's supported set: never a candidate
          }
          tiles.push_back(tile);
        }
  return tiles;
}

std::vector<PassSplit> candidateSplits(const Pattern& pattern, const PlanOptions& options) {
  if (options.pass_split != PassSplit::kAuto) return {options.pass_split};
  // The split is structural: compile without a shape (no tile statistics, cheap at any S).
  CompileOptions compile;
  compile.head_dim = options.head_dim;
  compile.dtype = options.dtype;
  compile.name = options.name;
  compile.pass_split = PassSplit::kAuto;
  if (compilePattern(pattern, compile).passes.size() > 1) {
    return {PassSplit::kSplitLines, PassSplit::kSingle};
  }
  return {PassSplit::kSingle};
}

std::vector<TuneCandidate> candidateConfigs(const Pattern& pattern, const PlanOptions& options,
                                            const std::vector<TileConfig>& tiles,
                                            int max_candidates) {
  const std::vector<PassSplit> splits = candidateSplits(pattern, options);
  std::vector<TileConfig> tile_order = {defaultTileConfig(options.head_dim)};
  for (const TileConfig& tile : tiles.empty() ? candidateTiles(options.head_dim) : tiles) {
    validateTileConfig(tile);
    if (std::find(tile_order.begin(), tile_order.end(), tile) == tile_order.end()) {
      tile_order.push_back(tile);
    }
  }
  std::vector<TuneCandidate> out;
  for (const TileConfig& tile : tile_order)
    for (PassSplit split : splits) out.push_back({tile, split});
  if (max_candidates > 0 && out.size() > static_cast<size_t>(max_candidates)) {
    out.resize(static_cast<size_t>(max_candidates));
  }
  return out;
}

std::optional<TuningKey> tuningKeyFor(const Runtime& runtime, const KernelSpec& spec,
                                      int64_t seq_len_hint) {
  const auto& state = RuntimeAccess::state(runtime);
  if (!state->driver) return std::nullopt;
  TuningKey key;
  key.device = state->device.name;
  key.cc_major = state->device.major;
  key.cc_minor = state->device.minor;
  key.structure_hash = tuningStructureHash(spec);
  key.head_dim = spec.head_dim;
  key.dtype = spec.dtype;
  key.seq_bucket = seqBucket(seq_len_hint);
  return key;
}

TuneResult autotune(Runtime& runtime, const Pattern& pattern, const PlanOptions& plan_options,
                    const TuneShape& shape, const TuneOptions& options) {
  const auto& state = RuntimeAccess::state(runtime);
  if (!state->driver) {
    throw Error(
        ErrorCategory::kDriverError,
        "autotune: needs a CUDA GPU (it times kernels on the device): " + state->no_device_reason);
  }
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
  const std::vector<TuneCandidate> tiles =
      candidateConfigs(pattern, plan_options, options.tiles, options.max_candidates);
  result.default_tile = tiles[0].tile;
  result.default_split = tiles[0].pass_split;
  result.candidates.resize(tiles.size());
  std::vector<std::optional<Plan>> plans(tiles.size());

  // ---- Compile: several candidates at once (NVRTC and the kernel cache are thread-safe;
  // every compilePattern has its own MLIR context).
  {
    ProgressBar bar(options.progress, "compile", tiles.size());
    unsigned threads = options.compile_threads > 0
                           ? static_cast<unsigned>(options.compile_threads)
                           : std::min(8u, std::max(1u, std::thread::hardware_concurrency()));
    threads = std::min<unsigned>(threads, static_cast<unsigned>(tiles.size()));
    std::atomic<size_t> next{0};
    auto worker = [&] {
      // Driver calls of Runtime::plan need the context current on this thread.
      ScopedContext context(state->driver, state->context);
      for (size_t i = next++; i < tiles.size(); i = next++) {
        CandidateResult& candidate = result.candidates[i];
        candidate.tile = tiles[i].tile;
        candidate.pass_split = tiles[i].pass_split;
        candidate.is_default = i == 0;
        PlanOptions plan_options_i = base;
        plan_options_i.tile = tiles[i].tile;
        plan_options_i.pass_split = tiles[i].pass_split;
        try {
          plans[i] = runtime.plan(pattern, plan_options_i);
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
  result.key = *tuningKeyFor(runtime, keySpec(pattern, base), shape.seq_len);

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
      CheckResult checked = checkPlan(runtime, *plans[i], pattern, check);
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
    ScopedContext context(state->driver, state->context);
    TimingBench bench(state->driver, shape, plan_options.head_dim, plan_options.dtype);
    size_t survivors =
        std::count_if(plans.begin(), plans.end(), [](auto& p) { return p.has_value(); });
    ProgressBar bar(options.progress, "timing", survivors);
    for (size_t i = 0; i < tiles.size(); ++i) {
      if (!plans[i]) continue;
      result.candidates[i].ms = bench.medianMs(*plans[i], options.warmup, options.iterations);
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

std::optional<TunedConfig> tunedConfigFor(Runtime& runtime, const Pattern& pattern,
                                          const PlanOptions& options) {
  const auto& state = RuntimeAccess::state(runtime);
  if (!state->driver) return std::nullopt;
  const std::string path = env::tuningDbPath();
  const int64_t bucket = seqBucket(options.seq_len);
  TuningDb db = currentDb(path);
  // Cheap filter first: without an entry for this device and class, skip compiling the spec.
  bool any = std::any_of(db.entries().begin(), db.entries().end(), [&](const TuningEntry& e) {
    return e.key.device == state->device.name && e.key.cc_major == state->device.major &&
           e.key.cc_minor == state->device.minor && e.key.head_dim == options.head_dim &&
           e.key.dtype == options.dtype && e.key.seq_bucket == bucket;
  });
  const bool tune = env::tuneOnFirstUse();
  if (!any && !tune) return std::nullopt;

  KernelSpec spec;
  try {
    spec = keySpec(pattern, options);
  } catch (const Error&) {
    return std::nullopt;  // Runtime::plan reports the same error when it compiles
  }
  const TuningKey key = *tuningKeyFor(runtime, spec, options.seq_len);
  std::vector<std::string> warnings;
  std::optional<TuningEntry> entry = db.lookup(key, &warnings);
  for (const std::string& message : warnings) warn(message);
  if (entry) {
    std::string why;
    // The split the plan will run: the entry's where the caller leaves it to kAuto.
    const PassSplit split = options.pass_split == PassSplit::kAuto && entry->pass_split
                                ? *entry->pass_split
                                : options.pass_split;
    if (tileStillRenders(runtime, pattern, options, entry->tile, split, &why)) {
      if (env::verbose()) {
        std::fprintf(stderr, "permjit: tuned tile %s, pass split %s for %s (from %s)\n",
                     tileName(entry->tile).c_str(),
                     entry->pass_split ? passSplitName(*entry->pass_split) : "untuned",
                     key.str().c_str(), path.c_str());
      }
      return TunedConfig{entry->tile, entry->pass_split};
    }
    warn("tuning db " + path + ": entry for " + key.str() + " (tile " + tileName(entry->tile) +
         ") is stale: " + why + "; using the default tile");
    return std::nullopt;
  }
  if (!tune) return std::nullopt;

  TuneShape shape;
  shape.seq_len = options.seq_len > 0 ? options.seq_len : kDefaultSeqBucket;
  if (options.seq_len > 0) shape.layout = options.layout;
  try {
    std::fprintf(stderr, "permjit: PERMJIT_TUNE=1: tuning %s\n", key.str().c_str());
    TuneResult result = autotune(runtime, pattern, options, shape);
    TuningDb::update(path, result.entry(), &warnings);
    for (const std::string& message : warnings) warn(message);
    std::fprintf(stderr, "%s", summaryTable(result).c_str());
    return TunedConfig{result.best_tile, result.best_split};
  } catch (const Error& error) {
    warn(std::string("PERMJIT_TUNE=1: tuning failed (") + error.what() +
         "); using the default tile");
    return std::nullopt;
  }
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
