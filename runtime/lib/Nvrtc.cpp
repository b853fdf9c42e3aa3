#include "permjit/runtime/Nvrtc.h"

#include <nvrtc.h>

#include <cctype>
#include <memory>

#include "permjit/dsl/Error.h"

namespace permjit::runtime {
namespace {

std::string programLog(nvrtcProgram program) {
  size_t size = 0;
  if (nvrtcGetProgramLogSize(program, &size) != NVRTC_SUCCESS || size <= 1) return "";
  std::string log(size, '\0');
  if (nvrtcGetProgramLog(program, log.data()) != NVRTC_SUCCESS) return "";
  log.resize(size - 1);
  return log;
}

void check(nvrtcResult result, const char* what) {
  if (result == NVRTC_SUCCESS) return;
  ErrorCategory category = result == NVRTC_ERROR_OUT_OF_MEMORY ? ErrorCategory::kOutOfMemory
                                                               : ErrorCategory::kCompileFailure;
  throw Error(category, std::string("nvrtc: ") + what + " failed: " + nvrtcGetErrorString(result));
}

struct ProgramDeleter {
  void operator()(nvrtcProgram* program) const {
    nvrtcDestroyProgram(program);
    delete program;
  }
};

}  // namespace

std::string NvrtcVersion::str() const {
  return std::to_string(major) + "." + std::to_string(minor);
}

NvrtcVersion nvrtcVersion() {
  // The linked NVRTC cannot change while the process runs: ask it once.
  static const NvrtcVersion version = [] {
    NvrtcVersion queried;
    check(::nvrtcVersion(&queried.major, &queried.minor), "nvrtcVersion");
    return queried;
  }();
  return version;
}

ArchName parseArch(const std::string& arch, const std::string& field) {
  auto fail = [&] {
    return Error(ErrorCategory::kInvalidArgument,
                 field + ": '" + arch +
                     "' is not an architecture; allowed: sm_<major><minor>[a], " +
                     "e.g. sm_80, sm_90a");
  };
  if (arch.size() < 5 || arch.compare(0, 3, "sm_") != 0) throw fail();
  std::string digits = arch.substr(3);
  ArchName out;
  if (!digits.empty() && digits.back() == 'a') {
    out.arch_specific = true;
    digits.pop_back();
  }
  if (digits.size() < 2 || digits.size() > 3) throw fail();
  for (char c : digits) {
    if (!std::isdigit(static_cast<unsigned char>(c))) throw fail();
  }
  out.major = std::stoi(digits.substr(0, digits.size() - 1));
  out.minor = digits.back() - '0';
  if (out.major < 5) throw fail();
  return out;
}

std::vector<std::string> nvrtcOptions(const CudaProgram& program) {
  std::vector<std::string> options = program.options;
  bool has_arch = false;
  for (const auto& option : options) {
    if (option.rfind("--gpu-architecture", 0) == 0 || option.rfind("-arch", 0) == 0) {
      has_arch = true;
    }
  }
  if (!has_arch) {
    parseArch(program.arch, "arch");
    options.push_back("--gpu-architecture=" + program.arch);
  }
  return options;
}

std::string nvrtcCompile(const CudaProgram& program, Artifact artifact) {
  std::vector<std::string> options = nvrtcOptions(program);
  std::vector<const char*> header_texts, header_names, option_ptrs;
  for (const auto& [name, text] : program.headers) {
    header_names.push_back(name.c_str());
    header_texts.push_back(text.c_str());
  }
  for (const auto& option : options) option_ptrs.push_back(option.c_str());

  std::unique_ptr<nvrtcProgram, ProgramDeleter> handle(new nvrtcProgram(nullptr));
  check(nvrtcCreateProgram(handle.get(), program.source.c_str(), program.name.c_str(),
                           static_cast<int>(header_texts.size()), header_texts.data(),
                           header_names.data()),
        "nvrtcCreateProgram");
  nvrtcResult compiled =
      nvrtcCompileProgram(*handle, static_cast<int>(option_ptrs.size()), option_ptrs.data());
  if (compiled != NVRTC_SUCCESS) {
    std::string flags;
    for (const auto& option : options) flags += " " + option;
    throw Error(ErrorCategory::kCompileFailure, "nvrtc: compiling " + program.name + " (kernel " +
                                                    program.kernel_name + ", options" + flags +
                                                    ") failed: " + nvrtcGetErrorString(compiled) +
                                                    "\n" + programLog(*handle));
  }
  size_t size = 0;
  std::string out;
  if (artifact == Artifact::kCubin) {
    check(nvrtcGetCUBINSize(*handle, &size), "nvrtcGetCUBINSize");
    out.resize(size);
    check(nvrtcGetCUBIN(*handle, out.data()), "nvrtcGetCUBIN");
  } else {
    check(nvrtcGetPTXSize(*handle, &size), "nvrtcGetPTXSize");
    out.resize(size);
    check(nvrtcGetPTX(*handle, out.data()), "nvrtcGetPTX");
    if (!out.empty() && out.back() == '\0') out.pop_back();  // PTX comes NUL-terminated
  }
  if (out.empty()) {
    throw Error(ErrorCategory::kCompileFailure, "nvrtc: " + program.name + " produced an empty " +
                                                    artifactName(artifact) + " (architecture " +
                                                    program.arch + " given as a virtual target?)");
  }
  return out;
}

}  // namespace permjit::runtime
