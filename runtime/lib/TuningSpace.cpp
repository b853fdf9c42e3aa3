// The autotuner's search space: tile shapes crossed with the pass splits a pattern allows.
#include <algorithm>

#include "permjit/codegen/CudaSource.h"
#include "permjit/compiler/Pipeline.h"
#include "permjit/runtime/Autotuner.h"

namespace permjit::runtime {

std::string candidateName(const TuneCandidate& candidate) {
  return tileName(candidate.tile) + "/" + passSplitName(candidate.pass_split);
}

std::vector<TileConfig> candidateTiles(int head_dim, KernelFamily family) {
  return tileSpace(family, head_dim);
}

std::vector<PassSplit> candidateSplits(const Pattern& pattern, const PlanOptions& options) {
  if (options.pass_split != PassSplit::kAuto) return {options.pass_split};
  // The split is structural: compile without a shape (no tile statistics, cheap at any S) and
  // with the default tile.
  CompileOptions compile = compileOptionsFor(options);
  compile.tile.reset();
  compile.layout = Layout();
  compile.seq_len = 0;
  if (compilePattern(pattern, compile).passes.size() > 1) {
    return {PassSplit::kSplitLines, PassSplit::kSingle};
  }
  return {PassSplit::kSingle};
}

std::vector<TuneCandidate> candidateConfigs(const Pattern& pattern, const PlanOptions& options,
                                            const std::vector<TileConfig>& tiles,
                                            int max_candidates, KernelFamily family) {
  const std::vector<PassSplit> splits = candidateSplits(pattern, options);
  std::vector<TileConfig> tile_order = {defaultTile(family, options.head_dim)};
  for (const TileConfig& tile : tiles.empty() ? candidateTiles(options.head_dim, family) : tiles) {
    validateTileConfig(tile);
    if (std::find(tile_order.begin(), tile_order.end(), tile) == tile_order.end()) {
      tile_order.push_back(tile);
    }
  }
  std::vector<TuneCandidate> out;
  for (const TileConfig& tile : tile_order)
    for (PassSplit split : splits) out.push_back({tile, split});
  if (max_candidates > 0 && out.size() > static_cast<size_t>(max_candidates)) {
    out.resize(static_cast<size_t>(max_candidates));
  }
  return out;
}

}  // namespace permjit::runtime
