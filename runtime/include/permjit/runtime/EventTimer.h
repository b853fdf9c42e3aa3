// GPU time of enqueued work, measured with a pair of CUDA events.
#pragma once

#include <cuda.h>

#include <functional>

#include "permjit/runtime/Driver.h"

namespace permjit::runtime {

// Two events made in the current context (which must stay current while timing). The driver
// must outlive the timer (Driver::open keeps every driver for the process).
class EventTimer {
 public:
  explicit EventTimer(const Driver& driver);
  ~EventTimer();
  EventTimer(const EventTimer&) = delete;
  EventTimer& operator=(const EventTimer&) = delete;

  // Milliseconds between events recorded on `stream` before and after `enqueue` runs, after
  // synchronizing on the second.
  float timeMs(const std::function<void()>& enqueue, CUstream stream = nullptr);
  // The median of `iterations` timeMs calls; Error(kInvalidArgument) for iterations < 1.
  float medianMs(const std::function<void()>& enqueue, int iterations, CUstream stream = nullptr);

 private:
  const Driver& driver_;
  CUevent start_ = nullptr, stop_ = nullptr;
};

}  // namespace permjit::runtime
