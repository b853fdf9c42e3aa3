// The layered kernel cache: memory LRU -> on-disk cache -> NVRTC.
//
// Content key (disk layer, compile dedupe) = 128-bit hash of (source, embedded headers or their
// digest, NVRTC version, options, architecture, artifact, PERMJIT_VERSION). The memory layer
// holds loaded kernels per (program, context) and host-only binaries per program, keyed by the
// program's exact identity (a cheap hash, then full field equality), so a memory hit never pays
// for the content hash; the process-wide inputs of the content key (NVRTC and permjit versions)
// cannot differ within one process. Concurrent requests for a key that is being compiled wait
// for that compile (one std::shared_future per key) instead of starting another.
#pragma once

#include <cuda.h>

#include <atomic>
#include <cstdint>
#include <future>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "permjit/runtime/DiskCache.h"
#include "permjit/runtime/Driver.h"
#include "permjit/runtime/Hash.h"
#include "permjit/runtime/Nvrtc.h"

namespace permjit::runtime {

// A module loaded into one context, with its entry point. Unloaded when the last user (cache
// entry or plan) lets go.
class LoadedKernel {
 public:
  LoadedKernel(std::shared_ptr<Driver> driver, CUcontext context, CUmodule module,
               CUfunction function)
      : driver_(std::move(driver)), context_(context), module_(module), function_(function) {}
  ~LoadedKernel();
  LoadedKernel(const LoadedKernel&) = delete;
  LoadedKernel& operator=(const LoadedKernel&) = delete;
  CUfunction function() const { return function_; }
  // Another entry point of the same module (the key split's kernels); throws
  // Error(kDriverError) naming it when the module has none of that name.
  CUfunction entry(const std::string& name) const;
  CUcontext context() const { return context_; }

 private:
  std::shared_ptr<Driver> driver_;
  CUcontext context_;
  CUmodule module_;
  CUfunction function_;
};

struct CacheStats {
  uint64_t memory_hits = 0;
  uint64_t disk_hits = 0;
  uint64_t compiles = 0;
  uint64_t corrupt_files = 0;
  uint64_t store_failures = 0;  // compiled kernels the disk layer could not keep (warned once)
  size_t memory_entries = 0;
};

class KernelCache {
 public:
  struct Options {
    std::string dir;               // on-disk layer; empty = no disk layer
    bool enabled = true;           // false: no memory or disk layer, every request compiles
    size_t memory_capacity = 256;  // LRU entries
  };
  explicit KernelCache(Options options);

  const Options& options() const { return options_; }
  // The content key of the disk layer; computed only on a memory miss.
  Hash128 keyOf(const CudaProgram& program, Artifact artifact) const;

  // Host-only: the compiled bytes (no GPU needed).
  std::shared_ptr<const std::string> binary(const CudaProgram& program, Artifact artifact);
  // The kernel loaded in `context` (made current on the calling thread while loading).
  std::shared_ptr<LoadedKernel> kernel(const CudaProgram& program, Driver& driver,
                                       const std::shared_ptr<Driver>& owner, CUcontext context);

  CacheStats stats() const;
  void resetStats();
  // Empties the memory layer and removes every file of the disk layer; returns files removed.
  size_t clear();

 private:
  struct Entry {
    std::shared_ptr<const std::string> binary;
    std::shared_ptr<LoadedKernel> kernel;
  };
  // What a memory lookup asks for: a program (by reference), the artifact, the context the
  // kernel is loaded in (nullptr: the host-only binary) and the bucket hash of all three.
  struct SlotRef {
    const CudaProgram* program;
    Artifact artifact;
    CUcontext context;
    size_t hash;
  };
  // A memory entry's identity: a copy of the program (headers dropped when headers_digest
  // stands for them) and the rest of its SlotRef.
  struct Slot {
    CudaProgram program;
    Artifact artifact;
    CUcontext context;
    size_t hash;  // SlotRef::hash, to find the index entry when evicting
  };
  using Lru = std::list<std::pair<Slot, Entry>>;

  // Hash of every program field NVRTC reads (the digest in place of the header texts when set).
  static size_t identityHash(const CudaProgram& program);
  static SlotRef slotRef(const CudaProgram& program, size_t identity, Artifact artifact,
                         CUcontext context);
  static bool sameSlot(const Slot& slot, const SlotRef& ref);

  // Disk layer, then NVRTC; one compile per key however many threads ask.
  std::shared_ptr<const std::string> fetch(const CudaProgram& program, Artifact artifact,
                                           const Hash128& key, size_t identity);
  std::shared_ptr<const std::string> diskOrCompile(const CudaProgram& program, Artifact artifact,
                                                   const Hash128& key);
  bool lookupLocked(const SlotRef& ref, Entry* out);
  void insertLocked(const SlotRef& ref, Entry entry);

  Options options_;
  std::unique_ptr<DiskCache> disk_;
  std::atomic<bool> disk_warned_{false};  // the one warning about an unusable disk layer
  mutable std::mutex mutex_;
  Lru lru_;
  std::unordered_multimap<size_t, Lru::iterator> index_;  // SlotRef::hash -> entry
  std::map<std::string, std::shared_future<std::shared_ptr<const std::string>>> in_flight_;
  CacheStats stats_;
};

}  // namespace permjit::runtime
