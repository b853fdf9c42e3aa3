// classify-tiles: when seq_len is known, build each pass's row and column segment tables and
// classify every (row tile, column tile) with the shared tile semantics (Plan.h). Annotates
// the pass with full/partial/empty tile counts, kept-pair bounds and the density.
#include "PassError.h"
#include "mlir/IR/Builders.h"
#include "permjit/compiler/Passes.h"
#include "permjit/compiler/Plan.h"
#include "permjit/dsl/Error.h"

namespace permjit {

#define GEN_PASS_DEF_CLASSIFYTILESPASS
#include "permjit/compiler/Passes.h.inc"

namespace {

// Past this many tiles the counts are not computed (compile time stays well under a second);
// the kernel is still correct, only the statistics are missing.
constexpr int64_t kMaxClassifiedTiles = int64_t{1} << 24;
// Pairs of partial tiles evaluated one by one for an exact kept-pair count; beyond this budget
// kept_pairs_max stays an upper bound.
constexpr int64_t kExactPairBudget = int64_t{1} << 20;

struct Stats {
  int64_t full = 0, partial = 0, empty = 0, kept_min = 0, kept_max = 0;
};

Stats classify(const KernelSpec& spec, const PassSpec& pass, const std::vector<int>& params,
               const sem::SegmentTable& rows, const sem::SegmentTable& cols) {
  Stats st;
  int64_t budget = kExactPairBudget;
  int row_tiles = rows.total / rows.tile, col_tiles = cols.total / cols.tile;
  std::vector<sem::Coord> q_coords(rows.tile), k_coords;
  for (int i = 0; i < row_tiles; ++i) {
    sem::Bounds qb = sem::tile_bounds(rows, i);
    bool q_coords_ready = false;
    for (int j = 0; j < col_tiles; ++j) {
      sem::Bounds kb = sem::tile_bounds(cols, j);
      sem::Tri tri = evalClassify(spec, pass.expr_root, params, qb, kb);
      int64_t pairs = int64_t{qb.count} * kb.count;
      if (tri == sem::kNone) {
        ++st.empty;
        continue;
      }
      if (tri == sem::kAll) {
        ++st.full;
        st.kept_min += pairs;
        st.kept_max += pairs;
        continue;
      }
      ++st.partial;
      if (budget < pairs) {
        st.kept_max += pairs;
        continue;
      }
      budget -= pairs;
      if (!q_coords_ready) {
        for (int r = 0; r < rows.tile; ++r) q_coords[r] = sem::map_index(rows, i * rows.tile + r);
        q_coords_ready = true;
      }
      int64_t kept = 0;
      for (int c = 0; c < cols.tile; ++c) {
        sem::Coord k = sem::map_index(cols, j * cols.tile + c);
        for (int r = 0; r < rows.tile; ++r) {
          kept += evalKeep(spec, pass.expr_root, params, q_coords[r], k) ? 1 : 0;
        }
      }
      st.kept_min += kept;
      st.kept_max += kept;
    }
  }
  return st;
}

struct ClassifyTilesPass : impl::ClassifyTilesPassBase<ClassifyTilesPass> {
  void runOnOperation() override {
    getOperation().walk([&](ir::KernelOp kernel) {
      if (!kernel.getSeqLenAttr() || !kernel.getBlockMAttr() || !kernel.getBlockNAttr()) return;
      int64_t seq_len = kernel.getSeqLenAttr().getInt();
      try {
        KernelSpec spec = emitKernelSpec(kernel);
        // Dynamic sets are only known per run: no static tile statistics to count.
        if (spec.isDynamic()) return;
        Layout layout = layoutFromAttr(kernel.getLayoutAttr());
        std::vector<int> params = bindParams(spec, layout, seq_len);
        mlir::Builder b(&getContext());
        size_t index = 0;
        for (ir::PassOp pass : kernel.getBody().getOps<ir::PassOp>()) {
          const PassSpec& ps = spec.passes[index++];
          sem::SegmentTable rows =
              buildSegmentTable(ps.rows, params, layout, seq_len, spec.tile.block_m);
          sem::SegmentTable cols =
              buildSegmentTable(ps.cols, params, layout, seq_len, spec.tile.block_n);
          int64_t tiles = int64_t{rows.total / rows.tile} * (cols.total / cols.tile);
          if (tiles > kMaxClassifiedTiles) continue;
          Stats st = classify(spec, ps, params, rows, cols);
          pass.setFullTilesAttr(b.getI64IntegerAttr(st.full));
          pass.setPartialTilesAttr(b.getI64IntegerAttr(st.partial));
          pass.setEmptyTilesAttr(b.getI64IntegerAttr(st.empty));
          pass.setKeptPairsMinAttr(b.getI64IntegerAttr(st.kept_min));
          pass.setKeptPairsMaxAttr(b.getI64IntegerAttr(st.kept_max));
          pass.setDensityAttr(b.getF64FloatAttr(static_cast<double>(st.kept_max) /
                                                (static_cast<double>(seq_len) * seq_len)));
        }
      } catch (const Error& e) {
        passes::emitPermjitError(kernel, e);
        signalPassFailure();
      }
    });
  }
};

}  // namespace
}  // namespace permjit
