// The sm_90a family: codegen/cuda/pj_attention_sm90.cuh (wgmma, TMA, a producer warpgroup and
// two or three consumer warpgroups, an mbarrier ring, setmaxnreg).
#include <algorithm>
#include <string>
#include <vector>

#include "KernelFamily.h"
#include "permjit/compiler/Pipeline.h"
#include "permjit/dsl/Error.h"

namespace permjit::codegen_detail {
namespace {

[[noreturn]] void fail(const std::string& message) {
  throw Error(ErrorCategory::kUnsupported, message);
}

class Sm90aFamily final : public AttentionFamily {
 public:
  KernelFamily id() const override { return KernelFamily::kSm90a; }

  void checkSpec(const KernelSpec& spec, const TargetInfo& target) const override {
    const TileConfig& t = spec.tile;
    if (!target.runs(KernelFamily::kSm90a)) {
      fail("kernel family: sm90a needs the sm_90a target; got " + target.nvrtcArch());
    }
    if (spec.head_dim != 64 && spec.head_dim != 128) {
      fail("head_dim: " + std::to_string(spec.head_dim) + " is not supported; allowed: 64, 128");
    }
    if (spec.dtype != DType::kBF16 && spec.dtype != DType::kFP16) {
      fail("dtype: unknown value; allowed: bf16, fp16");
    }
    // One producer warpgroup and block_m / 64 consumer warpgroups: the warp layout follows from
    // block_m, so only the field's default is accepted (a tuner's warps 8 would be the same
    // kernel timed twice).
    if (t.warps != 4) {
      fail("tile.warps: " + std::to_string(t.warps) +
           " on the sm90a family, whose warpgroups follow from block_m (one producer, block_m / "
           "64 consumers); allowed: 4");
    }
    if (t.block_m != 128 && t.block_m != 192) {
      fail("tile.block_m: " + std::to_string(t.block_m) +
           " on the sm90a family; allowed: 128, and 192 with head_dim 64");
    }
    // Three consumer warpgroups share the register file at 152 registers a thread: S, P and O of
    // head dim 128 do not fit without spilling.
    if (t.block_m == 192 && spec.head_dim != 64) {
      fail("tile.block_m: 192 (three consumer warpgroups) with head_dim " +
           std::to_string(spec.head_dim) +
           " on the sm90a family; allowed: 192 with head_dim 64, "
           "128 with any");
    }
    if (t.block_n != 64 && t.block_n != 128) {
      fail("tile.block_n: " + std::to_string(t.block_n) + " on the sm90a family; allowed: 64, 128");
    }
    if (t.stages != 2 && t.stages != 3) {
      fail("tile.stages: " + std::to_string(t.stages) + " on the sm90a family; allowed: 2, 3");
    }
    if (smemBytes(spec) > target.maxSharedMemoryPerBlock()) {
      fail("tile: block_n " + std::to_string(t.block_n) + ", stages " + std::to_string(t.stages) +
           " needs " + std::to_string(smemBytes(spec)) + " bytes of shared memory; allowed on " +
           target.nvrtcArch() + ": at most " + std::to_string(target.maxSharedMemoryPerBlock()));
    }
  }

  // The producer warpgroup and one consumer warpgroup per 64 rows.
  int threads(const KernelSpec& spec) const override { return 128 + 2 * spec.tile.block_m; }
  int stateThreads(const KernelSpec& spec) const override { return 2 * spec.tile.block_m; }

  // Sm90Config::kSmemBytes: alignment slack, Q, the K and V rings, barriers, tile and verdict
  // words.
  int smemBytes(const KernelSpec& spec) const override {
    const TileConfig& t = spec.tile;
    return 1024 + t.block_m * spec.head_dim * 2 + 2 * t.stages * t.block_n * spec.head_dim * 2 +
           16 + t.stages * 44;
  }

  std::string mainloopHeader() const override { return "pj_attention_sm90.cuh"; }

  std::string configType() const override {
    return "permjit::dev::Sm90Config<DType, kHeadDim, kBlockM, kBlockN, kStages>";
  }

  // One CTA per multiprocessor: setmaxnreg moves registers between the warpgroups of a CTA
  // whose register count is fixed at launch.
  std::string launchBounds(const KernelSpec& spec) const override {
    return "__launch_bounds__(" + std::to_string(threads(spec)) + ", 1)";
  }

  std::string entry(const KernelSpec& spec) const override {
    if (spec.grid_estimate) {
      return "permjit::dev::attention_forward_estimated_grid_sm90<Config, Pattern, " +
             std::to_string(spec.grid_estimate->phase_q_slot) + ", " +
             std::to_string(spec.grid_estimate->phase_k_slot) + ">(args, tma);";
    }
    return "permjit::dev::attention_forward_sm90<Config, Pattern, kKeySplit>(args, tma);";
  }

  bool takesTmaArgs() const override { return true; }

  // 128 keys per step: at 64 the per-step waits and the softmax's fixed costs leave the tensor
  // cores idle (dense causal 32K x 8 on an H200: 5.27 ms at 128x64x4x2, 3.63 ms at 128x128x4x2).
  TileConfig defaultTile(int head_dim) const override {
    defaultTileConfig(head_dim);  // the head-dim check and its message
    // Head dim 64: a third ring stage. Its steps are half as long, so two stages leave the
    // loads exposed (dense causal bf16 32K x 8 on an H200: 2.87 ms at 128x128x4x2, 2.64 ms at
    // 128x128x4x3, the tuner's choice in the same run; 192-row tiles were slower).
    return TileConfig{128, 128, 4, head_dim == 64 ? 3 : 2};
  }

  // block_n {128, 64} x stages {2, 3} x, with head dim 64, block_m {128, 192} (two or three
  // consumer warpgroups), the default first and the warpgroup choice before the stage count, so
  // a tuner bounded to a few candidates tries it.
  std::vector<TileConfig> tileSpace(int head_dim) const override {
    std::vector<TileConfig> tiles = {defaultTile(head_dim)};
    const std::vector<int> block_ms =
        head_dim == 64 ? std::vector<int>{128, 192} : std::vector<int>{128};
    for (int block_n : {128, 64})
      for (int stages : {2, 3})
        for (int block_m : block_ms) {
          const TileConfig tile{block_m, block_n, 4, stages};
          if (std::find(tiles.begin(), tiles.end(), tile) == tiles.end()) tiles.push_back(tile);
        }
    return tiles;
  }
};

}  // namespace

const AttentionFamily& sm90aFamily() {
  static const Sm90aFamily family;
  return family;
}

}  // namespace permjit::codegen_detail
