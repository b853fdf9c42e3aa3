# Debian's MLIR 19 CMake package links every MLIR target against the LLVM shared library,
# which GPU machines do not have. Rewrite the imported targets' link interfaces to use the
# static LLVMSupport/LLVMDemangle archives instead, so our binaries need only libnvrtc and the
# C/C++ runtime (see docs/gpu.md).
function(permjit_link_mlir_statically)
  # Imported targets live in the directory that called find_package.
  get_property(targets DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}" PROPERTY IMPORTED_TARGETS)
  foreach(target IN LISTS targets)
    if(NOT target MATCHES "^(MLIR|mlir_)")
      continue()
    endif()
    get_target_property(type ${target} TYPE)
    if(NOT type STREQUAL "STATIC_LIBRARY")
      continue()
    endif()
    get_target_property(libs ${target} INTERFACE_LINK_LIBRARIES)
    if(libs)
      list(TRANSFORM libs REPLACE "^LLVM$" "LLVMSupport;LLVMDemangle")
      set_target_properties(${target} PROPERTIES INTERFACE_LINK_LIBRARIES "${libs}")
    endif()
  endforeach()
endfunction()
