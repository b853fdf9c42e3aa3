#include "permjit/compiler/Dialect/Dialect.h"

#include "permjit/compiler/Dialect/PermjitDialect.cpp.inc"

namespace permjit::ir {

void PermjitDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "permjit/compiler/Dialect/PermjitOps.cpp.inc"
      >();
  registerAttributesAndTypes();
}

}  // namespace permjit::ir
