// kiln-approximate-math: math functions become arithmetic, so GPU kernels need no
// libdevice; integer powers become square-and-multiply.
#include "kiln/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>
#include <limits>

namespace kiln {
#define GEN_PASS_DEF_KILNAPPROXIMATEMATH
#include "kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// math.ipowi as straight-line square-and-multiply over every exponent bit (no loop, so
/// it can run after control flow is lowered). A negative exponent gives 0, except for
/// a base of 1 (1) or -1 (±1 by the exponent's parity), as math.ipowi defines.
struct ExpandIPowI : OpRewritePattern<math::IPowIOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(math::IPowIOp op, PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Type type = op.getType();
    auto intType = dyn_cast<IntegerType>(getElementTypeOrSelf(type));
    if (!intType || isa<ShapedType>(type))
      return failure();
    unsigned bits = intType.getWidth();
    auto constant = [&](int64_t v) { return rewriter.create<arith::ConstantIntOp>(loc, type, v); };
    Value base = op.getLhs(), exponent = op.getRhs(), one = constant(1), zero = constant(0);
    Value result = one, power = base;
    for (unsigned i = 0; i + 1 < bits; ++i) { // the sign bit is handled below
      Value bit = rewriter.create<arith::AndIOp>(
          loc, rewriter.create<arith::ShRUIOp>(loc, exponent, constant(i)), one);
      Value set = rewriter.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, bit, zero);
      result = rewriter.create<arith::SelectOp>(
          loc, set, rewriter.create<arith::MulIOp>(loc, result, power), result);
      power = rewriter.create<arith::MulIOp>(loc, power, power);
    }
    Value negative = rewriter.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, exponent, zero);
    Value odd = rewriter.create<arith::CmpIOp>(
        loc, arith::CmpIPredicate::ne, rewriter.create<arith::AndIOp>(loc, exponent, one), zero);
    Value minusOne = constant(-1);
    Value isOne = rewriter.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, base, one);
    Value isMinusOne = rewriter.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, base, minusOne);
    Value ofMinusOne = rewriter.create<arith::SelectOp>(loc, odd, minusOne, one);
    Value reciprocal = rewriter.create<arith::SelectOp>(
        loc, isOne, one, rewriter.create<arith::SelectOp>(loc, isMinusOne, ofMinusOne, zero));
    rewriter.replaceOpWithNewOp<arith::SelectOp>(op, negative, reciprocal, result);
    return success();
  }
};

/// f64 helpers: MLIR's polynomial approximations cover f32 only, and libdevice is not
/// used, so exp and log in f64 are expanded here to about one ulp.
struct F64Builder {
  PatternRewriter &b;
  Location loc;
  Type f64 = b.getF64Type(), i64 = b.getI64Type();
  Value c(double v) { return b.create<arith::ConstantFloatOp>(loc, cast<FloatType>(f64), APFloat(v)); }
  Value ci(int64_t v) { return b.create<arith::ConstantIntOp>(loc, i64, v); }
  Value add(Value x, Value y) { return b.create<arith::AddFOp>(loc, x, y); }
  Value sub(Value x, Value y) { return b.create<arith::SubFOp>(loc, x, y); }
  Value mul(Value x, Value y) { return b.create<arith::MulFOp>(loc, x, y); }
  Value cmp(arith::CmpFPredicate p, Value x, Value y) { return b.create<arith::CmpFOp>(loc, p, x, y); }
  Value select(Value cond, Value x, Value y) { return b.create<arith::SelectOp>(loc, cond, x, y); }
  /// 2^k for an integer k in [-1022, 1023], built from its exponent bits.
  Value pow2(Value k) {
    Value bits = b.create<arith::ShLIOp>(loc, b.create<arith::AddIOp>(loc, k, ci(1023)), ci(52));
    return b.create<arith::BitcastOp>(loc, f64, bits);
  }
  /// Horner evaluation of sum(coefficients[i] * x^i).
  Value polynomial(Value x, ArrayRef<double> coefficients) {
    Value acc = c(coefficients.back());
    for (double coefficient : llvm::reverse(coefficients.drop_back()))
      acc = add(mul(acc, x), c(coefficient));
    return acc;
  }
};

constexpr double kLn2Hi = 6.93147180369123816490e-01, kLn2Lo = 1.90821492927058770002e-10;

/// exp(x) = 2^k * exp(r), k = round(x / ln 2), r = x - k ln 2 (in two parts, so r is
/// exact), |r| <= ln(2) / 2; exp(r) by its Taylor series to r^13 (error below 1e-17).
/// 2^k is applied in two halves so that results in the subnormal range come out too.
struct ExpandF64Exp : OpRewritePattern<math::ExpOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(math::ExpOp op, PatternRewriter &rewriter) const override {
    if (!op.getType().isF64())
      return failure();
    F64Builder f{rewriter, op.getLoc()};
    Value x = op.getOperand();
    // Clamped so that k fits; the true result is inf or 0 beyond these bounds anyway.
    Value clamped = rewriter.create<arith::MinimumFOp>(f.loc, rewriter.create<arith::MaximumFOp>(f.loc, x, f.c(-746.0)),
                                                      f.c(710.0));
    Value kf = rewriter.create<math::FloorOp>(f.loc, f.add(f.mul(clamped, f.c(1.4426950408889634)), f.c(0.5)));
    Value r = f.sub(f.sub(clamped, f.mul(kf, f.c(kLn2Hi))), f.mul(kf, f.c(kLn2Lo)));
    SmallVector<double> taylor{1.0};
    for (int n = 1; n <= 13; ++n)
      taylor.push_back(taylor.back() / n);
    Value expR = f.polynomial(r, taylor);
    Value k = rewriter.create<arith::FPToSIOp>(f.loc, f.i64, kf);
    Value half = rewriter.create<arith::DivSIOp>(f.loc, k, f.ci(2));
    Value rest = rewriter.create<arith::SubIOp>(f.loc, k, half);
    Value result = f.mul(f.mul(expR, f.pow2(half)), f.pow2(rest));
    result = f.select(f.cmp(arith::CmpFPredicate::OGT, x, f.c(709.782712893384)),
                      f.c(std::numeric_limits<double>::infinity()), result);
    result = f.select(f.cmp(arith::CmpFPredicate::OLT, x, f.c(-745.1332191019412)), f.c(0.0), result);
    rewriter.replaceOp(op, f.select(f.cmp(arith::CmpFPredicate::UNO, x, x), x, result));
    return success();
  }
};

/// log(x) = e ln 2 + log(m), x = m 2^e with m in [sqrt(2)/2, sqrt(2)); log(m) =
/// 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172, by its series to s^21. Subnormal x
/// is scaled by 2^54 first; x < 0 gives NaN, 0 gives -inf, inf and NaN themselves.
struct ExpandF64Log : OpRewritePattern<math::LogOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(math::LogOp op, PatternRewriter &rewriter) const override {
    if (!op.getType().isF64())
      return failure();
    F64Builder f{rewriter, op.getLoc()};
    Location loc = f.loc;
    Value x = op.getOperand();
    Value tiny = f.cmp(arith::CmpFPredicate::OLT, x, f.c(0x1p-1022));
    Value scaled = f.select(tiny, f.mul(x, f.c(0x1p54)), x);
    Value bits = rewriter.create<arith::BitcastOp>(loc, f.i64, scaled);
    Value biased = rewriter.create<arith::AndIOp>(loc, rewriter.create<arith::ShRUIOp>(loc, bits, f.ci(52)),
                                                  f.ci(0x7ff));
    Value mantissaBits = rewriter.create<arith::OrIOp>(
        loc, rewriter.create<arith::AndIOp>(loc, bits, f.ci((int64_t(1) << 52) - 1)), f.ci(int64_t(1023) << 52));
    Value m = rewriter.create<arith::BitcastOp>(loc, f.f64, mantissaBits);
    Value e = rewriter.create<arith::SubIOp>(loc, biased,
                                             f.select(tiny, f.ci(1023 + 54), f.ci(1023)));
    Value big = f.cmp(arith::CmpFPredicate::OGT, m, f.c(1.4142135623730951));
    m = f.select(big, f.mul(m, f.c(0.5)), m);
    e = rewriter.create<arith::AddIOp>(loc, e, rewriter.create<arith::ExtUIOp>(loc, f.i64, big));
    Value s = rewriter.create<arith::DivFOp>(loc, f.sub(m, f.c(1.0)), f.add(m, f.c(1.0)));
    Value s2 = f.mul(s, s);
    SmallVector<double> series;
    for (int n = 0; n <= 10; ++n)
      series.push_back(2.0 / (2 * n + 1));
    Value logM = f.mul(s, f.polynomial(s2, series));
    Value ef = rewriter.create<arith::SIToFPOp>(loc, f.f64, e);
    Value result = f.add(f.mul(ef, f.c(kLn2Hi)), f.add(logM, f.mul(ef, f.c(kLn2Lo))));
    double inf = std::numeric_limits<double>::infinity();
    result = f.select(f.cmp(arith::CmpFPredicate::OEQ, x, f.c(inf)), x, result);
    result = f.select(f.cmp(arith::CmpFPredicate::OEQ, x, f.c(0.0)), f.c(-inf), result);
    result = f.select(f.cmp(arith::CmpFPredicate::OLT, x, f.c(0.0)), f.c(std::nan("")), result);
    rewriter.replaceOp(op, f.select(f.cmp(arith::CmpFPredicate::UNO, x, x), x, result));
    return success();
  }
};

struct KilnApproximateMath : kiln::impl::KilnApproximateMathBase<KilnApproximateMath> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    math::populateExpansionPatterns(patterns);
    patterns.add<ExpandIPowI, ExpandF64Exp, ExpandF64Log>(&getContext());
    populateMathPolynomialApproximationPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
