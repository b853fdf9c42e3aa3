// The public C++ and C APIs without a GPU: host-only runtimes compile through the cache, and
// every bad argument is rejected with the right category and a message naming it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include "permjit/codegen/CudaSource.h"
#include "permjit/dsl/Json.h"
#include "permjit/permjit.h"
#include "permjit/permjit_c.h"

namespace permjit {
namespace {
namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ = (fs::temp_directory_path() /
             ("permjit-api-test-" + std::to_string(getpid()) + "-" + std::to_string(next_++)))
                .string();
    fs::remove_all(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  static inline int next_ = 0;
  std::string path_;
};

// One cache directory for the tests that do not count compiles, so each kernel compiles once.
const std::string& sharedCacheDir() {
  static TempDir dir;
  return dir.path();
}

RuntimeOptions hostOnly(const std::string& cache_dir) {
  RuntimeOptions options;
  options.host_only = true;
  options.arch = "sm_90a";
  options.cache_dir = cache_dir;
  options.disable_cache = false;
  return options;
}

Pattern gridHead(int64_t sink_n, int64_t window, int64_t text_rows, int64_t stride, int64_t pq,
                 int64_t pk) {
  return causal() &
         (sink(sink_n) | local(window) | rows(SpanRef::last(text_rows)) | grid(stride, pq, pk));
}

// One pattern structure, 100 shapes and parameter sets: the kernel is compiled once (per
// pass), every other plan is a memory hit, and a new runtime on the same directory compiles
// nothing at all.
TEST(Api, OnePatternStructureCompilesOnce) {
  TempDir dir;
  Runtime runtime(hostOnly(dir.path()));
  std::string structure;
  int passes = 0;
  for (int i = 0; i < 100; ++i) {
    int64_t seq_len = 512 + 37 * i;
    int64_t stride = 2 + i % 17;
    Pattern pattern = gridHead(8 + i, 16 + 3 * i, 1 + i % 20, stride, i % stride, (i * 7) % stride);
    PlanOptions options;
    options.layout = Layout::textVisionText(seq_len, 10 + i, 30 + i % 9);
    options.seq_len = seq_len;
    Plan plan = runtime.plan(pattern, options);
    if (i == 0) {
      structure = plan.structureKey();
      passes = plan.numPasses();
    }
    ASSERT_EQ(plan.structureKey(), structure) << "plan " << i;
  }
  CacheStats stats = runtime.cacheStats();
  EXPECT_EQ(stats.compiles, static_cast<uint64_t>(passes));
  EXPECT_EQ(stats.memory_hits, static_cast<uint64_t>(99 * passes));
  std::printf("100 plans: %d pass(es), %llu NVRTC compile(s)\n", passes,
              static_cast<unsigned long long>(stats.compiles));

  Runtime again(hostOnly(dir.path()));
  again.plan(gridHead(1, 1, 1, 5, 1, 2), {});
  EXPECT_EQ(again.cacheStats().compiles, 0u);
  EXPECT_EQ(again.cacheStats().disk_hits, static_cast<uint64_t>(passes));
}

TEST(Api, DifferentStructuresCompileSeparately) {
  TempDir dir;
  Runtime runtime(hostOnly(dir.path()));
  Plan a = runtime.plan(causal() & local(64), {});
  Plan b = runtime.plan(causal() & (sink(4) | local(64)), {});
  EXPECT_NE(a.structureKey(), b.structureKey());
  EXPECT_NE(a.source(), b.source());
  EXPECT_EQ(runtime.cacheStats().compiles, static_cast<uint64_t>(a.numPasses() + b.numPasses()));
  EXPECT_EQ(a.binary("cubin").substr(1, 3), "ELF");
  EXPECT_NE(a.binary("ptx").find(".entry " + a.kernelName()), std::string::npos);
  EXPECT_FALSE(a.canRun());
  EXPECT_EQ(a.arch(), "sm_90a");
}

TEST(Api, KernelFamilyFollowsTheTargetUnlessChosen) {
  if (std::getenv("PERMJIT_KERNEL_FAMILY") != nullptr) GTEST_SKIP() << "PERMJIT_KERNEL_FAMILY set";
  RuntimeOptions options;
  options.host_only = true;
  options.disable_cache = true;
  options.arch = "sm_90a";
  EXPECT_EQ(Runtime(options).kernelFamily(), KernelFamily::kSm90a);
  options.kernel_family = KernelFamily::kSm80;
  EXPECT_EQ(Runtime(options).kernelFamily(), KernelFamily::kSm80);
  options.arch = "sm_80";
  options.kernel_family.reset();
  EXPECT_EQ(Runtime(options).kernelFamily(), KernelFamily::kSm80);
  options.kernel_family = KernelFamily::kSm90a;
  try {
    Runtime runtime(options);
    FAIL() << "sm90a accepted on sm_80";
  } catch (const Error& error) {
    EXPECT_EQ(error.category(), ErrorCategory::kUnsupported);
    EXPECT_NE(std::string(error.what()).find("sm90a does not run on sm_80"), std::string::npos)
        << error.what();
  }
}

// Without a tile from the caller or the tuning database, a plan takes its kernel family's
// default: 128 keys per step on sm90a (what its mainloop needs to keep the tensor cores fed),
// 64 on sm80. An explicit tile still wins.
TEST(Api, DefaultTileIsTheKernelFamilys) {
  RuntimeOptions options;
  options.host_only = true;
  options.disable_cache = true;
  options.arch = "sm_90a";
  PlanOptions plan_options;
  plan_options.seq_len = 1024;
  for (KernelFamily family : {KernelFamily::kSm80, KernelFamily::kSm90a}) {
    options.kernel_family = family;
    Runtime runtime(options);
    const TileConfig want =
        family == KernelFamily::kSm90a ? TileConfig{128, 128, 4, 2} : TileConfig{128, 64, 4, 2};
    EXPECT_EQ(runtime.plan(causal(), plan_options).spec().tile, want) << kernelFamilyName(family);
    EXPECT_EQ(defaultTile(family, 128), want);
    // sm90a at head dim 64: a third stage (half as long steps leave two-stage loads exposed).
    const TileConfig want64 =
        family == KernelFamily::kSm90a ? TileConfig{128, 128, 4, 3} : TileConfig{128, 64, 4, 2};
    EXPECT_EQ(defaultTile(family, 64), want64);
    PlanOptions explicit_tile = plan_options;
    explicit_tile.tile = TileConfig{128, 64, 4, 3};
    EXPECT_EQ(runtime.plan(causal(), explicit_tile).spec().tile, *explicit_tile.tile);
  }
}

TEST(Api, HostOnlyNeedsAnArchitecture) {
  RuntimeOptions options;
  options.host_only = true;
  try {
    Runtime runtime(options);
    FAIL();
  } catch (const Error& error) {
    EXPECT_EQ(error.category(), ErrorCategory::kInvalidArgument);
    EXPECT_NE(std::string(error.what()).find("arch"), std::string::npos);
  }
  options.arch = "hopper";
  try {
    Runtime runtime(options);
    FAIL();
  } catch (const Error& error) {
    EXPECT_EQ(error.category(), ErrorCategory::kInvalidArgument);
  }
}

TEST(Api, NoDriverIsADriverError) {
  RuntimeOptions options;
  options.driver_library = "/nonexistent/libcuda.so.1";
  try {
    Runtime runtime(options);
    FAIL();
  } catch (const Error& error) {
    EXPECT_EQ(error.category(), ErrorCategory::kDriverError);
    EXPECT_NE(std::string(error.what()).find("libcuda"), std::string::npos);
  }
  EXPECT_FALSE(Runtime::deviceUnavailableReason("/nonexistent/libcuda.so.1").empty());
}

// Fake, aligned device addresses: validation rejects bad arguments before touching a device,
// and a fully valid call on a host-only plan is a driver error.
struct FakeBuffers {
  static void* at(uintptr_t address) { return reinterpret_cast<void*>(address); }
};

RunArgs validArgs() {
  RunArgs args;
  args.q = FakeBuffers::at(0x10000);
  args.k = FakeBuffers::at(0x20000);
  args.v = FakeBuffers::at(0x30000);
  args.o = FakeBuffers::at(0x40000);
  args.lse = static_cast<float*>(FakeBuffers::at(0x50000));
  args.batch = 1;
  args.heads = 8;
  args.kv_heads = 2;
  args.seq_len = 1000;
  args.head_dim = 128;
  args.layout = Layout::textVisionText(1000, 50, 20);
  return args;
}

void expectError(const Plan& plan, const RunArgs& args, ErrorCategory category,
                 const std::string& field) {
  try {
    plan.run(args, nullptr);
    FAIL() << "expected an error naming " << field;
  } catch (const Error& error) {
    EXPECT_EQ(error.category(), category) << error.what();
    EXPECT_NE(std::string(error.what()).find(field), std::string::npos) << error.what();
  }
}

TEST(Api, RunRejectsBadArgumentsNamingThem) {
  Runtime runtime(hostOnly(sharedCacheDir()));
  Plan plan = runtime.plan(gridHead(64, 64, 20, 14, 0, 0), {});
  RunArgs args = validArgs();
  expectError(plan, args, ErrorCategory::kDriverError, "no CUDA driver/GPU");

  RunArgs bad = args;
  bad.q = nullptr;
  expectError(plan, bad, ErrorCategory::kInvalidArgument, "q: null");
  bad = args;
  bad.o = nullptr;
  expectError(plan, bad, ErrorCategory::kInvalidArgument, "o: null");
  bad = args;
  bad.k = FakeBuffers::at(0x20008);
  expectError(plan, bad, ErrorCategory::kInvalidArgument, "k: pointer is not 16-byte aligned");
  bad = args;
  bad.head_dim = 64;
  expectError(plan, bad, ErrorCategory::kInvalidArgument, "head_dim");
  bad = args;
  bad.dtype = DType::kFP16;
  expectError(plan, bad, ErrorCategory::kInvalidArgument, "dtype");
  bad = args;
  bad.kv_heads = 3;
  expectError(plan, bad, ErrorCategory::kInvalidArgument, "kv_heads");
  bad = args;
  bad.seq_len = 0;
  expectError(plan, bad, ErrorCategory::kInvalidArgument, "seq_len");
  bad = args;
  bad.batch = 0;
  expectError(plan, bad, ErrorCategory::kInvalidArgument, "batch");
  bad = args;
  bad.seq_len = 500;  // the layout's spans run to 1000
  expectError(plan, bad, ErrorCategory::kInvalidArgument, "layout");
  bad = args;
  bad.tensor_layout = TensorLayout::kStrided;
  bad.q_strides = {1000 * 8 * 128, 8 * 128, 128};
  bad.k_strides = bad.v_strides = bad.o_strides = {1000 * 2 * 128, 2 * 128, 128};
  expectError(plan, bad, ErrorCategory::kDriverError, "no CUDA driver/GPU");  // valid strides
  bad.q_strides.seq = 8 * 128 + 4;
  expectError(plan, bad, ErrorCategory::kInvalidArgument, "q_strides.seq");
  bad.q_strides.seq = 8 * 128;
  bad.o_strides.seq = 64;  // rows of 128 elements would overlap
  expectError(plan, bad, ErrorCategory::kInvalidArgument, "o_strides");
  bad = args;
  bad.softmax_scale = -1.0f;
  expectError(plan, bad, ErrorCategory::kInvalidArgument, "softmax_scale");
}

// The key split's workspace: static plans report its size (the same for every shape), take a
// workspace of at least that size or none, and a bad size, alignment or option names its field.
TEST(Api, KeySplitWorkspaceIsOptionalAndChecked) {
  RuntimeOptions on = hostOnly(sharedCacheDir());
  on.key_split_min_tiles = 256;
  Runtime runtime(on);
  Plan plan = runtime.plan(gridHead(64, 64, 20, 14, 0, 0), {});
  const size_t need = plan.keySplitWorkspaceBytes();
  // Header, candidates, tiles and work (256-byte aligned), then 128 chunk states of
  // block_m * (head_dim + 8) floats: 128 x 136 at the default sm90a tile.
  EXPECT_EQ(need, 19712u + 128u * 128u * 136u * 4u);
  EXPECT_EQ(plan.workspaceBytes(1, 8, 1000), 0u);  // nothing required

  RunArgs args = validArgs();
  args.workspace = FakeBuffers::at(0x100000);
  args.workspace_bytes = need;
  expectError(plan, args, ErrorCategory::kDriverError, "no CUDA driver/GPU");
  RunArgs bad = args;
  bad.workspace_bytes = need - 1;
  expectError(plan, bad, ErrorCategory::kInvalidArgument, "workspace_bytes");
  bad = args;
  bad.workspace = FakeBuffers::at(0x100010);
  expectError(plan, bad, ErrorCategory::kInvalidArgument, "workspace: pointer is not 256-byte");
  bad = args;
  bad.workspace = nullptr;  // no workspace: no split, nothing to check
  bad.workspace_bytes = 0;
  expectError(plan, bad, ErrorCategory::kDriverError, "no CUDA driver/GPU");
  bad = args;
  bad.workspace_bytes = 0;  // a workspace of no bytes is none
  expectError(plan, bad, ErrorCategory::kDriverError, "no CUDA driver/GPU");

  Runtime no_split(hostOnly(sharedCacheDir()));  // off by default
  Plan plain = no_split.plan(gridHead(64, 64, 20, 14, 0, 0), {});
  EXPECT_EQ(plain.keySplitWorkspaceBytes(), 0u);
  // The split's kernels are preprocessed out, and the mainloop is instantiated without it.
  EXPECT_NE(plain.source(0).find("#if false"), std::string::npos);
  EXPECT_NE(plain.source(0).find("kKeySplit = false"), std::string::npos);
  EXPECT_NE(plan.source(0).find("#if true"), std::string::npos);
  EXPECT_NE(plan.source(0).find("kKeySplit = true"), std::string::npos);
  // A workspace of any size is simply unused without a split.
  bad = args;
  bad.workspace_bytes = 256;
  expectError(plain, bad, ErrorCategory::kDriverError, "no CUDA driver/GPU");

  RuntimeOptions negative = hostOnly(sharedCacheDir());
  negative.key_split_min_tiles = -1;
  try {
    Runtime r(negative);
    ADD_FAILURE() << "a negative key_split_min_tiles was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.category(), ErrorCategory::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("key_split_min_tiles: -1"), std::string::npos) << e.what();
  }
  ::setenv("PERMJIT_KEY_SPLIT", "lots", 1);
  try {
    Runtime r(hostOnly(sharedCacheDir()));
    ADD_FAILURE() << "PERMJIT_KEY_SPLIT=lots was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("PERMJIT_KEY_SPLIT: 'lots'"), std::string::npos)
        << e.what();
  }
  ::setenv("PERMJIT_KEY_SPLIT", "256", 1);
  EXPECT_EQ(Runtime(hostOnly(sharedCacheDir())).plan(causal(), {}).keySplitWorkspaceBytes(), need);
  ::setenv("PERMJIT_KEY_SPLIT", "0", 1);
  EXPECT_EQ(Runtime(hostOnly(sharedCacheDir())).plan(causal(), {}).keySplitWorkspaceBytes(), 0u);
  ::unsetenv("PERMJIT_KEY_SPLIT");
}

TEST(Api, MultiPassPlansNeedTheLse) {
  Runtime runtime(hostOnly(sharedCacheDir()));
  PlanOptions options;
  options.pass_split = PassSplit::kSplitLines;
  Plan plan = runtime.plan(gridHead(64, 64, 20, 14, 0, 0), options);
  ASSERT_EQ(plan.numPasses(), 2);
  RunArgs args = validArgs();
  expectError(plan, args, ErrorCategory::kDriverError, "no CUDA driver/GPU");
  args.lse = nullptr;
  expectError(plan, args, ErrorCategory::kInvalidArgument, "lse: null");
}

// Sets (value) or unsets (nullptr) one environment variable for a scope, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value != nullptr) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(Api, DumpSourceWritesEveryPassAsKernelNameDotCu) {
  TempDir dir;
  const fs::path dump = fs::path(dir.path()) / "nested" / "sources";  // created by the dump
  ScopedEnv env("PERMJIT_DUMP_SOURCE", dump.string().c_str());
  Runtime runtime(hostOnly(sharedCacheDir()));
  PlanOptions options;
  options.pass_split = PassSplit::kSplitLines;
  Plan plan = runtime.plan(gridHead(64, 64, 20, 14, 0, 0), options);
  ASSERT_EQ(plan.numPasses(), 2);
  size_t files = 0;
  for (const auto& entry : fs::directory_iterator(dump)) {
    ++files;
    EXPECT_EQ(entry.path().extension(), ".cu") << entry.path();  // no temporary file left
  }
  EXPECT_EQ(files, 2u);
  for (int pass = 0; pass < plan.numPasses(); ++pass) {
    const fs::path file = dump / (plan.kernelName(pass) + ".cu");
    ASSERT_TRUE(fs::exists(file)) << file;
    EXPECT_EQ(readFile(file), plan.source(pass)) << file;
  }
}

TEST(Api, DumpSourceToAnUnwritablePlaceIsAnIoErrorNamingIt) {
  TempDir dir;
  fs::create_directories(dir.path());
  const std::string blocker = dir.path() + "/a_file";
  std::ofstream(blocker) << "not a directory";
  ScopedEnv env("PERMJIT_DUMP_SOURCE", (blocker + "/sources").c_str());
  Runtime runtime(hostOnly(sharedCacheDir()));
  try {
    runtime.plan(causal() & local(64), {});
    FAIL() << "expected Error(kIo)";
  } catch (const Error& error) {
    EXPECT_EQ(error.category(), ErrorCategory::kIo);
    EXPECT_NE(std::string(error.what()).find("PERMJIT_DUMP_SOURCE"), std::string::npos)
        << error.what();
    EXPECT_NE(std::string(error.what()).find(blocker + "/sources"), std::string::npos)
        << error.what();
  }
}

// A plan's kernels compile concurrently, each distinct one once: a grid_estimated plan's
// candidates render the same pass sources, so all but the first candidate's are memory hits.
TEST(Api, PlanCompilesEachDistinctKernelOnce) {
  TempDir dir;
  Runtime runtime(hostOnly(dir.path()));
  const Pattern pattern =
      causal() & (sink(16) | local(32) | rows(SpanRef::last(64)) | grid_estimated({7, 14, 28}, 64));
  PlanOptions options;
  options.layout = Layout::textVisionText(4096, 100, 64);
  options.seq_len = 4096;
  Plan plan = runtime.plan(pattern, options);
  const uint64_t passes = static_cast<uint64_t>(plan.numPasses());
  constexpr uint64_t kEstimatorStages = 6;
  EXPECT_EQ(runtime.cacheStats().compiles, kEstimatorStages + passes);
  EXPECT_EQ(runtime.cacheStats().memory_hits, 2 * passes);  // candidates 14 and 28
  for (int pass = 0; pass < plan.numPasses(); ++pass) {
    EXPECT_NE(plan.binary("ptx", pass).find(".entry " + plan.kernelName(pass)), std::string::npos);
  }
}

// PERMJIT_LINEINFO=1 compiles with -lineinfo (source lines in the PTX and cubin, for
// compute-sanitizer and ncu): a separate cache entry, never the plain kernel.
TEST(Api, LineInfoCompilesKernelsWithSourceLines) {
  TempDir dir;
  PlanOptions options;
  options.seq_len = 1024;
  Runtime plain_runtime(hostOnly(dir.path()));
  std::string plain_ptx;
  {
    ScopedEnv unset("PERMJIT_LINEINFO", nullptr);
    plain_ptx = plain_runtime.plan(causal() & local(256), options).binary("ptx", 0);
  }
  EXPECT_EQ(plain_ptx.find(".loc"), std::string::npos);
  ScopedEnv set("PERMJIT_LINEINFO", "1");
  Runtime runtime(hostOnly(dir.path()));
  Plan lines = runtime.plan(causal() & local(256), options);
  EXPECT_EQ(runtime.cacheStats().compiles, static_cast<uint64_t>(lines.numPasses()));
  EXPECT_NE(lines.binary("ptx", 0).find(".loc"), std::string::npos);
}

TEST(Api, PlanRejectsUnsupportedHeadDimAndBadTile) {
  Runtime runtime(hostOnly(sharedCacheDir()));
  PlanOptions options;
  options.head_dim = 96;
  try {
    runtime.plan(causal(), options);
    FAIL();
  } catch (const Error& error) {
    EXPECT_EQ(error.category(), ErrorCategory::kUnsupported) << error.what();
    EXPECT_NE(std::string(error.what()).find("head_dim"), std::string::npos) << error.what();
  }
  options.head_dim = 128;
  options.tile = TileConfig{96, 64, 4, 2};
  try {
    runtime.plan(causal(), options);
    FAIL();
  } catch (const Error& error) {
    EXPECT_EQ(error.category(), ErrorCategory::kUnsupported) << error.what();
    EXPECT_NE(std::string(error.what()).find("block_m"), std::string::npos) << error.what();
  }
}

// ---- C API -------------------------------------------------------------------------------

class CApi : public ::testing::Test {
 protected:
  void SetUp() override {
    permjit_runtime_options_t options;
    permjit_runtime_options_init(&options);
    options.host_only = 1;
    options.arch = "sm_80";
    options.cache_dir = sharedCacheDir().c_str();
    ASSERT_EQ(permjit_runtime_create(&options, &runtime_), PERMJIT_OK) << permjit_last_error();
    permjit_plan_options_t plan_options;
    permjit_plan_options_init(&plan_options);
    std::string json = patternToJson(gridHead(64, 64, 20, 14, 0, 0)).dump();
    ASSERT_EQ(permjit_plan_create(runtime_, json.c_str(), &plan_options, &plan_), PERMJIT_OK)
        << permjit_last_error();
    spans_[0] = {PERMJIT_MODALITY_TEXT, 0, 50};
    spans_[1] = {PERMJIT_MODALITY_VISION, 50, 980};
    spans_[2] = {PERMJIT_MODALITY_TEXT, 980, 1000};
    permjit_run_args_init(&args_);
    args_.q = reinterpret_cast<void*>(0x10000);
    args_.k = reinterpret_cast<void*>(0x20000);
    args_.v = reinterpret_cast<void*>(0x30000);
    args_.o = reinterpret_cast<void*>(0x40000);
    args_.lse = reinterpret_cast<float*>(0x50000);
    args_.heads = 8;
    args_.kv_heads = 2;
    args_.seq_len = 1000;
    args_.head_dim = 128;
    args_.spans = spans_;
    args_.num_spans = 3;
  }
  void TearDown() override {
    permjit_plan_destroy(plan_);
    permjit_runtime_destroy(runtime_);
  }
  void expectStatus(const permjit_run_args_t& args, permjit_status_t status,
                    const std::string& field) {
    EXPECT_EQ(permjit_plan_run(plan_, &args, nullptr), status) << permjit_last_error();
    EXPECT_NE(std::string(permjit_last_error()).find(field), std::string::npos)
        << permjit_last_error();
  }

  permjit_runtime_t runtime_ = nullptr;
  permjit_plan_t plan_ = nullptr;
  permjit_span_t spans_[3];
  permjit_run_args_t args_;
};

TEST_F(CApi, ValidRunWithoutAGpuIsADriverError) {
  expectStatus(args_, PERMJIT_ERROR_DRIVER, "no CUDA driver/GPU");
  int passes = 0;
  ASSERT_EQ(permjit_plan_num_passes(plan_, &passes), PERMJIT_OK);
  EXPECT_GE(passes, 1);
  permjit_cache_stats_t stats;
  ASSERT_EQ(permjit_runtime_cache_stats(runtime_, &stats), PERMJIT_OK);
  EXPECT_EQ(stats.compiles + stats.disk_hits, static_cast<uint64_t>(passes));
  EXPECT_STREQ(permjit_last_error(), "");
}

TEST(CApiCache, ClearEmptiesTheDirectory) {
  TempDir dir;
  permjit_runtime_options_t options;
  permjit_runtime_options_init(&options);
  options.host_only = 1;
  options.arch = "sm_80";
  options.cache_dir = dir.path().c_str();
  permjit_runtime_t runtime = nullptr;
  ASSERT_EQ(permjit_runtime_create(&options, &runtime), PERMJIT_OK) << permjit_last_error();
  fs::create_directories(dir.path());
  std::ofstream(dir.path() + "/00000000000000000000000000000000.cubin") << "stale";
  ASSERT_FALSE(fs::is_empty(dir.path()));
  EXPECT_EQ(permjit_runtime_cache_clear(runtime), PERMJIT_OK);
  EXPECT_TRUE(fs::is_empty(dir.path()));
  EXPECT_EQ(permjit_runtime_cache_clear(nullptr), PERMJIT_ERROR_INVALID_ARGUMENT);
  permjit_runtime_destroy(runtime);
}

TEST_F(CApi, BadArgumentsGiveCodesAndNameTheArgument) {
  permjit_run_args_t bad = args_;
  bad.v = nullptr;
  expectStatus(bad, PERMJIT_ERROR_INVALID_ARGUMENT, "v: null");
  bad = args_;
  bad.q = reinterpret_cast<void*>(0x10004);
  expectStatus(bad, PERMJIT_ERROR_INVALID_ARGUMENT, "q: pointer is not 16-byte aligned");
  bad = args_;
  bad.head_dim = 64;
  expectStatus(bad, PERMJIT_ERROR_INVALID_ARGUMENT, "head_dim");
  bad = args_;
  bad.dtype = PERMJIT_DTYPE_FP16;
  expectStatus(bad, PERMJIT_ERROR_INVALID_ARGUMENT, "dtype");
  bad = args_;
  bad.dtype = static_cast<permjit_dtype_t>(7);
  expectStatus(bad, PERMJIT_ERROR_UNSUPPORTED, "dtype");
  bad = args_;
  bad.kv_heads = 5;
  expectStatus(bad, PERMJIT_ERROR_INVALID_ARGUMENT, "kv_heads");
  bad = args_;
  bad.seq_len = 900;
  expectStatus(bad, PERMJIT_ERROR_INVALID_ARGUMENT, "layout");
  bad = args_;
  bad.spans = nullptr;
  expectStatus(bad, PERMJIT_ERROR_INVALID_ARGUMENT, "spans");
  bad = args_;
  bad.tensor_layout = static_cast<permjit_tensor_layout_t>(9);
  expectStatus(bad, PERMJIT_ERROR_INVALID_ARGUMENT, "tensor_layout");
  EXPECT_EQ(permjit_plan_run(nullptr, &args_, nullptr), PERMJIT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(permjit_last_error()).find("plan"), std::string::npos);
  EXPECT_EQ(permjit_plan_run(plan_, nullptr, nullptr), PERMJIT_ERROR_INVALID_ARGUMENT);
}

TEST_F(CApi, BadPlansAndRuntimes) {
  permjit_plan_options_t options;
  permjit_plan_options_init(&options);
  permjit_plan_t plan = nullptr;
  std::string causal_json = patternToJson(causal()).dump();
  options.head_dim = 96;
  EXPECT_EQ(permjit_plan_create(runtime_, causal_json.c_str(), &options, &plan),
            PERMJIT_ERROR_UNSUPPORTED);
  EXPECT_NE(std::string(permjit_last_error()).find("head_dim"), std::string::npos);
  EXPECT_EQ(plan, nullptr);
  permjit_plan_options_init(&options);
  options.dtype = static_cast<permjit_dtype_t>(0);
  EXPECT_EQ(permjit_plan_create(runtime_, causal_json.c_str(), &options, &plan),
            PERMJIT_ERROR_UNSUPPORTED);
  EXPECT_NE(std::string(permjit_last_error()).find("dtype"), std::string::npos);
  permjit_plan_options_init(&options);
  EXPECT_EQ(permjit_plan_create(runtime_, "{not json", &options, &plan),
            PERMJIT_ERROR_INVALID_PATTERN);
  EXPECT_EQ(permjit_plan_create(runtime_, "{\"kind\": \"nonsense\"}", &options, &plan),
            PERMJIT_ERROR_INVALID_PATTERN);
  EXPECT_EQ(permjit_plan_create(runtime_, nullptr, &options, &plan),
            PERMJIT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(permjit_last_error()).find("pattern_json"), std::string::npos);
  // A pattern file (with "permjit": 1) works as well as a bare pattern.
  PatternFile file{"head", causal() & local(32), std::nullopt};
  std::string file_json = dumpPatternFile(file);
  ASSERT_EQ(permjit_plan_create(runtime_, file_json.c_str(), &options, &plan), PERMJIT_OK)
      << permjit_last_error();
  permjit_plan_destroy(plan);

  permjit_runtime_t runtime = nullptr;
  permjit_runtime_options_t runtime_options;
  permjit_runtime_options_init(&runtime_options);
  runtime_options.host_only = 1;  // without an arch
  EXPECT_EQ(permjit_runtime_create(&runtime_options, &runtime), PERMJIT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(permjit_last_error()).find("arch"), std::string::npos);
  EXPECT_EQ(runtime, nullptr);
  EXPECT_EQ(permjit_runtime_create(nullptr, nullptr), PERMJIT_ERROR_INVALID_ARGUMENT);
}

TEST_F(CApi, DynamicPlansTakeAWorkspace) {
  int dynamic = -1;
  ASSERT_EQ(permjit_plan_is_dynamic(plan_, &dynamic), PERMJIT_OK);
  EXPECT_EQ(dynamic, 0);
  size_t bytes = 1;
  ASSERT_EQ(permjit_plan_workspace_bytes(plan_, 1, 8, 1000, &bytes), PERMJIT_OK);
  EXPECT_EQ(bytes, 0u);
  size_t split_bytes = 1;
  ASSERT_EQ(permjit_plan_key_split_workspace_bytes(plan_, &split_bytes), PERMJIT_OK);
  EXPECT_EQ(split_bytes, 0u);  // the key split is off by default
  EXPECT_EQ(permjit_plan_key_split_workspace_bytes(plan_, nullptr), PERMJIT_ERROR_INVALID_ARGUMENT);

  permjit_plan_options_t options;
  permjit_plan_options_init(&options);
  std::string json = patternToJson(causal() & vertical_slash(100, 200, 64)).dump();
  permjit_plan_t plan = nullptr;
  ASSERT_EQ(permjit_plan_create(runtime_, json.c_str(), &options, &plan), PERMJIT_OK)
      << permjit_last_error();
  ASSERT_EQ(permjit_plan_is_dynamic(plan, &dynamic), PERMJIT_OK);
  EXPECT_EQ(dynamic, 1);
  size_t one_head = 0, sixteen = 0;
  ASSERT_EQ(permjit_plan_workspace_bytes(plan, 1, 1, 1000, &one_head), PERMJIT_OK);
  ASSERT_EQ(permjit_plan_workspace_bytes(plan, 2, 8, 1000, &sixteen), PERMJIT_OK);
  EXPECT_GT(one_head, 1000u * 4);  // at least the per-column scores
  EXPECT_EQ(one_head % 256, 0u);
  EXPECT_EQ(sixteen, 16 * one_head);
  EXPECT_EQ(permjit_plan_workspace_bytes(plan, 0, 8, 1000, &bytes), PERMJIT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(permjit_last_error()).find("batch"), std::string::npos);
  EXPECT_EQ(permjit_plan_workspace_bytes(plan, 1, -3, 1000, &bytes),
            PERMJIT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(permjit_last_error()).find("heads: -3"), std::string::npos);
  EXPECT_EQ(permjit_plan_workspace_bytes(plan, 1, 8, 0, &bytes), PERMJIT_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(permjit_last_error()).find("seq_len"), std::string::npos);
  EXPECT_EQ(permjit_plan_workspace_bytes(plan, 1, 8, 1000, nullptr),
            PERMJIT_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(permjit_plan_is_dynamic(nullptr, &dynamic), PERMJIT_ERROR_INVALID_ARGUMENT);
  ASSERT_EQ(permjit_plan_key_split_workspace_bytes(plan, &split_bytes), PERMJIT_OK);
  EXPECT_EQ(split_bytes, 0u);  // the estimator's workspace is not the split's
  permjit_plan_destroy(plan);
}

TEST(CApiKeySplit, StaticPlansReportTheSplitWorkspaceWhenOn) {
  ::setenv("PERMJIT_KEY_SPLIT", "256", 1);
  permjit_runtime_options_t options;
  permjit_runtime_options_init(&options);
  options.host_only = 1;
  options.arch = "sm_90a";
  permjit_runtime_t runtime = nullptr;
  ASSERT_EQ(permjit_runtime_create(&options, &runtime), PERMJIT_OK) << permjit_last_error();
  ::unsetenv("PERMJIT_KEY_SPLIT");
  permjit_plan_options_t plan_options;
  permjit_plan_options_init(&plan_options);
  const std::string json = patternToJson(causal() & (sink(64) | local(256))).dump();
  permjit_plan_t plan = nullptr;
  ASSERT_EQ(permjit_plan_create(runtime, json.c_str(), &plan_options, &plan), PERMJIT_OK)
      << permjit_last_error();
  size_t split_bytes = 0;
  ASSERT_EQ(permjit_plan_key_split_workspace_bytes(plan, &split_bytes), PERMJIT_OK);
  EXPECT_EQ(split_bytes, 19712u + 128u * 128u * 136u * 4u);
  permjit_plan_destroy(plan);
  permjit_runtime_destroy(runtime);
}

TEST(CApiDevice, NoDriverGivesDriverStatus) {
  if (Runtime::deviceUnavailableReason().empty()) {
    GTEST_SKIP() << "a CUDA driver and GPU are present; the host-only path is covered by "
                    "CApi.ValidRunWithoutAGpuIsADriverError";
  }
  permjit_runtime_t runtime = nullptr;
  EXPECT_EQ(permjit_runtime_create(nullptr, &runtime), PERMJIT_ERROR_DRIVER);
  EXPECT_NE(std::string(permjit_last_error()).find("CUDA driver"), std::string::npos);
  EXPECT_EQ(runtime, nullptr);
}

}  // namespace
}  // namespace permjit
