// Lowering of kiln.scatter_nd: a loop over the index rows that carries the result
// tensor, extracting each row's coordinates and inserting (or combining) its slice.
// Bufferization turns the carried tensor into one buffer updated in place.
#include "LinalgBuilders.h"
#include "kiln/Conversion/KilnToLinalg/KilnToLinalg.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::lowering;

namespace {

/// The reduction's combination of the old and the new element.
Value combine(OpBuilder &b, Location l, StringRef reduction, Value old, Value update, bool isUnsigned) {
  bool f = isa<FloatType>(old.getType());
  if (reduction == "add")
    return f ? b.create<arith::AddFOp>(l, old, update).getResult()
             : b.create<arith::AddIOp>(l, old, update).getResult();
  if (reduction == "mul")
    return f ? b.create<arith::MulFOp>(l, old, update).getResult()
             : b.create<arith::MulIOp>(l, old, update).getResult();
  if (reduction == "max")
    return maxOf(b, l, old, update, isUnsigned);
  return minOf(b, l, old, update, isUnsigned);
}

struct ScatterNDLowering : OpRewritePattern<ScatterNDOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ScatterNDOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType dataType = op.getData().getType();
    ArrayRef<int64_t> indexShape = op.getIndices().getType().getShape();
    int64_t k = indexShape.back(), rows = 1;
    for (int64_t d : indexShape.drop_back())
      rows *= d;
    ArrayRef<int64_t> sliceShape = dataType.getShape().drop_front(k);
    Type et = dataType.getElementType();
    StringRef reduction = op.getReduction();
    bool isUnsigned = hasUnsignedOperands(op);
    if (reduction != "none" && et.isInteger(1))
      return rewriter.notifyMatchFailure(op, "bool reductions are not supported");

    Value indices = reshapeTensor(rewriter, loc, op.getIndices(),
                                  RankedTensorType::get({rows, k}, op.getIndices().getType().getElementType()));
    SmallVector<int64_t> updateShape = {rows};
    llvm::append_range(updateShape, sliceShape);
    Value updates = reshapeTensor(rewriter, loc, op.getUpdates(), RankedTensorType::get(updateShape, et));
    auto sliceType = RankedTensorType::get(sliceShape, et);

    Value zero = rewriter.create<arith::ConstantIndexOp>(loc, 0);
    Value one = rewriter.create<arith::ConstantIndexOp>(loc, 1);
    Value count = rewriter.create<arith::ConstantIndexOp>(loc, rows);
    auto loop = rewriter.create<scf::ForOp>(
        loc, zero, count, one, ValueRange{op.getData()},
        [&](OpBuilder &b, Location l, Value row, ValueRange carried) {
          Value acc = carried[0];
          SmallVector<OpFoldResult> coords;
          for (int64_t j = 0; j < k; ++j) {
            Value raw = b.create<tensor::ExtractOp>(
                l, indices, ValueRange{row, b.create<arith::ConstantIndexOp>(l, j)});
            coords.push_back(safeIndex(b, l, raw, dataType.getDimSize(j)));
          }
          Value next;
          if (sliceShape.empty()) {
            SmallVector<Value> at = llvm::map_to_vector(coords, [&](OpFoldResult c) {
              return getValueOrCreateConstantIndexOp(b, l, c);
            });
            Value update = b.create<tensor::ExtractOp>(l, updates, ValueRange{row});
            if (reduction != "none")
              update = combine(b, l, reduction, b.create<tensor::ExtractOp>(l, acc, at), update, isUnsigned);
            next = b.create<tensor::InsertOp>(l, update, acc, at);
          } else {
            // A slice's offsets, sizes and strides: a unit step in each leading
            // (indexed) dimension, then the whole slice.
            auto sliceAt = [&](SmallVector<OpFoldResult> offsets) {
              SmallVector<OpFoldResult> sizes(offsets.size(), b.getIndexAttr(1)), strides;
              offsets.append(sliceShape.size(), b.getIndexAttr(0));
              for (int64_t d : sliceShape)
                sizes.push_back(b.getIndexAttr(d));
              strides.assign(sizes.size(), b.getIndexAttr(1));
              return std::make_tuple(offsets, sizes, strides);
            };
            auto [uOff, uSize, uStride] = sliceAt({row});
            Value update = b.create<tensor::ExtractSliceOp>(l, sliceType, updates, uOff, uSize, uStride);
            auto [off, size, stride] = sliceAt(coords);
            if (reduction != "none") {
              Value old = b.create<tensor::ExtractSliceOp>(l, sliceType, acc, off, size, stride);
              update = buildElementwise(b, l, sliceType, ValueRange{old, update},
                                        [&](OpBuilder &nb, Location nl, ValueRange a) {
                                          return combine(nb, nl, reduction, a[0], a[1], isUnsigned);
                                        });
            }
            next = b.create<tensor::InsertSliceOp>(l, update, acc, off, size, stride);
          }
          b.create<scf::YieldOp>(l, next);
        });
    rewriter.replaceOp(op, loop.getResult(0));
    return success();
  }
};

} // namespace

void kiln::populateScatterToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<ScatterNDLowering>(patterns.getContext());
}
