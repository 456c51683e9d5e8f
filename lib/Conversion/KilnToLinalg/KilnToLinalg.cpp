// The convert-kiln-to-linalg pass: a partial conversion that leaves no kiln op behind.
#include "kiln/Conversion/KilnToLinalg/KilnToLinalg.h"
#include "LinalgBuilders.h"
#include "kiln/Conversion/Passes.h"
#include "kiln/Dialect/Kiln/KilnDialect.h"
#include "kiln/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Transforms/DialectConversion.h"

namespace kiln {
#define GEN_PASS_DEF_CONVERTKILNTOLINALG
#include "kiln/Conversion/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

void kiln::populateKilnToLinalgPatterns(RewritePatternSet &patterns) {
  populateDecomposePatterns(patterns);
  populateElementwiseToLinalgPatterns(patterns);
  populateLinearAlgebraToLinalgPatterns(patterns);
  populateConvPoolToLinalgPatterns(patterns);
  populateReductionToLinalgPatterns(patterns);
  populateDataMovementToLinalgPatterns(patterns);
  populateScatterToLinalgPatterns(patterns);
}

namespace {
struct ConvertKilnToLinalg : kiln::impl::ConvertKilnToLinalgBase<ConvertKilnToLinalg> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    ConversionTarget target(*ctx);
    target.addIllegalDialect<KilnDialect>();
    // Fusion regions are outlined before lowering; they stay legal so that this pass
    // can also lower the ops inside them in tests.
    target.addLegalOp<FusionOp, YieldOp>();
    target.addLegalDialect<linalg::LinalgDialect, tensor::TensorDialect, arith::ArithDialect,
                           math::MathDialect, func::FuncDialect, scf::SCFDialect>();
    lowering::makeIntegersSignless(getOperation());
    RewritePatternSet patterns(ctx);
    populateKilnToLinalgPatterns(patterns);
    if (failed(applyPartialConversion(getOperation(), target, std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
