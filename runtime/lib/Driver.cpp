#include "permjit/runtime/Driver.h"

#include <dlfcn.h>

#include <map>
#include <mutex>

#include "permjit/dsl/Error.h"

namespace permjit::runtime {
namespace {

struct OpenResult {
  std::shared_ptr<Driver> driver;
  std::string reason;
};

std::mutex& registryMutex() {
  static std::mutex mutex;
  return mutex;
}

// One entry per library path; the outcome (success or the reason of failure) is remembered,
// since dlopen and cuInit are process-wide and retrying them changes nothing.
std::map<std::string, OpenResult>& registry() {
  static auto* results = new std::map<std::string, OpenResult>();  // outlives static dtors
  return *results;
}

}  // namespace

std::shared_ptr<Driver> Driver::tryOpen(const std::string& library, std::string* reason) {
  std::lock_guard<std::mutex> lock(registryMutex());
  auto found = registry().find(library);
  if (found == registry().end()) {
    OpenResult result;
    try {
      std::shared_ptr<Driver> driver(new Driver());
      driver->library_ = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (driver->library_ == nullptr) {
        const char* why = dlerror();
        throw Error(ErrorCategory::kDriverError, "CUDA driver: cannot load " + library + " (" +
                                                     (why ? why : "unknown") +
                                                     "); no NVIDIA driver on this machine");
      }
#define PERMJIT_RESOLVE_DRIVER_FUNCTION(name)                                           \
  driver->name = reinterpret_cast<decltype(&::name)>(dlsym(driver->library_, #name));   \
  if (driver->name == nullptr) {                                                        \
    throw Error(ErrorCategory::kDriverError,                                            \
                "CUDA driver: " + library + " lacks " #name "; the driver is too old"); \
  }
      PERMJIT_DRIVER_FUNCTIONS(PERMJIT_RESOLVE_DRIVER_FUNCTION)
#undef PERMJIT_RESOLVE_DRIVER_FUNCTION
      driver->check(driver->cuInit(0), "cuInit");
      if (driver->deviceCount() == 0) {
        throw Error(ErrorCategory::kDriverError, "CUDA driver: no CUDA device present");
      }
      result.driver = std::move(driver);
    } catch (const Error& error) {
      result.reason = error.what();
    }
    found = registry().emplace(library, std::move(result)).first;
  }
  if (reason != nullptr) *reason = found->second.reason;
  return found->second.driver;
}

std::shared_ptr<Driver> Driver::open(const std::string& library) {
  std::string reason;
  auto driver = tryOpen(library, &reason);
  if (!driver) throw Error(ErrorCategory::kDriverError, reason);
  return driver;
}

Driver::~Driver() {
  // The library stays loaded: modules and contexts may outlive this object during exit.
}

void Driver::check(CUresult result, const char* what) const {
  if (result == CUDA_SUCCESS) return;
  const char* name = nullptr;
  const char* text = nullptr;
  if (cuGetErrorName != nullptr) cuGetErrorName(result, &name);
  if (cuGetErrorString != nullptr) cuGetErrorString(result, &text);
  std::string message = std::string("CUDA driver: ") + what +
                        " failed: " + (name ? name : "CUDA error " + std::to_string(result)) +
                        (text ? std::string(" (") + text + ")" : "");
  throw Error(result == CUDA_ERROR_OUT_OF_MEMORY ? ErrorCategory::kOutOfMemory
                                                 : ErrorCategory::kDriverError,
              message);
}

int Driver::deviceCount() const {
  int count = 0;
  CUresult result = cuDeviceGetCount(&count);
  if (result == CUDA_ERROR_NO_DEVICE) return 0;
  check(result, "cuDeviceGetCount");
  return count;
}

Driver::DeviceInfo Driver::device(int ordinal) const {
  int count = deviceCount();
  if (ordinal < 0 || ordinal >= count) {
    throw Error(ErrorCategory::kInvalidArgument, "device_ordinal: " + std::to_string(ordinal) +
                                                     " is out of range; allowed: 0.." +
                                                     std::to_string(count - 1));
  }
  DeviceInfo info;
  info.ordinal = ordinal;
  check(cuDeviceGet(&info.device, ordinal), "cuDeviceGet");
  auto attribute = [&](CUdevice_attribute which, const char* what) {
    int value = 0;
    check(cuDeviceGetAttribute(&value, which, info.device), what);
    return value;
  };
  info.major =
      attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, "cuDeviceGetAttribute(major)");
  info.minor =
      attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, "cuDeviceGetAttribute(minor)");
  info.multiprocessors =
      attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, "cuDeviceGetAttribute(SM count)");
  info.max_smem_optin = attribute(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
                                  "cuDeviceGetAttribute(max shared memory opt-in)");
  char name[256] = {};
  check(cuDeviceGetName(name, sizeof(name) - 1, info.device), "cuDeviceGetName");
  info.name = name;
  return info;
}

CUcontext Driver::primaryContext(int ordinal) const {
  DeviceInfo info = device(ordinal);
  CUcontext context = nullptr;
  // Retained once per call; the primary context is reference counted by the driver and lives
  // until process exit, which is what a long-lived runtime wants.
  check(cuDevicePrimaryCtxRetain(&context, info.device), "cuDevicePrimaryCtxRetain");
  return context;
}

ScopedContext::ScopedContext(const Driver& driver, CUcontext context) : driver_(driver) {
  driver_.check(driver_.cuCtxGetCurrent(&previous_), "cuCtxGetCurrent");
  changed_ = previous_ != context;
  if (changed_) driver_.check(driver_.cuCtxSetCurrent(context), "cuCtxSetCurrent");
}

ScopedContext::~ScopedContext() {
  if (changed_) driver_.cuCtxSetCurrent(previous_);
}

DeviceBuffer::DeviceBuffer(std::shared_ptr<Driver> driver, size_t bytes)
    : driver_(std::move(driver)), bytes_(bytes) {
  driver_->check(driver_->cuMemAlloc_v2(&ptr_, bytes == 0 ? 1 : bytes), "cuMemAlloc");
}

DeviceBuffer::~DeviceBuffer() {
  if (ptr_ != 0) driver_->cuMemFree_v2(ptr_);
}

void DeviceBuffer::upload(const void* host, size_t bytes) {
  driver_->check(driver_->cuMemcpyHtoD_v2(ptr_, host, bytes), "cuMemcpyHtoD");
}

void DeviceBuffer::download(void* host, size_t bytes) const {
  driver_->check(driver_->cuMemcpyDtoH_v2(host, ptr_, bytes), "cuMemcpyDtoH");
}

void DeviceBuffer::fill(unsigned char value) {
  driver_->check(driver_->cuMemsetD8_v2(ptr_, value, bytes_), "cuMemsetD8");
}

}  // namespace permjit::runtime
