// Folders and canonicalizations of the kiln dialect: constant evaluation and the
// removal of identities (reshape to the same shape, transpose by identity, x + 0...).
#include "kiln/Dialect/Kiln/ConstantTensor.h"
#include "kiln/Dialect/Kiln/KilnDialect.h"

#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/PatternMatch.h"

#include <cmath>
#include <functional>

using namespace mlir;
using namespace kiln;

/// Input index (linear) of output element `linear` for an operand of `inShape`
/// broadcast to `outShape`.
static int64_t broadcastIndex(int64_t linear, ArrayRef<int64_t> outShape,
                              ArrayRef<int64_t> inShape) {
  auto outStrides = rowMajorStrides(outShape), inStrides = rowMajorStrides(inShape);
  size_t offset = outShape.size() - inShape.size();
  int64_t index = 0;
  for (size_t d = 0; d < outShape.size(); ++d) {
    int64_t coord = (linear / outStrides[d]) % outShape[d];
    if (d >= offset && inShape[d - offset] != 1)
      index += coord * inStrides[d - offset];
  }
  return index;
}

// Folding evaluates on the host; huge tensors are left to the compiled code.
static constexpr int64_t kMaxFoldElements = 1 << 20;
// Moving elements costs far less than computing them: a transposed classifier weight
// (1000 x 2048, ResNet-50's Gemm with transB) folds rather than costing a kernel per run.
static constexpr int64_t kMaxMoveElements = 1 << 23;

/// Evaluates an elementwise op on constant operands broadcast to `type`:
/// `element(out, i, at)` sets output element i from operand elements `at` (one index
/// per operand) and returns false to give up. Fails unless every operand is a
/// foldable constant.
static OpFoldResult
evaluateBroadcast(RankedTensorType type, ArrayRef<Attribute> operands,
                  function_ref<bool(ConstantTensor &out, int64_t i, ArrayRef<ConstantTensor> in,
                                    ArrayRef<int64_t> at)>
                      element) {
  if (type.getNumElements() > kMaxFoldElements)
    return {};
  SmallVector<ConstantTensor> in;
  for (Attribute attr : operands) {
    auto t = ConstantTensor::read(attr, kMaxFoldElements);
    if (!t)
      return {};
    in.push_back(std::move(*t));
  }
  ConstantTensor out = ConstantTensor::zeros(type);
  SmallVector<int64_t> at(in.size());
  for (int64_t i = 0; i < out.size(); ++i) {
    for (size_t k = 0; k < in.size(); ++k)
      at[k] = broadcastIndex(i, type.getShape(), in[k].type.getShape());
    if (!element(out, i, in, at))
      return {};
  }
  return out.toAttr();
}

static RankedTensorType resultType(Operation *op) {
  return cast<RankedTensorType>(op->getResult(0).getType());
}

//===----------------------------------------------------------------------===//
// Constants, casts, unary
//===----------------------------------------------------------------------===//

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

OpFoldResult CastOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  auto in = ConstantTensor::read(adaptor.getInput(), kMaxFoldElements);
  if (!in)
    return {};
  ConstantTensor out = ConstantTensor::zeros(getType());
  Type to = getType().getElementType();
  for (int64_t i = 0; i < in->size(); ++i) {
    double v = in->asDouble(i);
    if (out.isFloat())
      out.floats[i] = v;
    else if (to.isInteger(1))
      out.ints[i] = v != 0;
    else if (!in->isFloat())
      out.ints[i] = llvm::APInt(64, in->ints[i]).trunc(to.getIntOrFloatBitWidth()).getSExtValue();
    else if (std::isfinite(v) && std::fabs(v) < 9.2e18)
      out.ints[i] = (int64_t)std::trunc(v);
    else
      return {}; // Out of range: undefined in ONNX, left to run time.
  }
  return out.toAttr();
}

using FloatFn = std::function<double(double)>;
using IntFn = std::function<int64_t(int64_t)>;

static OpFoldResult foldUnary(Operation *op, Attribute input, FloatFn f, IntFn g = nullptr) {
  auto in = ConstantTensor::read(input, kMaxFoldElements);
  if (!in || (!in->isFloat() && !g) || in->type.getElementType().isInteger(1))
    return {};
  ConstantTensor out = *in;
  for (int64_t i = 0; i < in->size(); ++i) {
    if (in->isFloat())
      out.floats[i] = f(in->floats[i]);
    else
      out.ints[i] = g(in->ints[i]);
  }
  return out.toAttr();
}

OpFoldResult NegOp::fold(FoldAdaptor a) {
  return foldUnary(*this, a.getInput(), [](double x) { return -x; },
                   [](int64_t x) { return -x; });
}
OpFoldResult AbsOp::fold(FoldAdaptor a) {
  return foldUnary(*this, a.getInput(), [](double x) { return std::fabs(x); },
                   [](int64_t x) { return x < 0 ? -x : x; });
}
OpFoldResult ExpOp::fold(FoldAdaptor a) {
  return foldUnary(*this, a.getInput(), [](double x) { return std::exp(x); });
}
OpFoldResult LogOp::fold(FoldAdaptor a) {
  return foldUnary(*this, a.getInput(), [](double x) { return std::log(x); });
}
OpFoldResult SqrtOp::fold(FoldAdaptor a) {
  return foldUnary(*this, a.getInput(), [](double x) { return std::sqrt(x); });
}
OpFoldResult ReciprocalOp::fold(FoldAdaptor a) {
  return foldUnary(*this, a.getInput(), [](double x) { return 1.0 / x; });
}
OpFoldResult TanhOp::fold(FoldAdaptor a) {
  return foldUnary(*this, a.getInput(), [](double x) { return std::tanh(x); });
}
OpFoldResult SigmoidOp::fold(FoldAdaptor a) {
  return foldUnary(*this, a.getInput(), [](double x) { return 1.0 / (1.0 + std::exp(-x)); });
}
OpFoldResult ReluOp::fold(FoldAdaptor a) {
  return foldUnary(*this, a.getInput(), [](double x) { return x > 0 || std::isnan(x) ? x : 0.0; },
                   [](int64_t x) { return x > 0 ? x : 0; });
}
OpFoldResult ErfOp::fold(FoldAdaptor a) {
  return foldUnary(*this, a.getInput(), [](double x) { return std::erf(x); });
}
OpFoldResult FloorOp::fold(FoldAdaptor a) {
  return foldUnary(*this, a.getInput(), [](double x) { return std::floor(x); });
}
OpFoldResult CeilOp::fold(FoldAdaptor a) {
  return foldUnary(*this, a.getInput(), [](double x) { return std::ceil(x); });
}
OpFoldResult RoundOp::fold(FoldAdaptor a) {
  return foldUnary(*this, a.getInput(), [](double x) { return std::nearbyint(x); });
}
#define KILN_FOLD_MATH(OP, FN)                                                             \
  OpFoldResult OP::fold(FoldAdaptor a) {                                                   \
    return foldUnary(*this, a.getInput(), [](double x) { return FN(x); });                 \
  }
KILN_FOLD_MATH(SinOp, std::sin)
KILN_FOLD_MATH(CosOp, std::cos)
KILN_FOLD_MATH(TanOp, std::tan)
KILN_FOLD_MATH(AsinOp, std::asin)
KILN_FOLD_MATH(AcosOp, std::acos)
KILN_FOLD_MATH(AtanOp, std::atan)
KILN_FOLD_MATH(SinhOp, std::sinh)
KILN_FOLD_MATH(CoshOp, std::cosh)
KILN_FOLD_MATH(AsinhOp, std::asinh)
KILN_FOLD_MATH(AcoshOp, std::acosh)
KILN_FOLD_MATH(AtanhOp, std::atanh)
#undef KILN_FOLD_MATH

OpFoldResult NotOp::fold(FoldAdaptor a) {
  auto in = ConstantTensor::read(a.getInput(), kMaxFoldElements);
  if (!in)
    return {};
  ConstantTensor out = *in;
  for (int64_t &v : out.ints)
    v = !v;
  return out.toAttr();
}

OpFoldResult ClipOp::fold(FoldAdaptor a) {
  double lo = getMin().convertToDouble(), hi = getMax().convertToDouble();
  return foldUnary(
      *this, a.getInput(), [=](double x) { return std::isnan(x) ? x : std::min(std::max(x, lo), hi); },
      [=](int64_t x) { return (int64_t)std::min(std::max((double)x, lo), hi); });
}

//===----------------------------------------------------------------------===//
// Binary
//===----------------------------------------------------------------------===//

static bool isSplatOf(Attribute attr, double value) {
  auto t = ConstantTensor::read(attr, kMaxFoldElements);
  if (!t)
    return false;
  for (int64_t i = 0; i < t->size(); ++i)
    if (t->asDouble(i) != value)
      return false;
  return true;
}

static double applyFloat(BinaryKind kind, double x, double y) {
  switch (kind) {
  case BinaryKind::Add: return x + y;
  case BinaryKind::Sub: return x - y;
  case BinaryKind::Mul: return x * y;
  case BinaryKind::Div: return x / y;
  case BinaryKind::Pow: return std::pow(x, y);
  case BinaryKind::Max: return std::isnan(x) || std::isnan(y) ? NAN : std::max(x, y);
  case BinaryKind::Min: return std::isnan(x) || std::isnan(y) ? NAN : std::min(x, y);
  case BinaryKind::Rem: return std::fmod(x, y);
  case BinaryKind::Mod: {
    double r = std::fmod(x, y);
    return r != 0 && ((r < 0) != (y < 0)) ? r + y : r;
  }
  default: return NAN; // Logic ops take i1 only.
  }
}

static std::optional<int64_t> applyInt(BinaryKind kind, int64_t x, int64_t y) {
  switch (kind) {
  case BinaryKind::Add: return x + y;
  case BinaryKind::Sub: return x - y;
  case BinaryKind::Mul: return x * y;
  case BinaryKind::Div:
    if (y == 0)
      return std::nullopt;
    return x / y;
  case BinaryKind::Pow:
    return (int64_t)std::pow((double)x, (double)y);
  case BinaryKind::Max: return std::max(x, y);
  case BinaryKind::Min: return std::min(x, y);
  case BinaryKind::Rem:
  case BinaryKind::Mod: {
    if (y == 0)
      return std::nullopt;
    int64_t r = x % y;
    return kind == BinaryKind::Mod && r != 0 && ((r < 0) != (y < 0)) ? r + y : r;
  }
  case BinaryKind::And: return x && y;
  case BinaryKind::Or: return x || y;
  case BinaryKind::Xor: return (x != 0) != (y != 0);
  case BinaryKind::ShiftLeft:
  case BinaryKind::ShiftRight:
    return std::nullopt; // Shifts take unsigned operands, which are never folded.
  }
  return std::nullopt;
}

OpFoldResult kiln::foldBinary(Operation *op, Attribute lhsAttr, Attribute rhsAttr,
                              BinaryKind kind) {
  Value lhs = op->getOperand(0), rhs = op->getOperand(1);
  RankedTensorType type = resultType(op);
  // Identities, when the other operand already has the result's type.
  if (rhs.getType() == type) {
    if ((kind == BinaryKind::Add && isSplatOf(lhsAttr, 0)) ||
        (kind == BinaryKind::Mul && isSplatOf(lhsAttr, 1)))
      return rhs;
  }
  if (lhs.getType() == type) {
    bool zero = isSplatOf(rhsAttr, 0), one = isSplatOf(rhsAttr, 1);
    if (((kind == BinaryKind::Add || kind == BinaryKind::Sub) && zero) ||
        ((kind == BinaryKind::Mul || kind == BinaryKind::Div || kind == BinaryKind::Pow) && one))
      return lhs;
  }
  return evaluateBroadcast(type, {lhsAttr, rhsAttr},
                           [&](ConstantTensor &out, int64_t i, ArrayRef<ConstantTensor> in,
                               ArrayRef<int64_t> at) {
                             if (out.isFloat()) {
                               out.floats[i] = applyFloat(kind, in[0].floats[at[0]], in[1].floats[at[1]]);
                               return true;
                             }
                             auto v = applyInt(kind, in[0].ints[at[0]], in[1].ints[at[1]]);
                             out.ints[i] = v.value_or(0);
                             return v.has_value();
                           });
}

static bool comparePredicate(StringRef p, double x, double y) {
  if (p == "eq") return x == y;
  if (p == "ne") return x != y;
  if (p == "lt") return x < y;
  if (p == "le") return x <= y;
  if (p == "gt") return x > y;
  return x >= y;
}

OpFoldResult CompareOp::fold(FoldAdaptor adaptor) {
  StringRef predicate = getPredicate();
  return evaluateBroadcast(
      getType(), {adaptor.getLhs(), adaptor.getRhs()},
      [&](ConstantTensor &out, int64_t i, ArrayRef<ConstantTensor> in, ArrayRef<int64_t> at) {
        if (in[0].isFloat()) {
          out.ints[i] = comparePredicate(predicate, in[0].floats[at[0]], in[1].floats[at[1]]);
        } else { // Integers compare exactly (beyond double's 53 bits) through their order.
          int64_t x = in[0].ints[at[0]], y = in[1].ints[at[1]];
          out.ints[i] = comparePredicate(predicate, x < y ? -1 : x > y, 0);
        }
        return true;
      });
}

OpFoldResult SelectOp::fold(FoldAdaptor adaptor) {
  RankedTensorType type = getType();
  if (getOnTrue() == getOnFalse() && getOnTrue().getType() == type)
    return getOnTrue();
  return evaluateBroadcast(
      type, {adaptor.getCondition(), adaptor.getOnTrue(), adaptor.getOnFalse()},
      [](ConstantTensor &out, int64_t i, ArrayRef<ConstantTensor> in, ArrayRef<int64_t> at) {
        size_t from = in[0].ints[at[0]] ? 1 : 2;
        if (out.isFloat())
          out.floats[i] = in[from].floats[at[from]];
        else
          out.ints[i] = in[from].ints[at[from]];
        return true;
      });
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

/// Builds a constant of `type` whose element i is input element `source(i)`.
static OpFoldResult gatherElements(Attribute input, RankedTensorType type,
                                   const std::function<int64_t(ArrayRef<int64_t>)> &source) {
  if (type.getNumElements() > kMaxMoveElements)
    return {};
  auto in = ConstantTensor::read(input, kMaxMoveElements);
  if (!in)
    return {};
  ConstantTensor out = ConstantTensor::zeros(type);
  auto strides = rowMajorStrides(type.getShape());
  SmallVector<int64_t> coords(type.getRank());
  for (int64_t i = 0; i < out.size(); ++i) {
    for (int64_t d = 0; d < type.getRank(); ++d)
      coords[d] = (i / strides[d]) % type.getDimSize(d);
    int64_t j = source(coords);
    if (j < 0)
      return {};
    if (out.isFloat())
      out.floats[i] = in->floats[j];
    else
      out.ints[i] = in->ints[j];
  }
  return out.toAttr();
}

OpFoldResult TransposeOp::fold(FoldAdaptor adaptor) {
  ArrayRef<int64_t> perm = getPerm();
  bool identity = true;
  for (size_t i = 0; i < perm.size(); ++i)
    identity &= perm[i] == (int64_t)i;
  if (identity)
    return getInput();
  auto inStrides = rowMajorStrides(getInput().getType().getShape());
  return gatherElements(adaptor.getInput(), getType(), [&](ArrayRef<int64_t> c) {
    int64_t j = 0;
    for (size_t d = 0; d < perm.size(); ++d)
      j += c[d] * inStrides[perm[d]];
    return j;
  });
}

namespace {
/// transpose(transpose(x, p), q) -> transpose(x, p o q).
struct ComposeTransposes : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op, PatternRewriter &rewriter) const override {
    auto inner = op.getInput().getDefiningOp<TransposeOp>();
    if (!inner)
      return rewriter.notifyMatchFailure(op, "input is not a transpose");
    SmallVector<int64_t> perm;
    for (int64_t p : op.getPerm())
      perm.push_back(inner.getPerm()[p]);
    rewriter.replaceOpWithNewOp<TransposeOp>(op, op.getType(), inner.getInput(),
                                             rewriter.getDenseI64ArrayAttr(perm));
    return success();
  }
};
} // namespace

void TransposeOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *ctx) {
  results.add<ComposeTransposes>(ctx);
}

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  if (auto inner = getInput().getDefiningOp<ReshapeOp>()) {
    getInputMutable().assign(inner.getInput());
    return getResult();
  }
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(adaptor.getInput()))
    return dense.reshape(getType());
  if (auto resource = dyn_cast_or_null<DenseResourceElementsAttr>(adaptor.getInput()))
    return DenseResourceElementsAttr::get(getType(), resource.getRawHandle());
  return {};
}

OpFoldResult ConcatOp::fold(FoldAdaptor adaptor) {
  if (getInputs().size() == 1)
    return getInputs().front();
  SmallVector<ConstantTensor> parts;
  for (Attribute attr : adaptor.getInputs()) {
    auto t = ConstantTensor::read(attr, kMaxFoldElements);
    if (!t)
      return {};
    parts.push_back(*t);
  }
  RankedTensorType type = getType();
  ConstantTensor out = ConstantTensor::zeros(type);
  int64_t axis = getAxis();
  // Rows above the axis times the contiguous block each input contributes per row.
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d)
    outer *= type.getDimSize(d);
  int64_t at = 0;
  for (int64_t o = 0; o < outer; ++o) {
    for (auto &p : parts) {
      int64_t block = p.size() / std::max<int64_t>(outer, 1);
      for (int64_t k = 0; k < block; ++k, ++at) {
        if (out.isFloat())
          out.floats[at] = p.floats[o * block + k];
        else
          out.ints[at] = p.ints[o * block + k];
      }
    }
  }
  return out.toAttr();
}

OpFoldResult SliceOp::fold(FoldAdaptor adaptor) {
  auto inType = getInput().getType();
  bool identity = inType == getType();
  for (int64_t d = 0; d < inType.getRank(); ++d)
    identity &= getStarts()[d] == 0 && getSteps()[d] == 1;
  if (identity)
    return getInput();
  auto inStrides = rowMajorStrides(inType.getShape());
  return gatherElements(adaptor.getInput(), getType(), [&](ArrayRef<int64_t> c) {
    int64_t j = 0;
    for (size_t d = 0; d < c.size(); ++d)
      j += (getStarts()[d] + c[d] * getSteps()[d]) * inStrides[d];
    return j;
  });
}

OpFoldResult PadOp::fold(FoldAdaptor adaptor) {
  if (llvm::all_of(getPads(), [](int64_t p) { return p == 0; }))
    return getInput();
  return {};
}

OpFoldResult GatherOp::fold(FoldAdaptor adaptor) {
  auto indices = ConstantTensor::read(adaptor.getIndices(), kMaxFoldElements);
  if (!indices)
    return {};
  auto dataType = getData().getType();
  int64_t axis = getAxis(), dim = dataType.getDimSize(axis);
  int64_t indexRank = getIndices().getType().getRank();
  auto dataStrides = rowMajorStrides(dataType.getShape());
  auto indexStrides = rowMajorStrides(getIndices().getType().getShape());
  return gatherElements(adaptor.getData(), getType(), [&](ArrayRef<int64_t> c) -> int64_t {
    int64_t k = 0;
    for (int64_t d = 0; d < indexRank; ++d)
      k += c[axis + d] * indexStrides[d];
    int64_t index = indices->ints[k];
    if (index < 0)
      index += dim;
    if (index < 0 || index >= dim)
      return -1;
    int64_t j = index * dataStrides[axis];
    for (int64_t d = 0; d < axis; ++d)
      j += c[d] * dataStrides[d];
    for (int64_t d = axis + 1; d < dataType.getRank(); ++d)
      j += c[d + indexRank - 1] * dataStrides[d];
    return j;
  });
}
