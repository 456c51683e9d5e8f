// Small builders shared by the kiln-to-linalg lowerings: empty and filled tensors,
// broadcasting indexing maps, scalar constants and generic ops.
#ifndef KILN_LIB_CONVERSION_KILNTOLINALG_LINALGBUILDERS_H
#define KILN_LIB_CONVERSION_KILNTOLINALG_LINALGBUILDERS_H

#include "kiln/Dialect/Kiln/KilnDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/IR/PatternMatch.h"

#include <limits>

namespace kiln::lowering {

using namespace mlir;

using BodyFn = function_ref<Value(OpBuilder &, Location, ValueRange)>;

inline Value emptyTensor(OpBuilder &b, Location loc, RankedTensorType type) {
  return b.create<tensor::EmptyOp>(loc, type.getShape(), type.getElementType());
}

/// A scalar constant of element type `et` holding `v` (rounded or truncated).
inline Value scalarConstant(OpBuilder &b, Location loc, Type et, double v) {
  if (auto f = dyn_cast<FloatType>(et))
    return b.create<arith::ConstantOp>(loc, b.getFloatAttr(f, v));
  return b.create<arith::ConstantOp>(loc, b.getIntegerAttr(et, (int64_t)v));
}

//===----------------------------------------------------------------------===//
// Signedness. Lowering first makes every integer type signless (arith's kind); kiln
// ops that had unsigned operands or an unsigned result keep that fact as a unit
// attribute, and the patterns below pick unsigned arithmetic from it.
//===----------------------------------------------------------------------===//

inline constexpr llvm::StringLiteral kUnsignedOperands = "kiln.unsigned_operands";
inline constexpr llvm::StringLiteral kUnsignedResult = "kiln.unsigned_result";

/// Rewrites unsigned integer types under `root` to signless ones, marking the ops.
void makeIntegersSignless(Operation *root);

inline bool hasUnsignedOperands(Operation *op) { return op->hasAttr(kUnsignedOperands); }
inline bool hasUnsignedResult(Operation *op) { return op->hasAttr(kUnsignedResult); }

inline Value maxOf(OpBuilder &b, Location loc, Value x, Value y, bool isUnsigned) {
  if (isa<FloatType>(x.getType()))
    return b.create<arith::MaximumFOp>(loc, x, y);
  if (isUnsigned)
    return b.create<arith::MaxUIOp>(loc, x, y);
  return b.create<arith::MaxSIOp>(loc, x, y);
}

inline Value minOf(OpBuilder &b, Location loc, Value x, Value y, bool isUnsigned) {
  if (isa<FloatType>(x.getType()))
    return b.create<arith::MinimumFOp>(loc, x, y);
  if (isUnsigned)
    return b.create<arith::MinUIOp>(loc, x, y);
  return b.create<arith::MinSIOp>(loc, x, y);
}

/// The lowest value of `et` (-inf for floats), the identity of max.
inline Value lowestConstant(OpBuilder &b, Location loc, Type et, bool isUnsigned = false) {
  if (isa<FloatType>(et))
    return scalarConstant(b, loc, et, -std::numeric_limits<double>::infinity());
  unsigned w = et.getIntOrFloatBitWidth();
  return b.create<arith::ConstantOp>(
      loc, b.getIntegerAttr(et, isUnsigned ? APInt::getZero(w) : APInt::getSignedMinValue(w)));
}

/// The highest value of `et` (+inf for floats), the identity of min.
inline Value highestConstant(OpBuilder &b, Location loc, Type et, bool isUnsigned = false) {
  if (isa<FloatType>(et))
    return scalarConstant(b, loc, et, std::numeric_limits<double>::infinity());
  unsigned w = et.getIntOrFloatBitWidth();
  return b.create<arith::ConstantOp>(
      loc, b.getIntegerAttr(et, isUnsigned ? APInt::getMaxValue(w) : APInt::getSignedMaxValue(w)));
}

inline Value filledTensor(OpBuilder &b, Location loc, RankedTensorType type, Value scalar) {
  Value empty = emptyTensor(b, loc, type);
  return b.create<linalg::FillOp>(loc, scalar, empty).getResult(0);
}

/// Indexing map reading `operand` (right-aligned numpy broadcasting) inside a loop
/// nest over `resultShape`: size-1 dimensions that broadcast read index 0.
inline AffineMap broadcastMap(MLIRContext *ctx, ArrayRef<int64_t> operand,
                              ArrayRef<int64_t> resultShape) {
  SmallVector<AffineExpr> exprs;
  size_t offset = resultShape.size() - operand.size();
  for (size_t d = 0; d < operand.size(); ++d)
    exprs.push_back(operand[d] == 1 && resultShape[d + offset] != 1
                        ? getAffineConstantExpr(0, ctx)
                        : getAffineDimExpr(d + offset, ctx));
  return AffineMap::get(resultShape.size(), 0, exprs, ctx);
}

inline SmallVector<utils::IteratorType> parallelLoops(size_t n) {
  return SmallVector<utils::IteratorType>(n, utils::IteratorType::parallel);
}

/// A generic producing one tensor of `type` from `inputs` with the given maps (the
/// output's map last) and iterators.
inline Value buildGeneric(OpBuilder &b, Location loc, RankedTensorType type, ValueRange inputs,
                          Value init, ArrayRef<AffineMap> maps,
                          ArrayRef<utils::IteratorType> iterators, BodyFn body) {
  auto op = b.create<linalg::GenericOp>(
      loc, TypeRange{type}, inputs, ValueRange{init}, maps, iterators, "", "",
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        nb.create<linalg::YieldOp>(nloc, body(nb, nloc, args));
      });
  return op.getResult(0);
}

/// An elementwise generic over `type`'s shape that broadcasts every input.
inline Value buildElementwise(OpBuilder &b, Location loc, RankedTensorType type,
                              ValueRange inputs, BodyFn body) {
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps;
  for (Value v : inputs)
    maps.push_back(broadcastMap(ctx, cast<RankedTensorType>(v.getType()).getShape(),
                                type.getShape()));
  maps.push_back(AffineMap::getMultiDimIdentityMap(type.getRank(), ctx));
  return buildGeneric(b, loc, type, inputs, emptyTensor(b, loc, type), maps,
                      parallelLoops(type.getRank()), body);
}

/// acc + x * y with the `contract` fast-math flag, so LLVM may emit one FMA (as C
/// compilers do by default); integers multiply-add exactly.
inline Value multiplyAdd(OpBuilder &b, Location loc, Value x, Value y, Value acc) {
  if (!isa<FloatType>(acc.getType()))
    return b.create<arith::AddIOp>(loc, acc, b.create<arith::MulIOp>(loc, x, y));
  auto contract = arith::FastMathFlagsAttr::get(b.getContext(), arith::FastMathFlags::contract);
  Value product = b.create<arith::MulFOp>(loc, x, y, contract);
  return b.create<arith::AddFOp>(loc, acc, product, contract);
}

/// An index read from a tensor, wrapped when negative and clamped to [0, dim), so a
/// bad index never reads or writes out of bounds.
inline Value safeIndex(OpBuilder &b, Location l, Value raw, int64_t dim) {
  Value idx = b.create<arith::IndexCastOp>(l, b.getIndexType(), raw);
  Value size = b.create<arith::ConstantIndexOp>(l, dim);
  Value zero = b.create<arith::ConstantIndexOp>(l, 0);
  Value negative = b.create<arith::CmpIOp>(l, arith::CmpIPredicate::slt, idx, zero);
  idx = b.create<arith::SelectOp>(l, negative, b.create<arith::AddIOp>(l, idx, size), idx);
  idx = b.create<arith::MaxSIOp>(l, idx, zero);
  return b.create<arith::MinSIOp>(l, idx, b.create<arith::ConstantIndexOp>(l, dim - 1));
}

/// Reshapes between static shapes through collapse_shape / expand_shape.
inline Value reshapeTensor(OpBuilder &b, Location loc, Value v, RankedTensorType to) {
  auto from = cast<RankedTensorType>(v.getType());
  if (from == to)
    return v;
  auto allInOne = [](int64_t rank) {
    SmallVector<ReassociationIndices> r(1);
    for (int64_t i = 0; i < rank; ++i)
      r[0].push_back(i);
    return r;
  };
  Value flat = v;
  if (from.getRank() == 0 || to.getRank() == 0) {
    if (from.getRank() == 0)
      return b.create<tensor::ExpandShapeOp>(loc, to, v, ArrayRef<ReassociationIndices>{});
    return b.create<tensor::CollapseShapeOp>(loc, to, v, ArrayRef<ReassociationIndices>{});
  }
  // One collapse or expand when the dimensions group, else through 1-D.
  if (from.getRank() > to.getRank())
    if (auto groups = getReassociationIndicesForReshape(from, to))
      return b.create<tensor::CollapseShapeOp>(loc, to, v, *groups);
  if (from.getRank() < to.getRank())
    if (auto groups = getReassociationIndicesForReshape(to, from))
      return b.create<tensor::ExpandShapeOp>(loc, to, v, *groups);
  if (from.getRank() != 1) {
    auto flatType = RankedTensorType::get({from.getNumElements()}, from.getElementType());
    flat = b.create<tensor::CollapseShapeOp>(loc, flatType, v, allInOne(from.getRank()));
  }
  if (to.getRank() == 1)
    return flat;
  return b.create<tensor::ExpandShapeOp>(loc, to, flat, allInOne(to.getRank()));
}

} // namespace kiln::lowering

#endif
