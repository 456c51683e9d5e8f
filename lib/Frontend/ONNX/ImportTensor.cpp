// ONNX importers for data movement and shape ops: Reshape, Transpose, Concat, Slice,
// Split, Pad, Gather, Squeeze/Unsqueeze, Flatten, Expand, and the ops that fold to
// constants on static shapes (Shape, Size, Constant, ConstantOfShape, Range).
#include "NodeImporter.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

ArrayRef<int64_t> shapeOf(Value v) { return cast<RankedTensorType>(v.getType()).getShape(); }
Type elementType(Value v) { return cast<RankedTensorType>(v.getType()).getElementType(); }

LogicalResult importReshape(NodeContext &c, SmallVectorImpl<Value> &out) {
  SmallVector<int64_t> shape;
  if (c.opset < 5) {
    shape = c.getInts("shape").value_or(SmallVector<int64_t>{});
  } else {
    auto v = c.constantInts(1, "the shape input");
    if (failed(v))
      return failure();
    shape = *v;
  }
  ArrayRef<int64_t> in = c.type(0).getShape();
  bool allowZero = c.getInt("allowzero", 0);
  int64_t known = 1, inferred = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0 && !allowZero) {
      if (i >= in.size())
        return c.fail("shape entry 0 at position " + Twine(i) + " has no input dimension to copy");
      shape[i] = in[i];
    }
    if (shape[i] == -1) {
      if (inferred >= 0)
        return c.fail("shape has more than one -1");
      inferred = i;
    } else if (shape[i] < 0) {
      return c.fail("shape entry " + Twine(shape[i]) + " is invalid");
    } else {
      known *= shape[i];
    }
  }
  int64_t total = elementCount(in);
  if (inferred >= 0) {
    if (known == 0 || total % known)
      return c.fail("cannot infer the -1 dimension");
    shape[inferred] = total / known;
  } else if (known != total) {
    return c.fail("shape has " + Twine(known) + " elements but the input has " + Twine(total));
  }
  out.push_back(c.reshape(c.input(0), shape));
  return success();
}

LogicalResult importTranspose(NodeContext &c, SmallVectorImpl<Value> &out) {
  int64_t rank = c.type(0).getRank();
  SmallVector<int64_t> perm;
  if (auto p = c.getInts("perm"))
    perm = *p;
  else
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  if (!isPermutation(perm, rank))
    return c.fail("perm is not a permutation of the input's dimensions");
  out.push_back(c.create<TransposeOp>(c.input(0), c.b.getDenseI64ArrayAttr(perm)));
  return success();
}

LogicalResult importConcat(NodeContext &c, SmallVectorImpl<Value> &out) {
  if (c.numInputs() == 0)
    return c.fail("needs at least one input");
  auto axis = c.axis(c.getInt("axis", 0), c.type(0).getRank());
  if (failed(axis))
    return failure();
  SmallVector<Value> inputs;
  for (size_t i = 0; i < c.numInputs(); ++i) {
    auto t = c.type(i);
    if (t.getRank() != c.type(0).getRank() || t.getElementType() != c.type(0).getElementType())
      return c.fail("inputs differ in rank or element type");
    for (int64_t d = 0; d < t.getRank(); ++d)
      if (d != *axis && t.getDimSize(d) != c.type(0).getDimSize(d))
        return c.fail("inputs differ in dimension " + Twine(d));
    if (t.getDimSize(*axis) > 0)
      inputs.push_back(c.input(i));
  }
  if (inputs.empty())
    inputs.push_back(c.input(0));
  out.push_back(c.create<ConcatOp>(inputs, c.b.getI64IntegerAttr(*axis)));
  return success();
}

/// Builds a kiln.slice from ONNX's (starts, ends, axes, steps) with its clamping rules.
LogicalResult slice(NodeContext &c, Value x, ArrayRef<int64_t> starts, ArrayRef<int64_t> ends,
                    ArrayRef<int64_t> axes, ArrayRef<int64_t> steps, Value &result) {
  ArrayRef<int64_t> shape = shapeOf(x);
  int64_t rank = shape.size();
  SmallVector<int64_t> s(rank, 0), sizes(shape), st(rank, 1);
  if (starts.size() != ends.size() || axes.size() != starts.size() || steps.size() != starts.size())
    return c.fail("starts, ends, axes and steps differ in length");
  for (size_t i = 0; i < starts.size(); ++i) {
    auto axis = c.axis(axes[i], rank);
    if (failed(axis))
      return failure();
    int64_t dim = shape[*axis], step = steps[i];
    if (step == 0)
      return c.fail("steps must be non-zero");
    auto clampIndex = [&](int64_t v, bool isStart) {
      if (v < 0)
        v += dim;
      if (step > 0)
        return std::clamp<int64_t>(v, 0, dim);
      return std::clamp<int64_t>(v, -1, dim - 1);
    };
    int64_t b = clampIndex(starts[i], true), e = clampIndex(ends[i], false);
    if (step < 0 && starts[i] >= dim)
      b = dim - 1;
    int64_t count = step > 0 ? (e - b + step - 1) / step : (b - e + (-step) - 1) / (-step);
    count = std::max<int64_t>(count, 0);
    s[*axis] = count ? b : 0;
    sizes[*axis] = count;
    st[*axis] = step;
  }
  if (llvm::is_contained(sizes, 0)) {
    // Nothing to read: an empty constant, which shape arithmetic can still use.
    auto type = RankedTensorType::get(sizes, cast<RankedTensorType>(x.getType()).getElementType());
    result = c.create<ConstantOp>(ConstantTensor::zeros(type).toAttr());
    return success();
  }
  result = c.create<SliceOp>(x, c.b.getDenseI64ArrayAttr(s), c.b.getDenseI64ArrayAttr(sizes),
                             c.b.getDenseI64ArrayAttr(st));
  return success();
}

SmallVector<int64_t> iota(int64_t n) {
  SmallVector<int64_t> r(n);
  for (int64_t i = 0; i < n; ++i)
    r[i] = i;
  return r;
}

LogicalResult importSlice(NodeContext &c, SmallVectorImpl<Value> &out) {
  SmallVector<int64_t> starts, ends, axes, steps;
  if (c.opset < 10) {
    starts = c.getInts("starts").value_or(SmallVector<int64_t>{});
    ends = c.getInts("ends").value_or(SmallVector<int64_t>{});
    axes = c.getInts("axes").value_or(iota(starts.size()));
  } else {
    auto s = c.constantInts(1, "starts"), e = c.constantInts(2, "ends");
    if (failed(s) || failed(e))
      return failure();
    starts = *s;
    ends = *e;
    if (c.has(3)) {
      auto a = c.constantInts(3, "axes");
      if (failed(a))
        return failure();
      axes = *a;
    } else {
      axes = iota(starts.size());
    }
    if (c.has(4)) {
      auto st = c.constantInts(4, "steps");
      if (failed(st))
        return failure();
      steps = *st;
    }
  }
  if (steps.empty())
    steps.assign(starts.size(), 1);
  Value result;
  if (failed(slice(c, c.input(0), starts, ends, axes, steps, result)))
    return failure();
  out.push_back(result);
  return success();
}

LogicalResult importSplit(NodeContext &c, SmallVectorImpl<Value> &out) {
  int64_t rank = c.type(0).getRank();
  auto axis = c.axis(c.getInt("axis", 0), rank);
  if (failed(axis))
    return failure();
  int64_t dim = c.type(0).getDimSize(*axis), parts = c.node.output_size();
  SmallVector<int64_t> sizes;
  if (c.opset < 13 && c.attr("split")) {
    sizes = *c.getInts("split");
  } else if (c.opset >= 13 && c.has(1)) {
    auto v = c.constantInts(1, "split");
    if (failed(v))
      return failure();
    sizes = *v;
  } else {
    if (c.opset >= 18 && c.attr("num_outputs"))
      parts = c.getInt("num_outputs", parts);
    int64_t chunk = (dim + parts - 1) / parts;
    for (int64_t at = 0; at < dim; at += chunk)
      sizes.push_back(std::min(chunk, dim - at));
  }
  int64_t total = 0;
  for (int64_t s : sizes)
    total += s;
  if (total != dim || (int64_t)sizes.size() != c.node.output_size())
    return c.fail("split sizes do not match the input dimension or the output count");
  int64_t at = 0;
  for (int64_t s : sizes) {
    Value part;
    if (failed(slice(c, c.input(0), {at}, {at + s}, {*axis}, {1}, part)))
      return failure();
    out.push_back(part);
    at += s;
  }
  return success();
}

/// Edge and reflect padding: along each padded axis, a gather whose constant indices
/// clamp (edge) or mirror (reflect) the output position into the input.
LogicalResult padByGather(NodeContext &c, Value x, ArrayRef<int64_t> pads, bool edge,
                          SmallVectorImpl<Value> &out) {
  int64_t rank = shapeOf(x).size();
  for (int64_t d = 0; d < rank; ++d) {
    int64_t before = pads[d], after = pads[d + rank], in = shapeOf(x)[d];
    if (before < 0 || after < 0)
      return c.fail("negative pads are only supported in constant mode");
    if (!before && !after)
      continue;
    if (!edge && (before >= in || after >= in))
      return c.fail("reflect pads must be smaller than the padded dimension");
    int64_t size = in + before + after;
    Value indices = c.constantOf(RankedTensorType::get({size}, c.b.getI64Type()), [&](int64_t i) {
      int64_t src = i - before;
      if (edge)
        return (double)std::clamp<int64_t>(src, 0, in - 1);
      if (src < 0)
        src = -src;
      if (src >= in)
        src = 2 * (in - 1) - src;
      return (double)src;
    });
    x = c.create<GatherOp>(x, indices, c.b.getI64IntegerAttr(d));
  }
  out.push_back(x);
  return success();
}

LogicalResult importPad(NodeContext &c, SmallVectorImpl<Value> &out) {
  std::string mode = c.getString("mode", "constant");
  if (mode != "constant" && mode != "edge" && mode != "reflect")
    return c.fail("pad mode '" + mode + "' is not supported");
  int64_t rank = c.type(0).getRank();
  SmallVector<int64_t> pads;
  double value = 0;
  if (c.opset < 11) {
    pads = c.getInts("pads").value_or(SmallVector<int64_t>{});
    value = c.getFloat("value", 0);
  } else {
    auto p = c.constantInts(1, "pads");
    if (failed(p))
      return failure();
    pads = *p;
    if (c.has(2)) {
      auto v = c.requiredConstant(2);
      if (!v || v->size() != 1)
        return c.fail("constant_value must be a constant scalar");
      value = v->asDouble(0);
    }
    if (c.has(3)) {
      auto axes = c.constantInts(3, "axes");
      if (failed(axes))
        return failure();
      SmallVector<int64_t> full(2 * rank, 0);
      for (size_t i = 0; i < axes->size(); ++i) {
        auto a = c.axis((*axes)[i], rank);
        if (failed(a) || pads.size() != 2 * axes->size())
          return c.fail("pads and axes do not match");
        full[*a] = pads[i];
        full[*a + rank] = pads[i + axes->size()];
      }
      pads = full;
    }
  }
  if ((int64_t)pads.size() != 2 * rank)
    return c.fail("pads needs two entries per dimension");
  if (mode != "constant")
    return padByGather(c, c.input(0), pads, mode == "edge", out);
  // Negative pads crop: pad the positive part, then slice.
  SmallVector<int64_t> positive(pads.size());
  for (size_t i = 0; i < pads.size(); ++i)
    positive[i] = std::max<int64_t>(pads[i], 0);
  Value y = c.create<PadOp>(c.input(0), c.b.getDenseI64ArrayAttr(positive), c.b.getF64FloatAttr(value));
  if (llvm::any_of(pads, [](int64_t p) { return p < 0; })) {
    SmallVector<int64_t> starts, ends, axes, steps;
    for (int64_t d = 0; d < rank; ++d) {
      starts.push_back(-std::min<int64_t>(pads[d], 0));
      ends.push_back(shapeOf(y)[d] + std::min<int64_t>(pads[d + rank], 0));
      axes.push_back(d);
      steps.push_back(1);
    }
    if (failed(slice(c, y, starts, ends, axes, steps, y)))
      return failure();
  }
  out.push_back(y);
  return success();
}

LogicalResult importGather(NodeContext &c, SmallVectorImpl<Value> &out) {
  auto axis = c.axis(c.getInt("axis", 0), c.type(0).getRank());
  if (failed(axis))
    return failure();
  if (!c.type(1).getElementType().isInteger(32) && !c.type(1).getElementType().isInteger(64))
    return c.fail("indices must be int32 or int64");
  if (auto indices = c.constant(1)) {
    int64_t dim = c.type(0).getDimSize(*axis);
    for (int64_t v : indices->ints)
      if (v < -dim || v >= dim)
        return c.fail("index " + Twine(v) + " is out of range for a dimension of " + Twine(dim));
  }
  out.push_back(c.create<GatherOp>(c.input(0), c.input(1), c.b.getI64IntegerAttr(*axis)));
  return success();
}

/// Reads Squeeze/Unsqueeze axes: an attribute before opset 13, an input after.
FailureOr<SmallVector<int64_t>> squeezeAxes(NodeContext &c) {
  if (c.opset < 13)
    return c.getInts("axes").value_or(SmallVector<int64_t>{});
  if (!c.has(1))
    return SmallVector<int64_t>{};
  return c.constantInts(1, "axes");
}

LogicalResult importSqueeze(NodeContext &c, SmallVectorImpl<Value> &out) {
  auto axes = squeezeAxes(c);
  if (failed(axes))
    return failure();
  ArrayRef<int64_t> in = c.type(0).getShape();
  SmallVector<bool> drop(in.size(), false);
  if (axes->empty())
    for (size_t d = 0; d < in.size(); ++d)
      drop[d] = in[d] == 1;
  for (int64_t a : *axes) {
    auto n = c.axis(a, in.size());
    if (failed(n))
      return failure();
    if (in[*n] != 1)
      return c.fail("cannot squeeze dimension " + Twine(*n) + " of size " + Twine(in[*n]));
    drop[*n] = true;
  }
  SmallVector<int64_t> shape;
  for (size_t d = 0; d < in.size(); ++d)
    if (!drop[d])
      shape.push_back(in[d]);
  out.push_back(c.reshape(c.input(0), shape));
  return success();
}

LogicalResult importUnsqueeze(NodeContext &c, SmallVectorImpl<Value> &out) {
  auto axes = squeezeAxes(c);
  if (failed(axes))
    return failure();
  ArrayRef<int64_t> in = c.type(0).getShape();
  int64_t rank = in.size() + axes->size();
  SmallVector<bool> inserted(rank, false);
  for (int64_t a : *axes) {
    auto n = c.axis(a, rank);
    if (failed(n))
      return failure();
    if (inserted[*n])
      return c.fail("axes repeat " + Twine(*n));
    inserted[*n] = true;
  }
  SmallVector<int64_t> shape;
  size_t next = 0;
  for (int64_t d = 0; d < rank; ++d)
    shape.push_back(inserted[d] ? 1 : in[next++]);
  out.push_back(c.reshape(c.input(0), shape));
  return success();
}

LogicalResult importFlatten(NodeContext &c, SmallVectorImpl<Value> &out) {
  ArrayRef<int64_t> in = c.type(0).getShape();
  int64_t rank = in.size();
  int64_t axis = c.getInt("axis", 1);
  if (axis < -rank || axis > rank)
    return c.fail("axis " + Twine(axis) + " is out of range");
  if (axis < 0)
    axis += rank;
  out.push_back(c.reshape(c.input(0), {elementCount(in.take_front(axis)), elementCount(in.drop_front(axis))}));
  return success();
}

LogicalResult importExpand(NodeContext &c, SmallVectorImpl<Value> &out) {
  auto shape = c.constantInts(1, "the shape input");
  if (failed(shape))
    return failure();
  auto target = broadcastShapes(c.type(0).getShape(), *shape);
  if (failed(target))
    return c.fail("shape does not broadcast with the input");
  if (*target == SmallVector<int64_t>(c.type(0).getShape())) {
    out.push_back(c.input(0));
    return success();
  }
  Type et = c.type(0).getElementType();
  if (et.isInteger(1))
    return c.fail("expanding bool tensors is not supported");
  // Broadcasting against zeros of the target shape materializes the expansion.
  Value z = c.zeros(RankedTensorType::get(*target, et));
  out.push_back(c.b.create<AddOp>(c.loc, c.input(0), z));
  return success();
}

LogicalResult importConstant(NodeContext &c, SmallVectorImpl<Value> &out) {
  MLIRContext *ctx = c.b.getContext();
  if (auto *a = c.attr("value")) {
    std::string why;
    auto attr = tensorToAttr(ctx, a->t(), "", why);
    if (failed(attr))
      return c.fail(why);
    out.push_back(c.create<ConstantOp>(*attr));
    return success();
  }
  auto make = [&](Type et, ArrayRef<int64_t> shape, ArrayRef<double> values) {
    return c.constantOf(RankedTensorType::get(shape, et), [&](int64_t i) { return values[i]; });
  };
  Builder b(ctx);
  if (auto *a = c.attr("value_float")) {
    out.push_back(make(b.getF32Type(), {}, {a->f()}));
  } else if (auto *a = c.attr("value_int")) {
    out.push_back(make(b.getI64Type(), {}, {(double)a->i()}));
  } else if (auto *a = c.attr("value_floats")) {
    SmallVector<double> v(a->floats().begin(), a->floats().end());
    out.push_back(make(b.getF32Type(), {(int64_t)v.size()}, v));
  } else if (auto ints = c.getInts("value_ints")) {
    out.push_back(c.constantI64(*ints));
  } else {
    return c.fail("only tensor, float and int values are supported");
  }
  return success();
}

LogicalResult importShape(NodeContext &c, SmallVectorImpl<Value> &out) {
  ArrayRef<int64_t> shape = c.type(0).getShape();
  int64_t rank = shape.size();
  int64_t start = c.getInt("start", 0), end = c.getInt("end", rank);
  start = std::clamp<int64_t>(start < 0 ? start + rank : start, 0, rank);
  end = std::clamp<int64_t>(end < 0 ? end + rank : end, 0, rank);
  out.push_back(c.constantI64(shape.slice(start, std::max<int64_t>(end - start, 0))));
  return success();
}

LogicalResult importConstantOfShape(NodeContext &c, SmallVectorImpl<Value> &out) {
  auto shape = c.constantInts(0, "the shape input");
  if (failed(shape))
    return failure();
  Type et = c.b.getF32Type();
  double value = 0;
  if (auto *a = c.attr("value")) {
    std::string why;
    auto attr = tensorToAttr(c.b.getContext(), a->t(), "", why);
    if (failed(attr))
      return c.fail(why);
    auto t = ConstantTensor::read(*attr);
    if (!t || t->size() != 1)
      return c.fail("value must hold one element");
    et = t->type.getElementType();
    value = t->asDouble(0);
  }
  ConstantTensor t = ConstantTensor::zeros(RankedTensorType::get(*shape, et));
  if (t.isFloat())
    std::fill(t.floats.begin(), t.floats.end(), value);
  else
    std::fill(t.ints.begin(), t.ints.end(), (int64_t)value);
  out.push_back(c.create<ConstantOp>(t.toAttr()));
  return success();
}

LogicalResult importRange(NodeContext &c, SmallVectorImpl<Value> &out) {
  auto start = c.requiredConstant(0), limit = c.requiredConstant(1), delta = c.requiredConstant(2);
  if (!start || !limit || !delta)
    return c.fail("start, limit and delta must be constants");
  double s = start->asDouble(0), l = limit->asDouble(0), d = delta->asDouble(0);
  if (d == 0)
    return c.fail("delta must be non-zero");
  int64_t n = std::max<int64_t>((int64_t)std::ceil((l - s) / d), 0);
  if (n == 0)
    return c.fail("empty ranges are not supported");
  ConstantTensor t = ConstantTensor::zeros(RankedTensorType::get({n}, c.type(0).getElementType()));
  for (int64_t i = 0; i < n; ++i) {
    if (t.isFloat())
      t.floats[i] = s + i * d;
    else
      t.ints[i] = (int64_t)s + i * (int64_t)d;
  }
  out.push_back(c.create<ConstantOp>(t.toAttr()));
  return success();
}

LogicalResult importIdentity(NodeContext &c, SmallVectorImpl<Value> &out) {
  out.push_back(c.input(0));
  return success();
}

LogicalResult importDropout(NodeContext &c, SmallVectorImpl<Value> &out) {
  if (c.getInt("is_test", 1) == 0 && c.opset < 7)
    return c.fail("training-mode dropout is not supported");
  if (c.has(2)) {
    // Training-mode dropout is random unless its ratio is 0, when it is the identity.
    auto training = c.requiredConstant(2);
    std::optional<ConstantTensor> ratio;
    if (c.has(1))
      ratio = c.requiredConstant(1);
    if (!training || (training->asDouble(0) != 0 && !(ratio && ratio->asDouble(0) == 0)))
      return c.fail("training-mode dropout with a non-zero ratio is random; only inference is "
                    "supported");
  }
  out.push_back(c.input(0));
  // The mask of inference-mode dropout keeps everything.
  auto maskType = RankedTensorType::get(c.type(0).getShape(), c.b.getI1Type());
  out.push_back(c.create<ConstantOp>(DenseElementsAttr::get(maskType, true)));
  return success();
}

} // namespace

void onnx_import::addTensorImporters(ImporterTable &t) {
  t["Reshape"] = importReshape;
  t["Transpose"] = importTranspose;
  t["Concat"] = importConcat;
  t["Slice"] = importSlice;
  t["Split"] = importSplit;
  t["Pad"] = importPad;
  t["Gather"] = importGather;
  t["Squeeze"] = importSqueeze;
  t["Unsqueeze"] = importUnsqueeze;
  t["Flatten"] = importFlatten;
  t["Expand"] = importExpand;
  t["Constant"] = importConstant;
  t["Shape"] = importShape;
  t["Size"] = [](NodeContext &c, SmallVectorImpl<Value> &out) -> LogicalResult {
    auto type = RankedTensorType::get({}, c.b.getI64Type());
    out.push_back(c.create<ConstantOp>(
        DenseElementsAttr::get(type, ArrayRef<int64_t>{c.type(0).getNumElements()})));
    return success();
  };
  t["ConstantOfShape"] = importConstantOfShape;
  t["Range"] = importRange;
  t["Identity"] = importIdentity;
  t["Dropout"] = importDropout;
}
