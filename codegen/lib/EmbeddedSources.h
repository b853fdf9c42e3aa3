// The device headers the generated CUDA includes, embedded at build time (EmbedSources.cmake).
#pragma once

#include "permjit/codegen/CudaSource.h"

namespace permjit::codegen_detail {

struct EmbeddedFile {
  const char* name;  // include name as the generated source spells it
  const char* text;
};

extern const EmbeddedFile kEmbeddedFiles[];
extern const int kEmbeddedFileCount;
// SHA-256 hex of every entry's include name and text, in order.
extern const char kEmbeddedFilesDigest[];

// codegen/templates/attention_kernel.cu.in: the generated preamble, holes ${name}
// (SourceTemplate.h). Not shipped to NVRTC: generateCuda renders it into the source.
extern const char kAttentionKernelTemplate[];
// codegen/templates/key_split_kernel.cu.in: the key split's plan and combine kernels of one
// tile configuration (generateKeySplitKernels).
extern const char kKeySplitKernelTemplate[];

// Every embedded header into `kernel.headers`, with their one digest.
inline void attachEmbeddedHeaders(GeneratedKernel& kernel) {
  for (int i = 0; i < kEmbeddedFileCount; ++i) {
    kernel.headers.emplace_back(kEmbeddedFiles[i].name, kEmbeddedFiles[i].text);
  }
  kernel.headers_digest = kEmbeddedFilesDigest;
}

// What NVRTC compiles every generated kernel with (attention passes, estimators, the search's
// residue mass): the target, C++17, device code by default, no asserts, and the embedded
// headers. No --use_fast_math: the softmax uses ex2.approx explicitly (checked against a float
// reference by tests/gpu_kernel); everything else keeps IEEE semantics.
inline void attachCompileInputs(GeneratedKernel& kernel, const TargetInfo& target) {
  kernel.nvrtc_options = {"--gpu-architecture=" + target.nvrtcArch(), "-std=c++17",
                          "-default-device", "-DNDEBUG"};
  attachEmbeddedHeaders(kernel);
}

}  // namespace permjit::codegen_detail
