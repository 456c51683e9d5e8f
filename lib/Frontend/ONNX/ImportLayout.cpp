// ONNX importers for ops built from other kiln ops with compile-time constants:
// GatherElements, Tile, DepthToSpace/SpaceToDepth, Trilu, CumSum, EyeLike and OneHot.
#include "NodeImporter.h"

#include <cmath>
#include <numeric>

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

ArrayRef<int64_t> shapeOf(Value v) { return cast<RankedTensorType>(v.getType()).getShape(); }

Value transpose(NodeContext &c, Value x, ArrayRef<int64_t> perm) {
  return c.create<TransposeOp>(x, c.b.getDenseI64ArrayAttr(perm));
}

LogicalResult importGatherElements(NodeContext &c, SmallVectorImpl<Value> &out) {
  auto axis = c.axis(c.getInt("axis", 0), c.type(0).getRank());
  if (failed(axis))
    return failure();
  Type it = c.type(1).getElementType();
  if ((!it.isInteger(32) && !it.isInteger(64)) || c.type(1).getRank() != c.type(0).getRank())
    return c.fail("indices must be int32 or int64 of the data's rank");
  out.push_back(c.create<GatherElementsOp>(c.input(0), c.input(1), c.b.getI64IntegerAttr(*axis)));
  return success();
}

/// ReverseSequence: along the time axis, position t of batch b reads len[b] - 1 - t
/// while t < len[b] and t otherwise; a gather_elements with those run-time indices.
LogicalResult importReverseSequence(NodeContext &c, SmallVectorImpl<Value> &out) {
  ArrayRef<int64_t> shape = c.type(0).getShape();
  int64_t rank = shape.size(), timeAxis = c.getInt("time_axis", 0),
          batchAxis = c.getInt("batch_axis", 1);
  if (rank < 2 || !((timeAxis == 0 && batchAxis == 1) || (timeAxis == 1 && batchAxis == 0)))
    return c.fail("time_axis and batch_axis must be 0 and 1 in some order");
  if (c.type(1).getShape() != ArrayRef<int64_t>{shape[batchAxis]})
    return c.fail("sequence_lens must hold one length per batch entry");
  Type i64 = c.b.getI64Type();
  SmallVector<int64_t> batchShape(rank, 1);
  batchShape[batchAxis] = shape[batchAxis];
  Value t = c.positions(rank, timeAxis, shape[timeAxis]);
  Value lens = c.reshape(c.type(1).getElementType() == i64 ? c.input(1) : c.cast(c.input(1), i64),
                         batchShape);
  // Out-of-range lengths (invalid input) are clamped so no read leaves the tensor.
  lens = c.create<ClipOp>(lens.getType(), lens, c.b.getF64FloatAttr(0),
                          c.b.getF64FloatAttr(shape[timeAxis]));
  Value reversed = c.create<SubOp>(c.create<SubOp>(lens, c.scalar(1, i64)), t);
  Value inside = c.create<CompareOp>(t, lens, c.b.getStringAttr("lt"));
  Value indices = c.create<SelectOp>(inside, reversed, t);
  // Indices cover every element of the data.
  indices = c.create<AddOp>(indices, c.zeros(RankedTensorType::get(shape, i64)));
  out.push_back(c.create<GatherElementsOp>(c.input(0), indices, c.b.getI64IntegerAttr(timeAxis)));
  return success();
}

/// Tile repeats each axis by gathering its indices 0..n-1 repeated.
LogicalResult importTile(NodeContext &c, SmallVectorImpl<Value> &out) {
  auto repeats = c.constantInts(1, "repeats");
  if (failed(repeats))
    return failure();
  ArrayRef<int64_t> shape = c.type(0).getShape();
  if (repeats->size() != shape.size())
    return c.fail("repeats needs one entry per dimension");
  Value x = c.input(0);
  for (size_t d = 0; d < shape.size(); ++d) {
    int64_t r = (*repeats)[d];
    if (r < 1)
      return c.fail("repeats must be positive");
    if (r == 1)
      continue;
    auto type = RankedTensorType::get({shape[d] * r}, c.b.getI64Type());
    Value indices = c.constantOf(type, [&](int64_t i) { return i % shape[d]; });
    x = c.create<GatherOp>(x, indices, c.b.getI64IntegerAttr(d));
  }
  out.push_back(x);
  return success();
}

LogicalResult importDepthToSpace(NodeContext &c, SmallVectorImpl<Value> &out) {
  ArrayRef<int64_t> s = c.type(0).getShape();
  int64_t b = c.getInt("blocksize", 0);
  if (s.size() != 4 || b < 1 || s[1] % (b * b))
    return c.fail("input must be [N, C, H, W] with C divisible by blocksize^2");
  int64_t n = s[0], ch = s[1] / (b * b), h = s[2], w = s[3];
  bool crd = c.getString("mode", "DCR") == "CRD";
  Value x = crd ? c.reshape(c.input(0), {n, ch, b, b, h, w}) : c.reshape(c.input(0), {n, b, b, ch, h, w});
  x = crd ? transpose(c, x, {0, 1, 4, 2, 5, 3}) : transpose(c, x, {0, 3, 4, 1, 5, 2});
  out.push_back(c.reshape(x, {n, ch, h * b, w * b}));
  return success();
}

LogicalResult importSpaceToDepth(NodeContext &c, SmallVectorImpl<Value> &out) {
  ArrayRef<int64_t> s = c.type(0).getShape();
  int64_t b = c.getInt("blocksize", 0);
  if (s.size() != 4 || b < 1 || s[2] % b || s[3] % b)
    return c.fail("input must be [N, C, H, W] with H and W divisible by blocksize");
  int64_t n = s[0], ch = s[1], h = s[2] / b, w = s[3] / b;
  Value x = c.reshape(c.input(0), {n, ch, h, b, w, b});
  x = transpose(c, x, {0, 3, 5, 1, 2, 4});
  out.push_back(c.reshape(x, {n, ch * b * b, h, w}));
  return success();
}

/// Trilu keeps the upper (j - i >= k) or lower (j - i <= k) triangle of the last two
/// dimensions: a constant j - i compared with k (folded to a constant mask when k is).
LogicalResult importTrilu(NodeContext &c, SmallVectorImpl<Value> &out) {
  ArrayRef<int64_t> s = c.type(0).getShape();
  if (s.size() < 2)
    return c.fail("input must have rank 2 or more");
  Value k = c.has(1) ? c.input(1) : c.scalar(0, c.b.getI64Type());
  auto kt = cast<RankedTensorType>(k.getType());
  if (!kt.getElementType().isInteger(64) || kt.getNumElements() != 1)
    return c.fail("k must be an int64 scalar");
  k = c.reshape(k, {});
  int64_t rows = s[s.size() - 2], cols = s.back();
  Value diagonal = c.constantOf(RankedTensorType::get({rows, cols}, c.b.getI64Type()),
                              [&](int64_t i) { return (double)(i % cols - i / cols); });
  Value mask = c.create<CompareOp>(diagonal, k, c.b.getStringAttr(c.getInt("upper", 1) ? "ge" : "le"));
  out.push_back(c.create<SelectOp>(mask, c.input(0), c.scalar(0, c.type(0).getElementType())));
  return success();
}

/// CumSum along an axis is a product with a constant triangular matrix of ones.
LogicalResult importCumSum(NodeContext &c, SmallVectorImpl<Value> &out) {
  Type et = c.type(0).getElementType();
  if (et.isInteger(1))
    return c.fail("bool inputs are not supported");
  auto axisValue = c.constantInts(1, "axis");
  if (failed(axisValue))
    return failure();
  int64_t rank = c.type(0).getRank();
  auto axis = c.axis((*axisValue)[0], rank);
  if (failed(axis))
    return failure();
  bool exclusive = c.getInt("exclusive", 0), reverse = c.getInt("reverse", 0);
  SmallVector<int64_t> perm;
  for (int64_t d = 0; d < rank; ++d)
    if (d != *axis)
      perm.push_back(d);
  perm.push_back(*axis);
  Value x = transpose(c, c.input(0), perm);
  SmallVector<int64_t> moved(shapeOf(x));
  int64_t n = moved.back();
  if (rank == 1)
    x = c.reshape(x, {1, n});
  // Column i sums the rows j that output i includes.
  Value tri = c.constantOf(RankedTensorType::get({n, n}, et), [&](int64_t at) {
    int64_t j = at / n, i = at % n;
    return reverse ? (exclusive ? j > i : j >= i) : (exclusive ? j < i : j <= i);
  });
  Value y = c.reshape(c.create<MatMulOp>(x, tri), moved);
  SmallVector<int64_t> inverse(rank);
  for (int64_t d = 0; d < rank; ++d)
    inverse[perm[d]] = d;
  out.push_back(transpose(c, y, inverse));
  return success();
}

LogicalResult importEyeLike(NodeContext &c, SmallVectorImpl<Value> &out) {
  ArrayRef<int64_t> s = c.type(0).getShape();
  if (s.size() != 2)
    return c.fail("input must be 2-D");
  Type et = c.type(0).getElementType();
  if (c.attr("dtype") && !(et = elementTypeOf(c.b.getContext(), c.getInt("dtype", 0))))
    return c.fail("unsupported dtype " + dataTypeName(c.getInt("dtype", 0)));
  int64_t k = c.getInt("k", 0), cols = s[1];
  out.push_back(c.constantOf(RankedTensorType::get(s, et),
                           [&](int64_t i) { return i % cols - i / cols == k; }));
  return success();
}

/// OneHot: compares the (wrapped) indices with 0..depth-1 along the new axis and picks
/// values[1] (on) or values[0] (off).
LogicalResult importOneHot(NodeContext &c, SmallVectorImpl<Value> &out) {
  auto depthValue = c.requiredConstant(1);
  if (!depthValue || depthValue->size() != 1)
    return c.fail("depth must be a constant scalar");
  int64_t depth = (int64_t)depthValue->asDouble(0);
  ArrayRef<int64_t> s = c.type(0).getShape();
  int64_t rank = s.size() + 1;
  auto axis = c.axis(c.getInt("axis", -1), rank);
  if (failed(axis))
    return failure();
  if (depth < 1 || c.type(2).getNumElements() != 2)
    return c.fail("depth must be positive and values must hold 2 elements");
  Value indices = c.type(0).getElementType().isInteger(64) ? c.input(0) : c.cast(c.input(0), c.b.getI64Type());
  Value wrapped = c.create<AddOp>(indices, c.scalar(depth, c.b.getI64Type()));
  Value negative = c.create<CompareOp>(indices, c.scalar(0, c.b.getI64Type()), c.b.getStringAttr("lt"));
  indices = c.create<SelectOp>(negative, wrapped, indices);
  SmallVector<int64_t> expanded(s);
  expanded.insert(expanded.begin() + *axis, 1);
  Value iota = c.positions(rank, *axis, depth);
  Value hit = c.create<CompareOp>(c.reshape(indices, expanded), iota, c.b.getStringAttr("eq"));
  Value values = c.reshape(c.input(2), {2});
  auto pick = [&](int64_t i) { return c.reshape(c.sliceAxis(values, 0, i, 1), {}); };
  out.push_back(c.create<SelectOp>(hit, pick(1), pick(0)));
  return success();
}

/// The region of interest along one axis, in [0, 1] coordinates (tf_crop_and_resize).
struct Crop {
  double start = 0, end = 1;
};

/// Input coordinate of output index `x` along one axis, per coordinate_transformation_mode.
std::optional<double> sourceCoordinate(StringRef mode, int64_t x, int64_t in, int64_t out,
                                       double scale, Crop crop) {
  if (mode == "tf_crop_and_resize")
    return out > 1 ? crop.start * (in - 1) + x * (crop.end - crop.start) * (in - 1) / double(out - 1)
                   : 0.5 * (crop.start + crop.end) * (in - 1);
  if (mode == "half_pixel")
    return (x + 0.5) / scale - 0.5;
  if (mode == "pytorch_half_pixel")
    return out > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
  if (mode == "align_corners") {
    // The unrounded resized length, as the ONNX reference computes it from scales.
    double resized = in * scale;
    return resized <= 1 ? 0.0 : x * double(in - 1) / (resized - 1);
  }
  if (mode == "asymmetric")
    return x / scale;
  if (mode == "tf_half_pixel_for_nn")
    return (x + 0.5) / scale;
  return std::nullopt;
}

/// Keys' cubic convolution kernel with parameter `a` at distance |t| <= 2.
double cubicWeight(double a, double t) {
  t = std::abs(t);
  if (t <= 1)
    return ((a + 2) * t - (a + 3)) * t * t + 1;
  return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
}

int64_t nearestIndex(StringRef mode, double v) {
  double lower = std::floor(v);
  if (mode == "floor")
    return (int64_t)lower;
  if (mode == "ceil")
    return (int64_t)std::ceil(v);
  if (v - lower == 0.5)
    return (int64_t)(mode == "round_prefer_ceil" ? lower + 1 : lower);
  return (int64_t)std::round(v);
}

/// Resize (and Upsample) with nearest, linear or cubic interpolation, separably per
/// axis: static shapes make every source index and weight a compile-time constant, so
/// each axis is a weighted sum of 1, 2 or 4 gathers.
LogicalResult importResize(NodeContext &c, SmallVectorImpl<Value> &out) {
  ArrayRef<int64_t> in = c.type(0).getShape();
  Type et = c.type(0).getElementType();
  int64_t rank = in.size();
  std::string mode = c.getString("mode", "nearest");
  std::string transform = c.getString("coordinate_transformation_mode", "half_pixel");
  if (c.node.op_type() == "Upsample" || c.opset < 11)
    transform = "asymmetric";
  if (mode != "nearest" && mode != "linear" && mode != "cubic")
    return c.fail("mode '" + mode + "' is not supported");
  if (mode != "nearest" && !isa<FloatType>(et))
    return c.fail(mode + " resizing needs floating-point data");
  if (c.getInt("antialias", 0) || c.attr("axes") || c.attr("keep_aspect_ratio_policy"))
    return c.fail("antialias, axes and keep_aspect_ratio_policy are not supported");
  // Scales and sizes: Upsample/Resize-10 take scales as input 1 (or an attribute);
  // later Resize takes roi, scales, sizes.
  size_t scalesInput = c.opset < 11 ? 1 : 2, sizesInput = 3;
  SmallVector<double> scales(rank, 1.0);
  SmallVector<int64_t> sizes(in);
  if (c.has(sizesInput) && c.type(sizesInput).getNumElements() > 0) {
    auto v = c.constantInts(sizesInput, "sizes");
    if (failed(v))
      return failure();
    if ((int64_t)v->size() != rank)
      return c.fail("sizes needs one entry per dimension");
    for (int64_t d = 0; d < rank; ++d) {
      sizes[d] = (*v)[d];
      scales[d] = double(sizes[d]) / double(in[d]);
    }
  } else {
    std::optional<ConstantTensor> v;
    if (c.has(scalesInput))
      v = c.requiredConstant(scalesInput);
    if (auto attrScales = c.attr("scales")) {
      ConstantTensor t = ConstantTensor::zeros(RankedTensorType::get({attrScales->floats_size()}, c.b.getF32Type()));
      for (int i = 0; i < attrScales->floats_size(); ++i)
        t.floats[i] = attrScales->floats(i);
      v = t;
    }
    if (!v || v->size() != rank)
      return c.fail("scales must be a constant with one entry per dimension");
    for (int64_t d = 0; d < rank; ++d) {
      scales[d] = v->asDouble(d);
      sizes[d] = (int64_t)std::floor(in[d] * scales[d]);
    }
  }
  SmallVector<Crop> crops(rank);
  bool cropping = transform == "tf_crop_and_resize";
  if (cropping) {
    auto roi = c.has(1) ? c.requiredConstant(1) : std::nullopt;
    if (!roi || roi->size() != 2 * rank)
      return c.fail("tf_crop_and_resize needs a constant roi with 2 entries per dimension");
    for (int64_t d = 0; d < rank; ++d)
      crops[d] = {roi->asDouble(d), roi->asDouble(d + rank)};
  }
  double extrapolation = c.getFloat("extrapolation_value", 0);
  // Before Resize-11, nearest meant the floor of the asymmetric coordinate.
  std::string nearestMode = c.node.op_type() == "Upsample" || c.opset < 11
                                ? "floor"
                                : c.getString("nearest_mode", "round_prefer_floor");
  double cubicA = c.getFloat("cubic_coeff_a", -0.75);
  bool excludeOutside = c.getInt("exclude_outside", 0);
  Value x = c.input(0);
  for (int64_t d = 0; d < rank; ++d) {
    if (sizes[d] == in[d] && scales[d] == 1.0 && crops[d].start == 0 && crops[d].end == 1)
      continue;
    if (sizes[d] < 1)
      return c.fail("the output would be empty");
    // Output position i reads taps[k].index[i] with weight taps[k].weight[i].
    struct Tap {
      SmallVector<int64_t> index;
      SmallVector<double> weight;
    };
    int64_t tapCount = mode == "nearest" ? 1 : mode == "linear" ? 2 : 4;
    SmallVector<Tap> taps(tapCount, Tap{SmallVector<int64_t>(sizes[d]), SmallVector<double>(sizes[d])});
    // Crops reaching outside the input give extrapolation_value there.
    SmallVector<bool> outside(sizes[d], false);
    for (int64_t i = 0; i < sizes[d]; ++i) {
      auto v = sourceCoordinate(transform, i, in[d], sizes[d], scales[d], crops[d]);
      if (!v)
        return c.fail("coordinate_transformation_mode '" + transform + "' is not supported");
      if (cropping && (*v < 0 || *v > in[d] - 1)) {
        outside[i] = true;
        v = 0.0;
      }
      if (mode == "nearest") {
        taps[0].index[i] = std::clamp<int64_t>(nearestIndex(nearestMode, *v), 0, in[d] - 1);
        taps[0].weight[i] = 1;
      } else if (mode == "linear") {
        double clamped = std::clamp(*v, 0.0, double(in[d] - 1));
        int64_t lo = (int64_t)std::floor(clamped);
        taps[0].index[i] = lo;
        taps[1].index[i] = std::min<int64_t>(lo + 1, in[d] - 1);
        taps[1].weight[i] = clamped - lo;
        taps[0].weight[i] = 1 - taps[1].weight[i];
      } else {
        // Keys' cubic convolution over base-1 .. base+2, where base is the sample at
        // or left of v (an exact hit counts as the right end of the unit interval).
        int64_t base = (int64_t)std::ceil(*v) - 1;
        double t = *v - base;
        double w[4] = {cubicWeight(cubicA, t + 1), cubicWeight(cubicA, t),
                       cubicWeight(cubicA, 1 - t), cubicWeight(cubicA, 2 - t)};
        double total = 0;
        for (int k = 0; k < 4; ++k) {
          int64_t src = base - 1 + k;
          if (excludeOutside && (src < 0 || src >= in[d]))
            w[k] = 0;
          total += w[k];
        }
        for (int k = 0; k < 4; ++k) {
          taps[k].index[i] = std::clamp<int64_t>(base - 1 + k, 0, in[d] - 1);
          taps[k].weight[i] = excludeOutside ? w[k] / total : w[k];
        }
      }
    }
    auto indexType = RankedTensorType::get({sizes[d]}, c.b.getI64Type());
    SmallVector<int64_t> weightShape(rank, 1);
    weightShape[d] = sizes[d];
    Value sum;
    for (Tap &tap : taps) {
      Value g = c.create<GatherOp>(x, c.constantOf(indexType, [&](int64_t i) { return (double)tap.index[i]; }),
                                   c.b.getI64IntegerAttr(d));
      if (mode != "nearest")
        g = c.create<MulOp>(g, c.constantOf(RankedTensorType::get(weightShape, et),
                                             [&](int64_t i) { return tap.weight[i]; }));
      sum = sum ? c.create<AddOp>(sum, g) : g;
    }
    if (llvm::is_contained(outside, true)) {
      Value mask = c.constantOf(RankedTensorType::get(weightShape, c.b.getI1Type()),
                                [&](int64_t i) { return (double)outside[i]; });
      sum = c.create<SelectOp>(mask, c.scalar(extrapolation, et), sum);
    }
    x = sum;
  }
  out.push_back(x);
  return success();
}

} // namespace

void onnx_import::addLayoutImporters(ImporterTable &t) {
  t["Resize"] = importResize;
  t["Upsample"] = importResize;
  t["GatherElements"] = importGatherElements;
  t["Tile"] = importTile;
  t["ReverseSequence"] = importReverseSequence;
  t["DepthToSpace"] = importDepthToSpace;
  t["SpaceToDepth"] = importSpaceToDepth;
  t["Trilu"] = importTrilu;
  t["CumSum"] = importCumSum;
  t["EyeLike"] = importEyeLike;
  t["OneHot"] = importOneHot;
}
