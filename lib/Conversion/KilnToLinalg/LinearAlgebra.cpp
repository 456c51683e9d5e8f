// Lowering of kiln.matmul to a contraction linalg.generic whose batch dimensions
// broadcast through its indexing maps.
#include "LinalgBuilders.h"
#include "kiln/Conversion/KilnToLinalg/KilnToLinalg.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::lowering;

namespace {

struct MatMulLowering : OpRewritePattern<MatMulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MatMulOp op, PatternRewriter &rewriter) const override {
    MLIRContext *ctx = getContext();
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    if (type.getElementType().isInteger(1))
      return rewriter.notifyMatchFailure(op, "bool matmul is not supported");
    int64_t rank = type.getRank(), batch = rank - 2;
    // Loops: batch..., m, n (parallel), k (reduction).
    AffineExpr m = getAffineDimExpr(batch, ctx), n = getAffineDimExpr(batch + 1, ctx),
               k = getAffineDimExpr(rank, ctx);
    auto operandMap = [&](Value v, AffineExpr row, AffineExpr col) {
      ArrayRef<int64_t> shape = cast<RankedTensorType>(v.getType()).getShape();
      AffineMap batchMap = broadcastMap(ctx, shape.drop_back(2), type.getShape().take_front(batch));
      SmallVector<AffineExpr> exprs(batchMap.getResults());
      exprs.append({row, col});
      return AffineMap::get(rank + 1, 0, exprs, ctx);
    };
    SmallVector<AffineMap> maps = {
        operandMap(op.getLhs(), m, k), operandMap(op.getRhs(), k, n),
        AffineMap::getMultiDimIdentityMap(rank + 1, ctx).getMajorSubMap(rank)};
    SmallVector<utils::IteratorType> iterators = parallelLoops(rank);
    iterators.push_back(utils::IteratorType::reduction);
    Value zero = scalarConstant(rewriter, loc, type.getElementType(), 0);
    Value init = filledTensor(rewriter, loc, type, zero);
    Value product = buildGeneric(rewriter, loc, type, {op.getLhs(), op.getRhs()}, init, maps, iterators,
                                 [](OpBuilder &b, Location l, ValueRange a) {
                                   return multiplyAdd(b, l, a[0], a[1], a[2]);
                                 });
    // The CUDA target's kernel choice (kiln-choose-gpu-kernels) travels with the op.
    if (Attribute kernel = op->getAttr("kiln.gpu_kernel"))
      product.getDefiningOp()->setAttr("kiln.gpu_kernel", kernel);
    rewriter.replaceOp(op, product);
    return success();
  }
};

} // namespace

void kiln::populateLinearAlgebraToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<MatMulLowering>(patterns.getContext());
}
