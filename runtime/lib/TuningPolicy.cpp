// The tuning database policy Runtime::plan applies: look the shape class up for a device,
// reject stale entries, and (PERMJIT_TUNE=1) tune an untuned class through a callback. Knows
// nothing of the Runtime, so planning and tuning never call each other directly.
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <mutex>

#include "permjit/codegen/CudaSource.h"
#include "permjit/compiler/Pipeline.h"
#include "permjit/runtime/Autotuner.h"
#include "permjit/runtime/Hash.h"
#include "permjit/runtime/Nvrtc.h"

namespace permjit::runtime {
namespace {

void warn(const std::string& message) {
  std::fprintf(stderr, "permjit: warning: %s\n", message.c_str());
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

// The tuned tile, if it still renders for the device's target (with the split the plan would
// use) and fits the device.
bool tileStillRenders(const TuningDevice& device, const Pattern& pattern,
                      const PlanOptions& options, const TileConfig& tile, PassSplit split,
                      std::string* why) {
  try {
    CompileOptions compile = compileOptionsFor(options);
    compile.tile = tile;
    compile.pass_split = split;
    KernelSpec spec = compilePattern(pattern, compile);
    ArchName arch = parseArch(device.arch, "arch");
    TargetInfo target = TargetInfo::forComputeCapability(arch.major, arch.minor);
    target.arch_specific = arch.arch_specific;
    target = target.withFamily(device.family);
    for (size_t pass = 0; pass < spec.passes.size(); ++pass) {
      GeneratedKernel kernel = generateCuda(spec, target, static_cast<int>(pass));
      if (kernel.smem_bytes > device.max_smem_optin) {
        *why = "needs " + std::to_string(kernel.smem_bytes) + " bytes of shared memory, the " +
               "device allows " + std::to_string(device.max_smem_optin);
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

KernelSpec tuningKeySpec(const Pattern& pattern, const PlanOptions& options) {
  CompileOptions compile = compileOptionsFor(options);
  compile.tile.reset();
  compile.pass_split = CompileOptions().pass_split;
  return compilePattern(pattern, compile);
}

TuningKey tuningKeyFor(const TuningDevice& device, const KernelSpec& spec, int64_t seq_len_hint) {
  TuningKey key;
  key.device = device.name;
  key.cc_major = device.cc_major;
  key.cc_minor = device.cc_minor;
  // sm80 keys stay as they were (databases written before the sm90a family still apply); other
  // families hash their name in.
  key.structure_hash =
      device.family == KernelFamily::kSm80
          ? tuningStructureHash(spec)
          : hash128(tuningStructureHash(spec) + "/" + kernelFamilyName(device.family)).hex();
  key.head_dim = spec.head_dim;
  key.dtype = spec.dtype;
  key.seq_bucket = seqBucket(seq_len_hint);
  return key;
}

std::optional<TunedConfig> tunedConfigFor(const TuningDevice& device, const Pattern& pattern,
                                          const PlanOptions& options, const TuneFunction& tune) {
  const std::string path = env::tuningDbPath();
  const int64_t bucket = seqBucket(options.seq_len);
  TuningDb db = currentDb(path);
  // Cheap filter first: without an entry for this device and class, skip compiling the spec.
  bool any = std::any_of(db.entries().begin(), db.entries().end(), [&](const TuningEntry& e) {
    return e.key.device == device.name && e.key.cc_major == device.cc_major &&
           e.key.cc_minor == device.cc_minor && e.key.head_dim == options.head_dim &&
           e.key.dtype == options.dtype && e.key.seq_bucket == bucket;
  });
  const bool tune_on_first_use = env::tuneOnFirstUse();
  if (!any && !tune_on_first_use) return std::nullopt;

  KernelSpec spec;
  try {
    spec = tuningKeySpec(pattern, options);
  } catch (const Error&) {
    return std::nullopt;  // Runtime::plan reports the same error when it compiles
  }
  const TuningKey key = tuningKeyFor(device, spec, options.seq_len);
  std::vector<std::string> warnings;
  std::optional<TuningEntry> entry = db.lookup(key, &warnings);
  for (const std::string& message : warnings) warn(message);
  if (entry) {
    std::string why;
    // The split the plan will run: the entry's where the caller leaves it to kAuto.
    const PassSplit split = options.pass_split == PassSplit::kAuto && entry->pass_split
                                ? *entry->pass_split
                                : options.pass_split;
    if (tileStillRenders(device, pattern, options, entry->tile, split, &why)) {
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
  if (!tune_on_first_use) return std::nullopt;

  TuneShape shape;
  shape.seq_len = options.seq_len > 0 ? options.seq_len : kDefaultSeqBucket;
  if (options.seq_len > 0) shape.layout = options.layout;
  try {
    std::fprintf(stderr, "permjit: PERMJIT_TUNE=1: tuning %s\n", key.str().c_str());
    TuneResult result = tune(pattern, options, shape);
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

}  // namespace permjit::runtime
