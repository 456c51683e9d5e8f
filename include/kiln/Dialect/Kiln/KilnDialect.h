// The kiln dialect: dialect class, op classes and the shared inference and folding hooks.
#ifndef KILN_DIALECT_KILN_KILNDIALECT_H
#define KILN_DIALECT_KILN_KILNDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "Kiln/KilnDialect.h.inc"

namespace kiln {

enum class BinaryKind { Add, Sub, Mul, Div, Pow, Max, Min, Mod, Rem, And, Or, Xor, ShiftLeft, ShiftRight };

/// Numpy broadcasting of two ranked tensor types; fails (with a diagnostic at `loc`)
/// when a pair of dimensions differs and neither is 1.
llvm::LogicalResult inferBroadcastType(std::optional<mlir::Location> loc, mlir::Type lhs,
                                       mlir::Type rhs, llvm::SmallVectorImpl<mlir::Type> &out);

/// Broadcast result shape of two static shapes, or failure.
llvm::FailureOr<llvm::SmallVector<int64_t>> broadcastShapes(llvm::ArrayRef<int64_t> a,
                                                            llvm::ArrayRef<int64_t> b);

/// Result type of a reduction over sorted unique `axes`.
llvm::LogicalResult inferReduceType(std::optional<mlir::Location> loc, mlir::Type input,
                                    llvm::ArrayRef<int64_t> axes, bool keepdims,
                                    llvm::SmallVectorImpl<mlir::Type> &out);

/// Folds a binary op: constant operands are evaluated, `x + 0`, `x * 1`, `x - 0` and
/// `x / 1` return `x` when that needs no broadcast.
mlir::OpFoldResult foldBinary(mlir::Operation *op, mlir::Attribute lhs, mlir::Attribute rhs,
                              BinaryKind kind);

} // namespace kiln

#define GET_OP_CLASSES
#include "Kiln/KilnOps.h.inc"

#endif
