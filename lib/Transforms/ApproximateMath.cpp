// kiln-approximate-math: math functions become arithmetic, so GPU kernels need no
// libdevice; integer powers become square-and-multiply.
#include "kiln/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

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

struct KilnApproximateMath : kiln::impl::KilnApproximateMathBase<KilnApproximateMath> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    math::populateExpansionPatterns(patterns);
    patterns.add<ExpandIPowI>(&getContext());
    populateMathPolynomialApproximationPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
