#include "permjit/runtime/EventTimer.h"

#include <algorithm>
#include <string>
#include <vector>

#include "permjit/dsl/Error.h"

namespace permjit::runtime {

EventTimer::EventTimer(const Driver& driver) : driver_(driver) {
  driver_.check(driver_.cuEventCreate(&start_, CU_EVENT_DEFAULT), "cuEventCreate");
  CUresult result = driver_.cuEventCreate(&stop_, CU_EVENT_DEFAULT);
  if (result != CUDA_SUCCESS) driver_.cuEventDestroy_v2(start_);  // no destructor runs
  driver_.check(result, "cuEventCreate");
}

EventTimer::~EventTimer() {
  driver_.cuEventDestroy_v2(start_);
  driver_.cuEventDestroy_v2(stop_);
}

float EventTimer::timeMs(const std::function<void()>& enqueue, CUstream stream) {
  driver_.check(driver_.cuEventRecord(start_, stream), "cuEventRecord");
  enqueue();
  driver_.check(driver_.cuEventRecord(stop_, stream), "cuEventRecord");
  driver_.check(driver_.cuEventSynchronize(stop_), "cuEventSynchronize (timed run)");
  float ms = 0;
  driver_.check(driver_.cuEventElapsedTime(&ms, start_, stop_), "cuEventElapsedTime");
  return ms;
}

float EventTimer::medianMs(const std::function<void()>& enqueue, int iterations, CUstream stream) {
  if (iterations < 1) {
    throw Error(ErrorCategory::kInvalidArgument,
                "iterations: " + std::to_string(iterations) + "; allowed: >= 1");
  }
  std::vector<float> times;
  for (int i = 0; i < iterations; ++i) times.push_back(timeMs(enqueue, stream));
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace permjit::runtime
