// Custom syntax and verifiers of the permjit attributes; the enum and type definitions.
#include "llvm/ADT/SmallSet.h"
#include "llvm/ADT/TypeSwitch.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "permjit/compiler/Dialect/Dialect.h"
#include "permjit/compiler/Dialect/PermjitEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "permjit/compiler/Dialect/PermjitAttrs.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "permjit/compiler/Dialect/PermjitTypes.cpp.inc"

namespace permjit::ir {

void PermjitDialect::registerAttributesAndTypes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "permjit/compiler/Dialect/PermjitAttrs.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "permjit/compiler/Dialect/PermjitTypes.cpp.inc"
      >();
}

namespace {

mlir::ParseResult parseModalityKeyword(mlir::AsmParser& parser, Modality& modality) {
  llvm::SMLoc loc = parser.getCurrentLocation();
  llvm::StringRef word;
  if (parser.parseKeyword(&word)) return mlir::failure();
  std::optional<Modality> parsed = symbolizeModality(word);
  if (!parsed) {
    return parser.emitError(loc, "modality: unknown '")
           << word << "'; allowed: vision, text, other";
  }
  modality = *parsed;
  return mlir::success();
}

// `[vision, text]`
mlir::ParseResult parseModalityList(mlir::AsmParser& parser, llvm::SmallVector<Modality>& out) {
  return parser.parseCommaSeparatedList(mlir::AsmParser::Delimiter::Square, [&] {
    Modality m;
    if (parseModalityKeyword(parser, m)) return mlir::failure();
    out.push_back(m);
    return mlir::success();
  });
}

void printModalityList(mlir::AsmPrinter& printer, llvm::ArrayRef<Modality> list) {
  printer << "[";
  llvm::interleaveComma(list, printer, [&](Modality m) { printer << stringifyModality(m); });
  printer << "]";
}

// `p[3]`: a param slot index.
mlir::ParseResult parseSlot(mlir::AsmParser& parser, int32_t& slot) {
  if (parser.parseKeyword("p") || parser.parseLSquare() || parser.parseInteger(slot) ||
      parser.parseRSquare()) {
    return mlir::failure();
  }
  return mlir::success();
}

mlir::LogicalResult verifyGather(llvm::function_ref<mlir::InFlightDiagnostic()> emitError,
                                 llvm::ArrayRef<Modality> gather) {
  llvm::SmallSet<int, 3> seen;
  for (Modality m : gather) {
    if (!seen.insert(static_cast<int>(m)).second) {
      return emitError() << "gather: modality '" << stringifyModality(m)
                         << "' listed twice; each modality at most once";
    }
  }
  return mlir::success();
}

}  // namespace

// ---- span ---------------------------------------------------------------------------------

mlir::Attribute SpanAttr::parse(mlir::AsmParser& parser, mlir::Type) {
  llvm::SMLoc loc = parser.getCurrentLocation();
  llvm::StringRef word;
  if (parser.parseLess() || parser.parseKeyword(&word)) return {};
  int64_t a = 0, b = 0;
  std::optional<SpanKind> kind = symbolizeSpanKind(word);
  if (!kind) {
    parser.emitError(loc, "span: unknown kind '")
        << word << "'; allowed: all, range, modality, last";
    return {};
  }
  switch (*kind) {
    case SpanKind::all:
      break;
    case SpanKind::range:
      if (parser.parseInteger(a) || parser.parseComma() || parser.parseInteger(b)) return {};
      break;
    case SpanKind::modality: {
      Modality m;
      if (parseModalityKeyword(parser, m)) return {};
      a = static_cast<int64_t>(m);
      break;
    }
    case SpanKind::last:
      if (parser.parseInteger(a)) return {};
      break;
  }
  if (parser.parseGreater()) return {};
  return SpanAttr::getChecked([&] { return parser.emitError(loc); }, parser.getContext(), *kind, a,
                              b);
}

void SpanAttr::print(mlir::AsmPrinter& printer) const {
  printer << "<" << stringifySpanKind(getKind());
  switch (getKind()) {
    case SpanKind::all:
      break;
    case SpanKind::range:
      printer << " " << getA() << ", " << getB();
      break;
    case SpanKind::modality:
      printer << " " << stringifyModality(static_cast<Modality>(getA()));
      break;
    case SpanKind::last:
      printer << " " << getA();
      break;
  }
  printer << ">";
}

mlir::LogicalResult SpanAttr::verify(llvm::function_ref<mlir::InFlightDiagnostic()> emitError,
                                     SpanKind kind, int64_t a, int64_t b) {
  switch (kind) {
    case SpanKind::all:
      break;
    case SpanKind::range:
      if (a < 0) return emitError() << "span: range begin " << a << " is negative; allowed: >= 0";
      if (a > b) {
        return emitError() << "span: range begin " << a << " > end " << b
                           << "; allowed: begin <= end";
      }
      break;
    case SpanKind::modality:
      if (!symbolizeModality(static_cast<uint32_t>(a)) || a < 0) {
        return emitError() << "span: modality code " << a << "; allowed: vision, text, other";
      }
      break;
    case SpanKind::last:
      if (a < 0) return emitError() << "span: last count " << a << " is negative; allowed: >= 0";
      break;
  }
  return mlir::success();
}

// ---- layout span --------------------------------------------------------------------------

mlir::LogicalResult LayoutSpanAttr::verify(llvm::function_ref<mlir::InFlightDiagnostic()> emitError,
                                           Modality, int64_t begin, int64_t end) {
  if (begin < 0 || begin >= end) {
    return emitError() << "layout: span [" << begin << ", " << end
                       << ") is empty or negative; allowed: 0 <= begin < end";
  }
  return mlir::success();
}

// ---- plan ---------------------------------------------------------------------------------

mlir::Attribute PlanAttr::parse(mlir::AsmParser& parser, mlir::Type) {
  llvm::SMLoc loc = parser.getCurrentLocation();
  llvm::SmallVector<Modality> gather;
  int64_t stride = 0;
  SpanAttr span;
  if (parser.parseLess()) return {};
  if (mlir::succeeded(parser.parseOptionalKeyword("identity"))) {
    if (parser.parseGreater()) return {};
    return PlanAttr::get(parser.getContext(), {}, 0, {});
  }
  auto item = [&]() -> mlir::ParseResult {
    if (mlir::succeeded(parser.parseOptionalKeyword("gather"))) {
      return parseModalityList(parser, gather);
    }
    if (parser.parseKeyword("residue") || parser.parseInteger(stride) ||
        parser.parseKeyword("over")) {
      return mlir::failure();
    }
    mlir::Attribute attr;
    if (parser.parseAttribute(attr)) return mlir::failure();
    span = llvm::dyn_cast<SpanAttr>(attr);
    if (!span) return parser.emitError(loc, "plan: residue span must be a #permjit.span");
    return mlir::success();
  };
  if (parser.parseCommaSeparatedList(item) || parser.parseGreater()) return {};
  return PlanAttr::getChecked([&] { return parser.emitError(loc); }, parser.getContext(), gather,
                              stride, span);
}

void PlanAttr::print(mlir::AsmPrinter& printer) const {
  printer << "<";
  if (isIdentity()) {
    printer << "identity>";
    return;
  }
  bool first = true;
  if (!getGather().empty()) {
    printer << "gather ";
    printModalityList(printer, getGather());
    first = false;
  }
  if (getStride() > 0) {
    if (!first) printer << ", ";
    printer << "residue " << getStride() << " over ";
    printer.printAttribute(getSpan());
  }
  printer << ">";
}

mlir::LogicalResult PlanAttr::verify(llvm::function_ref<mlir::InFlightDiagnostic()> emitError,
                                     llvm::ArrayRef<Modality> gather, int64_t stride,
                                     SpanAttr span) {
  if (mlir::failed(verifyGather(emitError, gather))) return mlir::failure();
  if (stride < 0) return emitError() << "stride: " << stride << "; allowed: >= 1 (0: none)";
  if (stride > 0 && !span) return emitError() << "span: a residue plan needs a span";
  if (stride == 0 && span) return emitError() << "stride: a span needs a residue stride >= 1";
  return mlir::success();
}

// ---- recipe -------------------------------------------------------------------------------

mlir::Attribute RecipeAttr::parse(mlir::AsmParser& parser, mlir::Type) {
  llvm::SMLoc loc = parser.getCurrentLocation();
  llvm::SmallVector<Modality> gather;
  int32_t stride_slot = -1, residue_modality = -1, begin_slot = -1, end_slot = -1;
  if (parser.parseLess()) return {};
  if (mlir::succeeded(parser.parseOptionalKeyword("identity"))) {
    if (parser.parseGreater()) return {};
    return RecipeAttr::get(parser.getContext(), {}, -1, -1, -1, -1);
  }
  auto item = [&]() -> mlir::ParseResult {
    if (mlir::succeeded(parser.parseOptionalKeyword("gather"))) {
      return parseModalityList(parser, gather);
    }
    if (parser.parseKeyword("residue") || parseSlot(parser, stride_slot) ||
        parser.parseKeyword("over")) {
      return mlir::failure();
    }
    if (mlir::succeeded(parser.parseOptionalKeyword("p"))) {
      if (parser.parseLSquare() || parser.parseInteger(begin_slot) || parser.parseRSquare() ||
          parser.parseComma() || parseSlot(parser, end_slot)) {
        return mlir::failure();
      }
      return mlir::success();
    }
    Modality m;
    if (parseModalityKeyword(parser, m)) return mlir::failure();
    residue_modality = static_cast<int32_t>(m);
    return mlir::success();
  };
  if (parser.parseCommaSeparatedList(item) || parser.parseGreater()) return {};
  return RecipeAttr::getChecked([&] { return parser.emitError(loc); }, parser.getContext(), gather,
                                stride_slot, residue_modality, begin_slot, end_slot);
}

void RecipeAttr::print(mlir::AsmPrinter& printer) const {
  printer << "<";
  if (getGather().empty() && getStrideSlot() < 0) {
    printer << "identity>";
    return;
  }
  bool first = true;
  if (!getGather().empty()) {
    printer << "gather ";
    printModalityList(printer, getGather());
    first = false;
  }
  if (getStrideSlot() >= 0) {
    if (!first) printer << ", ";
    printer << "residue p[" << getStrideSlot() << "] over ";
    if (getResidueModality() >= 0) {
      printer << stringifyModality(static_cast<Modality>(getResidueModality()));
    } else {
      printer << "p[" << getBeginSlot() << "], p[" << getEndSlot() << "]";
    }
  }
  printer << ">";
}

mlir::LogicalResult RecipeAttr::verify(llvm::function_ref<mlir::InFlightDiagnostic()> emitError,
                                       llvm::ArrayRef<Modality> gather, int32_t stride_slot,
                                       int32_t residue_modality, int32_t begin_slot,
                                       int32_t end_slot) {
  if (mlir::failed(verifyGather(emitError, gather))) return mlir::failure();
  if (stride_slot < -1 || begin_slot < -1 || end_slot < -1) {
    return emitError() << "recipe: slot indices must be >= 0 (or -1: unused)";
  }
  bool by_modality = residue_modality >= 0;
  bool by_range = begin_slot >= 0 && end_slot >= 0;
  if (residue_modality > 2 || residue_modality < -1) {
    return emitError() << "residue_modality: code " << residue_modality
                       << "; allowed: vision, text, other";
  }
  if (stride_slot >= 0 && by_modality == by_range) {
    return emitError() << "recipe: a residue permutation needs exactly one of a modality or a "
                          "[begin, end) slot pair";
  }
  if (stride_slot < 0 && (by_modality || begin_slot >= 0 || end_slot >= 0)) {
    return emitError() << "recipe: a residue span needs a stride slot";
  }
  return mlir::success();
}

// ---- param --------------------------------------------------------------------------------

mlir::Attribute ParamAttr::parse(mlir::AsmParser& parser, mlir::Type) {
  llvm::SMLoc loc = parser.getCurrentLocation();
  std::string name;
  llvm::StringRef word;
  if (parser.parseLess() || parser.parseString(&name) || parser.parseKeyword(&word)) return {};
  std::optional<ParamKind> kind = symbolizeParamKind(word);
  if (!kind) {
    parser.emitError(loc, "param: unknown kind '")
        << word << "'; allowed: const, seq_len_minus, count_minus, inf";
    return {};
  }
  int64_t value = 0;
  int32_t modality = -1;
  if (*kind == ParamKind::kCountMinus) {
    llvm::StringRef m;
    std::optional<Modality> parsed;
    if (mlir::succeeded(parser.parseOptionalKeyword(&m))) parsed = symbolizeModality(m);
    if (!parsed) {
      parser.emitError(loc, "param '") << name
                                       << "': count_minus needs a modality; allowed: "
                                          "vision, text, other";
      return {};
    }
    modality = static_cast<int32_t>(*parsed);
  }
  if (*kind != ParamKind::kInf && parser.parseInteger(value)) return {};
  ParamRole role = ParamRole::kNone;
  if (mlir::succeeded(parser.parseOptionalKeyword("role"))) {
    llvm::SMLoc role_loc = parser.getCurrentLocation();
    llvm::StringRef r;
    std::optional<ParamRole> parsed;
    if (mlir::succeeded(parser.parseOptionalKeyword(&r))) parsed = symbolizeParamRole(r);
    // "none" is the absence of a role: it has no spelling of its own.
    if (!parsed || *parsed == ParamRole::kNone) {
      parser.emitError(role_loc, "param '")
          << name << "': unknown role '" << r << "'; allowed: grid_phase_q, grid_phase_k";
      return {};
    }
    role = *parsed;
  }
  if (parser.parseGreater()) return {};
  return ParamAttr::getChecked([&] { return parser.emitError(loc); }, parser.getContext(), name,
                               *kind, value, modality, role);
}

void ParamAttr::print(mlir::AsmPrinter& printer) const {
  printer << "<\"" << getName() << "\" " << stringifyParamKind(getKind());
  if (getKind() == ParamKind::kCountMinus) {
    printer << " " << stringifyModality(static_cast<Modality>(getModality()));
  }
  if (getKind() != ParamKind::kInf) printer << " " << getValue();
  if (getRole() != ParamRole::kNone) printer << " role " << stringifyParamRole(getRole());
  printer << ">";
}

mlir::LogicalResult ParamAttr::verify(llvm::function_ref<mlir::InFlightDiagnostic()> emitError,
                                      llvm::StringRef name, ParamKind kind, int64_t value,
                                      int32_t modality, ParamRole role) {
  // The marked phase slots are placeholders the kernels overwrite: a shape-derived kind would
  // be bound by the host instead.
  if (role != ParamRole::kNone && kind != ParamKind::kConst) {
    return emitError() << "param '" << name << "': role " << stringifyParamRole(role)
                       << " needs kind const; got " << stringifyParamKind(kind);
  }
  if (kind == ParamKind::kCountMinus ? (modality < 0 || modality > 2) : modality != -1) {
    return emitError() << "param '" << name
                       << "': modality is required by count_minus and allowed only there";
  }
  if (value < -(int64_t{1} << 30) || value > (int64_t{1} << 30)) {
    return emitError() << "param '" << name << "': value " << value
                       << " out of range; allowed: |value| <= 2^30";
  }
  return mlir::success();
}

}  // namespace permjit::ir
