// The autotuner on the GPU: tuned is never slower than the default, the database round-trips,
// and a second process plans from it with zero timing runs. Skipped with the reason where
// there is no CUDA driver or GPU.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "RequireGpu.h"
#include "permjit/permjit.h"
#include "permjit/runtime/AttentionCheck.h"
#include "permjit/runtime/Autotuner.h"
#include "permjit/runtime/TuningDb.h"

namespace permjit::runtime {
namespace {

namespace fs = std::filesystem;

// The child half of SecondProcessPlansFromTheDatabase reads its expectations from here.
constexpr const char* kChildTileVar = "PERMJIT_TUNING_TEST_CHILD_TILE";

Pattern tunedPattern() { return causal() & (sink(64) | local(512)); }
constexpr int64_t kSeqLen = 8192;

PlanOptions planOptions() {
  PlanOptions options;
  options.head_dim = 128;
  options.dtype = DType::kBF16;
  options.seq_len = kSeqLen;
  options.name = "a_shape";
  return options;
}

class AutotunerGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    PERMJIT_REQUIRE_GPU();
    if (std::getenv(kChildTileVar) != nullptr) {  // the parent's database and cache
      db_path_ = std::getenv("PERMJIT_TUNING_DB");
      return;
    }
    dir_ = fs::temp_directory_path() / ("permjit-autotune-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    db_path_ = (dir_ / "tuning.json").string();
    ::setenv("PERMJIT_TUNING_DB", db_path_.c_str(), 1);
    ::setenv("PERMJIT_CACHE_DIR", (dir_ / "cache").c_str(), 1);
    ::unsetenv("PERMJIT_TUNE");
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  fs::path dir_;
  std::string db_path_;
};

TEST_F(AutotunerGpu, TunedNeverSlowerAndTheDatabaseRoundTrips) {
  Runtime runtime;
  TuneShape shape;
  shape.heads = 8;
  shape.seq_len = kSeqLen;
  TuneOptions options;
  options.iterations = 15;
  std::ostringstream progress;
  options.progress = &progress;
  TuneResult result = autotune(runtime, tunedPattern(), planOptions(), shape, options);
  std::cout << summaryTable(result);

  EXPECT_NE(progress.str().find("timing"), std::string::npos);
  ASSERT_FALSE(result.candidates.empty());
  const CandidateResult& fallback = result.candidates[0];
  EXPECT_TRUE(fallback.is_default);
  EXPECT_EQ(fallback.status, CandidateResult::Status::kTimed);
  EXPECT_GT(result.default_ms, 0);
  EXPECT_LE(result.best_ms, result.default_ms);
  int timed = 0;
  for (const CandidateResult& c : result.candidates) {
    if (c.status == CandidateResult::Status::kTimed) {
      ++timed;
      EXPECT_LT(c.rel_l2, toleranceFor(DType::kBF16)) << tileName(c.tile);
      EXPECT_GT(c.ms, 0) << tileName(c.tile);
      // Not chosen: no faster than the choice, or faster than the default by less than
      // min_gain (the default is kept through timing noise).
      EXPECT_TRUE(c.ms >= result.best_ms || c.ms > result.default_ms * (1.0 - options.min_gain))
          << tileName(c.tile) << " " << c.ms << " ms; chosen " << result.best_ms << " ms";
    } else {
      EXPECT_FALSE(c.note.empty()) << tileName(c.tile);
    }
  }
  EXPECT_GE(timed, 4) << "the code generator should accept several of the candidate tiles";
  EXPECT_EQ(result.key.device, runtime.deviceName());
  EXPECT_EQ(result.key.seq_bucket, seqBucket(kSeqLen));

  // Independent re-measurement: the chosen tile against the default, both fresh plans.
  PlanOptions tuned_options = planOptions(), default_options = planOptions();
  tuned_options.tile = result.best_tile;
  tuned_options.pass_split = result.best_split;
  default_options.tile = result.default_tile;
  default_options.pass_split = result.default_split;
  auto retime = [&](const PlanOptions& plan_options) {
    CheckConfig config;  // checkPlan's event timing at the same shape; few sampled check rows
    config.heads = shape.heads;
    config.seq_len = shape.seq_len;
    config.timing_iterations = 31;
    config.full_reference_limit = 0;
    config.sample_rows = 4;
    return checkPlan(runtime, runtime.plan(tunedPattern(), plan_options), tunedPattern(), config)
        .median_ms;
  };
  double default_ms = retime(default_options), tuned_ms = retime(tuned_options);
  EXPECT_LE(tuned_ms, default_ms * 1.05) << "tuned " << tileName(result.best_tile) << " "
                                         << tuned_ms << " ms vs default " << default_ms << " ms";

  std::vector<std::string> warnings;
  TuningDb::update(db_path_, result.entry(), &warnings);
  EXPECT_TRUE(warnings.empty());
  TuningDb loaded = TuningDb::load(db_path_, &warnings);
  auto entry = loaded.lookup(result.key, &warnings);
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->tile, result.best_tile);
  EXPECT_EQ(entry->pass_split, result.best_split);
  EXPECT_DOUBLE_EQ(entry->tuned_ms, result.best_ms);
  EXPECT_DOUBLE_EQ(entry->default_ms, result.default_ms);

  // Planning in this process now reads the tile from the database, without timing anything.
  const uint64_t runs = timingRunCount();
  auto tuned = tunedConfigFor(runtime, tunedPattern(), planOptions());
  ASSERT_TRUE(tuned);
  EXPECT_EQ(tuned->tile, result.best_tile);
  EXPECT_EQ(tuned->pass_split, result.best_split);
  EXPECT_EQ(timingRunCount(), runs);

  // Another GPU's entry for the same class is not ours.
  TuningEntry other = result.entry();
  other.key.device = "Some Other GPU";
  other.tile = TileConfig{64, 32, 4, 2};
  TuningDb::update(db_path_, other, &warnings);
  EXPECT_EQ(tunedConfigFor(runtime, tunedPattern(), planOptions()),
            std::optional<TunedConfig>(TunedConfig{result.best_tile, result.best_split}));

  // A second process plans from the database with zero timing runs.
  std::string tile_text = tileName(result.best_tile);
  ::setenv(kChildTileVar, tile_text.c_str(), 1);
  std::string command = fs::read_symlink("/proc/self/exe").string() +
                        " --gtest_filter=AutotunerGpu.ChildPlansFromTheDatabase";
  int status = std::system(command.c_str());
  ::unsetenv(kChildTileVar);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the child process failed: " << command;
}

// Runs only as the child of the test above (the variable names the expected tile).
TEST_F(AutotunerGpu, ChildPlansFromTheDatabase) {
  const char* expected = std::getenv(kChildTileVar);
  if (expected == nullptr) GTEST_SKIP() << "only runs as the child of TunedNeverSlower...";
  Runtime runtime;
  auto tuned = tunedConfigFor(runtime, tunedPattern(), planOptions());
  ASSERT_TRUE(tuned) << "no database entry found in " << db_path_;
  EXPECT_EQ(tileName(tuned->tile), expected);
  // Runtime::plan with the tile unset takes it from the database.
  Plan plan = runtime.plan(tunedPattern(), planOptions());
  EXPECT_EQ(plan.spec().tile, tuned->tile);
  EXPECT_EQ(timingRunCount(), 0u);
}

// The database's split reaches Runtime::plan where the caller leaves it to kAuto; an explicit
// split wins.
TEST_F(AutotunerGpu, PlanUsesTheTunedPassSplitUnderAuto) {
  Runtime runtime;
  const Pattern grid_head =
      causal() & (sink(1024) | local(1024) | rows(SpanRef::last(60)) | grid(14, 0, 0));
  PlanOptions options = planOptions();
  options.layout = Layout::textVisionText(kSeqLen, 812, 60);
  options.name = "grid";
  EXPECT_EQ(runtime.plan(grid_head, options).numPasses(), 2);  // no entry: the compiler splits
  CompileOptions key_options;  // as the tuner keys: default tile and split
  key_options.layout = options.layout;
  key_options.seq_len = kSeqLen;
  key_options.name = "grid";
  KernelSpec key_spec = compilePattern(grid_head, key_options);
  auto key = tuningKeyFor(runtime, key_spec, kSeqLen);
  ASSERT_TRUE(key);
  TuningEntry entry;
  entry.key = *key;
  entry.tile = TileConfig{128, 128, 4, 2};  // a tile both kernel families run
  entry.pass_split = PassSplit::kSingle;
  entry.date = isoDateNow();
  std::vector<std::string> warnings;
  TuningDb::update(db_path_, entry, &warnings);
  Plan tuned = runtime.plan(grid_head, options);
  EXPECT_EQ(tuned.numPasses(), 1);
  EXPECT_EQ(tuned.spec().tile, entry.tile);
  options.pass_split = PassSplit::kSplitLines;
  Plan explicit_split = runtime.plan(grid_head, options);
  EXPECT_EQ(explicit_split.numPasses(), 2);
  EXPECT_EQ(explicit_split.spec().tile, entry.tile);
}

// A dynamic plan (vertical_slash: the estimator runs into a workspace the timing harness owns):
// every candidate that compiles is checked against the reference of the sets its run chose and
// timed, estimator included.
TEST_F(AutotunerGpu, TunesADynamicPlan) {
  Runtime runtime;
  PlanOptions options = planOptions();
  options.seq_len = 4096;
  options.name = "vertical_slash";
  const Pattern pattern = causal() & vertical_slash(256, 512, 64);
  TuneShape shape;
  shape.heads = 4;
  shape.seq_len = options.seq_len;
  TuneOptions tune;
  tune.iterations = 5;
  tune.max_candidates = 4;
  TuneResult result = autotune(runtime, pattern, options, shape, tune);
  std::cout << summaryTable(result);
  ASSERT_FALSE(result.candidates.empty());
  EXPECT_EQ(result.candidates[0].status, CandidateResult::Status::kTimed)
      << result.candidates[0].note;
  EXPECT_GT(result.default_ms, 0);
  EXPECT_LE(result.best_ms, result.default_ms);
  for (const CandidateResult& c : result.candidates) {
    if (c.status == CandidateResult::Status::kTimed) {
      EXPECT_LT(c.rel_l2, toleranceFor(DType::kBF16)) << tileName(c.tile);
    }
  }
}

TEST_F(AutotunerGpu, StaleEntryThatNoLongerRendersIsIgnored) {
  Runtime runtime;
  PlanOptions options = planOptions();
  Plan plan = runtime.plan(tunedPattern(), options);
  auto key = tuningKeyFor(runtime, plan.spec(), options.seq_len);
  ASSERT_TRUE(key);
  TuningEntry stale;
  stale.key = *key;
  // Valid for the compiler (validateTileConfig) but not for the code generator: 64 rows over
  // 8 warps is 8 rows per warp; the templates need 16 or 32.
  stale.tile = TileConfig{64, 64, 8, 2};
  stale.date = isoDateNow();
  std::vector<std::string> warnings;
  TuningDb::update(db_path_, stale, &warnings);
  ::testing::internal::CaptureStderr();
  auto tuned = tunedConfigFor(runtime, tunedPattern(), options);
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_FALSE(tuned);
  EXPECT_NE(err.find("stale"), std::string::npos) << err;
}

}  // namespace
}  // namespace permjit::runtime
