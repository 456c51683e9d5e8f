// kiln-reorder-contraction-loops: puts the loop over a contraction's contiguous output
// dimension innermost, after the reduction loops, so LLVM vectorizes it.
#include "kiln/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/IR/PatternMatch.h"

namespace kiln {
#define GEN_PASS_DEF_KILNREORDERCONTRACTIONLOOPS
#include "kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// The new loop order (old loop indices), or empty when the order is already right or
/// the op is not a multi-input contraction.
SmallVector<unsigned> contiguousLast(linalg::GenericOp op) {
  if (op.getNumDpsInputs() < 2 || op.getNumReductionLoops() == 0 || op.getNumDpsInits() != 1)
    return {};
  AffineMap out = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (out.getNumResults() == 0)
    return {};
  auto last = dyn_cast<AffineDimExpr>(out.getResults().back());
  if (!last)
    return {};
  unsigned inner = last.getPosition();
  auto iterators = op.getIteratorTypesArray();
  SmallVector<unsigned> order;
  for (unsigned i = 0; i < iterators.size(); ++i)
    if (i != inner && iterators[i] == utils::IteratorType::parallel)
      order.push_back(i);
  for (unsigned i = 0; i < iterators.size(); ++i)
    if (iterators[i] == utils::IteratorType::reduction)
      order.push_back(i);
  order.push_back(inner);
  for (unsigned i = 0; i < order.size(); ++i)
    if (order[i] != i)
      return order;
  return {};
}

/// For the GPU: every parallel loop before every reduction loop, each group in its
/// order, so the parallel loops form one nest that maps onto threads. Empty when the
/// order is already so.
SmallVector<unsigned> parallelFirst(linalg::GenericOp op) {
  auto iterators = op.getIteratorTypesArray();
  SmallVector<unsigned> order;
  for (auto kind : {utils::IteratorType::parallel, utils::IteratorType::reduction})
    for (unsigned i = 0; i < iterators.size(); ++i)
      if (iterators[i] == kind)
        order.push_back(i);
  for (unsigned i = 0; i < order.size(); ++i)
    if (order[i] != i)
      return order;
  return {};
}

struct KilnReorderContractionLoops
    : kiln::impl::KilnReorderContractionLoopsBase<KilnReorderContractionLoops> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> ops;
    getOperation().walk([&](linalg::GenericOp op) { ops.push_back(op); });
    IRRewriter rewriter(&getContext());
    for (linalg::GenericOp op : ops) {
      SmallVector<unsigned> order = parallelOuter ? parallelFirst(op) : contiguousLast(op);
      if (order.empty())
        continue;
      rewriter.setInsertionPoint(op);
      if (failed(linalg::interchangeGenericOp(rewriter, op, order))) {
        op.emitError("kiln-reorder-contraction-loops: interchange failed");
        return signalPassFailure();
      }
    }
  }
};

} // namespace
