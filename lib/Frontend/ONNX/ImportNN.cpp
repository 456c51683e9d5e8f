// ONNX importers for neural-network ops: MatMul, Gemm, Conv, pooling, normalization,
// softmax and reductions.
#include "NodeImporter.h"

#include <numeric>

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

Type elementType(Value v) { return cast<RankedTensorType>(v.getType()).getElementType(); }
ArrayRef<int64_t> shapeOf(Value v) { return cast<RankedTensorType>(v.getType()).getShape(); }

DenseI64ArrayAttr i64s(NodeContext &c, ArrayRef<int64_t> v) { return c.b.getDenseI64ArrayAttr(v); }

Value transpose(NodeContext &c, Value x, ArrayRef<int64_t> perm) {
  return c.create<TransposeOp>(x, i64s(c, perm));
}

LogicalResult importMatMul(NodeContext &c, SmallVectorImpl<Value> &out) {
  Value a = c.input(0), b = c.input(1);
  if (elementType(a) != elementType(b))
    return c.fail("operands have different element types");
  if (shapeOf(a).empty() || shapeOf(b).empty())
    return c.fail("operands must have rank 1 or more");
  bool vecA = shapeOf(a).size() == 1, vecB = shapeOf(b).size() == 1;
  if (vecA)
    a = c.reshape(a, {1, shapeOf(a)[0]});
  if (vecB)
    b = c.reshape(b, {shapeOf(b)[0], 1});
  if (shapeOf(a).back() != shapeOf(b)[shapeOf(b).size() - 2])
    return c.fail("contracting dimensions differ");
  Value y = c.create<MatMulOp>(a, b);
  SmallVector<int64_t> shape(shapeOf(y));
  if (vecB)
    shape.erase(shape.end() - 1);
  if (vecA)
    shape.erase(shape.end() - (vecB ? 1 : 2));
  if (vecA || vecB)
    y = c.reshape(y, shape);
  out.push_back(y);
  return success();
}

LogicalResult importGemm(NodeContext &c, SmallVectorImpl<Value> &out) {
  Value a = c.input(0), b = c.input(1);
  if (shapeOf(a).size() != 2 || shapeOf(b).size() != 2)
    return c.fail("A and B must be matrices");
  if (c.getInt("transA", 0))
    a = transpose(c, a, {1, 0});
  if (c.getInt("transB", 0))
    b = transpose(c, b, {1, 0});
  if (shapeOf(a)[1] != shapeOf(b)[0])
    return c.fail("contracting dimensions differ");
  Type et = elementType(a);
  Value y = c.create<MatMulOp>(a, b);
  double alpha = c.getFloat("alpha", 1.0), beta = c.getFloat("beta", 1.0);
  if (alpha != 1.0)
    y = c.create<MulOp>(y, c.scalar(alpha, et));
  if (c.has(2) && beta != 0.0) {
    Value bias = c.input(2);
    if (beta != 1.0)
      bias = c.create<MulOp>(bias, c.scalar(beta, et));
    if (failed(broadcastShapes(shapeOf(y), shapeOf(bias))) ||
        *broadcastShapes(shapeOf(y), shapeOf(bias)) != SmallVector<int64_t>(shapeOf(y)))
      return c.fail("C does not broadcast to the shape of A * B");
    y = c.create<AddOp>(y, bias);
  }
  out.push_back(y);
  return success();
}

/// Resolves pads from `pads` or `auto_pad` for a window op over `input`.
FailureOr<SmallVector<int64_t>> windowPads(NodeContext &c, ArrayRef<int64_t> input,
                                           ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
                                           ArrayRef<int64_t> dilations) {
  size_t n = kernel.size();
  std::string autoPad = c.getString("auto_pad", "NOTSET");
  if (autoPad == "NOTSET") {
    auto pads = c.getInts("pads").value_or(SmallVector<int64_t>(2 * n, 0));
    if (pads.size() != 2 * n)
      return (void)c.fail("pads must have two entries per spatial dimension"), failure();
    return pads;
  }
  SmallVector<int64_t> pads(2 * n, 0);
  if (autoPad == "VALID")
    return pads;
  if (autoPad != "SAME_UPPER" && autoPad != "SAME_LOWER")
    return (void)c.fail("unsupported auto_pad value '" + autoPad + "'"), failure();
  for (size_t i = 0; i < n; ++i) {
    int64_t in = input[i + 2], outSize = (in + strides[i] - 1) / strides[i];
    int64_t total = std::max<int64_t>(0, (outSize - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - in);
    int64_t small = total / 2, large = total - small;
    pads[i] = autoPad == "SAME_UPPER" ? small : large;
    pads[i + n] = autoPad == "SAME_UPPER" ? large : small;
  }
  return pads;
}

} // namespace

FailureOr<Window> onnx_import::readWindow(NodeContext &c, ArrayRef<int64_t> kernelFallback) {
  ArrayRef<int64_t> in = c.type(0).getShape();
  if (in.size() < 3)
    return (void)c.fail("input must be [N, C, D...] with at least one spatial dimension"), failure();
  size_t n = in.size() - 2;
  Window w;
  w.kernel = c.getInts("kernel_shape").value_or(SmallVector<int64_t>(kernelFallback));
  w.strides = c.getInts("strides").value_or(SmallVector<int64_t>(n, 1));
  w.dilations = c.getInts("dilations").value_or(SmallVector<int64_t>(n, 1));
  if (w.kernel.size() != n || w.strides.size() != n || w.dilations.size() != n)
    return (void)c.fail("kernel_shape, strides and dilations need one entry per spatial dimension"),
           failure();
  auto pads = windowPads(c, in, w.kernel, w.strides, w.dilations);
  if (failed(pads))
    return failure();
  w.pads = *pads;
  return w;
}

FailureOr<Value> onnx_import::buildConv(NodeContext &c, Value x, Value w, Value bias) {
  auto wt = cast<RankedTensorType>(w.getType());
  auto window = readWindow(c, wt.getShape().drop_front(2));
  if (failed(window))
    return failure();
  if (ArrayRef<int64_t>(window->kernel) != wt.getShape().drop_front(2))
    return c.fail("kernel_shape does not match the weight's shape");
  int64_t groups = c.getInt("group", 1);
  ArrayRef<int64_t> in = cast<RankedTensorType>(x.getType()).getShape();
  if (groups < 1 || in[1] % groups || wt.getDimSize(0) % groups || in[1] / groups != wt.getDimSize(1))
    return c.fail("channels do not match group=" + Twine(groups));
  if (failed(convOutputShape(in, window->kernel, window->strides, window->dilations,
                             window->pads, false)))
    return c.fail("the window does not fit the padded input");
  return c.create<ConvOp>(x, w, bias, i64s(c, window->strides), i64s(c, window->dilations),
                          i64s(c, window->pads), c.b.getI64IntegerAttr(groups));
}

namespace {

LogicalResult importConv(NodeContext &c, SmallVectorImpl<Value> &out) {
  if (!isa<FloatType>(c.type(0).getElementType()))
    return c.fail("only floating-point convolution is supported");
  auto y = buildConv(c, c.input(0), c.input(1), c.has(2) ? c.input(2) : Value());
  if (failed(y))
    return failure();
  out.push_back(*y);
  return success();
}

LogicalResult importPool(NodeContext &c, SmallVectorImpl<Value> &out, bool isMax) {
  if (!c.attr("kernel_shape"))
    return c.fail("kernel_shape is required");
  auto window = readWindow(c, {});
  if (failed(window))
    return failure();
  bool ceil = c.getInt("ceil_mode", 0);
  if (failed(convOutputShape(c.type(0).getShape(), window->kernel, window->strides,
                             window->dilations, window->pads, ceil)))
    return c.fail("the window does not fit the padded input");
  if (isMax && c.node.output_size() > 1 && !c.node.output(1).empty())
    return buildMaxPoolWithIndices(c, *window, ceil, out);
  if (isMax) {
    out.push_back(c.create<MaxPoolOp>(c.input(0), i64s(c, window->kernel),
                                      i64s(c, window->strides), i64s(c, window->dilations),
                                      i64s(c, window->pads), c.b.getBoolAttr(ceil)));
    return success();
  }
  if (llvm::any_of(window->dilations, [](int64_t d) { return d != 1; }))
    return c.fail("dilated average pooling is not supported");
  if (!isa<FloatType>(c.type(0).getElementType()))
    return c.fail("only floating-point average pooling is supported");
  out.push_back(c.create<AvgPoolOp>(c.input(0), i64s(c, window->kernel),
                                    i64s(c, window->strides), i64s(c, window->pads),
                                    c.b.getBoolAttr(ceil),
                                    c.b.getBoolAttr(c.getInt("count_include_pad", 0))));
  return success();
}

/// LpPool: (sum over the window of |x|^p)^(1/p), the sum being an average pool that
/// counts padding, times the window's size.
LogicalResult importLpPool(NodeContext &c, SmallVectorImpl<Value> &out) {
  Type et = c.type(0).getElementType();
  if (!isa<FloatType>(et))
    return c.fail("only floating-point inputs are supported");
  if (!c.attr("kernel_shape"))
    return c.fail("kernel_shape is required");
  auto window = readWindow(c, {});
  if (failed(window))
    return failure();
  if (llvm::any_of(window->dilations, [](int64_t d) { return d != 1; }))
    return c.fail("dilated Lp pooling is not supported");
  bool ceil = c.getInt("ceil_mode", 0);
  if (failed(convOutputShape(c.type(0).getShape(), window->kernel, window->strides,
                             window->dilations, window->pads, ceil)))
    return c.fail("the window does not fit the padded input");
  double p = c.getInt("p", 2), size = 1;
  for (int64_t k : window->kernel)
    size *= k;
  Value x = c.create<AbsOp>(c.input(0).getType(), c.input(0));
  Value powered = c.create<PowOp>(x, c.scalar(p, et));
  Value mean = c.create<AvgPoolOp>(powered, i64s(c, window->kernel), i64s(c, window->strides),
                                   i64s(c, window->pads), c.b.getBoolAttr(ceil), c.b.getBoolAttr(true));
  Value sum = c.create<MulOp>(mean, c.scalar(size, et));
  out.push_back(c.create<PowOp>(sum, c.scalar(1.0 / p, et)));
  return success();
}

template <typename OpTy> Value reduce(NodeContext &c, Value x, ArrayRef<int64_t> axes, bool keep) {
  return c.create<OpTy>(x, i64s(c, axes), c.b.getBoolAttr(keep));
}

SmallVector<int64_t> range(int64_t from, int64_t to) {
  SmallVector<int64_t> r(to - from);
  std::iota(r.begin(), r.end(), from);
  return r;
}

/// Reads a reduction's axes (attribute before `inputSince`, input after), normalized
/// and sorted; nullopt means "reduce nothing" (noop_with_empty_axes).
FailureOr<std::optional<SmallVector<int64_t>>> reduceAxes(NodeContext &c, int64_t inputSince) {
  int64_t rank = c.type(0).getRank();
  SmallVector<int64_t> axes;
  if (c.opset < inputSince) {
    axes = c.getInts("axes").value_or(SmallVector<int64_t>{});
  } else if (c.has(1)) {
    auto v = c.constantInts(1, "axes");
    if (failed(v))
      return failure();
    axes = *v;
  }
  if (axes.empty()) {
    if (c.opset >= inputSince && c.getInt("noop_with_empty_axes", 0))
      return std::optional<SmallVector<int64_t>>();
    return std::optional<SmallVector<int64_t>>(range(0, rank));
  }
  auto normalized = c.axes(axes, rank);
  if (failed(normalized))
    return failure();
  return std::optional<SmallVector<int64_t>>(*normalized);
}

enum class Pre { None, Square, Abs, Exp };
enum class Post { None, Sqrt, Log };

template <typename OpTy>
ImportFn reduceImporter(int64_t inputSince, Pre pre = Pre::None, Post post = Post::None) {
  return [=](NodeContext &c, SmallVectorImpl<Value> &out) -> LogicalResult {
    auto axes = reduceAxes(c, inputSince);
    if (failed(axes))
      return failure();
    Value x = c.input(0);
    bool isFloat = isa<FloatType>(elementType(x));
    if ((pre == Pre::Exp || post != Post::None || std::is_same_v<OpTy, ReduceMeanOp>) && !isFloat)
      return c.fail("only floating-point inputs are supported");
    if (pre == Pre::Square)
      x = c.create<MulOp>(x, x);
    else if (pre == Pre::Abs)
      x = c.create<AbsOp>(x.getType(), x);
    else if (pre == Pre::Exp)
      x = c.create<ExpOp>(x.getType(), x);
    if (*axes)
      x = reduce<OpTy>(c, x, **axes, c.getInt("keepdims", 1));
    if (post == Post::Sqrt)
      x = c.create<SqrtOp>(x.getType(), x);
    else if (post == Post::Log)
      x = c.create<LogOp>(x.getType(), x);
    out.push_back(x);
    return success();
  };
}

/// Softmax-family ops: before opset 13 they act on the input flattened to 2-D at
/// `axis`; from 13 on, along `axis` alone.
/// The input of a softmax-family op and the axis to act on: before opset 13 the input
/// flattened to 2-D at `axis` (axis 1 of the view), from 13 on the input itself.
FailureOr<std::pair<Value, int64_t>> softmaxView(NodeContext &c) {
  if (!isa<FloatType>(c.type(0).getElementType()))
    return (void)c.fail("only floating-point inputs are supported"), failure();
  int64_t rank = c.type(0).getRank();
  auto axis = c.axis(c.getInt("axis", c.opset < 13 ? 1 : -1), std::max<int64_t>(rank, 1));
  if (failed(axis))
    return failure();
  if (c.opset >= 13)
    return std::make_pair(c.input(0), *axis);
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d)
    (d < *axis ? outer : inner) *= c.type(0).getDimSize(d);
  return std::make_pair(c.reshape(c.input(0), {outer, inner}), int64_t(1));
}

ImportFn softmaxImporter(bool logarithmic) {
  return [=](NodeContext &c, SmallVectorImpl<Value> &out) -> LogicalResult {
    auto view = softmaxView(c);
    if (failed(view))
      return failure();
    auto [x, axis] = *view;
    ArrayRef<int64_t> shape = c.type(0).getShape();
    Value y;
    if (!logarithmic) {
      y = c.create<SoftmaxOp>(x.getType(), x, c.b.getI64IntegerAttr(axis));
    } else {
      Value shifted = c.create<SubOp>(x, reduce<ReduceMaxOp>(c, x, {axis}, true));
      Value e = c.create<ExpOp>(shifted.getType(), shifted);
      Value s = reduce<ReduceSumOp>(c, e, {axis}, true);
      y = c.create<SubOp>(shifted, c.create<LogOp>(s.getType(), s));
    }
    out.push_back(c.reshape(y, shape));
    return success();
  };
}

/// (x - mean) / sqrt(var + eps) over `axes`, returning the normalized value and
/// optionally the mean and 1 / sqrt(var + eps).
Value normalize(NodeContext &c, Value x, ArrayRef<int64_t> axes, double eps, Value *meanOut = nullptr,
                Value *invStdOut = nullptr) {
  Type et = elementType(x);
  Value mean = reduce<ReduceMeanOp>(c, x, axes, true);
  Value centered = c.create<SubOp>(x, mean);
  Value var = reduce<ReduceMeanOp>(c, c.create<MulOp>(centered, centered), axes, true);
  Value stddev = c.create<SqrtOp>(var.getType(), c.create<AddOp>(var, c.scalar(eps, et)));
  Value invStd = c.create<ReciprocalOp>(stddev.getType(), stddev);
  if (meanOut)
    *meanOut = mean;
  if (invStdOut)
    *invStdOut = invStd;
  return c.create<MulOp>(centered, invStd);
}

LogicalResult importLayerNorm(NodeContext &c, SmallVectorImpl<Value> &out) {
  if (!isa<FloatType>(c.type(0).getElementType()))
    return c.fail("only floating-point inputs are supported");
  int64_t rank = c.type(0).getRank();
  auto axis = c.axis(c.getInt("axis", -1), rank);
  if (failed(axis))
    return failure();
  Value mean, invStd;
  Value y = normalize(c, c.input(0), range(*axis, rank), c.getFloat("epsilon", 1e-5), &mean, &invStd);
  y = c.create<MulOp>(y, c.input(1));
  if (c.has(2))
    y = c.create<AddOp>(y, c.input(2));
  out.append({y, mean, invStd});
  return success();
}

LogicalResult importInstanceNorm(NodeContext &c, SmallVectorImpl<Value> &out) {
  if (!isa<FloatType>(c.type(0).getElementType()) || c.type(0).getRank() < 3)
    return c.fail("input must be a floating-point [N, C, D...] tensor");
  int64_t rank = c.type(0).getRank();
  SmallVector<int64_t> perChannel(rank - 1, 1);
  perChannel[0] = c.type(0).getDimSize(1);
  Value y = normalize(c, c.input(0), range(2, rank), c.getFloat("epsilon", 1e-5));
  y = c.create<MulOp>(y, c.reshape(c.input(1), perChannel));
  out.push_back(c.create<AddOp>(y, c.reshape(c.input(2), perChannel)));
  return success();
}

/// Training-mode BatchNormalization (opset 14+): normalizes with the batch's own
/// statistics and also returns the running mean and variance updated by `momentum`.
LogicalResult importBatchNormTraining(NodeContext &c, SmallVectorImpl<Value> &out) {
  int64_t rank = c.type(0).getRank();
  SmallVector<int64_t> perChannel(rank - 1, 1), reduced = range(0, rank);
  perChannel[0] = c.type(0).getDimSize(1);
  reduced.erase(reduced.begin() + 1);
  Value mean, invStd;
  Value y = normalize(c, c.input(0), reduced, c.getFloat("epsilon", 1e-5), &mean, &invStd);
  y = c.create<MulOp>(y, c.reshape(c.input(1), perChannel));
  out.push_back(c.create<AddOp>(y, c.reshape(c.input(2), perChannel)));
  // The batch variance is the population variance: 1 / invStd^2 - eps would lose
  // precision, so it is recomputed from the mean.
  Value centered = c.create<SubOp>(c.input(0), mean);
  Value var = reduce<ReduceMeanOp>(c, c.create<MulOp>(centered, centered), reduced, false);
  Type et = c.type(0).getElementType();
  double momentum = c.getFloat("momentum", 0.9);
  auto blend = [&](Value running, Value batch) {
    return c.create<AddOp>(c.create<MulOp>(running, c.scalar(momentum, et)),
                           c.create<MulOp>(batch, c.scalar(1 - momentum, et)));
  };
  out.push_back(blend(c.input(3), c.reshape(mean, {perChannel[0]})));
  out.push_back(blend(c.input(4), var));
  return success();
}

LogicalResult importBatchNorm(NodeContext &c, SmallVectorImpl<Value> &out) {
  if (c.opset < 9 && c.attr("spatial") && c.getInt("spatial", 1) != 1)
    return c.fail("spatial=0 is not supported");
  if (!isa<FloatType>(c.type(0).getElementType()) || c.type(0).getRank() < 2)
    return c.fail("input must be a floating-point [N, C, ...] tensor");
  for (size_t i = 1; i < 5; ++i)
    if (c.type(i).getRank() != 1 || c.type(i).getDimSize(0) != c.type(0).getDimSize(1) ||
        c.type(i).getElementType() != c.type(0).getElementType())
      return c.fail("scale, B, mean and var must be [C] tensors of the input's type");
  if (c.getInt("training_mode", 0))
    return importBatchNormTraining(c, out);
  out.push_back(c.create<BatchNormOp>(c.input(0).getType(), c.input(0), c.input(1), c.input(2),
                                      c.input(3), c.input(4),
                                      c.b.getF64FloatAttr(c.getFloat("epsilon", 1e-5))));
  return success();
}

LogicalResult importGlobalPool(NodeContext &c, SmallVectorImpl<Value> &out, bool isMax) {
  int64_t rank = c.type(0).getRank();
  if (rank < 3)
    return c.fail("input must be [N, C, D...]");
  if (isMax)
    out.push_back(reduce<ReduceMaxOp>(c, c.input(0), range(2, rank), true));
  else if (!isa<FloatType>(c.type(0).getElementType()))
    return c.fail("only floating-point inputs are supported");
  else
    out.push_back(c.create<GlobalAvgPoolOp>(c.input(0)));
  return success();
}

template <typename OpTy> LogicalResult importArgReduce(NodeContext &c, SmallVectorImpl<Value> &out) {
  auto axis = c.axis(c.getInt("axis", 0), c.type(0).getRank());
  if (failed(axis))
    return failure();
  if (c.type(0).getElementType().isInteger(1))
    return c.fail("bool inputs are not supported");
  out.push_back(c.create<OpTy>(c.input(0), c.b.getI64IntegerAttr(*axis),
                               c.b.getBoolAttr(c.getInt("keepdims", 1)),
                               c.b.getBoolAttr(c.getInt("select_last_index", 0))));
  return success();
}

/// Hardmax: 1 where the first maximum along the axis is, 0 elsewhere.
LogicalResult importHardmax(NodeContext &c, SmallVectorImpl<Value> &out) {
  auto view = softmaxView(c);
  if (failed(view))
    return failure();
  auto [x, axis] = *view;
  ArrayRef<int64_t> shape = c.type(0).getShape();
  auto xt = cast<RankedTensorType>(x.getType());
  Value arg = c.create<ArgMaxOp>(x, c.b.getI64IntegerAttr(axis), c.b.getBoolAttr(true),
                                 c.b.getBoolAttr(false));
  Value hit = c.create<CompareOp>(c.positions(xt.getRank(), axis, xt.getDimSize(axis)), arg,
                                  c.b.getStringAttr("eq"));
  out.push_back(c.reshape(c.cast(hit, xt.getElementType()), shape));
  return success();
}

LogicalResult importMeanVarianceNormalization(NodeContext &c, SmallVectorImpl<Value> &out) {
  if (!isa<FloatType>(c.type(0).getElementType()))
    return c.fail("only floating-point inputs are supported");
  int64_t rank = c.type(0).getRank();
  auto axes = c.axes(c.getInts("axes").value_or(SmallVector<int64_t>{0, 2, 3}), rank);
  if (failed(axes))
    return failure();
  out.push_back(normalize(c, c.input(0), *axes, 1e-9));
  return success();
}

/// LRN: x / (bias + alpha / size * sum of x^2 over `size` neighbouring channels)^beta;
/// the channel-window sum is an average pool over a [N, 1, C, rest] view, times size.
LogicalResult importLRN(NodeContext &c, SmallVectorImpl<Value> &out) {
  ArrayRef<int64_t> s = c.type(0).getShape();
  Type et = c.type(0).getElementType();
  int64_t size = c.getInt("size", 0);
  if (!isa<FloatType>(et) || s.size() < 3 || size < 1)
    return c.fail("input must be a float [N, C, D...] tensor and size positive");
  int64_t rest = 1;
  for (int64_t d : s.drop_front(2))
    rest *= d;
  Value x = c.input(0);
  Value sq = c.reshape(c.create<MulOp>(x, x), {s[0], 1, s[1], rest});
  SmallVector<int64_t> kernel = {size, 1}, strides = {1, 1},
                       pads = {(size - 1) / 2, 0, size - 1 - (size - 1) / 2, 0};
  Value avg = c.create<AvgPoolOp>(sq, i64s(c, kernel), i64s(c, strides), i64s(c, pads),
                                  c.b.getBoolAttr(false), c.b.getBoolAttr(true));
  Value scaled = c.create<MulOp>(c.reshape(avg, s), c.scalar(c.getFloat("alpha", 1e-4), et));
  Value base = c.create<AddOp>(scaled, c.scalar(c.getFloat("bias", 1.0), et));
  Value denominator = c.create<PowOp>(base, c.scalar(c.getFloat("beta", 0.75), et));
  out.push_back(c.create<DivOp>(x, denominator));
  return success();
}

} // namespace

void onnx_import::addNNImporters(ImporterTable &t) {
  t["MeanVarianceNormalization"] = importMeanVarianceNormalization;
  t["LRN"] = importLRN;
  t["ArgMax"] = importArgReduce<ArgMaxOp>;
  t["ArgMin"] = importArgReduce<ArgMinOp>;
  t["Hardmax"] = importHardmax;
  t["ReduceProd"] = reduceImporter<ReduceProdOp>(18);
  t["MatMul"] = importMatMul;
  t["Gemm"] = importGemm;
  t["Conv"] = importConv;
  t["LpPool"] = importLpPool;
  t["MaxPool"] = [](NodeContext &c, SmallVectorImpl<Value> &out) { return importPool(c, out, true); };
  t["AveragePool"] = [](NodeContext &c, SmallVectorImpl<Value> &out) {
    return importPool(c, out, false);
  };
  t["GlobalAveragePool"] = [](NodeContext &c, SmallVectorImpl<Value> &out) {
    return importGlobalPool(c, out, false);
  };
  t["GlobalMaxPool"] = [](NodeContext &c, SmallVectorImpl<Value> &out) {
    return importGlobalPool(c, out, true);
  };
  t["BatchNormalization"] = importBatchNorm;
  t["InstanceNormalization"] = importInstanceNorm;
  t["LayerNormalization"] = importLayerNorm;
  t["Softmax"] = softmaxImporter(false);
  t["LogSoftmax"] = softmaxImporter(true);

  t["ReduceSum"] = reduceImporter<ReduceSumOp>(13);
  t["ReduceMean"] = reduceImporter<ReduceMeanOp>(18);
  t["ReduceMax"] = reduceImporter<ReduceMaxOp>(18);
  t["ReduceMin"] = reduceImporter<ReduceMinOp>(18);
  t["ReduceSumSquare"] = reduceImporter<ReduceSumOp>(18, Pre::Square);
  t["ReduceL1"] = reduceImporter<ReduceSumOp>(18, Pre::Abs);
  t["ReduceL2"] = reduceImporter<ReduceSumOp>(18, Pre::Square, Post::Sqrt);
  t["ReduceLogSum"] = reduceImporter<ReduceSumOp>(18, Pre::None, Post::Log);
  t["ReduceLogSumExp"] = reduceImporter<ReduceSumOp>(18, Pre::Exp, Post::Log);
}
