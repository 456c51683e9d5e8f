// ONNX importer for Det: Gaussian elimination with partial pivoting, unrolled over the
// (static) matrix size, on the whole batch of matrices at once.
#include "NodeImporter.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

Value sumOver(NodeContext &c, Value x, int64_t axis) {
  return c.create<ReduceSumOp>(x, c.b.getDenseI64ArrayAttr({axis}), c.b.getBoolAttr(false));
}

/// One elimination step on the trailing [B, m, m] matrices `m`: swaps the row with the
/// largest |first column| to the top, multiplies `det` by the pivot (negated when rows
/// moved), and returns the [B, m-1, m-1] Schur complement.
Value eliminate(NodeContext &c, Value mat, Value &det) {
  auto type = cast<RankedTensorType>(mat.getType());
  int64_t batch = type.getDimSize(0), m = type.getDimSize(1);
  Type et = type.getElementType();
  Value column = c.reshape(c.sliceAxis(mat, 2, 0, 1), {batch, m});
  Value pivotAt = c.create<ArgMaxOp>(c.create<AbsOp>(column.getType(), column),
                                     c.b.getI64IntegerAttr(1), c.b.getBoolAttr(true),
                                     c.b.getBoolAttr(false)); // [B, 1]
  Value isPivot = c.cast(c.create<CompareOp>(c.positions(2, 1, m), pivotAt, c.b.getStringAttr("eq")), et);
  Value pivotRow = sumOver(c, c.create<MulOp>(mat, c.reshape(isPivot, {batch, m, 1})), 1); // [B, m]
  Value topRow = c.reshape(c.sliceAxis(mat, 1, 0, 1), {batch, m});
  // Exchange rows 0 and p: row 0 gains (pivot - top), row p loses it (nothing when p = 0).
  Value isTop = c.constantOf(RankedTensorType::get({1, m}, et), [](int64_t i) { return i == 0; });
  Value moved = c.create<SubOp>(isTop, isPivot);
  mat = c.create<AddOp>(mat, c.create<MulOp>(c.reshape(moved, {batch, m, 1}),
                                             c.reshape(c.create<SubOp>(pivotRow, topRow), {batch, 1, m})));

  Value pivot = c.sliceAxis(pivotRow, 1, 0, 1); // [B, 1]
  Value swapped = c.create<CompareOp>(pivotAt, c.scalar(0, c.b.getI64Type()), c.b.getStringAttr("ne"));
  Value sign = c.create<SelectOp>(swapped, c.scalar(-1, et), c.scalar(1, et));
  det = c.create<MulOp>(det, c.create<MulOp>(pivot, sign));
  if (m == 1)
    return {};
  // A zero pivot means a zero column: det is already 0; divide by 1 to stay finite.
  Value isZero = c.create<CompareOp>(pivot, c.scalar(0, et), c.b.getStringAttr("eq"));
  Value divisor = c.create<SelectOp>(isZero, c.scalar(1, et), pivot);
  Value below = c.sliceAxis(mat, 1, 1, m - 1);                             // [B, m-1, m]
  Value factors = c.create<DivOp>(c.reshape(c.sliceAxis(below, 2, 0, 1), {batch, m - 1}), divisor);
  Value rest = c.sliceAxis(below, 2, 1, m - 1);                            // [B, m-1, m-1]
  Value update = c.create<MulOp>(c.reshape(factors, {batch, m - 1, 1}),
                                 c.reshape(c.sliceAxis(pivotRow, 1, 1, m - 1), {batch, 1, m - 1}));
  return c.create<SubOp>(rest, update);
}

LogicalResult importDet(NodeContext &c, SmallVectorImpl<Value> &out) {
  auto type = c.type(0);
  ArrayRef<int64_t> shape = type.getShape();
  int64_t rank = shape.size();
  if (!isa<FloatType>(type.getElementType()) || rank < 2 || shape[rank - 1] != shape[rank - 2])
    return c.fail("input must be floating-point [..., M, M]");
  int64_t n = shape.back(), batch = 1;
  for (int64_t d : shape.drop_back(2))
    batch *= d;
  if (n == 0)
    return c.fail("empty matrices are not supported");
  Value mat = c.reshape(c.input(0), {batch, n, n});
  Value det = c.constantOf(RankedTensorType::get({batch, 1}, type.getElementType()),
                           [](int64_t) { return 1.0; });
  while (mat)
    mat = eliminate(c, mat, det);
  out.push_back(c.reshape(det, shape.drop_back(2)));
  return success();
}

} // namespace

void kiln::onnx_import::addDetImporter(ImporterTable &t) { t["Det"] = importDet; }
