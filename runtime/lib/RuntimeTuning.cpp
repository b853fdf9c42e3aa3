// Tuning on a Runtime's GPU: the TuningBackend that compiles candidates through the runtime
// (past its tuning database), checks them with checkPlan and times them with CUDA events, and
// the Runtime-level entry points of the autotuner and the database policy.
#include <atomic>

#include "RuntimeInternal.h"
#include "permjit/runtime/AttentionCheck.h"
#include "permjit/runtime/Autotuner.h"
#include "permjit/runtime/EventTimer.h"

namespace permjit::runtime {
namespace {

std::atomic<uint64_t> g_timing_runs{0};

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

// Inputs at the target shape, allocated once and shared by every candidate's timing.
class TimingBench final : public TuningBackend::Timer {
 public:
  TimingBench(std::shared_ptr<Driver> driver, CUcontext context, const TuneShape& shape,
              int head_dim, DType dtype)
      : context_(*driver, context), driver_(driver), timer_(*driver) {
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
  }

  double medianMs(const Plan& plan, int warmup, int iterations) override {
    // Dynamic plans run their estimator into a workspace, so each timing includes it; static
    // ones get the key split's (as Plan::run's callers that pass one); one buffer, grown to
    // the largest candidate's need.
    const size_t need = plan.isDynamic()
                            ? plan.workspaceBytes(args_.batch, args_.heads, args_.seq_len)
                            : plan.keySplitWorkspaceBytes();
    if (need > workspace_bytes_) {
      workspace_ = std::make_unique<DeviceBuffer>(driver_, need);
      workspace_bytes_ = need;
    }
    args_.workspace = need > 0 ? workspace_->data() : nullptr;
    args_.workspace_bytes = need > 0 ? workspace_bytes_ : 0;
    for (int i = 0; i < warmup; ++i) {
      plan.run(args_, nullptr);
      ++g_timing_runs;
    }
    return timer_.medianMs(
        [&] {
          plan.run(args_, nullptr);
          ++g_timing_runs;
        },
        iterations);
  }

 private:
  // Declared first: the inputs are freed before the previous context is restored.
  ScopedContext context_;
  std::shared_ptr<Driver> driver_;
  std::unique_ptr<DeviceBuffer> q_, k_, v_, o_, lse_, workspace_;
  size_t workspace_bytes_ = 0;
  RunArgs args_;
  EventTimer timer_;
};

class RuntimeBackend final : public TuningBackend {
 public:
  RuntimeBackend(Runtime& runtime, TuningDevice device)
      : runtime_(runtime), state_(RuntimeAccess::state(runtime)), device_(std::move(device)) {}

  const TuningDevice& device() const override { return device_; }

  Plan compile(const Pattern& pattern, const PlanOptions& options) override {
    // Loading the kernels needs the runtime's context current on this (worker) thread. One
    // compile thread per plan: the search already compiles several candidates at once.
    ScopedContext context(*state_->driver, state_->context);
    return buildPlan(state_, pattern, compileOptionsFor(options), 1);
  }

  CheckResult check(const Plan& plan, const Pattern& pattern, const CheckConfig& config) override {
    return checkPlan(runtime_, plan, pattern, config);
  }

  std::unique_ptr<Timer> timer(const TuneShape& shape, int head_dim, DType dtype) override {
    return std::make_unique<TimingBench>(state_->driver, state_->context, shape, head_dim, dtype);
  }

 private:
  Runtime& runtime_;
  std::shared_ptr<Runtime::State> state_;
  TuningDevice device_;
};

}  // namespace

uint64_t timingRunCount() { return g_timing_runs.load(); }

std::optional<TuningDevice> tuningDeviceOf(const Runtime& runtime) {
  const auto& state = RuntimeAccess::state(runtime);
  if (!state->driver) return std::nullopt;
  return TuningDevice{state->device.name,           state->device.major, state->device.minor,
                      state->device.max_smem_optin, state->arch,         state->target.family};
}

std::optional<TuningKey> tuningKeyFor(const Runtime& runtime, const KernelSpec& spec,
                                      int64_t seq_len_hint) {
  std::optional<TuningDevice> device = tuningDeviceOf(runtime);
  if (!device) return std::nullopt;
  return tuningKeyFor(*device, spec, seq_len_hint);
}

TuneResult autotune(Runtime& runtime, const Pattern& pattern, const PlanOptions& plan_options,
                    const TuneShape& shape, const TuneOptions& options) {
  std::optional<TuningDevice> device = tuningDeviceOf(runtime);
  if (!device) {
    throw Error(ErrorCategory::kDriverError,
                "autotune: needs a CUDA GPU (it times kernels on the device): " +
                    RuntimeAccess::state(runtime)->no_device_reason);
  }
  RuntimeBackend backend(runtime, std::move(*device));
  return searchCandidates(backend, pattern, plan_options, shape, options);
}

std::optional<TunedConfig> tunedConfigFor(Runtime& runtime, const Pattern& pattern,
                                          const PlanOptions& options) {
  std::optional<TuningDevice> device = tuningDeviceOf(runtime);
  if (!device) return std::nullopt;
  return tunedConfigFor(*device, pattern, options,
                        [&runtime](const Pattern& p, const PlanOptions& o, const TuneShape& s) {
                          return autotune(runtime, p, o, s);
                        });
}

}  // namespace permjit::runtime
