// Lowering of kiln reductions and softmax to reduction linalg.generic ops.
#include "LinalgBuilders.h"
#include "kiln/Conversion/KilnToLinalg/KilnToLinalg.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::lowering;

namespace {

enum class Combine { Sum, Max, Min, Prod };

Value combine(OpBuilder &b, Location loc, Combine kind, Value acc, Value x, bool isUnsigned) {
  bool f = isa<FloatType>(x.getType());
  switch (kind) {
  case Combine::Sum:
    return f ? b.create<arith::AddFOp>(loc, acc, x).getResult()
             : b.create<arith::AddIOp>(loc, acc, x).getResult();
  case Combine::Max: return maxOf(b, loc, acc, x, isUnsigned);
  case Combine::Min: return minOf(b, loc, acc, x, isUnsigned);
  case Combine::Prod:
    return f ? b.create<arith::MulFOp>(loc, acc, x).getResult()
             : b.create<arith::MulIOp>(loc, acc, x).getResult();
  }
  return {};
}

Value identity(OpBuilder &b, Location loc, Combine kind, Type et, bool isUnsigned) {
  switch (kind) {
  case Combine::Sum: return scalarConstant(b, loc, et, 0);
  case Combine::Max: return lowestConstant(b, loc, et, isUnsigned);
  case Combine::Min: return highestConstant(b, loc, et, isUnsigned);
  case Combine::Prod: return scalarConstant(b, loc, et, 1);
  }
  return {};
}

/// Reduces `x` over `axes`, dropping them from the result.
Value reduceAxes(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> axes, Combine kind,
                 bool isUnsigned = false) {
  MLIRContext *ctx = b.getContext();
  auto in = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> shape;
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iterators;
  for (int64_t d = 0; d < in.getRank(); ++d) {
    bool reduced = llvm::is_contained(axes, d);
    iterators.push_back(reduced ? utils::IteratorType::reduction : utils::IteratorType::parallel);
    if (!reduced) {
      shape.push_back(in.getDimSize(d));
      outExprs.push_back(getAffineDimExpr(d, ctx));
    }
  }
  auto type = RankedTensorType::get(shape, in.getElementType());
  Value init = filledTensor(b, loc, type, identity(b, loc, kind, in.getElementType(), isUnsigned));
  return buildGeneric(b, loc, type, x, init,
                      {AffineMap::getMultiDimIdentityMap(in.getRank(), ctx),
                       AffineMap::get(in.getRank(), 0, outExprs, ctx)},
                      iterators, [&](OpBuilder &nb, Location l, ValueRange a) {
                        return combine(nb, l, kind, a[1], a[0], isUnsigned);
                      });
}

template <typename OpTy, Combine kind, bool mean = false>
struct ReduceLowering : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType in = op.getInput().getType(), type = op.getType();
    Type et = type.getElementType();
    if (et.isInteger(1) || (mean && !isa<FloatType>(et)))
      return rewriter.notifyMatchFailure(op, "unsupported element type");
    Value r = reduceAxes(rewriter, loc, op.getInput(), op.getAxes(), kind, hasUnsignedOperands(op));
    if (mean) {
      int64_t count = 1;
      for (int64_t a : op.getAxes())
        count *= in.getDimSize(a);
      auto rt = cast<RankedTensorType>(r.getType());
      r = buildElementwise(rewriter, loc, rt, r, [&](OpBuilder &b, Location l, ValueRange a) -> Value {
        return b.create<arith::DivFOp>(l, a[0], scalarConstant(b, l, et, count));
      });
    }
    rewriter.replaceOp(op, reshapeTensor(rewriter, loc, r, type));
    return success();
  }
};

/// One reduction generic with two accumulators, the best value and its index along
/// `axis`; ties keep the first index unless `select_last_index`.
template <typename OpTy, bool isMax> struct ArgReduceLowering : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op, PatternRewriter &rewriter) const override {
    MLIRContext *ctx = rewriter.getContext();
    Location loc = op.getLoc();
    RankedTensorType in = op.getInput().getType();
    Type et = in.getElementType();
    if (et.isInteger(1))
      return rewriter.notifyMatchFailure(op, "bool inputs are not supported");
    bool isUnsigned = hasUnsignedOperands(op);
    int64_t axis = op.getAxis(), rank = in.getRank();
    SmallVector<int64_t> shape;
    SmallVector<AffineExpr> outExprs;
    SmallVector<utils::IteratorType> iterators;
    for (int64_t d = 0; d < rank; ++d) {
      iterators.push_back(d == axis ? utils::IteratorType::reduction : utils::IteratorType::parallel);
      if (d != axis) {
        shape.push_back(in.getDimSize(d));
        outExprs.push_back(getAffineDimExpr(d, ctx));
      }
    }
    auto valueType = RankedTensorType::get(shape, et);
    auto indexType = RankedTensorType::get(shape, rewriter.getI64Type());
    Value initValue = filledTensor(rewriter, loc, valueType,
                                   isMax ? lowestConstant(rewriter, loc, et, isUnsigned)
                                         : highestConstant(rewriter, loc, et, isUnsigned));
    Value initIndex = filledTensor(rewriter, loc, indexType,
                                   scalarConstant(rewriter, loc, rewriter.getI64Type(), 0));
    AffineMap outMap = AffineMap::get(rank, 0, outExprs, ctx);
    bool last = op.getSelectLastIndex();
    auto generic = rewriter.create<linalg::GenericOp>(
        loc, TypeRange{valueType, indexType}, ValueRange{op.getInput()},
        ValueRange{initValue, initIndex},
        ArrayRef<AffineMap>{AffineMap::getMultiDimIdentityMap(rank, ctx), outMap, outMap},
        iterators, "", "", [&](OpBuilder &b, Location l, ValueRange a) {
          Value better;
          if (isa<FloatType>(et)) {
            auto pred = isMax ? (last ? arith::CmpFPredicate::OGE : arith::CmpFPredicate::OGT)
                              : (last ? arith::CmpFPredicate::OLE : arith::CmpFPredicate::OLT);
            better = b.create<arith::CmpFOp>(l, pred, a[0], a[1]);
          } else {
            using P = arith::CmpIPredicate;
            auto pred = isMax ? (last ? (isUnsigned ? P::uge : P::sge) : (isUnsigned ? P::ugt : P::sgt))
                              : (last ? (isUnsigned ? P::ule : P::sle) : (isUnsigned ? P::ult : P::slt));
            better = b.create<arith::CmpIOp>(l, pred, a[0], a[1]);
          }
          Value index = b.create<arith::IndexCastOp>(l, b.getI64Type(),
                                                     b.create<linalg::IndexOp>(l, axis));
          Value value = b.create<arith::SelectOp>(l, better, a[0], a[1]);
          Value best = b.create<arith::SelectOp>(l, better, index, a[2]);
          b.create<linalg::YieldOp>(l, ValueRange{value, best});
        });
    rewriter.replaceOp(op, reshapeTensor(rewriter, loc, generic.getResult(1), op.getType()));
    return success();
  }
};

/// softmax = exp(x - max) / sum(exp(x - max)) along one axis.
struct SoftmaxLowering : OpRewritePattern<SoftmaxOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SoftmaxOp op, PatternRewriter &rewriter) const override {
    MLIRContext *ctx = getContext();
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    int64_t rank = type.getRank(), axis = op.getAxis();
    Value x = op.getInput();
    Value max = reduceAxes(rewriter, loc, x, {axis}, Combine::Max);
    // Reads a reduced [..., no axis, ...] tensor inside a loop nest over the input.
    SmallVector<AffineExpr> reducedExprs;
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis)
        reducedExprs.push_back(getAffineDimExpr(d, ctx));
    AffineMap identityMap = AffineMap::getMultiDimIdentityMap(rank, ctx);
    AffineMap reducedMap = AffineMap::get(rank, 0, reducedExprs, ctx);
    Value e = buildGeneric(rewriter, loc, type, {x, max}, emptyTensor(rewriter, loc, type),
                           {identityMap, reducedMap, identityMap}, parallelLoops(rank),
                           [](OpBuilder &b, Location l, ValueRange a) -> Value {
                             return b.create<math::ExpOp>(l, b.create<arith::SubFOp>(l, a[0], a[1]));
                           });
    Value sum = reduceAxes(rewriter, loc, e, {axis}, Combine::Sum);
    rewriter.replaceOp(op, buildGeneric(rewriter, loc, type, {e, sum},
                                        emptyTensor(rewriter, loc, type),
                                        {identityMap, reducedMap, identityMap}, parallelLoops(rank),
                                        [](OpBuilder &b, Location l, ValueRange a) -> Value {
                                          return b.create<arith::DivFOp>(l, a[0], a[1]);
                                        }));
    return success();
  }
};

} // namespace

void kiln::populateReductionToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<ReduceLowering<ReduceSumOp, Combine::Sum>, ReduceLowering<ReduceMaxOp, Combine::Max>,
               ReduceLowering<ReduceMinOp, Combine::Min>,
               ReduceLowering<ReduceMeanOp, Combine::Sum, true>,
               ReduceLowering<ReduceProdOp, Combine::Prod>, ArgReduceLowering<ArgMaxOp, true>,
               ArgReduceLowering<ArgMinOp, false>, SoftmaxLowering>(patterns.getContext());
}
