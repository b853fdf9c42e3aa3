// How a pass reports a permjit::Error so that the pipeline can rethrow it with its category:
// the error's message as the MLIR error, and a note "permjit.category: <name>" the pipeline's
// diagnostic handler reads back (permjit-opt shows both).
#pragma once

#include <optional>

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Operation.h"
#include "permjit/dsl/Error.h"

namespace permjit::passes {

void emitPermjitError(mlir::Operation* op, const Error& error);

// The category a diagnostic carries through emitPermjitError, or nullopt.
std::optional<ErrorCategory> permjitCategory(const mlir::Diagnostic& diagnostic);

}  // namespace permjit::passes
