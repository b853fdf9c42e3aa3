// The permjit MLIR dialect (generated from PermjitBase.td and PermjitOps.td).
#pragma once

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "permjit/compiler/Dialect/PermjitDialect.h.inc"
#include "permjit/compiler/Dialect/PermjitEnums.h.inc"
#include "permjit/compiler/TileSemantics.h"

#define GET_ATTRDEF_CLASSES
#include "permjit/compiler/Dialect/PermjitAttrs.h.inc"

#define GET_TYPEDEF_CLASSES
#include "permjit/compiler/Dialect/PermjitTypes.h.inc"

#define GET_OP_CLASSES
#include "permjit/compiler/Dialect/PermjitOps.h.inc"
