// The permjit dialect's parser and verifiers (permjit-opt's first step) on arbitrary text: MLIR
// 19's parser with the dialect registered, then the verifier. Errors are diagnostics, never a
// crash; a module that parses and verifies must print and parse back, and verify again.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "FuzzSupport.h"
#include "llvm/Support/raw_ostream.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "permjit/compiler/Dialect/Dialect.h"

namespace {

// A context lives for a bounded number of inputs: attributes and types are uniqued in it for
// its lifetime, so one context for a million mutated inputs would only grow.
constexpr int kInputsPerContext = 2000;

mlir::MLIRContext& context() {
  static std::unique_ptr<mlir::MLIRContext> ctx;
  static int uses = 0;
  if (!ctx || ++uses >= kInputsPerContext) {
    mlir::DialectRegistry registry;
    registry.insert<permjit::ir::PermjitDialect, mlir::func::FuncDialect>();
    ctx = std::make_unique<mlir::MLIRContext>(registry, mlir::MLIRContext::Threading::DISABLED);
    ctx->loadAllAvailableDialects();
    uses = 0;
  }
  return *ctx;
}

std::string print(mlir::ModuleOp module) {
  std::string text;
  llvm::raw_string_ostream os(text);
  module.print(os);
  return os.str();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mlir::MLIRContext& ctx = context();
  // Diagnostics are the expected answer to bad input; they are counted, not printed.
  mlir::ScopedDiagnosticHandler swallow(&ctx, [](mlir::Diagnostic&) { return mlir::success(); });
  const std::string text = permjit::fuzz::asText(data, size);
  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::parseSourceString<mlir::ModuleOp>(text, &ctx);
  if (!module || mlir::failed(mlir::verify(*module))) return 0;
  const std::string printed = print(*module);
  mlir::OwningOpRef<mlir::ModuleOp> again = mlir::parseSourceString<mlir::ModuleOp>(printed, &ctx);
  PERMJIT_FUZZ_CHECK(again && "a verified module's printed form parses");
  PERMJIT_FUZZ_CHECK(mlir::succeeded(mlir::verify(*again)) && "and verifies");
  PERMJIT_FUZZ_CHECK(print(*again) == printed && "and prints the same");
  return 0;
}
