// permjit-opt: parse, verify, transform and print permjit IR (mlir-opt with our dialect).
//   permjit-opt --permjit-pipeline --mlir-print-ir-after-all input.mlir   (the whole pipeline,
//                                                   built by the library's buildPipeline)
//   permjit-opt --permjit-canonicalize input.mlir                        (one pass)
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "permjit/compiler/Passes.h"
#include "permjit/compiler/Pipeline.h"

int main(int argc, char** argv) {
  permjit::registerPermjitPasses();
  permjit::registerPermjitPipeline();
  mlir::DialectRegistry registry;
  registry.insert<permjit::ir::PermjitDialect, mlir::func::FuncDialect>();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "permjit optimizer driver\n", registry));
}
