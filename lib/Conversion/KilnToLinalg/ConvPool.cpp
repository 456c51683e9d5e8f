// Lowering of kiln convolution and pooling ops to linalg.generic windows over a
// padded input (tensor.pad), with bias folded into the accumulator's initial value.
#include "LinalgBuilders.h"
#include "kiln/Conversion/KilnToLinalg/KilnToLinalg.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::lowering;

namespace {

/// Pads the spatial dimensions of `x` ([N, C, D...]) with `value`: `pads` holds the
/// begin pads, then the end pads; `extraEnd` widens the end pads (ceil mode).
Value padSpatial(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> pads,
                 ArrayRef<int64_t> extraEnd, Value value) {
  auto type = cast<RankedTensorType>(x.getType());
  size_t s = type.getRank() - 2;
  SmallVector<OpFoldResult> low(2, b.getIndexAttr(0)), high(2, b.getIndexAttr(0));
  SmallVector<int64_t> shape(type.getShape());
  bool any = false;
  for (size_t i = 0; i < s; ++i) {
    int64_t end = pads[i + s] + extraEnd[i];
    low.push_back(b.getIndexAttr(pads[i]));
    high.push_back(b.getIndexAttr(end));
    shape[i + 2] += pads[i] + end;
    any |= pads[i] || end;
  }
  if (!any)
    return x;
  auto padded = RankedTensorType::get(shape, type.getElementType());
  return b.create<tensor::PadOp>(loc, padded, x, low, high, value);
}

/// End padding needed beyond `pads` so every window of the output fits (ceil mode).
SmallVector<int64_t> extraEndPads(ArrayRef<int64_t> in, ArrayRef<int64_t> out,
                                  ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
                                  ArrayRef<int64_t> dilations, ArrayRef<int64_t> pads) {
  size_t s = kernel.size();
  SmallVector<int64_t> extra(s, 0);
  for (size_t i = 0; i < s; ++i) {
    int64_t needed = (out[i + 2] - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1;
    extra[i] = std::max<int64_t>(0, needed - (in[i + 2] + pads[i] + pads[i + s]));
  }
  return extra;
}

/// Input index expressions o_i * stride + k_i * dilation for the window loops.
SmallVector<AffineExpr> windowExprs(MLIRContext *ctx, unsigned firstOut, unsigned firstK,
                                    ArrayRef<int64_t> strides, ArrayRef<int64_t> dilations) {
  SmallVector<AffineExpr> exprs;
  for (size_t i = 0; i < strides.size(); ++i)
    exprs.push_back(getAffineDimExpr(firstOut + i, ctx) * strides[i] +
                    getAffineDimExpr(firstK + i, ctx) * dilations[i]);
  return exprs;
}

SmallVector<AffineExpr> dims(MLIRContext *ctx, std::initializer_list<unsigned> first,
                             unsigned from = 0, unsigned count = 0) {
  SmallVector<AffineExpr> exprs;
  for (unsigned d : first)
    exprs.push_back(getAffineDimExpr(d, ctx));
  for (unsigned i = 0; i < count; ++i)
    exprs.push_back(getAffineDimExpr(from + i, ctx));
  return exprs;
}

/// The convolution's accumulator before the reduction: the bias broadcast over
/// `type` along `channelDim`, or zeros.
Value convInit(OpBuilder &b, Location loc, Value bias, Value biasView, RankedTensorType type,
               unsigned channelDims) {
  MLIRContext *ctx = b.getContext();
  Type et = type.getElementType();
  if (!bias)
    return filledTensor(b, loc, type, scalarConstant(b, loc, et, 0));
  // The accumulator starts from the bias, so adding it costs no extra pass.
  unsigned rank = type.getRank();
  SmallVector<AffineExpr> exprs;
  for (unsigned i = 0; i < channelDims; ++i)
    exprs.push_back(getAffineDimExpr(1 + i, ctx));
  return buildGeneric(b, loc, type, biasView, emptyTensor(b, loc, type),
                      {AffineMap::get(rank, 0, exprs, ctx), AffineMap::getMultiDimIdentityMap(rank, ctx)},
                      parallelLoops(rank), [](OpBuilder &, Location, ValueRange a) { return a[0]; });
}

Value multiplyAccumulate(OpBuilder &b, Location l, ValueRange a) {
  return multiplyAdd(b, l, a[0], a[1], a[2]);
}

/// Convolutions lower to one contraction generic over the padded input. Ungrouped and
/// depthwise convolutions index channels directly, so the result needs no reshape and
/// an epilogue can be fused into it; other grouped ones split channels into groups.
struct ConvLowering : OpRewritePattern<ConvOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ConvOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType(), xt = op.getInput().getType(),
                     wt = op.getWeight().getType();
    Type et = type.getElementType();
    if (et.isInteger(1))
      return rewriter.notifyMatchFailure(op, "bool convolution is not supported");
    unsigned s = xt.getRank() - 2;
    SmallVector<int64_t> extra(s, 0);
    Value x = padSpatial(rewriter, loc, op.getInput(), op.getPads(), extra,
                         scalarConstant(rewriter, loc, et, 0));
    int64_t g = op.getGroups(), c = wt.getDimSize(1);
    Value y = g == 1 || c == 1 ? direct(rewriter, op, x) : grouped(rewriter, op, x);
    // The CUDA target's kernel choice (kiln-choose-gpu-kernels) travels with the
    // product, which a grouped convolution's channels are collapsed from.
    Operation *product = y.getDefiningOp();
    if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(product))
      product = collapse.getSrc().getDefiningOp();
    if (Attribute kernel = op->getAttr("kiln.gpu_kernel"))
      product->setAttr("kiln.gpu_kernel", kernel);
    rewriter.replaceOp(op, y);
    return success();
  }

  /// Loops n, f, o... (parallel), [c,] k... (reduction).
  Value direct(PatternRewriter &b, ConvOp op, Value x) const {
    MLIRContext *ctx = getContext();
    Location loc = op.getLoc();
    RankedTensorType type = op.getType(), wt = op.getWeight().getType();
    unsigned s = type.getRank() - 2;
    bool ungrouped = op.getGroups() == 1;
    int64_t multiplier = wt.getDimSize(0) / op.getGroups();
    unsigned firstK = 2 + s + (ungrouped ? 1 : 0), loops = firstK + s;
    AffineExpr f = getAffineDimExpr(1, ctx), cExpr = getAffineDimExpr(2 + s, ctx);
    AffineExpr inChannel = ungrouped ? cExpr : multiplier == 1 ? f : f.floorDiv(multiplier);
    SmallVector<AffineExpr> xExprs = {getAffineDimExpr(0, ctx), inChannel};
    llvm::append_range(xExprs, windowExprs(ctx, 2, firstK, op.getStrides(), op.getDilations()));
    SmallVector<AffineExpr> wExprs = {f, ungrouped ? cExpr : getAffineConstantExpr(0, ctx)};
    llvm::append_range(wExprs, dims(ctx, {}, firstK, s));
    SmallVector<AffineMap> maps = {AffineMap::get(loops, 0, xExprs, ctx),
                                   AffineMap::get(loops, 0, wExprs, ctx),
                                   AffineMap::get(loops, 0, dims(ctx, {}, 0, 2 + s), ctx)};
    SmallVector<utils::IteratorType> iterators = parallelLoops(2 + s);
    iterators.append(loops - 2 - s, utils::IteratorType::reduction);
    Value init = convInit(b, loc, op.getBias(), op.getBias(), type, 1);
    return buildGeneric(b, loc, type, {x, op.getWeight()}, init, maps, iterators, multiplyAccumulate);
  }

  /// Splits channels into groups: x [N, G, C/G, D...], w [G, F/G, C/G, K...], and
  /// loops n, g, f, o... (parallel), c, k... (reduction).
  Value grouped(PatternRewriter &b, ConvOp op, Value x) const {
    MLIRContext *ctx = getContext();
    Location loc = op.getLoc();
    RankedTensorType type = op.getType(), wt = op.getWeight().getType();
    Type et = type.getElementType();
    unsigned s = type.getRank() - 2;
    int64_t g = op.getGroups(), f = wt.getDimSize(0), c = wt.getDimSize(1);
    auto xpShape = cast<RankedTensorType>(x.getType()).getShape();
    SmallVector<ReassociationIndices> xAssoc = {{0}, {1, 2}}, wAssoc = {{0, 1}, {2}},
                                      yAssoc = {{0}, {1, 2}};
    for (unsigned i = 0; i < s; ++i) {
      xAssoc.push_back({i + 3});
      wAssoc.push_back({i + 3});
      yAssoc.push_back({i + 3});
    }
    SmallVector<int64_t> xg = {xpShape[0], g, c}, wg = {g, f / g, c}, yg = {type.getDimSize(0), g, f / g};
    llvm::append_range(xg, xpShape.drop_front(2));
    llvm::append_range(wg, wt.getShape().drop_front(2));
    llvm::append_range(yg, type.getShape().drop_front(2));
    Value xGrouped = b.create<tensor::ExpandShapeOp>(loc, RankedTensorType::get(xg, et), x, xAssoc);
    Value wGrouped = b.create<tensor::ExpandShapeOp>(loc, RankedTensorType::get(wg, et),
                                                     op.getWeight(), wAssoc);
    auto ygType = RankedTensorType::get(yg, et);
    unsigned loops = 4 + 2 * s, firstOut = 3, cDim = 3 + s, firstK = 4 + s;
    SmallVector<AffineExpr> xExprs = dims(ctx, {0, 1, cDim});
    llvm::append_range(xExprs, windowExprs(ctx, firstOut, firstK, op.getStrides(), op.getDilations()));
    SmallVector<AffineMap> maps = {AffineMap::get(loops, 0, xExprs, ctx),
                                   AffineMap::get(loops, 0, dims(ctx, {1, 2, cDim}, firstK, s), ctx),
                                   AffineMap::get(loops, 0, dims(ctx, {0, 1, 2}, firstOut, s), ctx)};
    SmallVector<utils::IteratorType> iterators = parallelLoops(3 + s);
    iterators.append(1 + s, utils::IteratorType::reduction);
    Value biasView;
    if (Value bias = op.getBias())
      biasView = b.create<tensor::ExpandShapeOp>(loc, RankedTensorType::get({g, f / g}, et), bias,
                                                 SmallVector<ReassociationIndices>{{0, 1}});
    Value init = convInit(b, loc, op.getBias(), biasView, ygType, 2);
    Value y = buildGeneric(b, loc, ygType, {xGrouped, wGrouped}, init, maps, iterators,
                           multiplyAccumulate);
    return b.create<tensor::CollapseShapeOp>(loc, type, y, yAssoc);
  }
};

/// Reduces windows of a padded input: out[n, c, o...] = combine over k... of
/// xp[n, c, o * stride + k * dilation].
Value windowReduce(OpBuilder &b, Location loc, Value xp, RankedTensorType type,
                   ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
                   ArrayRef<int64_t> dilations, Value init, BodyFn combine) {
  MLIRContext *ctx = b.getContext();
  unsigned s = kernel.size(), loops = 2 + 2 * s;
  SmallVector<AffineExpr> xExprs = dims(ctx, {0, 1});
  llvm::append_range(xExprs, windowExprs(ctx, 2, 2 + s, strides, dilations));
  Value window = b.create<tensor::EmptyOp>(loc, kernel, type.getElementType());
  SmallVector<AffineMap> maps = {AffineMap::get(loops, 0, xExprs, ctx),
                                 AffineMap::get(loops, 0, dims(ctx, {}, 2 + s, s), ctx),
                                 AffineMap::get(loops, 0, dims(ctx, {}, 0, 2 + s), ctx)};
  SmallVector<utils::IteratorType> iterators = parallelLoops(2 + s);
  iterators.append(s, utils::IteratorType::reduction);
  Value filled = filledTensor(b, loc, type, init);
  return buildGeneric(b, loc, type, {xp, window}, filled, maps, iterators,
                      [&](OpBuilder &nb, Location l, ValueRange a) {
                        return combine(nb, l, {a[0], a[2]});
                      });
}

struct MaxPoolLowering : OpRewritePattern<MaxPoolOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MaxPoolOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    Type et = type.getElementType();
    if (et.isInteger(1))
      return rewriter.notifyMatchFailure(op, "bool max pool is not supported");
    auto extra = extraEndPads(op.getInput().getType().getShape(), type.getShape(),
                              op.getKernelShape(), op.getStrides(), op.getDilations(), op.getPads());
    bool isUnsigned = hasUnsignedOperands(op);
    Value lowest = lowestConstant(rewriter, loc, et, isUnsigned);
    Value xp = padSpatial(rewriter, loc, op.getInput(), op.getPads(), extra, lowest);
    rewriter.replaceOp(op, windowReduce(rewriter, loc, xp, type, op.getKernelShape(),
                                        op.getStrides(), op.getDilations(), lowest,
                                        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                                          return maxOf(b, l, a[0], a[1], isUnsigned);
                                        }));
    return success();
  }
};

/// Number of elements each average-pool window divides by, per output position.
DenseElementsAttr poolDivisors(AvgPoolOp op) {
  ArrayRef<int64_t> in = op.getInput().getType().getShape(), out = op.getType().getShape();
  ArrayRef<int64_t> k = op.getKernelShape(), st = op.getStrides(), pads = op.getPads();
  size_t s = k.size();
  auto shape = out.drop_front(2);
  int64_t total = 1;
  for (int64_t d : shape)
    total *= d;
  std::vector<float> counts(total);
  for (int64_t linear = 0; linear < total; ++linear) {
    int64_t rest = linear, count = 1;
    for (int64_t i = s - 1; i >= 0; --i) {
      int64_t o = rest % shape[i];
      rest /= shape[i];
      int64_t begin = o * st[i] - pads[i], end = begin + k[i];
      int64_t lo = op.getCountIncludePad() ? -pads[i] : 0;
      int64_t hi = op.getCountIncludePad() ? in[i + 2] + pads[i + s] : in[i + 2];
      count *= std::max<int64_t>(0, std::min(end, hi) - std::max(begin, lo));
    }
    counts[linear] = (float)std::max<int64_t>(count, 1);
  }
  // Shaped [1, 1, O...] so it broadcasts over batch and channels.
  SmallVector<int64_t> divisorShape = {1, 1};
  llvm::append_range(divisorShape, shape);
  auto type = RankedTensorType::get(divisorShape, Float32Type::get(op.getContext()));
  return DenseElementsAttr::get(type, ArrayRef<float>(counts));
}

struct AvgPoolLowering : OpRewritePattern<AvgPoolOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AvgPoolOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    Type et = type.getElementType();
    if (!isa<FloatType>(et))
      return rewriter.notifyMatchFailure(op, "only floating-point average pooling");
    SmallVector<int64_t> ones(op.getKernelShape().size(), 1);
    auto extra = extraEndPads(op.getInput().getType().getShape(), type.getShape(),
                              op.getKernelShape(), op.getStrides(), ones, op.getPads());
    Value zero = scalarConstant(rewriter, loc, et, 0);
    Value xp = padSpatial(rewriter, loc, op.getInput(), op.getPads(), extra, zero);
    Value sums = windowReduce(rewriter, loc, xp, type, op.getKernelShape(), op.getStrides(), ones,
                              zero, [](OpBuilder &b, Location l, ValueRange a) -> Value {
                                return b.create<arith::AddFOp>(l, a[0], a[1]);
                              });
    Value divisors = rewriter.create<arith::ConstantOp>(loc, poolDivisors(op));
    rewriter.replaceOp(op, buildElementwise(rewriter, loc, type, {sums, divisors},
                                            [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                                              Value d = a[1];
                                              unsigned w = et.getIntOrFloatBitWidth();
                                              if (w < 32 || et.isBF16())
                                                d = b.create<arith::TruncFOp>(l, et, d);
                                              else if (w > 32)
                                                d = b.create<arith::ExtFOp>(l, et, d);
                                              return b.create<arith::DivFOp>(l, a[0], d);
                                            }));
    return success();
  }
};

struct GlobalAvgPoolLowering : OpRewritePattern<GlobalAvgPoolOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GlobalAvgPoolOp op, PatternRewriter &rewriter) const override {
    MLIRContext *ctx = getContext();
    Location loc = op.getLoc();
    RankedTensorType in = op.getInput().getType(), type = op.getType();
    Type et = type.getElementType();
    unsigned rank = in.getRank();
    int64_t count = in.getNumElements() / (in.getDimSize(0) * in.getDimSize(1));
    auto sumType = RankedTensorType::get({in.getDimSize(0), in.getDimSize(1)}, et);
    SmallVector<utils::IteratorType> iterators = parallelLoops(2);
    iterators.append(rank - 2, utils::IteratorType::reduction);
    Value zero = scalarConstant(rewriter, loc, et, 0);
    Value sums = buildGeneric(rewriter, loc, sumType, op.getInput(),
                              filledTensor(rewriter, loc, sumType, zero),
                              {AffineMap::getMultiDimIdentityMap(rank, ctx),
                               AffineMap::get(rank, 0, dims(ctx, {0, 1}), ctx)},
                              iterators, [](OpBuilder &b, Location l, ValueRange a) -> Value {
                                return b.create<arith::AddFOp>(l, a[0], a[1]);
                              });
    Value means = buildElementwise(rewriter, loc, sumType, sums,
                                   [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                                     return b.create<arith::DivFOp>(
                                         l, a[0], scalarConstant(b, l, et, count));
                                   });
    rewriter.replaceOp(op, reshapeTensor(rewriter, loc, means, type));
    return success();
  }
};

} // namespace

void kiln::populateConvPoolToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<ConvLowering, MaxPoolLowering, AvgPoolLowering, GlobalAvgPoolLowering>(
      patterns.getContext());
}
