// The public C++ API: Runtime (driver, device, cache) and Plan (compiled kernels of one shape
// class, launched per call).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <exception>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>

#include "RuntimeInternal.h"
#include "permjit/codegen/CudaSource.h"
#include "permjit/codegen/KernelArgs.h"
#include "permjit/compiler/Pipeline.h"
#include "permjit/compiler/Plan.h"
#include "permjit/permjit.h"
#include "permjit/runtime/Autotuner.h"
#include "permjit/runtime/Driver.h"
#include "permjit/runtime/KernelCache.h"
#include "permjit/runtime/SourceDump.h"
#include "permjit/runtime/TensorMaps.h"
#include "permjit/runtime/Workspace.h"

namespace permjit {
namespace {

Error invalid(const std::string& message) {
  return Error(ErrorCategory::kInvalidArgument, message);
}

TargetInfo targetFor(const std::string& arch) {
  runtime::ArchName name = runtime::parseArch(arch, "arch");
  TargetInfo target = TargetInfo::forComputeCapability(name.major, name.minor);
  target.arch_specific = name.arch_specific;
  return target;
}

// The default NVRTC target of a device: the arch-specific "a" variant on Hopper (wgmma and
// setmaxnreg need it), the plain one elsewhere.
std::string deviceArch(int major, int minor) {
  return TargetInfo::forComputeCapability(major, minor).nvrtcArch();
}

Strides contiguousStrides(TensorLayout layout, int64_t heads, int64_t seq_len, int64_t head_dim) {
  if (layout == TensorLayout::kBSHD)
    return {seq_len * heads * head_dim, heads * head_dim, head_dim};
  return {heads * seq_len * head_dim, head_dim, seq_len * head_dim};
}

void checkPointer(const void* pointer, const char* name, bool required) {
  if (pointer == nullptr) {
    if (required) throw invalid(std::string(name) + ": null pointer; a device pointer is required");
    return;
  }
  if (reinterpret_cast<uintptr_t>(pointer) % 16 != 0) {
    throw invalid(std::string(name) + ": pointer is not 16-byte aligned; allowed: addresses that " +
                  "are multiples of 16 bytes (the kernel loads 16-byte vectors)");
  }
}

void checkStrides(const Strides& strides, const std::string& name, int64_t head_dim, int64_t batch,
                  int64_t heads) {
  auto check = [&](int64_t value, const char* axis, bool needed) {
    std::string field = name + "." + axis;
    if (!needed) return;
    if (value <= 0) {
      throw invalid(field + ": " + std::to_string(value) + " elements; allowed: positive strides");
    }
    if (value % 8 != 0) {
      throw invalid(field + ": " + std::to_string(value) +
                    " elements is not a multiple of 8; allowed: multiples of 8 elements (every " +
                    "head_dim row must start 16-byte aligned)");
    }
  };
  check(strides.batch, "batch", batch > 1);
  check(strides.seq, "seq", true);
  check(strides.head, "head", heads > 1);
  if (strides.seq < head_dim || (heads > 1 && strides.head < head_dim)) {
    throw invalid(name + ": strides {seq " + std::to_string(strides.seq) + ", head " +
                  std::to_string(strides.head) + "} overlap head_dim rows of " +
                  std::to_string(head_dim) +
                  " elements; allowed: head_dim contiguous, seq and head strides >= head_dim");
  }
}

void fillStrides(long long out[3], const Strides& strides) {
  out[kStrideBatch] = strides.batch;
  out[kStrideSeq] = strides.seq;
  out[kStrideHead] = strides.head;
}

// RuntimeOptions::key_split_min_tiles, else PERMJIT_KEY_SPLIT, else 0 (off).
int resolveKeySplitMinTiles(const RuntimeOptions& options) {
  if (options.key_split_min_tiles) {
    if (*options.key_split_min_tiles < 0) {
      throw invalid("key_split_min_tiles: " + std::to_string(*options.key_split_min_tiles) +
                    "; allowed: >= 0 (0: never split)");
    }
    return *options.key_split_min_tiles;
  }
  const std::optional<std::string> text = env::keySplit();
  if (!text) return 0;
  size_t used = 0;
  long value = -1;
  try {
    value = std::stol(*text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text->size() || value < 0 || value > (1L << 30)) {
    throw invalid("PERMJIT_KEY_SPLIT: '" + *text +
                  "'; allowed: an integer from 0 (never split) to 2^30");
  }
  return static_cast<int>(value);
}

// Workspace regions are 256-byte aligned offsets from the pointer.
void checkWorkspaceAlignment(const void* workspace) {
  if (reinterpret_cast<uintptr_t>(workspace) % 256 != 0) {
    throw invalid(
        "workspace: pointer is not 256-byte aligned; allowed: addresses that are "
        "multiples of 256 bytes (cuMemAlloc's alignment)");
  }
}

void checkWorkspaceBytes(const Plan& plan, const RunArgs& args) {
  const size_t need = plan.workspaceBytes(args.batch, args.heads, args.seq_len);
  if (args.workspace_bytes < need) {
    throw invalid("workspace_bytes: " + std::to_string(args.workspace_bytes) +
                  "; allowed: >= " + std::to_string(need) +
                  " (Plan::workspaceBytes for this batch, heads and seq_len)");
  }
}

CacheStats publicStats(const runtime::CacheStats& stats) {
  return {stats.memory_hits, stats.disk_hits, stats.compiles, stats.corrupt_files,
          stats.memory_entries};
}

}  // namespace

const char* tensorLayoutName(TensorLayout layout) {
  switch (layout) {
    case TensorLayout::kBSHD:
      return "bshd";
    case TensorLayout::kBHSD:
      return "bhsd";
    case TensorLayout::kStrided:
      return "strided";
  }
  return "unknown";
}

std::string Runtime::deviceUnavailableReason(const std::string& driver_library) {
  std::string reason;
  runtime::Driver::tryOpen(driver_library, &reason);
  return reason;
}

Runtime::Runtime(RuntimeOptions options) : state_(std::make_shared<State>()) {
  State& state = *state_;
  state.options = options;
  if (options.host_only) {
    if (!options.arch) {
      throw invalid(
          "arch: a host-only runtime needs a target architecture; allowed: sm_80, "
          "sm_86, sm_89, sm_90a, ...");
    }
    state.no_device_reason = "this runtime is host-only (RuntimeOptions::host_only)";
  } else {
    state.driver = runtime::Driver::open(options.driver_library);
    state.device = state.driver->device(options.device_ordinal);
    state.context = state.driver->primaryContext(options.device_ordinal);
  }
  state.arch = options.arch ? *options.arch : deviceArch(state.device.major, state.device.minor);
  runtime::parseArch(state.arch, "arch");
  const TargetInfo target = targetFor(state.arch);
  const KernelFamily family =
      options.kernel_family
          ? *options.kernel_family
          : (env::kernelFamily() ? parseKernelFamily(*env::kernelFamily(), "PERMJIT_KERNEL_FAMILY")
                                 : target.preferredFamily());
  state.target = target.withFamily(family);
  state.key_split_min_tiles = resolveKeySplitMinTiles(options);
  bool disabled = options.disable_cache.value_or(env::cacheDisabled());
  runtime::KernelCache::Options cache_options;
  cache_options.enabled = !disabled;
  cache_options.dir = disabled ? "" : options.cache_dir.value_or(env::cacheDir());
  cache_options.memory_capacity = options.memory_cache_entries;
  state.cache = std::make_unique<runtime::KernelCache>(cache_options);
}

Runtime::~Runtime() = default;

bool Runtime::hasDevice() const { return state_->driver != nullptr; }
std::string Runtime::deviceName() const { return state_->driver ? state_->device.name : ""; }
const std::string& Runtime::arch() const { return state_->arch; }
KernelFamily Runtime::kernelFamily() const { return state_->target.family; }
std::string Runtime::cacheDir() const { return state_->cache->options().dir; }
CacheStats Runtime::cacheStats() const { return publicStats(state_->cache->stats()); }
void Runtime::resetCacheStats() { state_->cache->resetStats(); }
size_t Runtime::clearCache() { return state_->cache->clear(); }

CompileOptions compileOptionsFor(const PlanOptions& options) {
  CompileOptions compile;
  compile.head_dim = options.head_dim;
  compile.dtype = options.dtype;
  compile.tile = options.tile;
  compile.layout = options.layout;
  compile.seq_len = options.seq_len;
  compile.name = options.name;
  compile.pass_split = options.pass_split;
  return compile;
}

Plan Runtime::plan(const Pattern& pattern, const PlanOptions& options) {
  runtime::StageClock clock("plan " + options.name);
  if (options.seq_len > 0) {
    options.layout.validate(options.seq_len);
    validate(pattern, options.layout, options.seq_len);
  }
  clock.lap("validate");
  CompileOptions compile = compileOptionsFor(options);
  // An explicit tile wins; otherwise the tuning database's (PERMJIT_TUNE=1 tunes first), else
  // the kernel family's default. The database's pass split applies where the caller leaves the
  // split to kAuto. Tuning compiles its candidates with buildPlan, never through plan().
  if (!options.tile) {
    if (std::optional<runtime::TunedConfig> tuned =
            runtime::tunedConfigFor(*this, pattern, options)) {
      compile.tile = tuned->tile;
      if (tuned->pass_split && options.pass_split == PassSplit::kAuto) {
        compile.pass_split = *tuned->pass_split;
      }
    }
    if (!compile.tile) compile.tile = defaultTile(state_->target.family, options.head_dim);
  }
  clock.lap("tuning lookup");
  // The plan's kernels compile concurrently: a cold two-pass plan takes about its slowest
  // kernel's compile instead of the sum. At most 8 at once: an NVRTC instance holds a few
  // hundred MB while it runs.
  const unsigned threads = std::min(8u, std::max(1u, std::thread::hardware_concurrency()));
  return runtime::buildPlan(state_, pattern, compile, threads);
}

namespace runtime {
namespace {

// One kernel a plan needs: generated, not yet compiled.
struct KernelRequest {
  GeneratedKernel generated;
  int extra_smem = 0;  // dynamic shared memory the launches add (the kernel is opted in to it)
};

// Compiles one kernel through the cache and, with a device, loads it.
PassKernel compileKernel(Runtime::State& state, KernelRequest request) {
  PassKernel kernel;
  kernel.generated = std::move(request.generated);
  kernel.program = programFor(kernel.generated, state.arch);
  if (state.driver) {
    kernel.loaded = state.cache->kernel(kernel.program, *state.driver, state.driver, state.context);
    const int smem_bytes = kernel.generated.smem_bytes + request.extra_smem;
    if (smem_bytes > state.device.max_smem_optin) {
      throw Error(ErrorCategory::kUnsupported, "tile: the kernel needs " +
                                                   std::to_string(smem_bytes) +
                                                   " bytes of shared memory; this device allows " +
                                                   std::to_string(state.device.max_smem_optin) +
                                                   "; allowed: smaller block_m/block_n/stages");
    }
    state.driver->check(
        state.driver->cuFuncSetAttribute(
            kernel.loaded->function(), CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, smem_bytes),
        "cuFuncSetAttribute(max dynamic shared memory)");
    ScopedContext scoped(*state.driver, state.context);
    if (!kernel.generated.split_count_name.empty()) {
      kernel.split_count = kernel.loaded->entry(kernel.generated.split_count_name);
    }
    if (!kernel.generated.split_plan_name.empty()) {
      kernel.split_plan = kernel.loaded->entry(kernel.generated.split_plan_name);
    }
  } else {
    state.cache->binary(kernel.program, Artifact::kCubin);
  }
  return kernel;
}

// Every request's kernel, in request order. The first request of each distinct source compiles
// on up to `threads` threads at once (NVRTC and the KernelCache are thread-safe); repeats (the
// grid candidates share their kernels) follow one by one, so they are cache hits as before.
// The first failure in request order is rethrown.
std::vector<PassKernel> compileKernels(Runtime::State& state, std::vector<KernelRequest> requests,
                                       unsigned threads) {
  std::vector<size_t> distinct, repeats;
  for (size_t i = 0; i < requests.size(); ++i) {
    const GeneratedKernel& kernel = requests[i].generated;
    const bool repeat = std::any_of(distinct.begin(), distinct.end(), [&](size_t earlier) {
      return requests[earlier].generated.kernel_name == kernel.kernel_name &&
             requests[earlier].generated.source == kernel.source;
    });
    (repeat ? repeats : distinct).push_back(i);
  }
  std::vector<PassKernel> kernels(requests.size());
  std::vector<std::exception_ptr> failures(requests.size());
  threads = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(distinct.size())));
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t n = next++; n < distinct.size(); n = next++) {
      const size_t i = distinct[n];
      try {
        kernels[i] = compileKernel(state, std::move(requests[i]));
      } catch (...) {
        failures[i] = std::current_exception();  // nothing may escape a worker thread
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) {
    try {
      pool.emplace_back([&] {
        // Loading needs the runtime's context current on this thread.
        std::optional<ScopedContext> context;
        if (state.driver) context.emplace(*state.driver, state.context);
        worker();
      });
    } catch (const std::system_error&) {
      break;  // no more threads: the ones running (and this one) compile the rest
    }
  }
  worker();
  for (std::thread& thread : pool) thread.join();
  for (size_t i = 0; i < requests.size(); ++i) {
    if (failures[i]) std::rethrow_exception(failures[i]);
    if (std::find(repeats.begin(), repeats.end(), i) != repeats.end()) {
      kernels[i] = compileKernel(state, std::move(requests[i]));
    }
  }
  return kernels;
}

}  // namespace

Plan buildPlan(const std::shared_ptr<Runtime::State>& state_pointer, const Pattern& pattern,
               const CompileOptions& compile, unsigned compile_threads) {
  Runtime::State& state = *state_pointer;
  auto impl = std::make_shared<Plan::Impl>(Plan::Impl{state_pointer, pattern, {}, {}, {}, {}, {}});
  StageClock clock("plan " + compile.name);
  impl->spec = compilePattern(pattern, compile);
  clock.lap("pipeline");
  const TargetInfo& target = state.target;
  CodegenOptions codegen;
  codegen.key_split = state.key_split_min_tiles > 0;
  for (const DynamicSpec& atom : impl->spec.dynamic) {
    if (atom.last_q > kMaxEstimateLastQ) {
      throw Error(ErrorCategory::kUnsupported,
                  "vertical_slash.last_q: " + std::to_string(atom.last_q) + "; allowed: 1.." +
                      std::to_string(kMaxEstimateLastQ));
    }
  }
  // Every kernel first generated, in order: the estimator's stages, then every grid candidate's
  // passes (candidate 0's are the plan's; the others render the same sources).
  const std::vector<EstimatorStage> stages = estimatorStages(impl->spec);
  std::vector<KernelSpec> candidates = {impl->spec};
  if (impl->spec.grid_estimate) {
    for (int c = 1; c < static_cast<int>(impl->spec.grid_estimate->strides.size()); ++c) {
      candidates.push_back(compileGridCandidate(pattern, compile, c));
    }
  }
  std::vector<KernelRequest> requests;
  for (EstimatorStage stage : stages) {
    requests.push_back({generateEstimator(stage, impl->spec.head_dim, impl->spec.dtype, target),
                        estimatorMaxExtraSmem(stage)});
  }
  for (const KernelSpec& spec : candidates) {
    for (int pass = 0; pass < static_cast<int>(spec.passes.size()); ++pass) {
      requests.push_back({generateCuda(spec, target, pass, codegen), 0});
    }
  }
  // The key split's plan and combine: one module per tile configuration, a cache hit for every
  // static plan after the first of its configuration.
  const bool key_split = codegen.key_split && !impl->spec.isDynamic();
  if (key_split) requests.push_back({generateKeySplitKernels(impl->spec, target), 0});
  // PERMJIT_DUMP_SOURCE: every generated source is written before anything compiles, so one
  // that fails to compile is there to read too.
  if (const std::optional<std::string> dump_dir = env::dumpSourceDir()) {
    for (const KernelRequest& request : requests) {
      dumpSource(*dump_dir, request.generated.kernel_name, request.generated.source);
    }
  }
  clock.lap("codegen");
  std::vector<PassKernel> kernels = compileKernels(state, std::move(requests), compile_threads);
  clock.lap("kernels (compile and load)");

  auto kernel = kernels.begin();
  for (EstimatorStage stage : stages) impl->estimators.push_back({stage, std::move(*kernel++)});
  for (size_t c = 0; c < candidates.size(); ++c) {
    std::vector<PassKernel> passes(std::make_move_iterator(kernel),
                                   std::make_move_iterator(kernel + candidates[c].passes.size()));
    kernel += static_cast<ptrdiff_t>(candidates[c].passes.size());
    if (c == 0) impl->passes = passes;
    if (impl->spec.grid_estimate) {
      impl->grid_candidates.push_back({std::move(candidates[c]), std::move(passes)});
    }
  }
  if (key_split) impl->key_split = std::move(*kernel++);
  if (impl->passes.empty()) {
    throw Error(ErrorCategory::kInternal, "plan: the compiled spec has no passes");
  }
  return RuntimeAccess::plan(impl);
}

}  // namespace runtime

const KernelSpec& Plan::spec() const { return impl_->spec; }
std::string Plan::structureKey() const { return impl_->spec.structureKey(); }
int Plan::numPasses() const { return static_cast<int>(impl_->passes.size()); }
const std::string& Plan::arch() const { return impl_->state->arch; }
bool Plan::canRun() const { return impl_->state->driver != nullptr; }
bool Plan::isDynamic() const { return impl_->spec.isDynamic(); }

size_t Plan::workspaceBytes(int64_t batch, int64_t heads, int64_t seq_len) const {
  return runtime::dynamicWorkspaceBytes(impl_->spec, batch, heads, seq_len);
}

size_t Plan::keySplitWorkspaceBytes() const {
  if (impl_->key_split.generated.kernel_name.empty()) return 0;  // none (dynamic, or off)
  return runtime::keySplitWorkspaceBytes(impl_->spec);
}

std::vector<DynamicIndices> Plan::estimatedIndices(const RunArgs& args, void* stream) const {
  const Impl& impl = *impl_;
  if (!impl.spec.isDynamic()) {
    throw invalid("plan: '" + impl.spec.name +
                  "' is static (no vertical_slash or grid_estimated); only dynamic plans "
                  "estimate indices");
  }
  if (!impl.state->driver) {
    throw Error(ErrorCategory::kDriverError, "no CUDA driver/GPU: " + impl.state->no_device_reason);
  }
  checkPointer(args.workspace, "workspace", true);
  checkWorkspaceBytes(*this, args);
  const runtime::WorkspaceLayout w = runtime::workspaceLayout(impl.spec, args.seq_len);
  runtime::Driver& driver = *impl.state->driver;
  runtime::ScopedContext context(driver, impl.state->context);
  driver.check(driver.cuStreamSynchronize(static_cast<CUstream>(stream)), "cuStreamSynchronize");
  std::vector<DynamicIndices> out;
  if (impl.spec.grid_estimate) {
    for (int64_t bh = 0; bh < args.batch * args.heads; ++bh) {
      const CUdeviceptr head = reinterpret_cast<CUdeviceptr>(args.workspace) + bh * w.head_bytes;
      int choice[kGridChoiceWords];
      driver.check(driver.cuMemcpyDtoH_v2(choice, head + w.grid_choice, sizeof choice),
                   "cuMemcpyDtoH(workspace)");
      std::vector<float> scores(impl.spec.grid_estimate->strides.size());
      driver.check(
          driver.cuMemcpyDtoH_v2(scores.data(), head + w.grid_mass, scores.size() * sizeof(float)),
          "cuMemcpyDtoH(workspace)");
      DynamicIndices indices;
      indices.grid = GridChoice{choice[kGridChoiceStride], choice[kGridChoicePhaseQ],
                                choice[kGridChoicePhaseK]};
      indices.grid_scores.assign(scores.begin(), scores.end());
      out.push_back(std::move(indices));
    }
    return out;
  }
  std::vector<uint32_t> words(static_cast<size_t>((args.seq_len + 31) / 32));
  for (int64_t bh = 0; bh < args.batch * args.heads; ++bh) {
    DynamicIndices indices;
    indices.later_atoms.resize(impl.spec.dynamic.size() - 1);
    for (size_t atom = 0; atom < impl.spec.dynamic.size(); ++atom) {
      const CUdeviceptr sets =
          reinterpret_cast<CUdeviceptr>(args.workspace) + bh * w.head_bytes + atom * w.atom_bytes;
      for (int set = 0; set < 2; ++set) {
        driver.check(
            driver.cuMemcpyDtoH_v2(words.data(), sets + (set ? w.diag_bitmap : w.col_bitmap),
                                   words.size() * sizeof(uint32_t)),
            "cuMemcpyDtoH(workspace)");
        std::vector<int64_t>& chosen = atom == 0 ? (set ? indices.slash : indices.vertical)
                                                 : (set ? indices.later_atoms[atom - 1].slash
                                                        : indices.later_atoms[atom - 1].vertical);
        for (int64_t i = 0; i < args.seq_len; ++i) {
          if ((words[static_cast<size_t>(i >> 5)] >> (i & 31)) & 1u) chosen.push_back(i);
        }
      }
    }
    out.push_back(std::move(indices));
  }
  return out;
}

static const PassKernel& passAt(const Plan::Impl& impl, int pass) {
  if (pass < 0 || pass >= static_cast<int>(impl.passes.size())) {
    throw invalid("pass: " + std::to_string(pass) + " is out of range; allowed: 0.." +
                  std::to_string(impl.passes.size() - 1));
  }
  return impl.passes[pass];
}

const std::string& Plan::source(int pass) const { return passAt(*impl_, pass).generated.source; }
const std::string& Plan::kernelName(int pass) const {
  return passAt(*impl_, pass).generated.kernel_name;
}

std::string Plan::binary(const std::string& artifact, int pass) const {
  runtime::Artifact kind;
  if (artifact == "cubin") {
    kind = runtime::Artifact::kCubin;
  } else if (artifact == "ptx") {
    kind = runtime::Artifact::kPtx;
  } else {
    throw invalid("artifact: '" + artifact + "'; allowed: cubin, ptx");
  }
  return *impl_->state->cache->binary(passAt(*impl_, pass).program, kind);
}

namespace runtime {
namespace {

// RunArgs after every check, with every default resolved.
struct CheckedRunArgs {
  int64_t kv_heads = 0;
  Strides q_strides, k_strides, v_strides, o_strides;  // explicit or from the tensor layout
  float scale = 0;                                     // softmax scale
  bool key_split = false;  // a static plan's run with a workspace for the key split
};

// Every check of Plan::run; each names the argument. Touches no device.
CheckedRunArgs checkRunArgs(const Plan& plan, const Plan::Impl& impl, const RunArgs& args) {
  const KernelSpec& spec = impl.spec;
  checkPointer(args.q, "q", true);
  checkPointer(args.k, "k", true);
  checkPointer(args.v, "v", true);
  checkPointer(args.o, "o", true);
  checkPointer(args.lse, "lse", impl.passes.size() > 1);
  if (spec.isDynamic()) {
    checkPointer(args.workspace, "workspace", true);
    checkWorkspaceAlignment(args.workspace);
  }
  if (args.head_dim != spec.head_dim) {
    throw invalid("head_dim: " + std::to_string(args.head_dim) + " differs from the plan's " +
                  std::to_string(spec.head_dim) + "; allowed: " + std::to_string(spec.head_dim) +
                  " (make another plan for another head dim)");
  }
  if (args.dtype && *args.dtype != spec.dtype) {
    throw invalid(std::string("dtype: ") + dtypeName(*args.dtype) + " differs from the plan's " +
                  dtypeName(spec.dtype) + "; allowed: " + dtypeName(spec.dtype));
  }
  if (args.batch <= 0) throw invalid("batch: " + std::to_string(args.batch) + "; allowed: >= 1");
  if (args.heads <= 0) throw invalid("heads: " + std::to_string(args.heads) + "; allowed: >= 1");
  CheckedRunArgs checked;
  checked.kv_heads = args.kv_heads == 0 ? args.heads : args.kv_heads;
  if (checked.kv_heads < 0 || args.heads % checked.kv_heads != 0) {
    throw invalid("kv_heads: " + std::to_string(checked.kv_heads) + " does not divide heads " +
                  std::to_string(args.heads) + "; allowed: divisors of heads (GQA), 0 = heads");
  }
  if (args.seq_len <= 0 || args.seq_len >= sem::kPosInf / 2) {
    throw invalid("seq_len: " + std::to_string(args.seq_len) + "; allowed: 1.." +
                  std::to_string(sem::kPosInf / 2 - 1));
  }
  if (args.batch * args.heads > 0x7fffffff) {
    throw invalid("batch * heads: " + std::to_string(args.batch * args.heads) +
                  "; allowed: below 2^31 (one CTA column per batch and head)");
  }
  try {
    args.layout.validate(args.seq_len);
    validate(impl.pattern, args.layout, args.seq_len);
  } catch (const Error& error) {
    throw invalid(std::string("layout: does not fit seq_len ") + std::to_string(args.seq_len) +
                  " and this pattern: " + error.what());
  }
  checked.q_strides = args.q_strides;
  checked.k_strides = args.k_strides;
  checked.v_strides = args.v_strides;
  checked.o_strides = args.o_strides;
  if (args.tensor_layout != TensorLayout::kStrided) {
    checked.q_strides = checked.o_strides =
        contiguousStrides(args.tensor_layout, args.heads, args.seq_len, args.head_dim);
    checked.k_strides = checked.v_strides =
        contiguousStrides(args.tensor_layout, checked.kv_heads, args.seq_len, args.head_dim);
  }
  checkStrides(checked.q_strides, "q_strides", args.head_dim, args.batch, args.heads);
  checkStrides(checked.k_strides, "k_strides", args.head_dim, args.batch, checked.kv_heads);
  checkStrides(checked.v_strides, "v_strides", args.head_dim, args.batch, checked.kv_heads);
  checkStrides(checked.o_strides, "o_strides", args.head_dim, args.batch, args.heads);
  checked.scale = args.softmax_scale.value_or(1.0f / std::sqrt(static_cast<float>(args.head_dim)));
  if (!(checked.scale > 0.0f) || !std::isfinite(checked.scale)) {
    throw invalid("softmax_scale: " + std::to_string(checked.scale) +
                  "; allowed: finite and positive");
  }
  if (!spec.isDynamic() && args.workspace != nullptr && args.workspace_bytes > 0) {
    const size_t need = plan.keySplitWorkspaceBytes();
    if (need > 0 && args.workspace_bytes < need) {
      throw invalid("workspace_bytes: " + std::to_string(args.workspace_bytes) +
                    "; allowed: >= " + std::to_string(need) +
                    " (Plan::keySplitWorkspaceBytes), or 0 for no key split");
    }
    if (need > 0) checkWorkspaceAlignment(args.workspace);
    checked.key_split = need > 0;
  }
  if (!impl.state->driver) {
    throw Error(ErrorCategory::kDriverError, "no CUDA driver/GPU: " + impl.state->no_device_reason +
                                                 "; this plan was compiled but cannot run");
  }
  if (spec.isDynamic()) checkWorkspaceBytes(plan, args);
  return checked;
}

// One attention launch: its kernel, its by-value parameter and its grid.
struct PassLaunch {
  const PassKernel* kernel = nullptr;
  AttentionArgs args;
  TmaArgs tma;  // the kernel's second parameter when generated.tma_args (encodeTensorMaps)
  unsigned grid_x = 0, grid_y = 0;        // grid_y includes args.split.extra_rows
  const PassKernel* key_split = nullptr;  // the plan and combine kernels when args.split is set
};

// One estimator run: the stages' parameter and launch shape (one per vertical_slash atom, or
// the grid estimator's).
struct BoundEstimate {
  EstimateArgs args;
  EstimatorShape shape;
};

// The kernel parameters of one run, bound by host arithmetic only.
struct BoundRun {
  std::vector<BoundEstimate> estimates;  // dynamic plans; empty otherwise
  std::vector<PassLaunch> passes;        // in launch order
};

// The estimate rows of a vertical_slash atom (estimateRowRuns) into its estimator's parameter.
void bindEstimateRows(const DynamicSpec& atom, const Layout& layout, int64_t seq_len,
                      EstimateArgs& est, EstimatorShape& shape) {
  const std::vector<std::pair<int64_t, int64_t>> runs = estimateRowRuns(atom, layout, seq_len);
  est.row_runs = static_cast<int>(runs.size());
  int64_t rows = 0;
  for (size_t i = 0; i < runs.size(); ++i) {
    est.run_first[i] = static_cast<int>(runs[i].first);
    est.run_row[i] = static_cast<int>(rows);
    rows += runs[i].second - runs[i].first;
  }
  est.last_q = static_cast<int>(rows);
  // The rows' position spread: a chunk's diagonal scores fit a shared window of that many + 511.
  const int64_t spread = runs.empty() ? 1 : runs.back().second - runs.front().first;
  est.diag_window = spread <= kMaxEstimateDiagWindow ? 1 : 0;
  shape.last_q = rows;
  shape.diag_window_rows = est.diag_window ? spread : 0;
}

// The estimators' parameters (one per vertical_slash atom, or the grid estimator's), and the
// workspace fields of the attention kernels' `base` (atom 0's; bindPasses moves a pass to its
// atom's).
void bindEstimate(const Plan::Impl& impl, const RunArgs& args, const CheckedRunArgs& checked,
                  AttentionArgs& base, BoundRun& bound) {
  const KernelSpec& spec = impl.spec;
  const WorkspaceLayout w = workspaceLayout(spec, args.seq_len);
  // What every atom's estimator shares; each atom then gets its block, sizes and rows.
  BoundEstimate common;
  EstimateArgs& est = common.args;
  std::memset(&est, 0, sizeof est);
  est.q = args.q;
  est.k = args.k;
  fillStrides(est.q_stride, checked.q_strides);
  fillStrides(est.k_stride, checked.k_strides);
  est.workspace = static_cast<unsigned char*>(args.workspace);
  est.ws_head_bytes = static_cast<long long>(w.head_bytes);
  est.ws_partial = static_cast<long long>(w.partial);
  est.ws_lse = static_cast<long long>(w.lse);
  est.ws_col_score = static_cast<long long>(w.col_score);
  est.ws_diag_score = static_cast<long long>(w.diag_score);
  est.ws_col_bitmap = static_cast<long long>(w.col_bitmap);
  est.ws_diag_bitmap = static_cast<long long>(w.diag_bitmap);
  est.ws_col_prefix = static_cast<long long>(w.col_prefix);
  est.ws_diag_prefix = static_cast<long long>(w.diag_prefix);
  est.ws_col_list = static_cast<long long>(w.col_list);
  est.ws_diag_pairs = static_cast<long long>(w.diag_pairs);
  est.heads = static_cast<int>(args.heads);
  est.kv_heads = static_cast<int>(checked.kv_heads);
  est.seq_len = static_cast<int>(args.seq_len);
  est.chunks = static_cast<int>(w.chunks);
  est.scale_log2 = base.scale_log2;
  common.shape.batch_heads = args.batch * args.heads;
  common.shape.chunks = w.chunks;
  for (size_t atom = 0; atom < spec.dynamic.size(); ++atom) {
    BoundEstimate bound_atom = common;
    EstimateArgs& a = bound_atom.args;
    const DynamicSpec& d = spec.dynamic[atom];
    a.workspace += atom * w.atom_bytes;
    a.vertical = static_cast<int>(std::min(d.vertical, args.seq_len));
    a.slash = static_cast<int>(std::min(d.slash, args.seq_len));
    a.keep_columns = static_cast<int>(d.keep_columns);
    a.keep_diagonals = static_cast<int>(d.keep_diagonals);
    a.diag_scores = 1;
    bindEstimateRows(d, args.layout, args.seq_len, a, bound_atom.shape);
    bound.estimates.push_back(bound_atom);
  }
  if (spec.grid_estimate) {
    const GridEstimateSpec& g = *spec.grid_estimate;
    const auto [begin, end] =
        estimatedGridRange(*findEstimatedGrid(impl.pattern), args.layout, args.seq_len);
    const auto [sample_first, sample_rows] = gridSampleRange(g.strides, end);
    est.last_q = static_cast<int>(w.last_q);
    est.row_runs = 1;
    est.run_first[0] = static_cast<int>(args.seq_len - w.last_q);
    est.grid_begin = static_cast<int>(begin);
    est.grid_end = static_cast<int>(end);
    est.sample_first = static_cast<int>(sample_first);
    est.sample_rows = static_cast<int>(sample_rows);
    est.grid_candidates = static_cast<int>(g.strides.size());
    std::copy(g.strides.begin(), g.strides.end(), est.grid_strides);
    est.ws_grid_bins = static_cast<long long>(w.grid_bins);
    est.ws_grid_mass = static_cast<long long>(w.grid_mass);
    est.ws_grid_choice = static_cast<long long>(w.grid_choice);
    est.ws_row_capture = static_cast<long long>(w.row_capture);
    common.shape.last_q = w.last_q;
    common.shape.sample_rows = est.sample_rows;
    common.shape.grid_begin = est.grid_begin;
    common.shape.grid_end = est.grid_end;
    bound.estimates.push_back(common);
  }
  const EstimateArgs& first = bound.estimates.front().args;
  base.workspace = static_cast<const unsigned char*>(args.workspace);
  base.ws_head_bytes = first.ws_head_bytes;
  base.ws_col_bitmap = first.ws_col_bitmap;
  base.ws_diag_bitmap = first.ws_diag_bitmap;
  base.ws_col_prefix = first.ws_col_prefix;
  base.ws_diag_prefix = first.ws_diag_prefix;
  base.ws_col_list = first.ws_col_list;
  base.ws_diag_pairs = first.ws_diag_pairs;
  base.col_count = first.vertical;
  base.ws_grid_choice = first.ws_grid_choice;
}

// Every pass of one spec, in order, with its params bound once; a grid_estimated plan has
// one such spec per candidate (each candidate's CTAs exit at once for the heads that chose
// another).
void bindPasses(const Runtime::State& state, const KernelSpec& spec,
                const std::vector<PassKernel>& passes, const PassKernel* key_split, int candidate,
                const RunArgs& args, const CheckedRunArgs& checked, const AttentionArgs& base,
                BoundRun& bound) {
  const std::vector<int> params = bindParams(spec, args.layout, args.seq_len);
  if (params.size() > static_cast<size_t>(sem::kMaxParams)) {
    throw Error(ErrorCategory::kUnsupported, "pattern: " + std::to_string(params.size()) +
                                                 " parameters; allowed: up to " +
                                                 std::to_string(sem::kMaxParams));
  }
  for (size_t pass = 0; pass < passes.size(); ++pass) {
    PassLaunch launch;
    launch.kernel = &passes[pass];
    std::memcpy(&launch.args, &base, sizeof base);
    std::copy(params.begin(), params.end(), launch.args.params);
    launch.args.grid_candidate = candidate;
    launch.args.merge = pass > 0 ? 1 : 0;
    if (!bound.estimates.empty() && !spec.dynamic.empty()) {
      // The pass reads its atom's sets: the same regions one atom block further per atom.
      const BoundEstimate& atom = bound.estimates.at(static_cast<size_t>(spec.passes[pass].atom));
      launch.args.workspace = atom.args.workspace;
      launch.args.col_count = atom.args.vertical;
    }
    const int block_m = launch.kernel->generated.block_m;
    const int block_n = launch.kernel->generated.block_n;
    launch.args.rows =
        buildSegmentTable(spec.passes[pass].rows, params, args.layout, args.seq_len, block_m);
    launch.args.cols =
        buildSegmentTable(spec.passes[pass].cols, params, args.layout, args.seq_len, block_n);
    const int64_t row_tiles = launch.args.rows.total / block_m;
    const int64_t batch_heads = args.batch * args.heads;
    int64_t extra_rows = 0;
    // checked.key_split: a static plan with its key-split module, given the workspace.
    if (checked.key_split && key_split != nullptr) {
      launch.key_split = key_split;
      // Rows of extra CTAs for every chunk the plan kernel may hand out (kSplitSlots at most).
      extra_rows = (kSplitSlots + batch_heads - 1) / batch_heads;
      KeySplitArgs& split = launch.args.split;
      split.workspace = static_cast<unsigned char*>(args.workspace);
      split.min_tiles = state.key_split_min_tiles;
      // Chunks of at most the pass's work over two waves of one CTA per multiprocessor: a
      // chunk then ends within half the time a balanced kernel takes.
      split.target_ctas = 2 * std::max(1, state.device.multiprocessors);
      split.row_tiles = static_cast<int>(row_tiles);
      split.extra_rows = static_cast<int>(extra_rows);
    }
    if (row_tiles + extra_rows > 65535) {
      throw Error(ErrorCategory::kUnsupported,
                  "seq_len: " + std::to_string(args.seq_len) + " needs " +
                      std::to_string(row_tiles + extra_rows) +
                      " grid rows (row tiles and key-split CTAs); allowed: up to 65535 per launch");
    }
    launch.grid_x = static_cast<unsigned>(batch_heads);
    launch.grid_y = static_cast<unsigned>(row_tiles + extra_rows);
    bound.passes.push_back(std::move(launch));
  }
}

BoundRun bindRun(const Plan::Impl& impl, const RunArgs& args, const CheckedRunArgs& checked) {
  BoundRun bound;
  AttentionArgs base;
  std::memset(&base, 0, sizeof(base));
  base.q = args.q;
  base.k = args.k;
  base.v = args.v;
  base.o = args.o;
  base.lse = args.lse;
  fillStrides(base.q_stride, checked.q_strides);
  fillStrides(base.k_stride, checked.k_strides);
  fillStrides(base.v_stride, checked.v_strides);
  fillStrides(base.o_stride, checked.o_strides);
  base.batch = static_cast<int>(args.batch);
  base.heads = static_cast<int>(args.heads);
  base.kv_heads = static_cast<int>(checked.kv_heads);
  base.seq_len = static_cast<int>(args.seq_len);
  base.scale_log2 = checked.scale * 1.4426950408889634f;
  if (impl.spec.isDynamic()) bindEstimate(impl, args, checked, base, bound);
  if (impl.grid_candidates.empty()) {
    bindPasses(*impl.state, impl.spec, impl.passes, &impl.key_split, 0, args, checked, base, bound);
  } else {
    for (size_t c = 0; c < impl.grid_candidates.size(); ++c) {
      bindPasses(*impl.state, impl.grid_candidates[c].spec, impl.grid_candidates[c].passes, nullptr,
                 static_cast<int>(c), args, checked, base, bound);
    }
  }
  return bound;
}

void launchEstimators(Driver& driver, const Plan::Impl& impl, BoundRun& bound, CUstream stream) {
  for (BoundEstimate& estimate : bound.estimates) {
    void* params[] = {&estimate.args};
    for (const EstimatorKernel& estimator : impl.estimators) {
      const EstimatorLaunch launch = estimatorLaunch(estimator.stage, impl.spec, estimate.shape);
      const PassKernel& kernel = estimator.kernel;
      driver.check(driver.cuLaunchKernel(
                       kernel.loaded->function(), launch.grid_x, launch.grid_y, launch.grid_z,
                       static_cast<unsigned>(kernel.generated.threads), 1, 1,
                       static_cast<unsigned>(kernel.generated.smem_bytes + launch.extra_smem),
                       stream, params, nullptr),
                   "cuLaunchKernel(estimator)");
    }
  }
}

// The sm90a family's tensor maps over this run's tensors, one set per pass (its row and
// column tables decide the steps).
void encodeTensorMaps(const Driver& driver, const KernelSpec& spec, BoundRun& bound) {
  for (PassLaunch& launch : bound.passes) {
    const GeneratedKernel& generated = launch.kernel->generated;
    if (!generated.tma_args) continue;
    launch.tma = encodeTmaArgs(driver, launch.args, spec.dtype, spec.head_dim, generated.block_m,
                               generated.block_n);
  }
}

void launchPasses(Driver& driver, BoundRun& bound, CUstream stream) {
  for (PassLaunch& launch : bound.passes) {
    void* params[] = {&launch.args, &launch.tma};
    const KeySplitArgs& split = launch.args.split;
    if (split.workspace != nullptr) {
      // The header's counters start at zero; the split kernels then choose this pass's chunks.
      driver.check(driver.cuMemsetD32Async(reinterpret_cast<CUdeviceptr>(split.workspace), 0,
                                           sizeof(KeySplitHeader) / 4, stream),
                   "cuMemsetD32Async(key split header)");
      constexpr unsigned kCountWarps = 8;
      driver.check(driver.cuLaunchKernel(
                       launch.kernel->split_count, launch.grid_x,
                       (static_cast<unsigned>(split.row_tiles) + kCountWarps - 1) / kCountWarps, 1,
                       kCountWarps * 32, 1, 1, 0, stream, params, nullptr),
                   "cuLaunchKernel(key split count)");
      driver.check(driver.cuLaunchKernel(launch.key_split->split_plan, 1, 1, 1, kSplitMaxCandidates,
                                         1, 1, 0, stream, params, nullptr),
                   "cuLaunchKernel(key split plan)");
    }
    driver.check(
        driver.cuLaunchKernel(launch.kernel->loaded->function(), launch.grid_x, launch.grid_y, 1,
                              static_cast<unsigned>(launch.kernel->generated.threads), 1, 1,
                              static_cast<unsigned>(launch.kernel->generated.smem_bytes), stream,
                              params, nullptr),
        "cuLaunchKernel");
    if (split.workspace != nullptr) {
      const PassKernel& combine = *launch.key_split;
      driver.check(driver.cuLaunchKernel(combine.loaded->function(), kSplitMaxTiles, 1, 1,
                                         static_cast<unsigned>(combine.generated.threads), 1, 1,
                                         static_cast<unsigned>(combine.generated.smem_bytes),
                                         stream, params, nullptr),
                   "cuLaunchKernel(key split combine)");
    }
  }
}

}  // namespace
}  // namespace runtime

void Plan::run(const RunArgs& args, void* stream) const {
  const Impl& impl = *impl_;
  const runtime::CheckedRunArgs checked = runtime::checkRunArgs(*this, impl, args);
  runtime::BoundRun bound = runtime::bindRun(impl, args, checked);
  runtime::Driver& driver = *impl.state->driver;
  runtime::encodeTensorMaps(driver, impl.spec, bound);
  runtime::ScopedContext context(driver, impl.state->context);
  if (!args.reuse_estimate)
    runtime::launchEstimators(driver, impl, bound, static_cast<CUstream>(stream));
  runtime::launchPasses(driver, bound, static_cast<CUstream>(stream));
}

}  // namespace permjit
