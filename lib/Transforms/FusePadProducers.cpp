// kiln-fuse-pad-producers: an elementwise generic whose result is padded computes
// straight into the padded tensor's interior, so on buffers the padded copy is that
// generic's own nest, which kiln-inline-padding then folds into the reader's loads.
#include "kiln/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_KILNFUSEPADPRODUCERS
#include "kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

struct KilnFusePadProducers : kiln::impl::KilnFusePadProducersBase<KilnFusePadProducers> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    linalg::populateFuseTensorPadWithProducerLinalgOpPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
