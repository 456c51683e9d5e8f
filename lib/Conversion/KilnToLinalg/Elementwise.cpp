// Lowering of kiln's elementwise ops (unary, binary, clip, cast) to broadcasting
// linalg.generic ops whose bodies use arith and math.
#include "LinalgBuilders.h"
#include "kiln/Conversion/KilnToLinalg/KilnToLinalg.h"
#include "kiln/Dialect/Kiln/ConstantTensor.h"

#include "llvm/ADT/StringSwitch.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::lowering;

namespace {

bool isFloat(Type t) { return isa<FloatType>(t); }

/// Scalar semantics of one kiln op on element values; null if the type is unsupported.
template <typename OpTy> struct Scalar;

#define KILN_FLOAT_UNARY(OP, MATH)                                                         \
  template <> struct Scalar<OP> {                                                          \
    static Value apply(OP, OpBuilder &b, Location loc, Type t, ValueRange a) {             \
      return isFloat(t) ? b.create<MATH>(loc, a[0]).getResult() : Value();                  \
    }                                                                                      \
  };
KILN_FLOAT_UNARY(ExpOp, math::ExpOp)
KILN_FLOAT_UNARY(LogOp, math::LogOp)
KILN_FLOAT_UNARY(SqrtOp, math::SqrtOp)
KILN_FLOAT_UNARY(TanhOp, math::TanhOp)
KILN_FLOAT_UNARY(ErfOp, math::ErfOp)
KILN_FLOAT_UNARY(FloorOp, math::FloorOp)
KILN_FLOAT_UNARY(CeilOp, math::CeilOp)
KILN_FLOAT_UNARY(RoundOp, math::RoundEvenOp)
KILN_FLOAT_UNARY(SinOp, math::SinOp)
KILN_FLOAT_UNARY(CosOp, math::CosOp)
KILN_FLOAT_UNARY(TanOp, math::TanOp)
KILN_FLOAT_UNARY(AsinOp, math::AsinOp)
KILN_FLOAT_UNARY(AcosOp, math::AcosOp)
KILN_FLOAT_UNARY(AtanOp, math::AtanOp)
KILN_FLOAT_UNARY(SinhOp, math::SinhOp)
KILN_FLOAT_UNARY(CoshOp, math::CoshOp)
KILN_FLOAT_UNARY(AsinhOp, math::AsinhOp)
KILN_FLOAT_UNARY(AcoshOp, math::AcoshOp)
KILN_FLOAT_UNARY(AtanhOp, math::AtanhOp)
#undef KILN_FLOAT_UNARY

template <> struct Scalar<NegOp> {
  static Value apply(NegOp, OpBuilder &b, Location loc, Type t, ValueRange a) {
    if (isFloat(t))
      return b.create<arith::NegFOp>(loc, a[0]);
    return b.create<arith::SubIOp>(loc, scalarConstant(b, loc, t, 0), a[0]);
  }
};
template <> struct Scalar<AbsOp> {
  static Value apply(AbsOp op, OpBuilder &b, Location loc, Type t, ValueRange a) {
    if (isFloat(t))
      return b.create<math::AbsFOp>(loc, a[0]);
    if (hasUnsignedOperands(op))
      return a[0];
    return b.create<math::AbsIOp>(loc, a[0]);
  }
};
template <> struct Scalar<ReciprocalOp> {
  static Value apply(ReciprocalOp, OpBuilder &b, Location loc, Type t, ValueRange a) {
    if (!isFloat(t))
      return {};
    return b.create<arith::DivFOp>(loc, scalarConstant(b, loc, t, 1), a[0]);
  }
};
template <> struct Scalar<SigmoidOp> {
  static Value apply(SigmoidOp, OpBuilder &b, Location loc, Type t, ValueRange a) {
    if (!isFloat(t))
      return {};
    Value one = scalarConstant(b, loc, t, 1);
    Value e = b.create<math::ExpOp>(loc, b.create<arith::NegFOp>(loc, a[0]));
    return b.create<arith::DivFOp>(loc, one, b.create<arith::AddFOp>(loc, one, e));
  }
};
template <> struct Scalar<ReluOp> {
  static Value apply(ReluOp op, OpBuilder &b, Location loc, Type t, ValueRange a) {
    return maxOf(b, loc, a[0], scalarConstant(b, loc, t, 0), hasUnsignedOperands(op));
  }
};
template <> struct Scalar<ClipOp> {
  static Value apply(ClipOp op, OpBuilder &b, Location loc, Type t, ValueRange a) {
    double lo = op.getMin().convertToDouble(), hi = op.getMax().convertToDouble();
    if (isFloat(t)) {
      Value x = b.create<arith::MaximumFOp>(loc, a[0], scalarConstant(b, loc, t, lo));
      return b.create<arith::MinimumFOp>(loc, x, scalarConstant(b, loc, t, hi));
    }
    bool u = hasUnsignedOperands(op);
    // Bounds outside the type's range do not bind.
    auto [tmin, tmax] = integerRange(t.getIntOrFloatBitWidth(), u);
    Value x = a[0];
    if (lo > tmin)
      x = maxOf(b, loc, x, scalarConstant(b, loc, t, std::min(lo, tmax)), u);
    if (hi < tmax)
      x = minOf(b, loc, x, scalarConstant(b, loc, t, std::max(hi, tmin)), u);
    return x;
  }
};

#define KILN_BINARY(OP, FOP, IOP)                                                          \
  template <> struct Scalar<OP> {                                                          \
    static Value apply(OP, OpBuilder &b, Location loc, Type t, ValueRange a) {             \
      if (isFloat(t))                                                                      \
        return b.create<FOP>(loc, a[0], a[1]);                                             \
      if (t.isInteger(1))                                                                  \
        return {};                                                                         \
      return b.create<IOP>(loc, a[0], a[1]);                                               \
    }                                                                                      \
  };
KILN_BINARY(AddOp, arith::AddFOp, arith::AddIOp)
KILN_BINARY(SubOp, arith::SubFOp, arith::SubIOp)
KILN_BINARY(MulOp, arith::MulFOp, arith::MulIOp)
KILN_BINARY(PowOp, math::PowFOp, math::IPowIOp)
#undef KILN_BINARY

// Integer semantics that depend on signedness.
#define KILN_SIGNED_BINARY(OP, FOP, SIOP, UIOP)                                            \
  template <> struct Scalar<OP> {                                                          \
    static Value apply(OP op, OpBuilder &b, Location loc, Type t, ValueRange a) {          \
      if (isFloat(t))                                                                      \
        return b.create<FOP>(loc, a[0], a[1]);                                             \
      if (t.isInteger(1))                                                                  \
        return {};                                                                         \
      if (hasUnsignedOperands(op))                                                         \
        return b.create<UIOP>(loc, a[0], a[1]);                                            \
      return b.create<SIOP>(loc, a[0], a[1]);                                              \
    }                                                                                      \
  };
KILN_SIGNED_BINARY(DivOp, arith::DivFOp, arith::DivSIOp, arith::DivUIOp)
KILN_SIGNED_BINARY(MaxOp, arith::MaximumFOp, arith::MaxSIOp, arith::MaxUIOp)
KILN_SIGNED_BINARY(MinOp, arith::MinimumFOp, arith::MinSIOp, arith::MinUIOp)
KILN_SIGNED_BINARY(RemOp, arith::RemFOp, arith::RemSIOp, arith::RemUIOp)
#undef KILN_SIGNED_BINARY

/// Shifts by the type's width or more give 0 (logical) or the sign (arithmetic), as
/// numpy does, where LLVM would give poison.
template <bool left> Value shift(Operation *op, OpBuilder &b, Location loc, Type t, ValueRange a) {
  if (isFloat(t) || t.isInteger(1))
    return {};
  bool u = hasUnsignedOperands(op);
  unsigned w = t.getIntOrFloatBitWidth();
  Value limit = scalarConstant(b, loc, t, w - 1);
  Value tooFar = b.create<arith::CmpIOp>(loc, u ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::sgt,
                                         a[1], limit);
  if (left) {
    Value shifted = b.create<arith::ShLIOp>(loc, a[0], a[1]);
    return b.create<arith::SelectOp>(loc, tooFar, scalarConstant(b, loc, t, 0), shifted);
  }
  if (u) {
    Value shifted = b.create<arith::ShRUIOp>(loc, a[0], a[1]);
    return b.create<arith::SelectOp>(loc, tooFar, scalarConstant(b, loc, t, 0), shifted);
  }
  return b.create<arith::ShRSIOp>(loc, a[0], b.create<arith::SelectOp>(loc, tooFar, limit, a[1]));
}
template <> struct Scalar<ShiftLeftOp> {
  static Value apply(ShiftLeftOp op, OpBuilder &b, Location loc, Type t, ValueRange a) {
    return shift<true>(op, b, loc, t, a);
  }
};
template <> struct Scalar<ShiftRightOp> {
  static Value apply(ShiftRightOp op, OpBuilder &b, Location loc, Type t, ValueRange a) {
    return shift<false>(op, b, loc, t, a);
  }
};

/// Python's modulo: the remainder, moved by one divisor when its sign differs from
/// the divisor's.
template <> struct Scalar<ModOp> {
  static Value apply(ModOp op, OpBuilder &b, Location loc, Type t, ValueRange a) {
    if (t.isInteger(1))
      return {};
    if (hasUnsignedOperands(op))
      return b.create<arith::RemUIOp>(loc, a[0], a[1]);
    Value zero = scalarConstant(b, loc, t, 0);
    Value r, rNeg, yNeg, nonZero, adjusted;
    if (isFloat(t)) {
      r = b.create<arith::RemFOp>(loc, a[0], a[1]);
      rNeg = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OLT, r, zero);
      yNeg = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OLT, a[1], zero);
      nonZero = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::ONE, r, zero);
      adjusted = b.create<arith::AddFOp>(loc, r, a[1]);
    } else {
      r = b.create<arith::RemSIOp>(loc, a[0], a[1]);
      rNeg = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, r, zero);
      yNeg = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, a[1], zero);
      nonZero = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, r, zero);
      adjusted = b.create<arith::AddIOp>(loc, r, a[1]);
    }
    Value signsDiffer = b.create<arith::XOrIOp>(loc, rNeg, yNeg);
    Value fix = b.create<arith::AndIOp>(loc, signsDiffer, nonZero);
    return b.create<arith::SelectOp>(loc, fix, adjusted, r);
  }
};

#define KILN_LOGIC(OP, IOP)                                                                \
  template <> struct Scalar<OP> {                                                          \
    static Value apply(OP, OpBuilder &b, Location loc, Type t, ValueRange a) {             \
      return t.isInteger(1) ? b.create<IOP>(loc, a[0], a[1]).getResult() : Value();        \
    }                                                                                      \
  };
KILN_LOGIC(AndOp, arith::AndIOp)
KILN_LOGIC(OrOp, arith::OrIOp)
KILN_LOGIC(XorOp, arith::XOrIOp)
#undef KILN_LOGIC

template <> struct Scalar<NotOp> {
  static Value apply(NotOp, OpBuilder &b, Location loc, Type t, ValueRange a) {
    if (!t.isInteger(1))
      return {};
    return b.create<arith::XOrIOp>(loc, a[0], scalarConstant(b, loc, t, 1));
  }
};

template <> struct Scalar<CompareOp> {
  static Value apply(CompareOp op, OpBuilder &b, Location loc, Type, ValueRange a) {
    StringRef p = op.getPredicate();
    if (isFloat(a[0].getType())) {
      auto pred = llvm::StringSwitch<arith::CmpFPredicate>(p)
                      .Case("eq", arith::CmpFPredicate::OEQ)
                      .Case("ne", arith::CmpFPredicate::UNE)
                      .Case("lt", arith::CmpFPredicate::OLT)
                      .Case("le", arith::CmpFPredicate::OLE)
                      .Case("gt", arith::CmpFPredicate::OGT)
                      .Default(arith::CmpFPredicate::OGE);
      return b.create<arith::CmpFOp>(loc, pred, a[0], a[1]);
    }
    bool u = hasUnsignedOperands(op);
    auto pred = llvm::StringSwitch<arith::CmpIPredicate>(p)
                    .Case("eq", arith::CmpIPredicate::eq)
                    .Case("ne", arith::CmpIPredicate::ne)
                    .Case("lt", u ? arith::CmpIPredicate::ult : arith::CmpIPredicate::slt)
                    .Case("le", u ? arith::CmpIPredicate::ule : arith::CmpIPredicate::sle)
                    .Case("gt", u ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::sgt)
                    .Default(u ? arith::CmpIPredicate::uge : arith::CmpIPredicate::sge);
    return b.create<arith::CmpIOp>(loc, pred, a[0], a[1]);
  }
};

template <> struct Scalar<SelectOp> {
  static Value apply(SelectOp, OpBuilder &b, Location loc, Type, ValueRange a) {
    return b.create<arith::SelectOp>(loc, a[0], a[1], a[2]);
  }
};

/// Lowers any elementwise kiln op through its Scalar<> semantics.
template <typename OpTy> struct ElementwiseLowering : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op, PatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op->getResult(0).getType());
    Type et = type.getElementType();
    bool supported = true;
    Value result = buildElementwise(
        rewriter, op.getLoc(), type, op->getOperands(),
        [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
          Value v = Scalar<OpTy>::apply(op, b, loc, et, args.drop_back());
          if (!v) {
            supported = false;
            return args.back();
          }
          return v;
        });
    if (!supported) {
      rewriter.eraseOp(result.getDefiningOp());
      return rewriter.notifyMatchFailure(op, "unsupported element type");
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// Converts one element from `from` to `to` with ONNX Cast semantics; the flags say
/// which integer side was unsigned.
Value castScalar(OpBuilder &b, Location loc, Value x, Type from, Type to, bool fromUnsigned,
                 bool toUnsigned) {
  if (from == to)
    return x;
  bool fromF = isFloat(from), toF = isFloat(to);
  if (to.isInteger(1)) {
    Value zero = scalarConstant(b, loc, from, 0);
    if (fromF)
      return b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::UNE, x, zero);
    return b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, x, zero);
  }
  if (fromF && toF) {
    if (from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth())
      return b.create<arith::ExtFOp>(loc, to, x);
    if (from.getIntOrFloatBitWidth() > to.getIntOrFloatBitWidth())
      return b.create<arith::TruncFOp>(loc, to, x);
    // f16 <-> bf16: through f32.
    Value wide = b.create<arith::ExtFOp>(loc, b.getF32Type(), x);
    return b.create<arith::TruncFOp>(loc, to, wide);
  }
  bool zeroExtend = from.isInteger(1) || fromUnsigned;
  if (fromF)
    return toUnsigned ? b.create<arith::FPToUIOp>(loc, to, x).getResult()
                      : b.create<arith::FPToSIOp>(loc, to, x).getResult();
  if (toF)
    return zeroExtend ? b.create<arith::UIToFPOp>(loc, to, x).getResult()
                      : b.create<arith::SIToFPOp>(loc, to, x).getResult();
  if (from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth())
    return zeroExtend ? b.create<arith::ExtUIOp>(loc, to, x).getResult()
                      : b.create<arith::ExtSIOp>(loc, to, x).getResult();
  if (from.getIntOrFloatBitWidth() == to.getIntOrFloatBitWidth())
    return x; // Signed <-> unsigned of one width: the same bits.
  return b.create<arith::TruncIOp>(loc, to, x);
}

struct CastLowering : OpRewritePattern<CastOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CastOp op, PatternRewriter &rewriter) const override {
    Type from = op.getInput().getType().getElementType();
    Type to = op.getType().getElementType();
    rewriter.replaceOp(op, buildElementwise(rewriter, op.getLoc(), op.getType(), op.getInput(),
                                            [&](OpBuilder &b, Location loc, ValueRange args) {
                                              return castScalar(b, loc, args[0], from, to,
                                                                hasUnsignedOperands(op),
                                                                hasUnsignedResult(op));
                                            }));
    return success();
  }
};

} // namespace

void kiln::populateElementwiseToLinalgPatterns(RewritePatternSet &patterns) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<ElementwiseLowering<NegOp>, ElementwiseLowering<AbsOp>,
               ElementwiseLowering<ExpOp>, ElementwiseLowering<LogOp>,
               ElementwiseLowering<SqrtOp>, ElementwiseLowering<ReciprocalOp>,
               ElementwiseLowering<TanhOp>, ElementwiseLowering<SigmoidOp>,
               ElementwiseLowering<ReluOp>, ElementwiseLowering<ErfOp>,
               ElementwiseLowering<FloorOp>, ElementwiseLowering<CeilOp>,
               ElementwiseLowering<ClipOp>>(ctx);
  patterns.add<ElementwiseLowering<AddOp>, ElementwiseLowering<SubOp>,
               ElementwiseLowering<MulOp>, ElementwiseLowering<DivOp>,
               ElementwiseLowering<PowOp>, ElementwiseLowering<MaxOp>,
               ElementwiseLowering<MinOp>, ElementwiseLowering<ModOp>, ElementwiseLowering<RemOp>,
               ElementwiseLowering<ShiftLeftOp>, ElementwiseLowering<ShiftRightOp>>(ctx);
  patterns.add<ElementwiseLowering<AndOp>, ElementwiseLowering<OrOp>, ElementwiseLowering<XorOp>,
               ElementwiseLowering<NotOp>, ElementwiseLowering<CompareOp>,
               ElementwiseLowering<SelectOp>>(ctx);
  patterns.add<ElementwiseLowering<RoundOp>, ElementwiseLowering<SinOp>, ElementwiseLowering<CosOp>,
               ElementwiseLowering<TanOp>, ElementwiseLowering<AsinOp>, ElementwiseLowering<AcosOp>,
               ElementwiseLowering<AtanOp>, ElementwiseLowering<SinhOp>, ElementwiseLowering<CoshOp>,
               ElementwiseLowering<AsinhOp>, ElementwiseLowering<AcoshOp>,
               ElementwiseLowering<AtanhOp>>(ctx);
  patterns.add<CastLowering>(ctx);
}
