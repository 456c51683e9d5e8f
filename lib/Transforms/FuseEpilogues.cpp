// kiln-fuse-epilogues: tiles a fusion's elementwise epilogue by rows and computes its
// contraction producer per tile, so the contraction's output is never stored whole.
#include "kiln/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/PatternMatch.h"

namespace kiln {
#define GEN_PASS_DEF_KILNFUSEEPILOGUES
#include "kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

bool hasReduction(linalg::LinalgOp op) { return op.getNumReductionLoops() > 0; }

/// True if a linalg op with reduction loops feeds `root` through linalg ops.
bool fedByContraction(linalg::LinalgOp root) {
  SmallVector<Operation *> worklist = {root};
  DenseSet<Operation *> seen;
  while (!worklist.empty()) {
    Operation *op = worklist.pop_back_val();
    if (!seen.insert(op).second)
      continue;
    for (Value operand : op->getOperands()) {
      auto producer = operand.getDefiningOp<linalg::LinalgOp>();
      if (!producer)
        continue;
      if (hasReduction(producer))
        return true;
      worklist.push_back(producer);
    }
  }
  return false;
}

struct KilnFuseEpilogues : kiln::impl::KilnFuseEpiloguesBase<KilnFuseEpilogues> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (!func->hasAttr("kiln.fusion") || func.getBody().empty())
      return;
    auto ret = cast<func::ReturnOp>(func.getBody().front().getTerminator());
    for (Value result : ret.getOperands()) {
      auto root = result.getDefiningOp<linalg::GenericOp>();
      if (!root || hasReduction(root) || root.getNumLoops() < 2 || !fedByContraction(root))
        continue;
      SmallVector<int64_t> sizes(root.getNumLoops(), 1);
      sizes.back() = 0; // Whole rows: the innermost dimension stays untiled.
      scf::SCFTileAndFuseOptions options;
      options.tilingOptions.setTileSizes(getAsIndexOpFoldResult(&getContext(), sizes));
      // Only linalg producers are recomputed per tile; padding and reshapes stay whole.
      options.setFusionControlFn([](tensor::ExtractSliceOp, OpResult producer, bool)
                                     -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
        if (!isa<linalg::LinalgOp>(producer.getOwner()))
          return std::nullopt;
        return scf::SCFTileAndFuseOptions::ControlFnResult{};
      });
      IRRewriter rewriter(&getContext());
      rewriter.setInsertionPoint(root);
      auto tiled = scf::tileConsumerAndFuseProducersUsingSCF(
          rewriter, cast<TilingInterface>(root.getOperation()), options);
      if (failed(tiled)) {
        root.emitError("kiln-fuse-epilogues: tiling failed");
        return signalPassFailure();
      }
      for (auto [original, replacement] : tiled->replacements)
        rewriter.replaceAllUsesWith(original, replacement);
    }
  }
};

} // namespace
