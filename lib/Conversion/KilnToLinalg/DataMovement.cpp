// Lowering of kiln data movement: constants to arith.constant, transpose to
// linalg.transpose, reshape to collapse/expand_shape, concat to insert_slice, slice and
// gather to index arithmetic in linalg.generic, pad to tensor.pad.
#include "LinalgBuilders.h"
#include "kiln/Conversion/KilnToLinalg/KilnToLinalg.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::lowering;

namespace {

struct ConstantLowering : OpRewritePattern<ConstantOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConstantOp op, PatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(op, cast<TypedAttr>(op.getValue()));
    return success();
  }
};

struct TransposeLowering : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op, PatternRewriter &rewriter) const override {
    Value init = emptyTensor(rewriter, op.getLoc(), op.getType());
    rewriter.replaceOp(op, rewriter.create<linalg::TransposeOp>(op.getLoc(), op.getInput(), init,
                                                                op.getPerm())
                               .getResult());
    return success();
  }
};

struct ReshapeLowering : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp op, PatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, reshapeTensor(rewriter, op.getLoc(), op.getInput(), op.getType()));
    return success();
  }
};

struct ConcatLowering : OpRewritePattern<ConcatOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConcatOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    Value result = emptyTensor(rewriter, loc, type);
    int64_t at = 0, rank = type.getRank();
    for (Value input : op.getInputs()) {
      auto t = cast<RankedTensorType>(input.getType());
      SmallVector<int64_t> offsets(rank, 0), strides(rank, 1);
      offsets[op.getAxis()] = at;
      result = rewriter.create<tensor::InsertSliceOp>(loc, input, result, ValueRange{}, ValueRange{},
                                                      ValueRange{}, offsets, t.getShape(), strides);
      at += t.getDimSize(op.getAxis());
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// A strided tensor.extract_slice reads the window in increasing index order; the
/// dimensions with negative steps are then reversed by a generic.
struct SliceLowering : OpRewritePattern<SliceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SliceOp op, PatternRewriter &rewriter) const override {
    MLIRContext *ctx = getContext();
    RankedTensorType type = op.getType();
    int64_t rank = type.getRank();
    SmallVector<int64_t> offsets, strides;
    SmallVector<AffineExpr> exprs;
    bool reversed = false;
    for (int64_t d = 0; d < rank; ++d) {
      int64_t start = op.getStarts()[d], step = op.getSteps()[d], size = op.getSizes()[d];
      offsets.push_back(step > 0 ? start : start + (size - 1) * step);
      strides.push_back(std::abs(step));
      reversed |= step < 0;
      exprs.push_back(step > 0 ? getAffineDimExpr(d, ctx)
                               : getAffineConstantExpr(size - 1, ctx) - getAffineDimExpr(d, ctx));
    }
    Value window = rewriter.create<tensor::ExtractSliceOp>(
        op.getLoc(), type, op.getInput(), ValueRange{}, ValueRange{}, ValueRange{}, offsets,
        op.getSizes(), strides);
    if (reversed) {
      SmallVector<AffineMap> maps = {AffineMap::get(rank, 0, exprs, ctx),
                                     AffineMap::getMultiDimIdentityMap(rank, ctx)};
      window = buildGeneric(rewriter, op.getLoc(), type, window,
                            emptyTensor(rewriter, op.getLoc(), type), maps, parallelLoops(rank),
                            [](OpBuilder &, Location, ValueRange a) { return a[0]; });
    }
    rewriter.replaceOp(op, window);
    return success();
  }
};

struct PadLowering : OpRewritePattern<PadOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PadOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    int64_t rank = op.getInput().getType().getRank();
    SmallVector<OpFoldResult> low, high;
    for (int64_t d = 0; d < rank; ++d) {
      low.push_back(rewriter.getIndexAttr(op.getPads()[d]));
      high.push_back(rewriter.getIndexAttr(op.getPads()[d + rank]));
    }
    Type et = op.getType().getElementType();
    Value value = scalarConstant(rewriter, loc, et, op.getValue().convertToDouble());
    rewriter.replaceOpWithNewOp<tensor::PadOp>(op, op.getType(), op.getInput(), low, high, value);
    return success();
  }
};

/// out[i] = data[i with coordinate `axis` replaced by indices[i]].
struct GatherElementsLowering : OpRewritePattern<GatherElementsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GatherElementsOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    int64_t rank = type.getRank(), axis = op.getAxis();
    int64_t dim = op.getData().getType().getDimSize(axis);
    Value data = op.getData();
    AffineMap id = AffineMap::getMultiDimIdentityMap(rank, getContext());
    rewriter.replaceOp(op, buildGeneric(rewriter, loc, type, op.getIndices(),
                                        emptyTensor(rewriter, loc, type), {id, id},
                                        parallelLoops(rank),
                                        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                                          SmallVector<Value> coords;
                                          for (int64_t d = 0; d < rank; ++d)
                                            coords.push_back(d == axis ? safeIndex(b, l, a[0], dim)
                                                                       : b.create<linalg::IndexOp>(l, d));
                                          return b.create<tensor::ExtractOp>(l, data, coords);
                                        }));
    return success();
  }
};

/// out[i..., j..., k...] = data[i..., indices[j...], k...] at a safe index.
struct GatherLowering : OpRewritePattern<GatherOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GatherOp op, PatternRewriter &rewriter) const override {
    MLIRContext *ctx = getContext();
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    int64_t rank = type.getRank(), axis = op.getAxis();
    int64_t indexRank = op.getIndices().getType().getRank();
    int64_t dim = op.getData().getType().getDimSize(axis);
    SmallVector<AffineExpr> indexExprs;
    for (int64_t d = 0; d < indexRank; ++d)
      indexExprs.push_back(getAffineDimExpr(axis + d, ctx));
    SmallVector<AffineMap> maps = {AffineMap::get(rank, 0, indexExprs, ctx),
                                   AffineMap::getMultiDimIdentityMap(rank, ctx)};
    Value data = op.getData();
    Value result = buildGeneric(
        rewriter, loc, type, op.getIndices(), emptyTensor(rewriter, loc, type), maps,
        parallelLoops(rank), [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value idx = safeIndex(b, l, a[0], dim);
          SmallVector<Value> coords;
          for (int64_t d = 0; d < axis; ++d)
            coords.push_back(b.create<linalg::IndexOp>(l, d));
          coords.push_back(idx);
          for (int64_t d = axis + indexRank; d < rank; ++d)
            coords.push_back(b.create<linalg::IndexOp>(l, d));
          return b.create<tensor::ExtractOp>(l, data, coords);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void kiln::populateDataMovementToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<ConstantLowering, TransposeLowering, ReshapeLowering, ConcatLowering,
               SliceLowering, PadLowering, GatherLowering, GatherElementsLowering>(
      patterns.getContext());
}
