// permjit's side of the benchmark table (bench/run_suite.sh runs it next to the baselines).
//
// For each case of a case file (bench/suite.py writes them; one "pattern seq_len heads
// head_dim dtype tune" per line): plan the default (the kernel family's default tile, pass split
// kAuto), time it with CUDA events (one warm-up run estimates the time; then as many runs as
// fit the per-shape cap, at least 3, median), count the kept pairs exactly
// (bench/BenchPatterns.h) and report effective TFLOP/s. Cases marked tune=1 then run the
// autotuner on the same shape (bounded candidate count, tiles x pass split), store the result
// in the tuning database, re-time default and tuned back to back, check that tuned is not
// slower and that Runtime::plan with the tile and split left open picks the tuned entry.
// --jit measures cold compile, disk hit and memory hit of the kernel cache and of whole plans.
// Every result is one JSON object per line on stdout; progress and warnings on stderr.
//
// Usage:
//   permjit_bench --list-patterns
//   permjit_bench --kept-pairs PATTERN SEQ_LEN   (exact count of a static pattern, no GPU)
//   permjit_bench --cases FILE [--deadline UNIX_SECONDS] [--time-cap-s 2] [--tune-cap-s 12]
//                 [--max-candidates 6] [--max-iterations 20] [--jit]
// Exit status: 0 when every case ran, 1 when any case failed (each failure is also a JSON
// line), 2 for bad usage. Cases past the deadline are reported as skipped.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "BenchPatterns.h"
#include "permjit/codegen/CudaSource.h"
#include "permjit/compiler/Pipeline.h"
#include "permjit/permjit.h"
#include "permjit/runtime/AttentionCheck.h"
#include "permjit/runtime/Autotuner.h"
#include "permjit/runtime/Driver.h"
#include "permjit/runtime/EventTimer.h"
#include "permjit/runtime/KernelCache.h"
#include "permjit/runtime/TuningDb.h"

namespace {

using namespace permjit;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Case {
  std::string pattern;
  int64_t seq_len = 0, heads = 0;
  int head_dim = 128;
  DType dtype = DType::kBF16;
  bool tune = false;
};

struct Settings {
  double deadline = 0;  // unix seconds; 0: none
  double time_cap_s = 2.0;
  double tune_cap_s = 12.0;
  int max_candidates = 6;
  int max_iterations = 20;
};

void emit(const json& line) {
  std::cout << line.dump() << "\n";
  std::cout.flush();
}

double unixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double msSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

[[noreturn]] void usage(const std::string& message) {
  std::fprintf(stderr,
               "permjit_bench: %s\nusage: permjit_bench --list-patterns | --kept-pairs PATTERN "
               "SEQ_LEN | --cases FILE "
               "[--deadline UNIX_SECONDS] [--time-cap-s S] [--tune-cap-s S] [--max-candidates N] "
               "[--max-iterations N] [--jit]\n",
               message.c_str());
  std::exit(2);
}

// The dynamic rows run only where the compiler can plan them.
bool dynamicSupported(const std::string& name) {
  try {
    CompileOptions options;
    options.name = name;
    compilePattern(bench::benchPattern(name, 16384).pattern, options);
    return true;
  } catch (const Error&) {
    return false;
  }
}

std::vector<std::string> supportedPatterns() {
  std::vector<std::string> names = bench::staticPatternNames();
  for (const char* name : {"vertical_slash", "vertical_slash_structured",
                           "qboundary_vertical_slash", "grid_estimated"}) {
    if (dynamicSupported(name)) names.push_back(name);
  }
  return names;
}

std::vector<Case> readCases(const std::string& path) {
  std::ifstream in(path);
  if (!in) usage("--cases: cannot read '" + path + "'");
  std::vector<Case> cases;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    Case c;
    std::string dtype;
    int tune = 0;
    if (!(fields >> c.pattern >> c.seq_len >> c.heads >> c.head_dim >> dtype >> tune) ||
        c.seq_len <= 0 || c.heads <= 0 || (dtype != "bf16" && dtype != "fp16")) {
      usage(path + ":" + std::to_string(number) + ": '" + line +
            "'; expected: pattern seq_len heads head_dim bf16|fp16 0|1");
    }
    c.dtype = dtype == "bf16" ? DType::kBF16 : DType::kFP16;
    c.tune = tune != 0;
    cases.push_back(c);
  }
  return cases;
}

json caseJson(const Case& c, const std::string& label, const std::string& card) {
  return json{{"baseline", label}, {"pattern", c.pattern},   {"seq_len", c.seq_len},
              {"heads", c.heads},  {"head_dim", c.head_dim}, {"dtype", dtypeName(c.dtype)},
              {"card", card}};
}

// One step of the bench's 64-bit LCG.
uint64_t nextState(uint64_t& state) {
  state = state * 6364136223846793005ull + 1442695040888963407ull;
  return state;
}
// A uniform value in [-1, 1) from the LCG.
float nextUniform(uint64_t& state) {
  return float((nextState(state) >> 40) & 0xFFFFFF) / float(1 << 24) * 2.0f - 1.0f;
}

void fillRandom(std::vector<uint16_t>& host, DType dtype, uint64_t seed) {
  uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& x : host) x = runtime::floatToHalfBits(nextUniform(state), dtype);
}

// Q and K of a head that attends as real vertical-slash heads do (MInference's observation):
// near the diagonal and on a few hundred key columns. Per position i, in BSHD order:
//   * dims [0, 2F): q_i and k_i carry sqrt(c a_f) (cos, sin)(w_f i) with w_f = 2 pi f / (2 S)
//     and Fejer weights a_f = 1 - f / F, so q_i . k_j = c sum_f a_f cos(w_f (i - j)): a
//     non-negative kernel of i - j, decreasing from its peak (logit 12) over the first S / F
//     offsets and far below it beyond, with no second peak before S;
//   * dim 2F: q_i = 1 and k_j = 8 sqrt(head_dim) on 300 planted columns (logit 8), 0 elsewhere;
//   * the other dims: noise in [-0.1, 0.1].
// The estimator's top diagonals are then the offsets nearest the diagonal, and its columns the
// planted ones and those the last rows' band covers. V stays random.
void fillStructured(std::vector<uint16_t>& q, std::vector<uint16_t>& k, const Case& c) {
  const int64_t S = c.seq_len, H = c.heads, D = c.head_dim;
  const int F = int(std::min<int64_t>(32, D / 4));
  const double pi = 3.14159265358979323846;
  double weight_sum = 0;
  for (int f = 0; f < F; ++f) weight_sum += 1.0 - double(f) / F;
  const double scale = 12.0 * std::sqrt(double(D)) / weight_sum;  // peak logit 12
  const float sink = float(8.0 * std::sqrt(double(D)));
  uint64_t state = 0x5EEDull;
  auto noise = [&] { return nextUniform(state) * 0.1f; };
  std::vector<char> planted(size_t(S), 0);
  for (int j = 0; j < 300; ++j) planted[size_t((nextState(state) >> 33) % uint64_t(S))] = 1;
  std::vector<float> amp(F);
  for (int f = 0; f < F; ++f) amp[f] = float(std::sqrt(scale * (1.0 - double(f) / F)));
  for (int64_t i = 0; i < S; ++i) {
    for (int64_t h = 0; h < H; ++h) {
      const size_t row = size_t((i * H + h) * D);
      for (int f = 0; f < F; ++f) {
        const double angle = 2.0 * pi * double(f) * double(i) / double(2 * S);
        const float cs = amp[f] * float(std::cos(angle)), sn = amp[f] * float(std::sin(angle));
        q[row + 2 * f] = k[row + 2 * f] = runtime::floatToHalfBits(cs, c.dtype);
        q[row + 2 * f + 1] = k[row + 2 * f + 1] = runtime::floatToHalfBits(sn, c.dtype);
      }
      q[row + 2 * F] = runtime::floatToHalfBits(1.0f, c.dtype);
      k[row + 2 * F] = runtime::floatToHalfBits(planted[size_t(i)] ? sink : 0.0f, c.dtype);
      for (int64_t d = 2 * F + 1; d < D; ++d) {
        q[row + d] = runtime::floatToHalfBits(noise(), c.dtype);
        k[row + d] = runtime::floatToHalfBits(noise(), c.dtype);
      }
    }
  }
}

// The inputs of one case on the device (random, never zeros; structured Q and K for
// vertical_slash_structured), shared by every plan timed.
class CaseBuffers {
 public:
  CaseBuffers(std::shared_ptr<runtime::Driver> driver, const Case& c, const Layout& layout) {
    const size_t elems = size_t(c.seq_len) * c.heads * c.head_dim;
    q_ = std::make_unique<runtime::DeviceBuffer>(driver, elems * 2);
    k_ = std::make_unique<runtime::DeviceBuffer>(driver, elems * 2);
    v_ = std::make_unique<runtime::DeviceBuffer>(driver, elems * 2);
    o_ = std::make_unique<runtime::DeviceBuffer>(driver, elems * 2);
    // Split plans merge their passes through the log-sum-exp, so it is always provided.
    lse_ = std::make_unique<runtime::DeviceBuffer>(driver,
                                                   size_t(c.seq_len) * c.heads * sizeof(float));
    std::vector<uint16_t> host(elems);
    if (c.pattern == "vertical_slash_structured") {
      std::vector<uint16_t> keys(elems);
      fillStructured(host, keys, c);
      q_->upload(host.data(), elems * 2);
      k_->upload(keys.data(), elems * 2);
    } else {
      fillRandom(host, c.dtype, 1);
      q_->upload(host.data(), elems * 2);
      fillRandom(host, c.dtype, 2);
      k_->upload(host.data(), elems * 2);
    }
    fillRandom(host, c.dtype, 3);
    v_->upload(host.data(), elems * 2);
    args.q = q_->data();
    args.k = k_->data();
    args.v = v_->data();
    args.o = o_->data();
    args.lse = static_cast<float*>(lse_->data());
    args.batch = 1;
    args.heads = c.heads;
    args.kv_heads = c.heads;
    args.seq_len = c.seq_len;
    args.head_dim = c.head_dim;
    args.dtype = c.dtype;
    args.tensor_layout = TensorLayout::kBSHD;
    args.layout = layout;
    driver_ = driver;
  }
  // Dynamic plans need their workspace, static ones take the key split's (as an engine that
  // passes it would); allocated once for the largest plan asked for.
  void provideWorkspace(const Plan& plan) {
    const size_t need = plan.isDynamic() ? plan.workspaceBytes(args.batch, args.heads, args.seq_len)
                                         : plan.keySplitWorkspaceBytes();
    if (need == 0) {
      args.workspace = nullptr;
      args.workspace_bytes = 0;
      return;
    }
    if (!workspace_ || workspace_->bytes() < need) {
      workspace_ = std::make_unique<runtime::DeviceBuffer>(driver_, need);
    }
    args.workspace = workspace_->data();
    args.workspace_bytes = workspace_->bytes();
  }
  RunArgs args;

 private:
  std::shared_ptr<runtime::Driver> driver_;
  std::unique_ptr<runtime::DeviceBuffer> q_, k_, v_, o_, lse_, workspace_;
};

struct Timing {
  double ms = 0;
  int runs = 0;
};

// One warm-up run estimates the time; then max(3, min(max_iterations, cap / estimate)) runs,
// each bracketed by CUDA events; the median.
Timing timePlan(runtime::Driver& drv, const Plan& plan, CaseBuffers& buffers, double cap_s,
                int max_iterations) {
  buffers.provideWorkspace(plan);
  runtime::EventTimer timer(drv);
  auto timedRun = [&] { return double(timer.timeMs([&] { plan.run(buffers.args, nullptr); })); };
  const double estimate = std::max(timedRun(), 1e-3);
  const int runs = std::clamp(int(cap_s * 1e3 / estimate), 3, std::max(3, max_iterations));
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) times.push_back(timedRun());
  std::sort(times.begin(), times.end());
  return {times[times.size() / 2], runs};
}

double effTflops(const Case& c, double kept_pairs, double ms) {
  return 4.0 * double(c.heads) * c.head_dim * kept_pairs / (ms * 1e-3) / 1e12;
}

std::string configName(const TileConfig& tile, PassSplit split) {
  return runtime::tileName(tile) + "/" + passSplitName(split);
}

// Autotunes the case's shape, stores the entry, re-times default and tuned back to back.
json tuneCase(Runtime& rt, runtime::Driver& drv, const Case& c, const bench::BenchPattern& bp,
              const PlanOptions& default_options, const Plan& default_plan, double default_ms,
              CaseBuffers& buffers, const Settings& settings, const std::string& card) {
  json out = caseJson(c, "permjit_tuned", card);
  runtime::TuneShape shape;
  shape.heads = c.heads;
  shape.seq_len = c.seq_len;
  shape.layout = bp.layout;
  runtime::TuneOptions options;
  options.progress = nullptr;
  options.warmup = 1;
  // sm80: the bench's most promising tiles; sm90a: the family's whole (small) space.
  if (rt.kernelFamily() == KernelFamily::kSm80) options.tiles = bench::benchTiles();
  // Candidates and runs per candidate so that timing stays near tune_cap_s.
  const double per_run_s = default_ms * 1e-3;
  options.max_candidates = std::clamp(int(settings.tune_cap_s / (3.0 * per_run_s)), 2,
                                      std::max(2, settings.max_candidates));
  options.iterations = std::clamp(
      int(settings.tune_cap_s / (options.max_candidates * per_run_s)) - options.warmup, 1, 5);
  // The CPU reference check runs at a small shape of the same pattern (sampled rows).
  options.check_seq_len = std::min<int64_t>(c.seq_len, 4096);
  options.check_layout = bench::benchPattern(c.pattern, options.check_seq_len).layout;
  auto start = Clock::now();
  runtime::TuneResult result = runtime::autotune(rt, bp.pattern, default_options, shape, options);
  out["tune_s"] = msSince(start) / 1e3;
  int timed = 0;
  json candidate_ms = json::object();  // e.g. the fused single pass against the split plan
  for (const auto& candidate : result.candidates) {
    const std::string name = configName(candidate.tile, candidate.pass_split);
    if (candidate.status == runtime::CandidateResult::Status::kTimed) {
      ++timed;
      candidate_ms[name] = candidate.ms;
    } else {
      candidate_ms[name] = runtime::candidateStatusName(candidate.status);
    }
  }
  out["candidate_ms"] = candidate_ms;
  out["candidates"] = result.candidates.size();
  out["candidates_timed"] = timed;
  out["tuner_iterations"] = options.iterations;
  out["tuner_default_ms"] = result.default_ms;
  out["tuner_best_ms"] = result.best_ms;
  out["default_config"] = configName(result.default_tile, result.default_split);
  out["tile"] = runtime::tileName(result.best_tile);
  out["pass_split"] = passSplitName(result.best_split);
  std::fprintf(stderr, "%s", runtime::summaryTable(result).c_str());

  std::vector<std::string> warnings;
  const std::string db = env::tuningDbPath();
  runtime::TuningDb::update(db, result.entry(), &warnings);
  for (const auto& w : warnings) std::fprintf(stderr, "permjit_bench: warning: %s\n", w.c_str());

  const bool kept_default =
      result.best_tile == result.default_tile && result.best_split == result.default_split;
  out["kept_default"] = kept_default;
  PlanOptions tuned_options = default_options;
  tuned_options.tile = result.best_tile;
  tuned_options.pass_split = result.best_split;
  Plan tuned_plan = rt.plan(bp.pattern, tuned_options);
  if (kept_default) {
    // The tuned plan is the default plan: the same time, gain 0.
    out["ms"] = default_ms;
    out["default_ms_pair"] = default_ms;
    out["gain"] = 0.0;
    out["tuned_check"] = "ok";
  } else {
    double pair_default =
        timePlan(drv, default_plan, buffers, settings.time_cap_s, settings.max_iterations).ms;
    Timing tuned = timePlan(drv, tuned_plan, buffers, settings.time_cap_s, settings.max_iterations);
    out["ms"] = tuned.ms;
    out["runs"] = tuned.runs;
    out["default_ms_pair"] = pair_default;
    out["gain"] = pair_default / tuned.ms - 1.0;
    // Within 3% is timing noise between two back-to-back measurements.
    out["tuned_check"] = tuned.ms <= pair_default * 1.03 ? "ok" : "slower";
  }
  out["passes"] = tuned_plan.numPasses();
  // Runtime::plan with the tile and split left open must now pick the tuned entry.
  PlanOptions open_options = default_options;
  open_options.tile.reset();
  open_options.pass_split = PassSplit::kAuto;
  Plan from_db = rt.plan(bp.pattern, open_options);
  out["db_plan_matches"] =
      from_db.spec().tile == result.best_tile && from_db.numPasses() == tuned_plan.numPasses();
  return out;
}

bool runCase(Runtime& rt, const std::shared_ptr<runtime::Driver>& drv, const Case& c,
             const Settings& settings, const std::string& card) {
  if (settings.deadline > 0 && unixNow() > settings.deadline) {
    json skipped = caseJson(c, "permjit", card);
    skipped["skipped"] = "time budget of the suite spent before this case";
    emit(skipped);
    return true;
  }
  const auto case_start = Clock::now();
  try {
    bench::BenchPattern bp = bench::benchPattern(c.pattern, c.seq_len);
    PlanOptions options;
    options.head_dim = c.head_dim;
    options.dtype = c.dtype;
    options.name = c.pattern;
    // An explicit default tile (the kernel family's, as Runtime::plan takes without a
    // database) keeps the tuning database out of the default row.
    options.tile = defaultTile(rt.kernelFamily(), c.head_dim);
    options.pass_split = PassSplit::kAuto;
    options.layout = bp.layout;
    options.seq_len = c.seq_len;
    auto plan_start = Clock::now();
    Plan plan = rt.plan(bp.pattern, options);
    const double plan_ms = msSince(plan_start);
    CaseBuffers buffers(drv, c, bp.layout);
    Timing timing = timePlan(*drv, plan, buffers, settings.time_cap_s, settings.max_iterations);

    double kept = 0;
    json grid_choices = json::array();  // grid_estimated: (stride, phase_q, phase_k) per head
    if (plan.isDynamic()) {
      // Mean over heads of the pairs the estimator chose in the last run.
      for (const DynamicIndices& head : plan.estimatedIndices(buffers.args)) {
        if (head.grid) {
          kept += bench::estimatedGridKeptPairs(*head.grid, c.seq_len);
          grid_choices.push_back({head.grid->stride, head.grid->phase_q, head.grid->phase_k});
        } else if (!head.later_atoms.empty()) {
          kept += bench::qboundaryVerticalSlashKeptPairs(head, c.seq_len);
        } else {
          kept += bench::verticalSlashKeptPairs(head.vertical, head.slash, c.seq_len);
        }
      }
      kept /= double(c.heads);
    } else {
      kept = bench::keptPairs(c.pattern, c.seq_len);
    }
    json row = caseJson(c, "permjit", card);
    row["ms"] = timing.ms;
    row["runs"] = timing.runs;
    row["kept_pairs"] = kept;
    row["eff_tflops"] = effTflops(c, kept, timing.ms);
    row["passes"] = plan.numPasses();
    row["tile"] = runtime::tileName(plan.spec().tile);
    row["plan_ms"] = plan_ms;
    if (!grid_choices.empty()) row["grid_choices"] = grid_choices;
    if (plan.isDynamic()) {
      // The estimator's share: the same run with the estimate reused (attention alone).
      buffers.args.reuse_estimate = true;
      Timing attention =
          timePlan(*drv, plan, buffers, settings.time_cap_s, settings.max_iterations);
      buffers.args.reuse_estimate = false;
      row["attention_ms"] = attention.ms;
      row["estimate_ms"] = timing.ms - attention.ms;
      row["estimate_pct"] = 100.0 * (timing.ms - attention.ms) / timing.ms;
    }
    emit(row);

    if (c.tune) {
      try {
        json tuned = tuneCase(rt, *drv, c, bp, options, plan, timing.ms, buffers, settings, card);
        tuned["kept_pairs"] = kept;
        tuned["eff_tflops"] = effTflops(c, kept, tuned["ms"].get<double>());
        emit(tuned);
        if (tuned["tuned_check"] != "ok" || !tuned["db_plan_matches"].get<bool>()) {
          std::fprintf(stderr, "permjit_bench: %s S=%lld: tuned_check %s, db_plan_matches %s\n",
                       c.pattern.c_str(), (long long)c.seq_len,
                       tuned["tuned_check"].get<std::string>().c_str(),
                       tuned["db_plan_matches"].dump().c_str());
        }
      } catch (const std::exception& e) {
        json failed = caseJson(c, "permjit_tuned", card);
        failed["error"] = e.what();
        emit(failed);
        std::fprintf(stderr, "permjit_bench: tuning %s S=%lld failed: %s\n", c.pattern.c_str(),
                     (long long)c.seq_len, e.what());
        return false;
      }
    }
    std::fprintf(stderr, "permjit_bench: %s S=%lld H=%lld hd=%d %s: %.3f ms (%.1f s)\n",
                 c.pattern.c_str(), (long long)c.seq_len, (long long)c.heads, c.head_dim,
                 dtypeName(c.dtype), timing.ms, msSince(case_start) / 1e3);
    return true;
  } catch (const std::exception& e) {
    json failed = caseJson(c, "permjit", card);
    failed["error"] = e.what();
    emit(failed);
    std::fprintf(stderr, "permjit_bench: %s S=%lld failed: %s\n", c.pattern.c_str(),
                 (long long)c.seq_len, e.what());
    return false;
  }
}

// Cold compile, disk hit and memory hit: of the kernel-cache layer alone on one kernel (the
// grid head fused into one pass), and of whole plans (pipeline + codegen + cache) of the
// default grid-head plan, each from an empty cache directory.
void measureJit(const std::shared_ptr<runtime::Driver>& drv, const std::string& card) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("permjit-bench-jit-" + std::to_string(getpid()));
  fs::remove_all(dir);
  const int64_t S = 32768;
  bench::BenchPattern bp = bench::benchPattern("grid", S);
  PlanOptions po;
  po.name = "grid";
  po.tile = defaultTileConfig(128);  // keep the tuning database out of it
  RuntimeOptions ro;
  ro.cache_dir = (dir / "plans").string();
  json plans = {{"metric", "jit_plan"}, {"pattern", "grid"}, {"card", card}};
  {
    Runtime rt(ro);
    auto t0 = Clock::now();
    Plan plan = rt.plan(bp.pattern, po);
    plans["cold_plan_ms"] = msSince(t0);
    plans["passes"] = plan.numPasses();
    plans["cold_plan_compiles"] = rt.cacheStats().compiles;
  }
  {
    Runtime rt(ro);
    auto t0 = Clock::now();
    rt.plan(bp.pattern, po);
    plans["disk_hit_plan_ms"] = msSince(t0);
    plans["disk_hit_plan_compiles"] = rt.cacheStats().compiles;
    // Same structure, other parameter values: the pipeline runs, the kernels come from memory.
    Pattern other = causal() & (sink(512) | local(2048) | rows(SpanRef::last(30)) | grid(16, 3, 5));
    t0 = Clock::now();
    rt.plan(other, po);
    plans["other_params_plan_ms"] = msSince(t0);
    const int kRepeats = 100;
    t0 = Clock::now();
    for (int i = 0; i < kRepeats; ++i) rt.plan(bp.pattern, po);
    plans["memory_hit_plan_us"] = msSince(t0) * 1e3 / kRepeats;
    plans["warm_compiles"] = rt.cacheStats().compiles;  // 0: nothing recompiled
  }
  json layer = {{"metric", "jit_cache"}, {"card", card}};
  {
    CUcontext ctx = drv->primaryContext(0);
    auto info = drv->device(0);
    CompileOptions co;
    co.name = "grid";
    co.pass_split = PassSplit::kSingle;
    KernelSpec spec = compilePattern(bp.pattern, co);
    TargetInfo target = TargetInfo::forComputeCapability(info.major, info.minor);
    GeneratedKernel gen = generateCuda(spec, target, 0);
    runtime::CudaProgram program;
    program.name = gen.kernel_name + ".cu";
    program.source = gen.source;
    program.headers = gen.headers;
    program.headers_digest = gen.headers_digest;
    program.options = gen.nvrtc_options;
    program.arch = target.nvrtcArch();
    program.kernel_name = gen.kernel_name;
    layer["kernel"] = gen.kernel_name;
    runtime::KernelCache::Options opts;
    opts.dir = (dir / "layer").string();
    {
      runtime::KernelCache cache(opts);
      auto t0 = Clock::now();
      cache.kernel(program, *drv, drv, ctx);
      layer["cold_compile_ms"] = msSince(t0);
    }
    runtime::KernelCache cache(opts);
    auto t0 = Clock::now();
    cache.kernel(program, *drv, drv, ctx);
    layer["disk_hit_ms"] = msSince(t0);
    const int kLookups = 1000;
    t0 = Clock::now();
    for (int i = 0; i < kLookups; ++i) cache.kernel(program, *drv, drv, ctx);
    layer["memory_hit_us"] = msSince(t0) * 1e3 / kLookups;
    layer["compiles"] = cache.stats().compiles;
  }
  emit(layer);
  emit(plans);
  fs::remove_all(dir);
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  std::string cases_path;
  bool jit = false, list = false;
  std::string kept_pattern;
  int64_t kept_seq_len = 0;
  auto number = [&](int& i, const std::string& flag) {
    if (i + 1 >= argc) usage(flag + ": needs a value");
    try {
      return std::stod(argv[++i]);
    } catch (const std::exception&) {
      usage(flag + ": '" + argv[i] + "' is not a number");
    }
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--list-patterns") {
      list = true;
    } else if (a == "--kept-pairs") {
      if (i + 2 >= argc) usage("--kept-pairs: needs PATTERN SEQ_LEN");
      kept_pattern = argv[++i];
      kept_seq_len = int64_t(number(i, a));
    } else if (a == "--cases" && i + 1 < argc) {
      cases_path = argv[++i];
    } else if (a == "--deadline") {
      settings.deadline = number(i, a);
    } else if (a == "--time-cap-s") {
      settings.time_cap_s = number(i, a);
    } else if (a == "--tune-cap-s") {
      settings.tune_cap_s = number(i, a);
    } else if (a == "--max-candidates") {
      settings.max_candidates = int(number(i, a));
    } else if (a == "--max-iterations") {
      settings.max_iterations = int(number(i, a));
    } else if (a == "--jit") {
      jit = true;
    } else {
      usage("unknown argument '" + a + "'");
    }
  }
  if (list) {
    for (const std::string& name : supportedPatterns()) std::printf("%s\n", name.c_str());
    return 0;
  }
  if (!kept_pattern.empty()) {
    try {
      std::printf("%.0f\n", bench::keptPairs(kept_pattern, kept_seq_len));
      return 0;
    } catch (const Error& e) {
      usage(std::string("--kept-pairs: ") + e.what());
    }
  }
  if (cases_path.empty() && !jit) usage("--cases FILE or --jit is required");
  std::vector<Case> cases;
  if (!cases_path.empty()) cases = readCases(cases_path);
  const std::vector<std::string> supported = supportedPatterns();
  for (const Case& c : cases) {
    if (std::find(supported.begin(), supported.end(), c.pattern) == supported.end()) {
      usage("case pattern '" + c.pattern + "' is not supported by this build (--list-patterns)");
    }
  }
  try {
    std::string reason = Runtime::deviceUnavailableReason();
    if (!reason.empty()) {
      std::fprintf(stderr, "permjit_bench needs a GPU: %s\n", reason.c_str());
      return 1;
    }
    Runtime rt;
    auto drv = runtime::Driver::open();
    // Device buffers below are allocated in the primary context the runtime launches in.
    drv->check(drv->cuCtxSetCurrent(drv->primaryContext(0)), "cuCtxSetCurrent");
    const std::string card = rt.deviceName();
    if (jit) measureJit(drv, card);
    bool all_ok = true;
    for (const Case& c : cases) all_ok = runCase(rt, drv, c, settings, card) && all_ok;
    CacheStats stats = rt.cacheStats();
    emit({{"metric", "compiles"},
          {"nvrtc_compiles", stats.compiles},
          {"disk_hits", stats.disk_hits},
          {"memory_hits", stats.memory_hits},
          {"cases", cases.size()},
          {"card", card}});
    return all_ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "permjit_bench: %s\n", e.what());
    return 1;
  }
}
