// kiln-decompose: rewrites composite kiln ops (batch_norm) into core elementwise ops
// that fold when their operands are constant.
#include "kiln/Transforms/Passes.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_KILNDECOMPOSE
#include "kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// y = x * k + c with k = scale / sqrt(var + eps) and c = bias - mean * k, both [C]
/// reshaped to [C, 1, ...] so they broadcast over the spatial dimensions.
struct DecomposeBatchNorm : OpRewritePattern<BatchNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BatchNormOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    Type et = type.getElementType();
    auto scalarType = RankedTensorType::get({}, et);
    Value eps = rewriter.create<ConstantOp>(
        loc, DenseElementsAttr::get(scalarType, rewriter.getFloatAttr(et, op.getEpsilon().convertToDouble())));
    Value var = rewriter.createOrFold<AddOp>(loc, op.getVariance(), eps);
    Value stddev = rewriter.createOrFold<SqrtOp>(loc, var.getType(), var);
    Value k = rewriter.createOrFold<DivOp>(loc, op.getScale(), stddev);
    Value meanK = rewriter.createOrFold<MulOp>(loc, op.getMean(), k);
    Value c = rewriter.createOrFold<SubOp>(loc, op.getBias(), meanK);
    SmallVector<int64_t> perChannel(type.getRank() - 1, 1);
    perChannel[0] = type.getDimSize(1);
    auto channelType = RankedTensorType::get(perChannel, et);
    k = rewriter.createOrFold<ReshapeOp>(loc, channelType, k);
    c = rewriter.createOrFold<ReshapeOp>(loc, channelType, c);
    Value y = rewriter.createOrFold<MulOp>(loc, op.getInput(), k);
    rewriter.replaceOp(op, rewriter.createOrFold<AddOp>(loc, y, c));
    return success();
  }
};

struct KilnDecompose : kiln::impl::KilnDecomposeBase<KilnDecompose> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateDecomposePatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void kiln::populateDecomposePatterns(RewritePatternSet &patterns) {
  patterns.add<DecomposeBatchNorm>(patterns.getContext());
}
