// The layered kernel cache without a GPU: NVRTC compiles to cubin on any machine.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "permjit/dsl/Error.h"
#include "permjit/runtime/AtomicFile.h"
#include "permjit/runtime/KernelCache.h"

namespace permjit::runtime {
namespace {
namespace fs = std::filesystem;

CudaProgram scaleProgram(const std::string& variant = "2.0f") {
  CudaProgram program;
  program.name = "scale.cu";
  program.source =
      "#include \"factor.h\"\nextern \"C\" __global__ void scale(float* x, int n) {\n"
      "  int i = blockIdx.x * blockDim.x + threadIdx.x;\n"
      "  if (i < n) x[i] *= FACTOR;\n}\n";
  program.headers = {{"factor.h", "#define FACTOR " + variant + "\n"}};
  program.options = {"--std=c++17"};
  program.arch = "sm_80";
  program.kernel_name = "scale";
  return program;
}

class TempDir {
 public:
  TempDir() {
    path_ = (fs::temp_directory_path() /
             ("permjit-cache-test-" + std::to_string(getpid()) + "-" + std::to_string(next_++)))
                .string();
    fs::remove_all(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  static inline int next_ = 0;
  std::string path_;
};

TEST(Nvrtc, CompilesCubinAndPtxWithoutAGpu) {
  CudaProgram program = scaleProgram();
  std::string cubin = nvrtcCompile(program, Artifact::kCubin);
  ASSERT_GT(cubin.size(), 4u);
  EXPECT_EQ(cubin.substr(1, 3), "ELF");
  std::string ptx = nvrtcCompile(program, Artifact::kPtx);
  EXPECT_NE(ptx.find(".entry scale"), std::string::npos);
  EXPECT_GE(nvrtcVersion().major, 12);
}

TEST(Nvrtc, CompileFailureCarriesTheLog) {
  CudaProgram program = scaleProgram();
  program.source += "this is not cuda;\n";
  try {
    nvrtcCompile(program, Artifact::kCubin);
    FAIL() << "expected a compile failure";
  } catch (const Error& error) {
    EXPECT_EQ(error.category(), ErrorCategory::kCompileFailure);
    EXPECT_NE(std::string(error.what()).find("scale.cu"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("error"), std::string::npos) << error.what();
  }
}

TEST(Nvrtc, RejectsMalformedArchitecture) {
  CudaProgram program = scaleProgram();
  program.arch = "hopper";
  try {
    nvrtcCompile(program, Artifact::kCubin);
    FAIL();
  } catch (const Error& error) {
    EXPECT_EQ(error.category(), ErrorCategory::kInvalidArgument);
    EXPECT_NE(std::string(error.what()).find("arch"), std::string::npos);
  }
  ArchName sm90a = parseArch("sm_90a", "arch");
  EXPECT_EQ(sm90a.major, 9);
  EXPECT_EQ(sm90a.minor, 0);
  EXPECT_TRUE(sm90a.arch_specific);
  EXPECT_EQ(parseArch("sm_120", "arch").major, 12);
}

TEST(KernelCache, KeyCoversEveryInput) {
  KernelCache cache({});
  CudaProgram base = scaleProgram();
  Hash128 key = cache.keyOf(base, Artifact::kCubin);
  EXPECT_EQ(key, cache.keyOf(scaleProgram(), Artifact::kCubin));
  EXPECT_NE(key, cache.keyOf(base, Artifact::kPtx));
  CudaProgram changed = base;
  changed.arch = "sm_90a";
  EXPECT_NE(key, cache.keyOf(changed, Artifact::kCubin));
  changed = base;
  changed.headers[0].second += " ";
  EXPECT_NE(key, cache.keyOf(changed, Artifact::kCubin));
  changed = base;
  changed.options.push_back("-lineinfo");
  EXPECT_NE(key, cache.keyOf(changed, Artifact::kCubin));
  changed = base;
  changed.source += "\n";
  EXPECT_NE(key, cache.keyOf(changed, Artifact::kCubin));
}

TEST(KernelCache, HeadersDigestStandsForTheHeaderTexts) {
  KernelCache cache({"", true, 16});
  CudaProgram base = scaleProgram();
  base.headers_digest = "digest-a";
  Hash128 key = cache.keyOf(base, Artifact::kCubin);
  CudaProgram other_texts = base;
  other_texts.headers[0].second = "#define FACTOR 3.0f\n";
  EXPECT_EQ(key, cache.keyOf(other_texts, Artifact::kCubin));
  CudaProgram other_digest = base;
  other_digest.headers_digest = "digest-b";
  EXPECT_NE(key, cache.keyOf(other_digest, Artifact::kCubin));
  EXPECT_NE(key, cache.keyOf(scaleProgram(), Artifact::kCubin));  // digest and texts never meet

  cache.binary(base, Artifact::kPtx);
  cache.binary(other_texts, Artifact::kPtx);  // the digest says the headers are the same
  EXPECT_EQ(cache.stats().memory_hits, 1u);
  EXPECT_EQ(cache.stats().compiles, 1u);
}

// The memory layer keys by program identity, not the content key: a change to any one input
// must still miss, and each program must get its own entry back.
TEST(KernelCache, MemoryHitsDistinguishEveryProgramInput) {
  KernelCache cache({"", true, 16});
  CudaProgram base = scaleProgram();
  std::vector<CudaProgram> programs(6, base);
  programs[1].headers[0].second = "#define FACTOR 3.0f\n";  // one header's text, no digest
  programs[2].headers_digest = "digest-a";
  programs[3].headers_digest = "digest-b";
  programs[4].options.push_back("-lineinfo");
  programs[5].arch = "sm_86";
  std::vector<std::string> first;
  for (const auto& program : programs) first.push_back(*cache.binary(program, Artifact::kPtx));
  EXPECT_EQ(cache.stats().compiles, programs.size());
  EXPECT_EQ(cache.stats().memory_entries, programs.size());
  EXPECT_EQ(cache.stats().memory_hits, 0u);
  EXPECT_NE(first[0], first[1]);
  EXPECT_NE(first[0], first[4]);
  EXPECT_NE(first[0], first[5]);
  for (size_t i = 0; i < programs.size(); ++i) {
    EXPECT_EQ(*cache.binary(programs[i], Artifact::kPtx), first[i]) << "program " << i;
  }
  EXPECT_EQ(cache.stats().memory_hits, programs.size());
  EXPECT_EQ(cache.stats().compiles, programs.size());
}

TEST(KernelCache, MemoryThenDiskThenCompile) {
  TempDir dir;
  CudaProgram program = scaleProgram();
  std::string first;
  {
    KernelCache cache({dir.path(), true, 16});
    first = *cache.binary(program, Artifact::kCubin);
    EXPECT_EQ(cache.stats().compiles, 1u);
    EXPECT_EQ(*cache.binary(program, Artifact::kCubin), first);
    EXPECT_EQ(cache.stats().memory_hits, 1u);
    EXPECT_EQ(cache.stats().compiles, 1u);
  }
  KernelCache fresh({dir.path(), true, 16});
  EXPECT_EQ(*fresh.binary(program, Artifact::kCubin), first);
  CacheStats stats = fresh.stats();
  EXPECT_EQ(stats.disk_hits, 1u);
  EXPECT_EQ(stats.compiles, 0u);
  EXPECT_EQ(stats.corrupt_files, 0u);
  EXPECT_EQ(fresh.clear(), 1u);
  EXPECT_FALSE(fs::exists(
      DiskCache(dir.path()).pathFor(fresh.keyOf(program, Artifact::kCubin), Artifact::kCubin)));
  fresh.binary(program, Artifact::kCubin);
  EXPECT_EQ(fresh.stats().compiles, 1u);
}

// A cache directory that cannot be written (here: its parent is a file, which stops root too)
// costs later processes a compile, never this one its kernel.
TEST(KernelCache, UnwritableDirectoryCompilesUncached) {
  TempDir dir;
  fs::create_directories(dir.path());
  const std::string blocker = dir.path() + "/file";
  std::ofstream(blocker) << "not a directory";
  KernelCache cache({blocker + "/cache", true, 16});
  std::shared_ptr<const std::string> cubin;
  ASSERT_NO_THROW(cubin = cache.binary(scaleProgram(), Artifact::kCubin));
  EXPECT_FALSE(cubin->empty());
  EXPECT_EQ(cache.stats().compiles, 1u);
  EXPECT_EQ(cache.stats().store_failures, 1u);
}

// Another user's directory (a /tmp name someone created first) is not used as a disk layer.
TEST(KernelCache, AnotherUsersDirectoryIsNotUsed) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to hand the directory to another user";
  TempDir dir;
  fs::create_directories(dir.path());
  ASSERT_EQ(::chown(dir.path().c_str(), 65534, 65534), 0);  // nobody
  KernelCache cache({dir.path(), true, 16});
  cache.binary(scaleProgram(), Artifact::kCubin);
  EXPECT_TRUE(fs::is_empty(dir.path()));  // nothing stored there
  KernelCache again({dir.path(), true, 16});
  again.binary(scaleProgram(), Artifact::kCubin);
  EXPECT_EQ(again.stats().disk_hits, 0u);
}

// An entry's header carries its key: a valid entry copied under another key's name is not
// served for that key (it is corrupt there, removed, and the key compiles anew).
TEST(KernelCache, AnEntryCopiedUnderAnotherKeyIsNotServed) {
  TempDir dir;
  DiskCache disk(dir.path());
  const Hash128 a = hash128("key a"), b = hash128("key b");
  disk.store(a, Artifact::kCubin, "kernel of a");
  fs::copy_file(disk.pathFor(a, Artifact::kCubin), disk.pathFor(b, Artifact::kCubin));
  std::string payload;
  EXPECT_EQ(disk.load(b, Artifact::kCubin, &payload), DiskCache::Lookup::kCorrupt);
  EXPECT_TRUE(payload.empty());
  EXPECT_FALSE(fs::exists(disk.pathFor(b, Artifact::kCubin)));
  EXPECT_EQ(disk.load(a, Artifact::kCubin, &payload), DiskCache::Lookup::kHit);
  EXPECT_EQ(payload, "kernel of a");
}

TEST(KernelCache, DisabledCacheCompilesEveryTime) {
  TempDir dir;
  KernelCache cache({dir.path(), false, 16});
  cache.binary(scaleProgram(), Artifact::kCubin);
  cache.binary(scaleProgram(), Artifact::kCubin);
  EXPECT_EQ(cache.stats().compiles, 2u);
  EXPECT_FALSE(fs::exists(dir.path()));
}

TEST(KernelCache, LruEvictsTheOldestEntry) {
  KernelCache cache({"", true, 2});
  cache.binary(scaleProgram("1.0f"), Artifact::kPtx);
  cache.binary(scaleProgram("2.0f"), Artifact::kPtx);
  cache.binary(scaleProgram("1.0f"), Artifact::kPtx);  // refresh 1.0
  cache.binary(scaleProgram("3.0f"), Artifact::kPtx);  // evicts 2.0
  EXPECT_EQ(cache.stats().memory_entries, 2u);
  cache.binary(scaleProgram("1.0f"), Artifact::kPtx);
  EXPECT_EQ(cache.stats().compiles, 3u);
  cache.binary(scaleProgram("2.0f"), Artifact::kPtx);
  EXPECT_EQ(cache.stats().compiles, 4u);
}

// Damage of every kind is detected by the header or checksum, removed, and recompiled.
TEST(KernelCache, CorruptOrTruncatedFileIsDetectedAndRecompiled) {
  TempDir dir;
  CudaProgram program = scaleProgram();
  std::string good;
  Hash128 key;
  {
    KernelCache cache({dir.path(), true, 16});
    good = *cache.binary(program, Artifact::kCubin);
    key = cache.keyOf(program, Artifact::kCubin);
  }
  std::string path = DiskCache(dir.path()).pathFor(key, Artifact::kCubin);
  std::string image = DiskCache::encode(key, Artifact::kCubin, good);
  std::vector<std::pair<std::string, std::string>> damages = {
      {"truncated payload", image.substr(0, image.size() - 17)},
      {"truncated header", image.substr(0, 20)},
      {"empty", ""},
      {"flipped payload byte", image},
      {"other format version", image},
      {"other key", DiskCache::encode(Hash128{1, 2}, Artifact::kCubin, good)},
  };
  damages[3].second[DiskCache::kHeaderSize + 100] ^= 0x40;
  damages[4].second[8] = 99;
  for (const auto& [what, bytes] : damages) {
    SCOPED_TRACE(what);
    {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << bytes;
    }
    KernelCache cache({dir.path(), true, 16});
    EXPECT_EQ(*cache.binary(program, Artifact::kCubin), good);
    CacheStats stats = cache.stats();
    EXPECT_EQ(stats.corrupt_files, 1u);
    EXPECT_EQ(stats.compiles, 1u);
    EXPECT_EQ(stats.disk_hits, 0u);
    // The recompiled file replaced the damaged one and loads cleanly.
    KernelCache again({dir.path(), true, 16});
    again.binary(program, Artifact::kCubin);
    EXPECT_EQ(again.stats().disk_hits, 1u);
  }
}

TEST(KernelCache, ConcurrentRequestsForOneKeyCompileOnce) {
  TempDir dir;
  KernelCache cache({dir.path(), true, 16});
  CudaProgram program = scaleProgram("4.0f");
  std::vector<std::thread> threads;
  std::vector<std::string> results(8);
  std::atomic<bool> go{false};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      while (!go) std::this_thread::yield();
      results[i] = *cache.binary(program, Artifact::kCubin);
    });
  }
  go = true;
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(cache.stats().compiles, 1u);
  for (const auto& result : results) EXPECT_EQ(result, results[0]);
}

TEST(KernelCache, CompileFailureReachesEveryWaiterAndIsNotCached) {
  KernelCache cache({"", true, 16});
  CudaProgram program = scaleProgram("syntax error here");
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      try {
        cache.binary(program, Artifact::kCubin);
      } catch (const Error& error) {
        if (error.category() == ErrorCategory::kCompileFailure) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 4);
  EXPECT_EQ(cache.stats().memory_entries, 0u);
}

// Worker half of the multi-process test: run in a child process (fork + exec of this test
// binary) with PERMJIT_TEST_CACHE_WORKER set to the shared directory.
TEST(KernelCacheWorker, CompileIntoSharedDirectory) {
  const char* dir = std::getenv("PERMJIT_TEST_CACHE_WORKER");
  if (dir == nullptr) GTEST_SKIP() << "only runs as the child of SeveralProcessesShareOneDirectory";
  CudaProgram program = scaleProgram("5.0f");
  std::string expected;
  for (int round = 0; round < 3; ++round) {
    KernelCache cache({dir, true, 16});
    std::string bytes = *cache.binary(program, Artifact::kCubin);
    if (expected.empty()) expected = bytes;
    ASSERT_EQ(bytes, expected);
    ASSERT_EQ(cache.stats().corrupt_files, 0u) << "a half-written file was visible";
    // Read the published file directly too, over and over while others may be writing.
    DiskCache disk(dir);
    for (int i = 0; i < 50; ++i) {
      std::string payload;
      ASSERT_NE(disk.load(cache.keyOf(program, Artifact::kCubin), Artifact::kCubin, &payload),
                DiskCache::Lookup::kCorrupt);
    }
  }
}

// `count` copies of this test binary running the KernelCacheWorker tests with `env` = dir (the
// worker that reads it runs, the others skip); their exit codes carry failure, their output
// goes to stderr.
std::vector<pid_t> spawnWorkers(const char* env, const std::string& dir, int count) {
  std::vector<pid_t> children;
  for (int i = 0; i < count; ++i) {
    pid_t pid = fork();
    if (pid < 0) break;
    if (pid == 0) {
      setenv(env, dir.c_str(), 1);
      dup2(STDERR_FILENO, STDOUT_FILENO);  // a failing worker's messages reach the log
      execl("/proc/self/exe", "worker", "--gtest_filter=KernelCacheWorker.*", nullptr);
      _exit(127);
    }
    children.push_back(pid);
  }
  return children;
}

TEST(KernelCache, SeveralProcessesShareOneDirectory) {
  TempDir dir;
  std::vector<pid_t> children = spawnWorkers("PERMJIT_TEST_CACHE_WORKER", dir.path(), 4);
  ASSERT_EQ(children.size(), 4u);
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "worker " << pid << " failed";
  }
  KernelCache cache({dir.path(), true, 16});
  cache.binary(scaleProgram("5.0f"), Artifact::kCubin);
  EXPECT_EQ(cache.stats().disk_hits, 1u);
  EXPECT_EQ(DiskCache(dir.path()).usage().files, 1u);
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    EXPECT_NE(entry.path().extension(), ".tmp") << "temporary file left behind";
  }
}

TEST(AtomicFile, TemporaryNamesLeadBackToTheirFile) {
  EXPECT_EQ(finalNameOfTemporary("abc.cubin.12.3456.7.tmp"), "abc.cubin");
  EXPECT_EQ(finalNameOfTemporary("abc.12.3456.7.tmp"), "abc");
  for (const char* not_one : {"abc.tmp", "abc.1.2.tmp", "abc.x.2.3.tmp", "abc.1..3.tmp",
                              ".1.2.3.tmp", "abc.1.2.3.tmpx", "draft.tmp"}) {
    EXPECT_EQ(finalNameOfTemporary(not_one), std::nullopt) << not_one;
  }
}

// clear() removes the cache's own entries and stale temporaries only: a user's files in the
// same directory, and a write in flight (a fresh temporary), are left alone.
TEST(DiskCache, ClearRemovesOnlyItsOwnFiles) {
  TempDir dir;
  DiskCache disk(dir.path());
  const Hash128 key = hash128("some kernel");
  disk.store(key, Artifact::kCubin, "payload");
  const std::string entry = disk.pathFor(key, Artifact::kCubin);
  const std::string fresh_temp = entry + ".123.456.7.tmp";
  const std::string stale_temp = disk.pathFor(hash128("other"), Artifact::kPtx) + ".1.2.3.tmp";
  const std::vector<std::string> users = {dir.path() + "/my_kernel.cubin",
                                          dir.path() + "/notes.ptx", dir.path() + "/draft.tmp",
                                          dir.path() + "/" + key.hex() + ".cubin.bak"};
  for (const std::string& path : users) std::ofstream(path) << "mine";
  std::ofstream(fresh_temp) << "being written";
  std::ofstream(stale_temp) << "left by a crashed writer";
  fs::last_write_time(stale_temp, fs::file_time_type::clock::now() - std::chrono::hours(1));
  EXPECT_EQ(disk.usage().files, 1u);
  EXPECT_EQ(disk.clear(), 2u);
  EXPECT_FALSE(fs::exists(entry));
  EXPECT_FALSE(fs::exists(stale_temp));
  EXPECT_TRUE(fs::exists(fresh_temp));
  for (const std::string& path : users) EXPECT_TRUE(fs::exists(path)) << path;
}

// A child of ClearingWhileProcessesCompileLosesNothing: compiles three kernels again and again
// through a directory that the parent keeps clearing; every kernel must be the bytes NVRTC
// gives for it, and no half-written entry may ever be seen.
TEST(KernelCacheWorker, CompileWhileTheCacheIsCleared) {
  const char* dir = std::getenv("PERMJIT_TEST_CACHE_STRESS");
  if (dir == nullptr) {
    GTEST_SKIP() << "only runs as the child of ClearingWhileProcessesCompileLosesNothing";
  }
  const std::vector<std::string> variants = {"3.0f", "4.0f", "6.0f"};
  std::vector<std::string> expected;
  for (const std::string& v : variants) {
    expected.push_back(nvrtcCompile(scaleProgram(v), Artifact::kCubin));
  }
  for (int round = 0; round < 4; ++round) {
    KernelCache cache({dir, true, 16});
    for (size_t i = 0; i < variants.size(); ++i) {
      ASSERT_EQ(*cache.binary(scaleProgram(variants[i]), Artifact::kCubin), expected[i])
          << "variant " << variants[i] << " round " << round;
    }
    ASSERT_EQ(cache.stats().corrupt_files, 0u) << "a half-written file was visible";
    // A clear that removed a write's temporary file would fail its rename (a warning and an
    // uncached kernel, not an error, so it is counted here).
    ASSERT_EQ(cache.stats().store_failures, 0u) << "a write in flight was cleared";
  }
}

// Several processes compile through one directory while another clears it in a loop: no
// process fails, none gets a wrong kernel, and no temporary file is left behind.
TEST(KernelCache, ClearingWhileProcessesCompileLosesNothing) {
  TempDir dir;
  std::vector<pid_t> children = spawnWorkers("PERMJIT_TEST_CACHE_STRESS", dir.path(), 3);
  ASSERT_EQ(children.size(), 3u);
  size_t clears = 0, removed = 0;
  std::vector<int> statuses;
  while (statuses.size() < children.size()) {
    removed += DiskCache(dir.path()).clear();
    ++clears;
    for (pid_t& pid : children) {
      int status = 0;
      if (pid > 0 && waitpid(pid, &status, WNOHANG) == pid) {
        statuses.push_back(status);
        pid = -1;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  for (int status : statuses) {
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "a worker failed";
  }
  EXPECT_GT(clears, 10u);
  EXPECT_GT(removed, 0u) << "the clearer never raced a compile: not a test";
  for (const auto& entry : fs::directory_iterator(dir.path())) {
    EXPECT_NE(entry.path().extension(), ".tmp") << "temporary file left behind";
  }
}

}  // namespace
}  // namespace permjit::runtime
