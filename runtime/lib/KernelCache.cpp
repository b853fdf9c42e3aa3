#include "permjit/runtime/KernelCache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string_view>

#include "permjit/dsl/Env.h"
#include "permjit/dsl/Error.h"

#ifndef PERMJIT_VERSION
#error "PERMJIT_VERSION must be defined by the build (it is part of every cache key)"
#endif

namespace permjit::runtime {
namespace {

void logVerbose(const std::string& line) {
  if (env::verbose()) std::fprintf(stderr, "permjit: %s\n", line.c_str());
}

std::string msSince(std::chrono::steady_clock::time_point start) {
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  char text[32];
  std::snprintf(text, sizeof text, "%.1f ms", ms);
  return text;
}

// Printed whatever PERMJIT_VERBOSE says: the disk layer is off for the rest of the process.
void warnOnce(std::atomic<bool>& said, const std::string& line) {
  if (!said.exchange(true)) std::fprintf(stderr, "permjit: warning: %s\n", line.c_str());
}

size_t combine(size_t seed, size_t value) {
  return seed ^ (value + 0x9e3779b97f4a7c15ull + (seed << 6) + (seed >> 2));
}

size_t hashOf(std::string_view text) { return std::hash<std::string_view>{}(text); }

}  // namespace

CUfunction LoadedKernel::entry(const std::string& name) const {
  CUfunction function = nullptr;
  driver_->check(driver_->cuModuleGetFunction(&function, module_, name.c_str()),
                 ("cuModuleGetFunction(" + name + ")").c_str());
  return function;
}

LoadedKernel::~LoadedKernel() {
  // Unloading needs the module's context current; failures cannot be reported here and leave
  // at worst an unreferenced module in a context that is being torn down.
  CUcontext previous = nullptr;
  if (driver_->cuCtxGetCurrent(&previous) != CUDA_SUCCESS) return;
  if (previous != context_) driver_->cuCtxSetCurrent(context_);
  driver_->cuModuleUnload(module_);
  if (previous != context_) driver_->cuCtxSetCurrent(previous);
}

KernelCache::KernelCache(Options options) : options_(std::move(options)) {
  if (!options_.enabled || options_.dir.empty()) return;
  // A directory another user owns (say a /tmp path created first by someone else) could serve
  // kernels they wrote: the disk layer stays off then.
  struct stat st;
  if (::stat(options_.dir.c_str(), &st) == 0 && st.st_uid != ::geteuid()) {
    warnOnce(disk_warned_, "kernel cache " + options_.dir +
                               " is owned by another user; compiling without the disk cache");
    return;
  }
  disk_ = std::make_unique<DiskCache>(options_.dir);
}

Hash128 KernelCache::keyOf(const CudaProgram& program, Artifact artifact) const {
  Hasher hasher;
  hasher.field("permjit-kernel").field(PERMJIT_VERSION).field(nvrtcVersion().str());
  hasher.field(artifactName(artifact)).field(program.arch).field(program.name);
  hasher.field(program.kernel_name).field(program.source);
  if (program.headers_digest.empty()) {
    hasher.field(static_cast<int64_t>(program.headers.size()));
    for (const auto& [name, text] : program.headers) hasher.field(name).field(text);
  } else {
    // -1 where the header count stands otherwise, so the two forms never share a key.
    hasher.field(int64_t{-1}).field(program.headers_digest);
  }
  std::vector<std::string> options = nvrtcOptions(program);
  hasher.field(static_cast<int64_t>(options.size()));
  for (const auto& option : options) hasher.field(option);
  return hasher.finish();
}

size_t KernelCache::identityHash(const CudaProgram& program) {
  size_t hash = hashOf(program.source);
  hash = combine(hash, hashOf(program.name));
  hash = combine(hash, hashOf(program.arch));
  hash = combine(hash, hashOf(program.kernel_name));
  for (const auto& option : program.options) hash = combine(hash, hashOf(option));
  hash = combine(hash, program.options.size());
  hash = combine(hash, hashOf(program.headers_digest));
  if (program.headers_digest.empty()) {
    for (const auto& [name, text] : program.headers) {
      hash = combine(combine(hash, hashOf(name)), hashOf(text));
    }
  }
  return hash;
}

KernelCache::SlotRef KernelCache::slotRef(const CudaProgram& program, size_t identity,
                                          Artifact artifact, CUcontext context) {
  size_t hash = combine(identity, static_cast<size_t>(artifact));
  hash = combine(hash, std::hash<const void*>{}(context));
  return SlotRef{&program, artifact, context, hash};
}

bool KernelCache::sameSlot(const Slot& slot, const SlotRef& ref) {
  const CudaProgram& a = slot.program;
  const CudaProgram& b = *ref.program;
  if (slot.artifact != ref.artifact || slot.context != ref.context) return false;
  if (a.headers_digest != b.headers_digest || a.arch != b.arch || a.kernel_name != b.kernel_name ||
      a.name != b.name || a.options != b.options || a.source != b.source) {
    return false;
  }
  return !a.headers_digest.empty() || a.headers == b.headers;
}

bool KernelCache::lookupLocked(const SlotRef& ref, Entry* out) {
  auto [begin, end] = index_.equal_range(ref.hash);
  for (auto found = begin; found != end; ++found) {
    if (!sameSlot(found->second->first, ref)) continue;
    lru_.splice(lru_.begin(), lru_, found->second);
    *out = found->second->second;
    return true;
  }
  return false;
}

void KernelCache::insertLocked(const SlotRef& ref, Entry entry) {
  auto [begin, end] = index_.equal_range(ref.hash);
  for (auto found = begin; found != end; ++found) {
    if (!sameSlot(found->second->first, ref)) continue;
    found->second->second = std::move(entry);
    lru_.splice(lru_.begin(), lru_, found->second);
    return;
  }
  Slot slot{*ref.program, ref.artifact, ref.context, ref.hash};
  if (!slot.program.headers_digest.empty()) slot.program.headers.clear();  // the digest stands in
  lru_.emplace_front(std::move(slot), std::move(entry));
  index_.emplace(ref.hash, lru_.begin());
  while (lru_.size() > options_.memory_capacity && !lru_.empty()) {
    auto oldest = std::prev(lru_.end());
    auto [first, last] = index_.equal_range(oldest->first.hash);
    for (auto found = first; found != last; ++found) {
      if (found->second == oldest) {
        index_.erase(found);
        break;
      }
    }
    lru_.pop_back();  // a plan still holding the kernel keeps it loaded
  }
}

std::shared_ptr<const std::string> KernelCache::diskOrCompile(const CudaProgram& program,
                                                              Artifact artifact,
                                                              const Hash128& key) {
  if (disk_) {
    std::string payload;
    DiskCache::Lookup lookup = disk_->load(key, artifact, &payload);
    if (lookup == DiskCache::Lookup::kHit) {
      std::lock_guard<std::mutex> lock(mutex_);
      ++stats_.disk_hits;
      logVerbose("disk cache hit " + disk_->pathFor(key, artifact));
      return std::make_shared<const std::string>(std::move(payload));
    }
    if (lookup == DiskCache::Lookup::kCorrupt) {
      std::lock_guard<std::mutex> lock(mutex_);
      ++stats_.corrupt_files;
      const std::string path = disk_->pathFor(key, artifact);
      std::error_code ec;
      logVerbose(std::filesystem::exists(path, ec)
                     ? "corrupt cache file " + path + " could not be removed; compiling anew"
                     : "removed corrupt cache file " + path);
    }
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.compiles;
  }
  logVerbose("nvrtc compile " + program.kernel_name + " for " + program.arch + " (" +
             artifactName(artifact) + ", key " + key.hex() + ")");
  const auto compile_start = std::chrono::steady_clock::now();
  auto bytes = std::make_shared<const std::string>(nvrtcCompile(program, artifact));
  logVerbose("nvrtc compile " + program.kernel_name + ": " + msSince(compile_start));
  if (disk_) {
    // A cache that cannot be written (read-only, full) costs the next process a compile, not
    // this one its kernel: warn once and go on uncached.
    try {
      disk_->store(key, artifact, *bytes);
    } catch (const Error& error) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        ++stats_.store_failures;
      }
      warnOnce(disk_warned_, std::string(error.what()) + "; compiling without storing kernels");
    }
  }
  return bytes;
}

std::shared_ptr<const std::string> KernelCache::fetch(const CudaProgram& program, Artifact artifact,
                                                      const Hash128& key, size_t identity) {
  if (!options_.enabled) return diskOrCompile(program, artifact, key);
  SlotRef slot = slotRef(program, identity, artifact, nullptr);
  std::string flight = key.hex() + "." + artifactName(artifact);
  std::promise<std::shared_ptr<const std::string>> promise;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    // Re-checked under the lock: a compile may have finished since the caller's lookup.
    Entry done;
    if (lookupLocked(slot, &done)) {
      ++stats_.memory_hits;
      return done.binary;
    }
    auto found = in_flight_.find(flight);
    if (found != in_flight_.end()) {
      auto pending = found->second;
      lock.unlock();
      return pending.get();  // rethrows the compiling thread's Error
    }
    in_flight_.emplace(flight, promise.get_future().share());
  }
  std::shared_ptr<const std::string> bytes;
  try {
    bytes = diskOrCompile(program, artifact, key);
    promise.set_value(bytes);
  } catch (...) {
    promise.set_exception(std::current_exception());
    std::lock_guard<std::mutex> lock(mutex_);
    in_flight_.erase(flight);
    throw;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  insertLocked(slot, Entry{bytes, nullptr});
  in_flight_.erase(flight);
  return bytes;
}

std::shared_ptr<const std::string> KernelCache::binary(const CudaProgram& program,
                                                       Artifact artifact) {
  size_t identity = identityHash(program);
  if (options_.enabled) {
    std::lock_guard<std::mutex> lock(mutex_);
    Entry entry;
    if (lookupLocked(slotRef(program, identity, artifact, nullptr), &entry)) {
      ++stats_.memory_hits;
      return entry.binary;
    }
  }
  return fetch(program, artifact, keyOf(program, artifact), identity);
}

std::shared_ptr<LoadedKernel> KernelCache::kernel(const CudaProgram& program, Driver& driver,
                                                  const std::shared_ptr<Driver>& owner,
                                                  CUcontext context) {
  size_t identity = identityHash(program);
  SlotRef slot = slotRef(program, identity, Artifact::kCubin, context);
  std::shared_ptr<const std::string> cubin;
  if (options_.enabled) {
    std::lock_guard<std::mutex> lock(mutex_);
    Entry entry;
    if (lookupLocked(slot, &entry)) {
      ++stats_.memory_hits;
      return entry.kernel;
    }
    // Compiled already (host-only, or for another context): load it without a compile.
    if (lookupLocked(slotRef(program, identity, Artifact::kCubin, nullptr), &entry)) {
      cubin = entry.binary;
    }
  }
  if (!cubin) cubin = fetch(program, Artifact::kCubin, keyOf(program, Artifact::kCubin), identity);

  ScopedContext scoped(driver, context);
  const auto load_start = std::chrono::steady_clock::now();
  CUmodule module = nullptr;
  driver.check(driver.cuModuleLoadData(&module, cubin->data()), "cuModuleLoadData");
  logVerbose("cuModuleLoadData " + program.kernel_name + ": " + msSince(load_start));
  CUfunction function = nullptr;
  CUresult found = driver.cuModuleGetFunction(&function, module, program.kernel_name.c_str());
  if (found != CUDA_SUCCESS) {
    driver.cuModuleUnload(module);
    driver.check(found, ("cuModuleGetFunction(" + program.kernel_name + ")").c_str());
  }
  auto loaded = std::make_shared<LoadedKernel>(owner, context, module, function);
  if (options_.enabled) {
    std::lock_guard<std::mutex> lock(mutex_);
    Entry existing;
    if (lookupLocked(slot, &existing)) return existing.kernel;  // another thread loaded it first
    insertLocked(slot, Entry{cubin, loaded});
  }
  return loaded;
}

CacheStats KernelCache::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  CacheStats out = stats_;
  out.memory_entries = lru_.size();
  return out;
}

void KernelCache::resetStats() {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_ = CacheStats{};
}

size_t KernelCache::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  lru_.clear();
  index_.clear();
  return disk_ ? disk_->clear() : 0;
}

}  // namespace permjit::runtime
