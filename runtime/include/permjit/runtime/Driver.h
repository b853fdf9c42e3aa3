// The CUDA driver API, loaded with dlopen at run time (never linked), so binaries built on a
// CPU-only machine start everywhere; without libcuda or a device every entry point reports
// Error(kDriverError) and the rest of permjit keeps working.
#pragma once

#include <cuda.h>

#include <memory>
#include <string>

namespace permjit::runtime {

class Driver {
 public:
  // The driver library `library` (default "libcuda.so.1"), loaded and cuInit'ed once per
  // process and path. Throws Error(kDriverError) naming what is missing.
  static std::shared_ptr<Driver> open(const std::string& library = "libcuda.so.1");
  // Like open(), but returns nullptr and the reason instead of throwing.
  static std::shared_ptr<Driver> tryOpen(const std::string& library, std::string* reason);

  ~Driver();
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  // Throws Error(kDriverError) "<what>: <error name and string>" unless result is success.
  void check(CUresult result, const char* what) const;

  int deviceCount() const;
  struct DeviceInfo {
    CUdevice device = 0;
    int ordinal = 0;
    int major = 0, minor = 0;
    int multiprocessors = 0;
    int max_smem_optin = 0;  // max dynamic shared memory per block, opt-in
    std::string name;
  };
  DeviceInfo device(int ordinal) const;  // Error(kInvalidArgument) for an ordinal out of range
  // Retains the device's primary context (released on ~Driver's process exit, never earlier).
  CUcontext primaryContext(int ordinal) const;

  // Every driver entry point permjit uses, resolved by its exported (versioned) name.
  // clang-format off
#define PERMJIT_DRIVER_FUNCTIONS(X) \
  X(cuInit) X(cuDeviceGet) X(cuDeviceGetCount) X(cuDeviceGetAttribute) \
  X(cuDeviceGetName) X(cuDevicePrimaryCtxRetain) X(cuCtxGetCurrent) X(cuCtxSetCurrent) \
  X(cuModuleLoadData) X(cuModuleUnload) X(cuModuleGetFunction) X(cuFuncSetAttribute) \
  X(cuLaunchKernel) X(cuMemAlloc_v2) X(cuMemFree_v2) X(cuMemcpyHtoD_v2) \
  X(cuMemcpyDtoH_v2) X(cuMemsetD8_v2) X(cuMemsetD32Async) X(cuStreamSynchronize) X(cuEventCreate) \
  X(cuEventRecord) X(cuEventSynchronize) X(cuEventElapsedTime) X(cuEventDestroy_v2) \
  X(cuGetErrorString) X(cuGetErrorName) X(cuPointerGetAttribute) X(cuTensorMapEncodeTiled)
  // clang-format on
#define PERMJIT_DECLARE_DRIVER_FUNCTION(name) decltype(&::name) name = nullptr;
  PERMJIT_DRIVER_FUNCTIONS(PERMJIT_DECLARE_DRIVER_FUNCTION)
#undef PERMJIT_DECLARE_DRIVER_FUNCTION

 private:
  Driver() = default;
  void* library_ = nullptr;
};

// Makes `context` current on this thread for the scope, then restores the previous one (no
// driver call where it already is current). A failure to restore is ignored: a destructor
// cannot report it. The driver must outlive the guard.
class ScopedContext {
 public:
  ScopedContext(const Driver& driver, CUcontext context);
  ~ScopedContext();
  ScopedContext(const ScopedContext&) = delete;
  ScopedContext& operator=(const ScopedContext&) = delete;

 private:
  const Driver& driver_;
  CUcontext previous_ = nullptr;
  bool changed_ = false;
};

// Device memory owned by one allocation; freed in the destructor (errors there are ignored:
// a destructor cannot report them and the allocation is gone either way).
class DeviceBuffer {
 public:
  DeviceBuffer(std::shared_ptr<Driver> driver, size_t bytes);
  ~DeviceBuffer();
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  CUdeviceptr ptr() const { return ptr_; }
  void* data() const { return reinterpret_cast<void*>(ptr_); }
  size_t bytes() const { return bytes_; }
  void upload(const void* host, size_t bytes);
  void download(void* host, size_t bytes) const;
  void fill(unsigned char value);

 private:
  std::shared_ptr<Driver> driver_;
  CUdeviceptr ptr_ = 0;
  size_t bytes_ = 0;
};

}  // namespace permjit::runtime
