// The passes of the permjit pipeline (declared in Passes.td), the DSL import that starts it and
// the KernelSpec emission that ends it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Pass/Pass.h"
#include "permjit/compiler/Dialect/Dialect.h"
#include "permjit/compiler/KernelSpec.h"
#include "permjit/dsl/Pattern.h"

namespace permjit {

#define GEN_PASS_DECL
#include "permjit/compiler/Passes.h.inc"

// registerPermjitPasses(): every permjit pass into the global registry (for permjit-opt).
#define GEN_PASS_REGISTRATION
#include "permjit/compiler/Passes.h.inc"

// A module holding one `permjit.head @name` built from the pattern; seq_len 0 means unknown.
// The caller validates the pattern first (permjit::validate); the importer itself throws
// Error(kInvalidPattern) only for what the IR cannot express.
mlir::OwningOpRef<mlir::ModuleOp> importPattern(mlir::MLIRContext& context, const Pattern& pattern,
                                                const Layout& layout, int64_t seq_len,
                                                const std::string& name);

// The KernelSpec a `permjit.kernel` op describes (the tile config defaults when unset).
KernelSpec emitKernelSpec(ir::KernelOp kernel);

// The Layout stored on a kernel or head op (an empty layout when absent).
Layout layoutFromAttr(mlir::ArrayAttr layout);

}  // namespace permjit
