// select-tile-config: the default tile config of the kernel's head dim, each field overridable
// by an option (CompileOptions::tile sets all four).
#include "PassError.h"
#include "mlir/IR/Builders.h"
#include "permjit/compiler/Passes.h"
#include "permjit/compiler/Pipeline.h"
#include "permjit/dsl/Error.h"

namespace permjit {

#define GEN_PASS_DEF_SELECTTILECONFIGPASS
#include "permjit/compiler/Passes.h.inc"

namespace {

struct SelectTileConfigPass : impl::SelectTileConfigPassBase<SelectTileConfigPass> {
  using SelectTileConfigPassBase::SelectTileConfigPassBase;

  void runOnOperation() override {
    getOperation().walk([&](ir::KernelOp kernel) {
      try {
        TileConfig tile = defaultTileConfig(static_cast<int>(kernel.getHeadDimAttr().getInt()));
        if (blockM != 0) tile.block_m = static_cast<int>(blockM);
        if (blockN != 0) tile.block_n = static_cast<int>(blockN);
        if (warps != 0) tile.warps = static_cast<int>(warps);
        if (stages != 0) tile.stages = static_cast<int>(stages);
        validateTileConfig(tile);
        mlir::Builder b(&getContext());
        kernel.setBlockMAttr(b.getI64IntegerAttr(tile.block_m));
        kernel.setBlockNAttr(b.getI64IntegerAttr(tile.block_n));
        kernel.setWarpsAttr(b.getI64IntegerAttr(tile.warps));
        kernel.setStagesAttr(b.getI64IntegerAttr(tile.stages));
      } catch (const Error& e) {
        passes::emitPermjitError(kernel, e);
        signalPassFailure();
      }
    });
  }
};

}  // namespace
}  // namespace permjit
