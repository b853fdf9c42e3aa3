// Pipeline.h's MLIR-free helpers: the tile check and the pass-split names. Kept out of
// Pipeline.cpp so readers that need only these (the tuning database, and its fuzz target built
// without MLIR: tests/fuzz) link no MLIR.
#include <fmt/format.h>

#include <initializer_list>
#include <string>

#include "permjit/compiler/Pipeline.h"
#include "permjit/dsl/Error.h"

namespace permjit {

void validateTileConfig(const TileConfig& tile) {
  auto check = [](const char* field, int value, std::initializer_list<int> allowed) {
    for (int a : allowed) {
      if (value == a) return;
    }
    std::string list;
    for (int a : allowed) list += (list.empty() ? "" : ", ") + std::to_string(a);
    throw Error(ErrorCategory::kUnsupported,
                fmt::format("tile.{}: {} is not supported; allowed: {}", field, value, list));
  };
  check("block_m", tile.block_m, {64, 128, 192});
  check("block_n", tile.block_n, {32, 64, 128});
  check("warps", tile.warps, {4, 8});
  check("stages", tile.stages, {1, 2, 3});
}

const char* passSplitName(PassSplit split) {
  switch (split) {
    case PassSplit::kSingle:
      return "single";
    case PassSplit::kSplitLines:
      return "lines";
    case PassSplit::kAuto:
      return "auto";
  }
  return "?";
}

}  // namespace permjit
