// The dlopen'ed driver: a clear kDriverError without libcuda, and (on a GPU) a hand-written
// kernel compiled, cached, loaded and launched through it.
#include <gtest/gtest.h>

#include <filesystem>

#include "RequireGpu.h"
#include "permjit/dsl/Error.h"
#include "permjit/runtime/Driver.h"
#include "permjit/runtime/KernelCache.h"

namespace permjit::runtime {
namespace {

TEST(Driver, MissingLibraryIsADriverErrorNamingIt) {
  std::string reason;
  EXPECT_EQ(Driver::tryOpen("/nonexistent/libcuda.so.1", &reason), nullptr);
  EXPECT_NE(reason.find("/nonexistent/libcuda.so.1"), std::string::npos) << reason;
  try {
    Driver::open("/nonexistent/libcuda.so.1");
    FAIL();
  } catch (const Error& error) {
    EXPECT_EQ(error.category(), ErrorCategory::kDriverError);
  }
}

TEST(DriverGpu, LaunchesAHandWrittenKernelThroughTheCache) {
  PERMJIT_REQUIRE_GPU();
  auto driver = Driver::open();
  Driver::DeviceInfo device = driver->device(0);
  CUcontext context = driver->primaryContext(0);
  driver->check(driver->cuCtxSetCurrent(context), "cuCtxSetCurrent");

  CudaProgram program;
  program.name = "axpb.cu";
  program.source =
      "extern \"C\" __global__ void axpb(float* x, float a, float b, int n) {\n"
      "  int i = blockIdx.x * blockDim.x + threadIdx.x;\n"
      "  if (i < n) x[i] = a * x[i] + b;\n}\n";
  program.arch = "sm_" + std::to_string(device.major) + std::to_string(device.minor) +
                 (device.major == 9 ? "a" : "");
  program.kernel_name = "axpb";
  KernelCache cache({"", true, 8});
  auto kernel = cache.kernel(program, *driver, driver, context);
  EXPECT_EQ(cache.kernel(program, *driver, driver, context), kernel);
  EXPECT_EQ(cache.stats().compiles, 1u);
  EXPECT_EQ(cache.stats().memory_hits, 1u);

  const int n = 1000;
  std::vector<float> host(n);
  for (int i = 0; i < n; ++i) host[i] = static_cast<float>(i);
  DeviceBuffer buffer(driver, n * sizeof(float));
  buffer.upload(host.data(), n * sizeof(float));
  CUdeviceptr ptr = buffer.ptr();
  float a = 2.0f, b = 1.0f;
  int count = n;
  void* params[] = {&ptr, &a, &b, &count};
  driver->check(driver->cuLaunchKernel(kernel->function(), (n + 127) / 128, 1, 1, 128, 1, 1, 0,
                                       nullptr, params, nullptr),
                "cuLaunchKernel");
  driver->check(driver->cuStreamSynchronize(nullptr), "cuStreamSynchronize");
  buffer.download(host.data(), n * sizeof(float));
  for (int i = 0; i < n; ++i) ASSERT_EQ(host[i], 2.0f * i + 1.0f) << i;
  EXPECT_FALSE(device.name.empty());
}

TEST(DriverGpu, DriverErrorsCarryTheCallAndCode) {
  PERMJIT_REQUIRE_GPU();
  auto driver = Driver::open();
  try {
    driver->device(driver->deviceCount());
    FAIL();
  } catch (const Error& error) {
    EXPECT_EQ(error.category(), ErrorCategory::kInvalidArgument);
    EXPECT_NE(std::string(error.what()).find("device_ordinal"), std::string::npos);
  }
  try {
    driver->check(CUDA_ERROR_INVALID_VALUE, "cuSomething");
    FAIL();
  } catch (const Error& error) {
    EXPECT_EQ(error.category(), ErrorCategory::kDriverError);
    EXPECT_NE(std::string(error.what()).find("cuSomething"), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("CUDA_ERROR_INVALID_VALUE"), std::string::npos);
  }
}

}  // namespace
}  // namespace permjit::runtime
