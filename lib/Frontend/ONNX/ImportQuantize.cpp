// ONNX importers for the quantization ops, built from casts and arithmetic:
// QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, MatMulInteger, ConvInteger,
// QLinearMatMul and QLinearConv. Integer products accumulate in i32, as ONNX asks;
// the QLinear ops requantize the exact i32 result with one f32 scale.
#include "NodeImporter.h"

#include <cmath>

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

Type elementOf(Value v) { return cast<RankedTensorType>(v.getType()).getElementType(); }

bool isQuantized(Type t) { return t.isInteger(8); }

/// A per-tensor (one element) or per-axis (1-D along `axis`) parameter, reshaped to
/// broadcast against a tensor of rank `rank`.
FailureOr<Value> broadcastParam(NodeContext &c, Value p, int64_t rank, int64_t axis, StringRef what) {
  auto type = cast<RankedTensorType>(p.getType());
  if (type.getNumElements() == 1)
    return c.reshape(p, {});
  if (type.getRank() != 1 || axis < 0 || axis >= rank) {
    (void)c.fail(Twine(what) + " must be a scalar or a 1-D tensor along the axis");
    return failure();
  }
  SmallVector<int64_t> shape(rank, 1);
  shape[axis] = type.getDimSize(0);
  return c.reshape(p, shape);
}

/// x - zeroPoint, widened to i32 (the zero point may be absent).
Value centered(NodeContext &c, Value x, Value zeroPoint) {
  Type i32 = c.b.getI32Type();
  Value wide = c.cast(x, i32);
  return zeroPoint ? Value(c.create<SubOp>(wide, c.cast(zeroPoint, i32))) : wide;
}

/// round_half_even(x / scale) + zeroPoint, saturated to the zero point's 8-bit type.
Value quantize(NodeContext &c, Value x, Value scale, Value zeroPoint, Type qt) {
  Value q = c.create<RoundOp>(x.getType(), c.create<DivOp>(x, scale));
  if (zeroPoint)
    q = c.create<AddOp>(q, c.cast(zeroPoint, elementOf(x)));
  bool isUnsigned = qt.isUnsignedInteger();
  q = c.create<ClipOp>(q.getType(), q, c.b.getF64FloatAttr(isUnsigned ? 0 : -128),
                       c.b.getF64FloatAttr(isUnsigned ? 255 : 127));
  return c.cast(q, qt);
}

int64_t axisOf(NodeContext &c, int64_t rank) {
  int64_t axis = c.getInt("axis", 1);
  return axis < 0 ? axis + rank : axis;
}

/// Inputs 1 and 2 (scale and optional zero point) of QuantizeLinear and
/// DequantizeLinear, shaped to broadcast against input 0.
LogicalResult scaleAndZeroPoint(NodeContext &c, Value &scale, Value &zeroPoint) {
  int64_t rank = c.type(0).getRank(), axis = axisOf(c, rank);
  auto s = broadcastParam(c, c.input(1), rank, axis, "the scale");
  if (failed(s))
    return failure();
  scale = *s;
  if (c.has(2)) {
    auto z = broadcastParam(c, c.input(2), rank, axis, "the zero point");
    if (failed(z))
      return failure();
    zeroPoint = *z;
  }
  return success();
}

LogicalResult importQuantizeLinear(NodeContext &c, SmallVectorImpl<Value> &out) {
  Type qt = c.has(2) ? c.type(2).getElementType() : c.b.getIntegerType(8, false);
  if (!isa<FloatType>(c.type(0).getElementType()) || !isQuantized(qt))
    return c.fail("x must be floating-point and the zero point 8-bit");
  Value scale, zp;
  if (failed(scaleAndZeroPoint(c, scale, zp)))
    return failure();
  Value x = c.input(0);
  if (elementOf(scale) != elementOf(x))
    x = c.cast(x, elementOf(scale));
  out.push_back(quantize(c, x, scale, zp, qt));
  return success();
}

LogicalResult importDequantizeLinear(NodeContext &c, SmallVectorImpl<Value> &out) {
  Type it = c.type(0).getElementType();
  if (!isQuantized(it) && !it.isInteger(32))
    return c.fail("x must be an 8-bit or 32-bit integer");
  Value scale, zp;
  if (failed(scaleAndZeroPoint(c, scale, zp)))
    return failure();
  Value y = c.cast(centered(c, c.input(0), zp), elementOf(scale));
  out.push_back(c.create<MulOp>(y, scale));
  return success();
}

/// Scale and zero point that map [min(x, 0), max(x, 0)] onto [0, 255].
LogicalResult importDynamicQuantizeLinear(NodeContext &c, SmallVectorImpl<Value> &out) {
  Type f32 = c.b.getF32Type();
  if (c.type(0).getElementType() != f32)
    return c.fail("x must be f32");
  SmallVector<int64_t> all;
  for (int64_t d = 0; d < c.type(0).getRank(); ++d)
    all.push_back(d);
  auto reduce = [&](auto op) {
    return c.create<decltype(op)>(c.input(0), c.b.getDenseI64ArrayAttr(all), c.b.getBoolAttr(false));
  };
  Value zero = c.scalar(0, f32);
  Value hi = c.create<MaxOp>(reduce(ReduceMaxOp()), zero);
  Value lo = c.create<MinOp>(reduce(ReduceMinOp()), zero);
  Value scale = c.create<DivOp>(c.create<SubOp>(hi, lo), c.scalar(255, f32));
  Type u8 = c.b.getIntegerType(8, false);
  Value shifted = c.create<SubOp>(zero, c.create<DivOp>(lo, scale));
  Value zpReal = c.create<RoundOp>(shifted.getType(), shifted);
  zpReal = c.create<ClipOp>(zpReal.getType(), zpReal, c.b.getF64FloatAttr(0), c.b.getF64FloatAttr(255));
  Value zp = c.cast(zpReal, u8);
  out.push_back(quantize(c, c.input(0), scale, zp, u8));
  out.push_back(scale);
  out.push_back(zp);
  return success();
}

/// A scale or zero point of a matmul operand: per tensor, or per row of A ([M] ->
/// [M, 1]) or per column of B (already broadcasting as [N]).
Value matmulParam(NodeContext &c, size_t i, bool isA) {
  if (!c.has(i))
    return nullptr;
  auto type = c.type(i);
  if (type.getNumElements() == 1)
    return c.reshape(c.input(i), {});
  if (isA && type.getRank() == 1)
    return c.reshape(c.input(i), {type.getDimSize(0), 1});
  return c.input(i);
}

/// i32 matmul of (a - a_zp) and (b - b_zp).
Value integerMatMul(NodeContext &c, Value a, Value aZp, Value b, Value bZp) {
  return c.create<MatMulOp>(centered(c, a, aZp), centered(c, b, bZp));
}

LogicalResult importMatMulInteger(NodeContext &c, SmallVectorImpl<Value> &out) {
  if (!isQuantized(c.type(0).getElementType()) || !isQuantized(c.type(1).getElementType()))
    return c.fail("A and B must be 8-bit integers");
  if (c.type(0).getRank() < 2 || c.type(1).getRank() < 2)
    return c.fail("A and B must have rank 2 or more");
  out.push_back(integerMatMul(c, c.input(0), matmulParam(c, 2, true), c.input(1),
                              matmulParam(c, 3, false)));
  return success();
}

LogicalResult importConvInteger(NodeContext &c, SmallVectorImpl<Value> &out) {
  if (!isQuantized(c.type(0).getElementType()) || !isQuantized(c.type(1).getElementType()))
    return c.fail("x and w must be 8-bit integers");
  Value xZp = c.has(2) ? c.reshape(c.input(2), {}) : Value();
  Value wZp;
  if (c.has(3)) {
    // Per tensor, or per output channel: dimension 0 of the weight.
    auto zp = broadcastParam(c, c.input(3), c.type(1).getRank(), 0, "w_zero_point");
    if (failed(zp))
      return failure();
    wZp = *zp;
  }
  auto y = buildConv(c, centered(c, c.input(0), xZp), centered(c, c.input(1), wZp), Value());
  if (failed(y))
    return failure();
  out.push_back(*y);
  return success();
}

/// Requantizes an exact i32 accumulator: acc * (a_scale * b_scale / y_scale) + y_zp.
Value requantize(NodeContext &c, Value acc, Value inScale, Value yScale, Value yZp) {
  Type f32 = c.b.getF32Type();
  Value real = c.create<MulOp>(c.cast(acc, f32), inScale);
  return quantize(c, real, yScale, yZp, elementOf(yZp));
}

/// QLinearMatMul: inputs a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp.
LogicalResult importQLinearMatMul(NodeContext &c, SmallVectorImpl<Value> &out) {
  if (!isQuantized(c.type(0).getElementType()) || !isQuantized(c.type(3).getElementType()) ||
      !isQuantized(c.type(7).getElementType()))
    return c.fail("a, b and y_zero_point must be 8-bit integers");
  Value acc = integerMatMul(c, c.input(0), matmulParam(c, 2, true), c.input(3),
                            matmulParam(c, 5, false));
  Value inScale = c.create<MulOp>(matmulParam(c, 1, true), matmulParam(c, 4, false));
  out.push_back(requantize(c, acc, inScale, c.reshape(c.input(6), {}), c.reshape(c.input(7), {})));
  return success();
}

/// QLinearConv: x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp and an optional i32
/// bias already in the accumulator's scale.
LogicalResult importQLinearConv(NodeContext &c, SmallVectorImpl<Value> &out) {
  if (!isQuantized(c.type(0).getElementType()) || !isQuantized(c.type(3).getElementType()) ||
      !isQuantized(c.type(7).getElementType()))
    return c.fail("x, w and y_zero_point must be 8-bit integers");
  if (c.has(8) && !c.type(8).getElementType().isInteger(32))
    return c.fail("the bias must be i32");
  int64_t rank = c.type(3).getRank();
  // Weight parameters are per tensor or per output channel: dimension 0 of the weight,
  // dimension 1 of the output.
  auto wZp = broadcastParam(c, c.input(5), rank, 0, "w_zero_point");
  auto wScale = broadcastParam(c, c.input(4), rank, 1, "w_scale");
  if (failed(wZp) || failed(wScale))
    return failure();
  Value x = centered(c, c.input(0), c.reshape(c.input(2), {}));
  auto acc = buildConv(c, x, centered(c, c.input(3), *wZp), c.has(8) ? c.input(8) : Value());
  if (failed(acc))
    return failure();
  Value inScale = c.create<MulOp>(c.reshape(c.input(1), {}), *wScale);
  out.push_back(requantize(c, *acc, inScale, c.reshape(c.input(6), {}), c.reshape(c.input(7), {})));
  return success();
}

} // namespace

void onnx_import::addQuantizeImporters(ImporterTable &t) {
  t["QuantizeLinear"] = importQuantizeLinear;
  t["DequantizeLinear"] = importDequantizeLinear;
  t["DynamicQuantizeLinear"] = importDynamicQuantizeLinear;
  t["MatMulInteger"] = importMatMulInteger;
  t["ConvInteger"] = importConvInteger;
  t["QLinearMatMul"] = importQLinearMatMul;
  t["QLinearConv"] = importQLinearConv;
}
