#include "permjit/runtime/ResidueMass.h"

#include <string>

#include "RuntimeInternal.h"

namespace permjit::runtime {
namespace {

[[noreturn]] void invalid(const std::string& message) {
  throw Error(ErrorCategory::kInvalidArgument, "residue mass: " + message);
}

void checkArgs(const ResidueMassArgs& a, int64_t batch_heads) {
  if (a.q == nullptr || a.k == nullptr || a.lse == nullptr || a.offsets == nullptr ||
      a.tables == nullptr || a.base == nullptr) {
    invalid("q, k, lse, offsets, tables and base must not be null");
  }
  if (a.seq_len < 1 || a.heads < 1 || a.kv_heads < 1 || a.heads % a.kv_heads != 0 ||
      batch_heads < 1 || batch_heads % a.heads != 0 || batch_heads > 65535) {
    invalid("seq_len, heads, kv_heads and batch_heads: " + std::to_string(a.seq_len) + ", " +
            std::to_string(a.heads) + ", " + std::to_string(a.kv_heads) + ", " +
            std::to_string(batch_heads) + "; allowed: >= 1, kv_heads dividing heads, heads " +
            "dividing batch_heads <= 65535");
  }
  if (a.strides_count < 1 || a.strides_count > kMaxResidueStrides) {
    invalid("strides_count: " + std::to_string(a.strides_count) + "; allowed: 1.." +
            std::to_string(kMaxResidueStrides));
  }
  int bins = 0;
  int64_t table = 0;
  for (int i = 0; i < a.strides_count; ++i) {
    if (a.strides[i] < 1 || a.bin_offset[i] != bins || a.table_offset[i] != table) {
      invalid("strides[" + std::to_string(i) + "]: " + std::to_string(a.strides[i]) +
              " with bin_offset " + std::to_string(a.bin_offset[i]) + " and table_offset " +
              std::to_string(a.table_offset[i]) +
              "; allowed: stride >= 1, offsets packed in order");
    }
    bins += a.strides[i];
    table += static_cast<int64_t>(a.strides[i] + 1) * a.strides[i];
  }
  if (a.row_bins < bins || a.row_bins > kMaxResidueRowBins || table > a.table_elems) {
    invalid("row_bins " + std::to_string(a.row_bins) + " / table_elems " +
            std::to_string(a.table_elems) + " for strides summing to " + std::to_string(bins) +
            "; allowed: row_bins in [sum, " + std::to_string(kMaxResidueRowBins) +
            "], table_elems >= sum of (s + 1) s");
  }
}

}  // namespace

void launchResidueMass(const Runtime& runtime, int head_dim, DType dtype,
                       const ResidueMassArgs& args, int64_t batch_heads, void* stream) {
  const std::shared_ptr<Runtime::State>& state = RuntimeAccess::state(runtime);
  if (!state->driver) {
    throw Error(ErrorCategory::kDriverError,
                "residue mass: the runtime is host-only; " + state->no_device_reason);
  }
  checkArgs(args, batch_heads);
  const GeneratedKernel generated = generateResidueMass(head_dim, dtype, state->target);
  const std::shared_ptr<LoadedKernel> kernel = state->cache->kernel(
      programFor(generated, state->arch), *state->driver, state->driver, state->context);
  const int smem = residueMassSmemBytes(head_dim, args.row_bins);
  if (smem > state->device.max_smem_optin) {
    invalid("row_bins: " + std::to_string(args.row_bins) + " needs " + std::to_string(smem) +
            " bytes of shared memory; this device allows " +
            std::to_string(state->device.max_smem_optin));
  }
  Driver& driver = *state->driver;
  ScopedContext scoped(driver, state->context);
  driver.check(driver.cuFuncSetAttribute(kernel->function(),
                                         CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, smem),
               "cuFuncSetAttribute(residue mass shared memory)");
  ResidueMassArgs copy = args;
  void* params[] = {&copy};
  const unsigned groups = static_cast<unsigned>((args.seq_len + 63) / 64);
  driver.check(driver.cuLaunchKernel(kernel->function(), groups, static_cast<unsigned>(batch_heads),
                                     1, 128, 1, 1, static_cast<unsigned>(smem),
                                     static_cast<CUstream>(stream), params, nullptr),
               "cuLaunchKernel(residue mass)");
}

}  // namespace permjit::runtime
