// permjit-opt: parse, verify, transform and print permjit IR (mlir-opt with our dialect).
//   permjit-opt --permjit-canonicalize --mlir-print-ir-after-all input.mlir
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "permjit/compiler/Passes.h"

int main(int argc, char** argv) {
  permjit::registerPermjitPasses();
  mlir::DialectRegistry registry;
  registry.insert<permjit::ir::PermjitDialect, mlir::func::FuncDialect>();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "permjit optimizer driver\n", registry));
}
