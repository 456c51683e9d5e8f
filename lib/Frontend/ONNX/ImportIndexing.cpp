// ONNX importers for indexing ops: GatherND (a gather on the flattened indexed
// dimensions), TopK (k rounds of arg_max or arg_min, each masking what it picked),
// and ScatterND, ScatterElements and Scatter (all kiln.scatter_nd).
#include "NodeImporter.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

ArrayRef<int64_t> shapeOf(Value v) { return cast<RankedTensorType>(v.getType()).getShape(); }

/// GatherND: the last index dimension addresses m data dimensions after the b batch
/// dimensions; their row-major linear index (plus the batch entry's offset) picks a
/// row of the data reshaped to [batch * indexed, rest...].
LogicalResult importGatherND(NodeContext &c, SmallVectorImpl<Value> &out) {
  ArrayRef<int64_t> data = c.type(0).getShape(), idx = c.type(1).getShape();
  int64_t r = data.size(), q = idx.size(), b = c.getInt("batch_dims", 0);
  Type i64 = c.b.getI64Type(), it = c.type(1).getElementType();
  if (!it.isInteger(32) && !it.isInteger(64))
    return c.fail("indices must be int32 or int64");
  if (q < 1 || b < 0 || b >= std::min(q, r))
    return c.fail("batch_dims must be smaller than both ranks");
  int64_t m = idx.back();
  if (m < 1 || m > r - b || data.take_front(b) != idx.take_front(b))
    return c.fail("indices do not fit the data's shape and batch dimensions");
  ArrayRef<int64_t> indexed = data.slice(b, m), rest = data.drop_front(b + m);
  Value indices = it == i64 ? c.input(1) : c.cast(c.input(1), i64);
  // Negative indices count from the end of their dimension.
  SmallVector<int64_t> lastAxis(q, 1);
  lastAxis.back() = m;
  auto perIndex = [&](auto at) { return c.constantOf(RankedTensorType::get(lastAxis, i64), at); };
  Value dims = perIndex([&](int64_t j) { return (double)indexed[j]; });
  Value negative = c.create<CompareOp>(indices, c.scalar(0, i64), c.b.getStringAttr("lt"));
  indices = c.create<SelectOp>(negative, c.create<AddOp>(indices, dims), indices);
  Value strides = perIndex([&](int64_t j) { return (double)elementCount(indexed.drop_front(j + 1)); });
  Value linear = c.create<ReduceSumOp>(c.create<MulOp>(indices, strides),
                                       c.b.getDenseI64ArrayAttr({q - 1}), c.b.getBoolAttr(false));
  int64_t rows = elementCount(indexed);
  if (b > 0) {
    SmallVector<int64_t> batchShape(idx.drop_back());
    for (int64_t d = b; d < q - 1; ++d)
      batchShape[d] = 1;
    Value offsets = c.constantOf(RankedTensorType::get(batchShape, i64),
                                 [&](int64_t i) { return (double)(i * rows); });
    linear = c.create<AddOp>(linear, offsets);
  }
  SmallVector<int64_t> flat = {elementCount(data.take_front(b)) * rows};
  flat.append(rest.begin(), rest.end());
  out.push_back(c.create<GatherOp>(c.reshape(c.input(0), flat), linear, c.b.getI64IntegerAttr(0)));
  return success();
}

/// The reduction attribute of ScatterND and ScatterElements (opset 16 and later).
FailureOr<std::string> scatterReduction(NodeContext &c) {
  std::string reduction = c.getString("reduction", "none");
  if (!llvm::is_contained({"none", "add", "mul", "max", "min"}, reduction)) {
    (void)c.fail("reduction '" + reduction + "' is not supported");
    return failure();
  }
  return reduction;
}

LogicalResult importScatterND(NodeContext &c, SmallVectorImpl<Value> &out) {
  auto reduction = scatterReduction(c);
  if (failed(reduction))
    return failure();
  ArrayRef<int64_t> data = c.type(0).getShape(), idx = c.type(1).getShape();
  Type it = c.type(1).getElementType();
  if (!it.isInteger(32) && !it.isInteger(64))
    return c.fail("indices must be int32 or int64");
  if (idx.empty() || idx.back() < 1 || idx.back() > (int64_t)data.size())
    return c.fail("index rows must address 1 to rank(data) dimensions");
  SmallVector<int64_t> expected(idx.drop_back());
  llvm::append_range(expected, data.drop_front(idx.back()));
  if (c.type(2).getShape() != ArrayRef<int64_t>(expected) || c.type(2).getElementType() != c.type(0).getElementType())
    return c.fail("updates do not have the shape indices and data imply");
  out.push_back(c.create<ScatterNDOp>(c.input(0).getType(), c.input(0), c.input(1), c.input(2),
                                      c.b.getStringAttr(*reduction)));
  return success();
}

/// ScatterElements (and the older Scatter): element i of updates goes to data at i with
/// coordinate `axis` replaced by indices[i]. Built as a scatter_nd whose index rows are
/// those full coordinates.
LogicalResult importScatterElements(NodeContext &c, SmallVectorImpl<Value> &out) {
  auto reduction = scatterReduction(c);
  if (failed(reduction))
    return failure();
  int64_t rank = c.type(0).getRank();
  auto axis = c.axis(c.getInt("axis", 0), rank);
  if (failed(axis))
    return failure();
  ArrayRef<int64_t> shape = c.type(1).getShape();
  Type i64 = c.b.getI64Type(), it = c.type(1).getElementType();
  if ((!it.isInteger(32) && !it.isInteger(64)) || c.type(1).getRank() != rank ||
      c.type(2).getShape() != shape || c.type(2).getElementType() != c.type(0).getElementType())
    return c.fail("indices and updates must have one shape, of the data's rank");
  SmallVector<int64_t> column(shape);
  column.push_back(1);
  auto columnType = RankedTensorType::get(column, i64);
  Value indices = c.reshape(it == i64 ? c.input(1) : c.cast(c.input(1), i64), column);
  SmallVector<Value> coords;
  auto strides = rowMajorStrides(shape);
  for (int64_t d = 0; d < rank; ++d)
    coords.push_back(d == *axis ? indices : c.constantOf(columnType, [&](int64_t i) {
      return (double)(i / strides[d] % shape[d]);
    }));
  Value rows = c.create<ConcatOp>(coords, c.b.getI64IntegerAttr(rank));
  out.push_back(c.create<ScatterNDOp>(c.input(0).getType(), c.input(0), rows, c.input(2),
                                      c.b.getStringAttr(*reduction)));
  return success();
}

// Each of TopK's k rounds is a handful of ops; beyond this, k needs a real sort.
constexpr int64_t kMaxUnrolledTopK = 64;

/// TopK: round j takes the arg_max (arg_min when smallest) along the axis, gathers its
/// value, and masks that position with -inf (+inf) for the next round. Ties go to the
/// lower index, as ONNX asks.
LogicalResult importTopK(NodeContext &c, SmallVectorImpl<Value> &out) {
  int64_t rank = c.type(0).getRank();
  auto axis = c.axis(c.getInt("axis", -1), rank);
  if (failed(axis))
    return failure();
  int64_t k;
  if (c.opset < 10) {
    k = c.getInt("k", 0);
  } else {
    auto kv = c.requiredConstant(1);
    if (!kv || kv->size() != 1)
      return c.fail("k must be a constant");
    k = (int64_t)kv->asDouble(0);
  }
  int64_t n = c.type(0).getDimSize(*axis);
  if (k < 1 || k > n)
    return c.fail("k must be between 1 and the axis' size " + Twine(n));
  if (k > kMaxUnrolledTopK)
    return c.fail("k above " + Twine(kMaxUnrolledTopK) + " is not supported");
  bool largest = c.getInt("largest", 1);
  Type et = c.type(0).getElementType();
  if (et.isInteger(1))
    return c.fail("bool inputs are not supported");
  double sentinel;
  if (isa<FloatType>(et))
    sentinel = largest ? -INFINITY : INFINITY;
  else
    sentinel = largest ? -std::ldexp(1.0, et.getIntOrFloatBitWidth() - 1)
                       : std::ldexp(1.0, et.getIntOrFloatBitWidth() - 1) - 1;
  Value positions = c.positions(rank, *axis, n);
  Value remaining = c.input(0), mask = c.scalar(sentinel, et);
  SmallVector<Value> values, indices;
  for (int64_t j = 0; j < k; ++j) {
    auto axisAttr = c.b.getI64IntegerAttr(*axis);
    auto keep = c.b.getBoolAttr(true), first = c.b.getBoolAttr(false);
    Value index = largest ? c.create<ArgMaxOp>(remaining, axisAttr, keep, first)
                          : c.create<ArgMinOp>(remaining, axisAttr, keep, first);
    indices.push_back(index);
    values.push_back(c.create<GatherElementsOp>(c.input(0), index, c.b.getI64IntegerAttr(*axis)));
    if (j + 1 < k) {
      Value picked = c.create<CompareOp>(positions, index, c.b.getStringAttr("eq"));
      remaining = c.create<SelectOp>(picked, mask, remaining);
    }
  }
  auto join = [&](SmallVector<Value> &parts) {
    return parts.size() == 1 ? parts[0] : c.create<ConcatOp>(parts, c.b.getI64IntegerAttr(*axis));
  };
  out.push_back(join(values));
  out.push_back(join(indices));
  return success();
}

} // namespace

void onnx_import::addIndexingImporters(ImporterTable &t) {
  t["GatherND"] = importGatherND;
  t["TopK"] = importTopK;
  t["ScatterND"] = importScatterND;
  t["ScatterElements"] = importScatterElements;
  t["Scatter"] = importScatterElements;
}
