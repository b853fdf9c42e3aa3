// permjit::Error: the one exception type of the project. Every layer reports failures with a
// category and a message naming the offending field; the C API maps categories to codes.
#pragma once

#include <stdexcept>
#include <string>

namespace permjit {

enum class ErrorCategory {
  kInvalidPattern,   // a pattern, layout or config that makes no sense (names the field)
  kInvalidArgument,  // API misuse: null/misaligned pointers, shapes that disagree with a plan
  kUnsupported,      // valid, but not supported by this build/target (head dim, dtype, ...)
  kCompileFailure,   // NVRTC rejected generated code (message carries the log)
  kDriverError,      // CUDA driver call failed, or no GPU/driver present
  kOutOfMemory,
  kIo,  // files: cache, configs, captured tensors
  kInternal,
};

const char* errorCategoryName(ErrorCategory category);

class Error : public std::runtime_error {
 public:
  Error(ErrorCategory category, const std::string& message)
      : std::runtime_error(message), category_(category) {}
  ErrorCategory category() const { return category_; }

 private:
  ErrorCategory category_;
};

}  // namespace permjit
