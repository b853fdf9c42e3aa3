#include "PassError.h"

#include <string>

namespace permjit::passes {
namespace {

constexpr llvm::StringLiteral kCategoryNote = "permjit.category: ";

constexpr ErrorCategory kCategories[] = {
    ErrorCategory::kInvalidPattern,
    ErrorCategory::kInvalidArgument,
    ErrorCategory::kUnsupported,
    ErrorCategory::kCompileFailure,
    ErrorCategory::kDriverError,
    ErrorCategory::kOutOfMemory,
    ErrorCategory::kIo,
    ErrorCategory::kInternal,
};

}  // namespace

void emitPermjitError(mlir::Operation* op, const Error& error) {
  mlir::InFlightDiagnostic diagnostic = op->emitError() << error.what();
  diagnostic.attachNote() << kCategoryNote << errorCategoryName(error.category());
}

std::optional<ErrorCategory> permjitCategory(const mlir::Diagnostic& diagnostic) {
  for (const mlir::Diagnostic& note : diagnostic.getNotes()) {
    const std::string text = note.str();
    if (!llvm::StringRef(text).starts_with(kCategoryNote)) continue;
    const llvm::StringRef name = llvm::StringRef(text).drop_front(kCategoryNote.size());
    for (ErrorCategory category : kCategories) {
      if (name == errorCategoryName(category)) return category;
    }
  }
  return std::nullopt;
}

}  // namespace permjit::passes
