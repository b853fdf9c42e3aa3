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

namespace permjit::ir {
// The deepest pattern a permjit.head may hold (nodes on the longest path from its root to an
// atom): the planner and the lowering recurse over the pattern. Equal to the DSL's
// kMaxPatternDepth (checked in ImportDsl.cpp), so every pattern the DSL builds verifies.
constexpr int kMaxPatternDepth = 512;
// The most parts one union, intersect, and or or may have (the DSL's kMaxPatternChildren).
constexpr size_t kMaxPatternParts = 4096;
}  // namespace permjit::ir
