// For C APIs of other layers built on permjit_c.h (e.g. permjit_layer_c.h): the C++ Runtime
// behind a runtime handle, and the guard that turns exceptions into permjit_c.h's status codes
// and this thread's permjit_last_error().
#pragma once

#include <functional>

#include "permjit/permjit.h"
#include "permjit/permjit_c.h"

namespace permjit::capi {

// Error(kInvalidArgument) "runtime: null; ..." for a null handle.
Runtime& runtimeOf(permjit_runtime_t handle);
// Runs body as a C entry point: PERMJIT_OK (and an empty last error) or the status of what it
// threw, with the message as permjit_last_error(). Nothing escapes.
permjit_status_t callGuarded(const std::function<void()>& body);

}  // namespace permjit::capi
