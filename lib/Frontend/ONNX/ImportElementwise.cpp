// ONNX importers for elementwise math, activations and casts. Composite activations
// (LeakyRelu, Elu, HardSwish, Softplus...) decompose into core kiln ops.
#include "NodeImporter.h"

#include "llvm/ADT/APFloat.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

Type elementType(Value v) { return cast<RankedTensorType>(v.getType()).getElementType(); }

template <typename OpTy> Value unary(NodeContext &c, Value x) {
  return c.create<OpTy>(x.getType(), x);
}

template <typename OpTy> Value binary(NodeContext &c, Value x, Value y) {
  return c.create<OpTy>(x, y);
}

/// Registers a one-input ONNX op that maps onto one kiln op.
template <typename OpTy> ImportFn unaryImporter(bool floatOnly = true) {
  return [floatOnly](NodeContext &c, SmallVectorImpl<Value> &out) -> LogicalResult {
    if (floatOnly && !isa<FloatType>(c.type(0).getElementType()))
      return c.fail("only floating-point inputs are supported");
    out.push_back(unary<OpTy>(c, c.input(0)));
    return success();
  };
}

/// Registers a variadic-or-binary ONNX op folded pairwise with one kiln op.
template <typename OpTy> ImportFn binaryImporter() {
  return [](NodeContext &c, SmallVectorImpl<Value> &out) -> LogicalResult {
    if (c.numInputs() == 0)
      return c.fail("needs at least one input");
    if (c.opset < 7 && c.attr("broadcast"))
      return c.fail("the legacy broadcast attribute (before opset 7) is not supported");
    Value acc = c.input(0);
    for (size_t i = 1; i < c.numInputs(); ++i) {
      if (elementType(c.input(i)) != elementType(acc))
        return c.fail("inputs have different element types");
      acc = binary<OpTy>(c, acc, c.input(i));
    }
    out.push_back(acc);
    return success();
  };
}

/// Lowest and highest finite-or-infinite bounds of `t`, as f64.
std::pair<double, double> typeRange(Type t) {
  if (isa<FloatType>(t))
    return {-std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()};
  return integerRange(t.getIntOrFloatBitWidth(), t.isUnsignedInteger());
}

Value clip(NodeContext &c, Value x, double lo, double hi) {
  return c.create<ClipOp>(x.getType(), x, c.b.getF64FloatAttr(lo), c.b.getF64FloatAttr(hi));
}

LogicalResult importClip(NodeContext &c, SmallVectorImpl<Value> &out) {
  Type et = c.type(0).getElementType();
  auto [lo, hi] = typeRange(et);
  if (c.opset < 11) {
    lo = c.getFloat("min", lo);
    hi = c.getFloat("max", hi);
  } else {
    // Bounds known at compile time go into kiln.clip; bounds computed at run time
    // become max and min against the rank-0 bound tensor.
    Value x = c.input(0);
    for (size_t i : {1, 2}) {
      if (!c.has(i))
        continue;
      if (c.type(i).getNumElements() != 1 || c.type(i).getElementType() != et)
        return c.fail(i == 1 ? "min must be a scalar of the input's type"
                             : "max must be a scalar of the input's type");
      if (auto bound = c.constant(i))
        (i == 1 ? lo : hi) = bound->asDouble(0);
      else if (i == 1)
        x = binary<MaxOp>(c, x, c.input(i));
      else
        x = binary<MinOp>(c, x, c.input(i));
    }
    auto full = typeRange(et);
    out.push_back(lo == full.first && hi == full.second ? x : clip(c, x, lo, hi));
    return success();
  }
  out.push_back(clip(c, c.input(0), lo, hi));
  return success();
}

/// max(x, 0) + slope * min(x, 0): LeakyRelu and PRelu without a select.
Value leaky(NodeContext &c, Value x, Value slope) {
  Value zero = c.scalar(0, elementType(x));
  Value pos = binary<MaxOp>(c, x, zero);
  Value neg = binary<MinOp>(c, x, zero);
  return binary<AddOp>(c, pos, binary<MulOp>(c, neg, slope));
}

/// max(x, 0) + min(alpha * (exp(x / beta) - 1), 0), valid for alpha > 0.
Value eluLike(NodeContext &c, Value x, double alpha, double beta) {
  Type et = elementType(x);
  Value scaled = beta == 1.0 ? x : binary<DivOp>(c, x, c.scalar(beta, et));
  Value em1 = binary<SubOp>(c, unary<ExpOp>(c, scaled), c.scalar(1, et));
  Value neg = binary<MinOp>(c, binary<MulOp>(c, em1, c.scalar(alpha, et)), c.scalar(0, et));
  return binary<AddOp>(c, binary<MaxOp>(c, x, c.scalar(0, et)), neg);
}

Value compare(NodeContext &c, Value x, Value y, StringRef predicate) {
  return c.create<CompareOp>(x, y, c.b.getStringAttr(predicate));
}

Value select(NodeContext &c, Value cond, Value x, Value y) {
  return c.create<SelectOp>(cond, x, y);
}

ImportFn compareImporter(StringRef predicate) {
  std::string p = predicate.str();
  return [p](NodeContext &c, SmallVectorImpl<Value> &out) -> LogicalResult {
    if (c.type(0).getElementType() != c.type(1).getElementType())
      return c.fail("inputs have different element types");
    out.push_back(compare(c, c.input(0), c.input(1), p));
    return success();
  };
}

template <typename OpTy> ImportFn logicImporter() {
  return [](NodeContext &c, SmallVectorImpl<Value> &out) -> LogicalResult {
    for (size_t i = 0; i < c.numInputs(); ++i)
      if (!c.type(i).getElementType().isInteger(1))
        return c.fail("inputs must be bool");
    return binaryImporter<OpTy>()(c, out);
  };
}

LogicalResult requireFloat(NodeContext &c) {
  if (!isa<FloatType>(c.type(0).getElementType()))
    return c.fail("only floating-point inputs are supported");
  return success();
}

} // namespace

void onnx_import::addElementwiseImporters(ImporterTable &t) {
  t["Neg"] = unaryImporter<NegOp>(false);
  t["Abs"] = unaryImporter<AbsOp>(false);
  t["Relu"] = unaryImporter<ReluOp>(false);
  t["Exp"] = unaryImporter<ExpOp>();
  t["Log"] = unaryImporter<LogOp>();
  t["Sqrt"] = unaryImporter<SqrtOp>();
  t["Reciprocal"] = unaryImporter<ReciprocalOp>();
  t["Tanh"] = unaryImporter<TanhOp>();
  t["Sigmoid"] = unaryImporter<SigmoidOp>();
  t["Erf"] = unaryImporter<ErfOp>();
  t["Floor"] = unaryImporter<FloorOp>();
  t["Ceil"] = unaryImporter<CeilOp>();
  t["Round"] = unaryImporter<RoundOp>();
  t["Sin"] = unaryImporter<SinOp>();
  t["Cos"] = unaryImporter<CosOp>();
  t["Tan"] = unaryImporter<TanOp>();
  t["Asin"] = unaryImporter<AsinOp>();
  t["Acos"] = unaryImporter<AcosOp>();
  t["Atan"] = unaryImporter<AtanOp>();
  t["Sinh"] = unaryImporter<SinhOp>();
  t["Cosh"] = unaryImporter<CoshOp>();
  t["Asinh"] = unaryImporter<AsinhOp>();
  t["Acosh"] = unaryImporter<AcoshOp>();
  t["Atanh"] = unaryImporter<AtanhOp>();
  t["Clip"] = importClip;

  t["Add"] = binaryImporter<AddOp>();
  t["Sub"] = binaryImporter<SubOp>();
  t["Mul"] = binaryImporter<MulOp>();
  t["Div"] = binaryImporter<DivOp>();
  t["Max"] = binaryImporter<MaxOp>();
  t["Min"] = binaryImporter<MinOp>();
  t["Sum"] = binaryImporter<AddOp>();
  t["Mean"] = [](NodeContext &c, SmallVectorImpl<Value> &out) -> LogicalResult {
    SmallVector<Value> sum;
    if (failed(requireFloat(c)) || failed(binaryImporter<AddOp>()(c, sum)))
      return failure();
    out.push_back(binary<DivOp>(c, sum[0], c.scalar(c.numInputs(), elementType(sum[0]))));
    return success();
  };
  t["Pow"] = [](NodeContext &c, SmallVectorImpl<Value> &out) -> LogicalResult {
    Value exponent = c.input(1);
    Type et = c.type(0).getElementType();
    if (elementType(exponent) != et)
      exponent = c.cast(exponent, et);
    out.push_back(binary<PowOp>(c, c.input(0), exponent));
    return success();
  };

  t["Cast"] = [](NodeContext &c, SmallVectorImpl<Value> &out) -> LogicalResult {
    int64_t to = c.getInt("to", 0);
    Type et = elementTypeOf(c.b.getContext(), to);
    if (!et)
      return c.fail("cast to unsupported data type " + dataTypeName(to));
    out.push_back(c.cast(c.input(0), et));
    return success();
  };
  t["CastLike"] = [](NodeContext &c, SmallVectorImpl<Value> &out) -> LogicalResult {
    out.push_back(c.cast(c.input(0), elementType(c.input(1))));
    return success();
  };

  t["LeakyRelu"] = [](NodeContext &c, SmallVectorImpl<Value> &out) -> LogicalResult {
    if (failed(requireFloat(c)))
      return failure();
    out.push_back(leaky(c, c.input(0), c.scalar(c.getFloat("alpha", 0.01), c.type(0).getElementType())));
    return success();
  };
  t["PRelu"] = [](NodeContext &c, SmallVectorImpl<Value> &out) -> LogicalResult {
    if (failed(requireFloat(c)))
      return failure();
    out.push_back(leaky(c, c.input(0), c.input(1)));
    return success();
  };
  t["Elu"] = [](NodeContext &c, SmallVectorImpl<Value> &out) -> LogicalResult {
    double alpha = c.getFloat("alpha", 1.0);
    if (failed(requireFloat(c)))
      return failure();
    if (alpha <= 0)
      return c.fail("alpha must be positive");
    out.push_back(eluLike(c, c.input(0), alpha, 1.0));
    return success();
  };
  t["Celu"] = [](NodeContext &c, SmallVectorImpl<Value> &out) -> LogicalResult {
    double alpha = c.getFloat("alpha", 1.0);
    if (failed(requireFloat(c)))
      return failure();
    if (alpha <= 0)
      return c.fail("alpha must be positive");
    out.push_back(eluLike(c, c.input(0), alpha, alpha));
    return success();
  };
  t["Selu"] = [](NodeContext &c, SmallVectorImpl<Value> &out) -> LogicalResult {
    double alpha = c.getFloat("alpha", 1.67326319217681884765625);
    double gamma = c.getFloat("gamma", 1.05070102214813232421875);
    if (failed(requireFloat(c)))
      return failure();
    if (alpha <= 0)
      return c.fail("alpha must be positive");
    Value elu = eluLike(c, c.input(0), alpha, 1.0);
    out.push_back(binary<MulOp>(c, elu, c.scalar(gamma, c.type(0).getElementType())));
    return success();
  };
  t["HardSigmoid"] = [](NodeContext &c, SmallVectorImpl<Value> &out) -> LogicalResult {
    if (failed(requireFloat(c)))
      return failure();
    Type et = c.type(0).getElementType();
    Value x = binary<MulOp>(c, c.input(0), c.scalar(c.getFloat("alpha", 0.2), et));
    x = binary<AddOp>(c, x, c.scalar(c.getFloat("beta", 0.5), et));
    out.push_back(clip(c, x, 0, 1));
    return success();
  };
  t["HardSwish"] = [](NodeContext &c, SmallVectorImpl<Value> &out) -> LogicalResult {
    if (failed(requireFloat(c)))
      return failure();
    Type et = c.type(0).getElementType();
    Value x = binary<MulOp>(c, c.input(0), c.scalar(1.0 / 6.0, et));
    x = clip(c, binary<AddOp>(c, x, c.scalar(0.5, et)), 0, 1);
    out.push_back(binary<MulOp>(c, c.input(0), x));
    return success();
  };
  t["Softplus"] = [](NodeContext &c, SmallVectorImpl<Value> &out) -> LogicalResult {
    if (failed(requireFloat(c)))
      return failure();
    Value e = unary<ExpOp>(c, c.input(0));
    out.push_back(unary<LogOp>(c, binary<AddOp>(c, e, c.scalar(1, c.type(0).getElementType()))));
    return success();
  };
  t["Mod"] = [](NodeContext &c, SmallVectorImpl<Value> &out) -> LogicalResult {
    bool fmod = c.getInt("fmod", 0);
    Type et = c.type(0).getElementType();
    if (et != c.type(1).getElementType() || et.isInteger(1))
      return c.fail("inputs must be numbers of one type");
    if (isa<FloatType>(et) && !fmod)
      return c.fail("fmod=0 is not defined for floating-point inputs");
    out.push_back(fmod ? binary<RemOp>(c, c.input(0), c.input(1))
                       : binary<ModOp>(c, c.input(0), c.input(1)));
    return success();
  };
  t["BitShift"] = [](NodeContext &c, SmallVectorImpl<Value> &out) -> LogicalResult {
    Type et = c.type(0).getElementType();
    if (!et.isUnsignedInteger() || c.type(1).getElementType() != et)
      return c.fail("inputs must be unsigned integers of one type");
    std::string direction = c.getString("direction", "");
    if (direction == "LEFT")
      out.push_back(binary<ShiftLeftOp>(c, c.input(0), c.input(1)));
    else if (direction == "RIGHT")
      out.push_back(binary<ShiftRightOp>(c, c.input(0), c.input(1)));
    else
      return c.fail("direction must be LEFT or RIGHT");
    return success();
  };
  t["Equal"] = compareImporter("eq");
  t["Less"] = compareImporter("lt");
  t["LessOrEqual"] = compareImporter("le");
  t["Greater"] = compareImporter("gt");
  t["GreaterOrEqual"] = compareImporter("ge");
  t["And"] = logicImporter<AndOp>();
  t["Or"] = logicImporter<OrOp>();
  t["Xor"] = logicImporter<XorOp>();
  t["Not"] = [](NodeContext &c, SmallVectorImpl<Value> &out) -> LogicalResult {
    if (!c.type(0).getElementType().isInteger(1))
      return c.fail("input must be bool");
    out.push_back(unary<NotOp>(c, c.input(0)));
    return success();
  };
  t["Where"] = [](NodeContext &c, SmallVectorImpl<Value> &out) -> LogicalResult {
    if (!c.type(0).getElementType().isInteger(1) ||
        c.type(1).getElementType() != c.type(2).getElementType())
      return c.fail("condition must be bool and both branches of one type");
    out.push_back(select(c, c.input(0), c.input(1), c.input(2)));
    return success();
  };
  t["IsNaN"] = [](NodeContext &c, SmallVectorImpl<Value> &out) -> LogicalResult {
    if (failed(requireFloat(c)))
      return failure();
    out.push_back(compare(c, c.input(0), c.input(0), "ne")); // Only NaN differs from itself.
    return success();
  };
  t["IsInf"] = [](NodeContext &c, SmallVectorImpl<Value> &out) -> LogicalResult {
    if (failed(requireFloat(c)))
      return failure();
    Type et = c.type(0).getElementType();
    bool positive = c.getInt("detect_positive", 1), negative = c.getInt("detect_negative", 1);
    Value pos = compare(c, c.input(0), c.scalar(INFINITY, et), "eq");
    Value neg = compare(c, c.input(0), c.scalar(-INFINITY, et), "eq");
    Value none = compare(c, c.input(0), c.input(0), "lt"); // all false
    out.push_back(positive && negative ? c.create<OrOp>(pos, neg) : positive ? pos : negative ? neg : none);
    return success();
  };
  t["Sign"] = [](NodeContext &c, SmallVectorImpl<Value> &out) -> LogicalResult {
    Type et = c.type(0).getElementType();
    if (et.isInteger(1))
      return c.fail("bool inputs are not supported");
    Value x = c.input(0), zero = c.scalar(0, et);
    Value negOrZero = select(c, compare(c, x, zero, "lt"), c.scalar(-1, et), zero);
    Value sign = select(c, compare(c, x, zero, "gt"), c.scalar(1, et), negOrZero);
    // NaN keeps its value, as numpy's sign does.
    out.push_back(isa<FloatType>(et) ? select(c, compare(c, x, x, "ne"), x, sign) : sign);
    return success();
  };
  t["ThresholdedRelu"] = [](NodeContext &c, SmallVectorImpl<Value> &out) -> LogicalResult {
    if (failed(requireFloat(c)))
      return failure();
    Type et = c.type(0).getElementType();
    Value x = c.input(0);
    out.push_back(select(c, compare(c, x, c.scalar(c.getFloat("alpha", 1.0), et), "gt"), x,
                         c.scalar(0, et)));
    return success();
  };
  t["Shrink"] = [](NodeContext &c, SmallVectorImpl<Value> &out) -> LogicalResult {
    Type et = c.type(0).getElementType();
    if (et.isInteger(1))
      return c.fail("bool inputs are not supported");
    double lambd = c.getFloat("lambd", 0.5), bias = c.getFloat("bias", 0.0);
    Value x = c.input(0), zero = c.scalar(0, et);
    Value high = select(c, compare(c, x, c.scalar(lambd, et), "gt"),
                        binary<SubOp>(c, x, c.scalar(bias, et)), zero);
    out.push_back(select(c, compare(c, x, c.scalar(-lambd, et), "lt"),
                         binary<AddOp>(c, x, c.scalar(bias, et)), high));
    return success();
  };
  t["Softsign"] = [](NodeContext &c, SmallVectorImpl<Value> &out) -> LogicalResult {
    if (failed(requireFloat(c)))
      return failure();
    Value d = binary<AddOp>(c, unary<AbsOp>(c, c.input(0)), c.scalar(1, c.type(0).getElementType()));
    out.push_back(binary<DivOp>(c, c.input(0), d));
    return success();
  };
}
