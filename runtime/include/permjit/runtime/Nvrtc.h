// NVRTC: CUDA source -> CUBIN or PTX, on any machine (no GPU needed).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace permjit::runtime {

enum class Artifact { kCubin, kPtx };
inline const char* artifactName(Artifact artifact) {  // "cubin" | "ptx"
  return artifact == Artifact::kCubin ? "cubin" : "ptx";
}

// Everything NVRTC reads for one program. `arch` is an NVRTC real architecture ("sm_90a",
// "sm_80"); it is passed as --gpu-architecture unless `options` already name one.
struct CudaProgram {
  std::string name = "permjit.cu";
  std::string source;
  std::vector<std::pair<std::string, std::string>> headers;  // include name, text
  // A digest of `headers` (every name and text), e.g. GeneratedKernel::headers_digest. When set,
  // caches key on it instead of hashing the texts; empty: the texts themselves are hashed.
  std::string headers_digest;
  std::vector<std::string> options;
  std::string arch;
  std::string kernel_name;  // extern "C" entry point looked up after loading
};

struct NvrtcVersion {
  int major = 0, minor = 0;
  std::string str() const;  // "13.0"
};
NvrtcVersion nvrtcVersion();

// Compiles the program; Error(kCompileFailure) carries NVRTC's log, Error(kInvalidArgument)
// names a malformed architecture.
std::string nvrtcCompile(const CudaProgram& program, Artifact artifact);

// The options actually given to NVRTC (program options plus the architecture).
std::vector<std::string> nvrtcOptions(const CudaProgram& program);

// "sm_90a" -> {9, 0, true}; throws Error(kInvalidArgument) naming `field` otherwise.
struct ArchName {
  int major = 0, minor = 0;
  bool arch_specific = false;
};
ArchName parseArch(const std::string& arch, const std::string& field);

}  // namespace permjit::runtime
