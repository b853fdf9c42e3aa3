#include "permjit/dsl/Error.h"

namespace permjit {

const char* errorCategoryName(ErrorCategory category) {
  switch (category) {
    case ErrorCategory::kInvalidPattern:
      return "invalid pattern";
    case ErrorCategory::kInvalidArgument:
      return "invalid argument";
    case ErrorCategory::kUnsupported:
      return "unsupported";
    case ErrorCategory::kCompileFailure:
      return "compile failure";
    case ErrorCategory::kDriverError:
      return "driver error";
    case ErrorCategory::kOutOfMemory:
      return "out of memory";
    case ErrorCategory::kIo:
      return "i/o error";
    case ErrorCategory::kInternal:
      return "internal error";
  }
  return "unknown error";
}

}  // namespace permjit
