// The sm_80 family: codegen/cuda/pj_attention_fwd.cuh (mma.sync, ldmatrix, a cp.async ring).
#include <string>

#include "KernelFamily.h"
#include "permjit/compiler/Pipeline.h"
#include "permjit/dsl/Error.h"

namespace permjit::codegen_detail {
namespace {

[[noreturn]] void fail(ErrorCategory category, const std::string& message) {
  throw Error(category, message);
}

class Sm80Family final : public AttentionFamily {
 public:
  KernelFamily id() const override { return KernelFamily::kSm80; }

  void checkSpec(const KernelSpec& spec, const TargetInfo& target) const override {
    if (spec.head_dim != 64 && spec.head_dim != 128) {
      fail(ErrorCategory::kUnsupported,
           "head_dim: " + std::to_string(spec.head_dim) + " is not supported; allowed: 64, 128");
    }
    if (spec.dtype != DType::kBF16 && spec.dtype != DType::kFP16) {
      fail(ErrorCategory::kUnsupported, "dtype: unknown value; allowed: bf16, fp16");
    }
    checkTile(spec.tile, spec.head_dim);
    const int smem = smemBytes(spec);
    if (smem > target.maxSharedMemoryPerBlock()) {
      fail(ErrorCategory::kUnsupported, "tile: " + tileText(spec.tile) + " needs " +
                                            std::to_string(smem) + " bytes of shared memory; " +
                                            "allowed on " + target.nvrtcArch() + ": at most " +
                                            std::to_string(target.maxSharedMemoryPerBlock()));
    }
  }

  static std::string tileText(const TileConfig& t) {
    return "tile {block_m " + std::to_string(t.block_m) + ", block_n " + std::to_string(t.block_n) +
           ", warps " + std::to_string(t.warps) + ", stages " + std::to_string(t.stages) + "}";
  }

  // The rules of the tile alone (the device's shared memory aside): the warp share of rows, the
  // mask word, the ring depth and even 16-byte loads.
  static void checkTile(const TileConfig& t, int head_dim) {
    const std::string cfg = tileText(t);
    if (t.warps < 1 || t.block_m <= 0 || t.block_m % t.warps != 0 ||
        (t.block_m / t.warps != 16 && t.block_m / t.warps != 32)) {
      fail(ErrorCategory::kUnsupported, "tile.block_m / tile.warps: " + cfg +
                                            " gives a warp share other than 16 or 32 rows; "
                                            "allowed: block_m / warps in {16, 32}");
    }
    if (t.block_n < 16 || t.block_n > 128 || t.block_n % 16 != 0) {
      fail(ErrorCategory::kUnsupported,
           "tile.block_n: " + std::to_string(t.block_n) +
               "; allowed: a multiple of 16 from 16 to 128 (the partial-tile mask keeps one 32-bit "
               "word per row fragment)");
    }
    if (t.stages < 2 || t.stages > 4) {
      fail(ErrorCategory::kUnsupported,
           "tile.stages: " + std::to_string(t.stages) + "; allowed: 2, 3, 4");
    }
    const int threads = t.warps * 32, chunks = head_dim / 8;
    if (threads % chunks != 0 || (t.block_n * chunks) % threads != 0 ||
        (t.block_m * chunks) % threads != 0) {
      fail(ErrorCategory::kUnsupported,
           "tile: " + cfg + " does not split its 16-byte tile loads evenly over " +
               std::to_string(threads) + " threads; allowed: block_m and block_n multiples of " +
               std::to_string(threads / chunks));
    }
  }

  int threads(const KernelSpec& spec) const override { return spec.tile.warps * 32; }
  int stateThreads(const KernelSpec& spec) const override { return threads(spec); }

  // Q tile plus the K and V rings.
  int smemBytes(const KernelSpec& spec) const override {
    const TileConfig& t = spec.tile;
    return (t.block_m + 2 * t.stages * t.block_n) * spec.head_dim * 2;
  }

  std::string mainloopHeader() const override { return "pj_attention_fwd.cuh"; }

  std::string configType() const override {
    return "permjit::dev::AttentionConfig<DType, kHeadDim, kBlockM, kBlockN, kWarps, kStages>";
  }

  std::string launchBounds(const KernelSpec& spec) const override {
    return "__launch_bounds__(" + std::to_string(threads(spec)) + ")";
  }

  std::string entry(const KernelSpec& spec) const override {
    // A grid_estimated candidate reads its phases from the workspace (structure: the slots).
    if (spec.grid_estimate) {
      return "permjit::dev::attention_forward_estimated_grid<Config, Pattern, " +
             std::to_string(spec.grid_estimate->phase_q_slot) + ", " +
             std::to_string(spec.grid_estimate->phase_k_slot) + ">(args);";
    }
    return "permjit::dev::attention_forward<Config, Pattern, kKeySplit>(args);";
  }

  TileConfig defaultTile(int head_dim) const override { return defaultTileConfig(head_dim); }

  // block_m {64, 128} x block_n {32, 64, 128} x warps {4, 8} x stages {2, 3}, minus what
  // validateTileConfig or the family's own tile rules reject (a tuner would only report them).
  std::vector<TileConfig> tileSpace(int head_dim) const override {
    const TileConfig fallback = defaultTile(head_dim);
    std::vector<TileConfig> tiles = {fallback};
    for (int block_m : {64, 128})
      for (int block_n : {32, 64, 128})
        for (int warps : {4, 8})
          for (int stages : {2, 3}) {
            const TileConfig tile{block_m, block_n, warps, stages};
            if (tile == fallback) continue;
            try {
              validateTileConfig(tile);
              checkTile(tile, head_dim);
            } catch (const Error&) {
              continue;
            }
            tiles.push_back(tile);
          }
    return tiles;
  }
};

}  // namespace

const AttentionFamily& sm80Family() {
  static const Sm80Family family;
  return family;
}

const AttentionFamily& attentionFamily(KernelFamily family) {
  switch (family) {
    case KernelFamily::kSm80:
      return sm80Family();
    case KernelFamily::kSm90a:
      return sm90aFamily();
  }
  fail(ErrorCategory::kInternal,
       "kernel family: unknown value " + std::to_string(static_cast<int>(family)));
}

}  // namespace permjit::codegen_detail
