// kiln-forward-output-buffers: results are computed in the caller's output buffers
// instead of being copied there at the end.
#include "kiln/Transforms/Passes.h"

#include "mlir/IR/PatternMatch.h"

namespace kiln {
#define GEN_PASS_DEF_KILNFORWARDOUTPUTBUFFERS
#include "kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// The allocation `copy` moves into an output argument, whole or through one reshape
/// (a model output that is a Reshape of a computed tensor), when the allocation can
/// become the argument itself, reshaped back: nothing uses it after the copy but its
/// deallocation, and nothing else uses the argument or the reshape.
memref::AllocOp forwardable(memref::CopyOp copy) {
  auto out = dyn_cast<BlockArgument>(copy.getTarget());
  Value source = copy.getSource();
  Operation *reshape = source.getDefiningOp();
  if (isa_and_nonnull<memref::CollapseShapeOp, memref::ExpandShapeOp>(reshape) && source.hasOneUse())
    source = reshape->getOperand(0);
  auto alloc = source.getDefiningOp<memref::AllocOp>();
  if (!out || !alloc || !out.hasOneUse() || !alloc.getType().getLayout().isIdentity() ||
      copy.getSource().getType() != out.getType() || alloc->getBlock() != copy->getBlock() ||
      out.getOwner() != copy->getBlock())
    return nullptr;
  for (Operation *user : alloc->getUsers()) {
    if (user == copy || user == reshape || isa<memref::DeallocOp>(user))
      continue;
    Operation *inBlock = copy->getBlock()->findAncestorOpInBlock(*user);
    if (!inBlock || !inBlock->isBeforeInBlock(copy))
      return nullptr;
  }
  return alloc;
}

struct KilnForwardOutputBuffers : kiln::impl::KilnForwardOutputBuffersBase<KilnForwardOutputBuffers> {
  using Base::Base;
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    SmallVector<memref::CopyOp> copies;
    for (Block &block : getOperation().getBody())
      for (auto copy : block.getOps<memref::CopyOp>())
        copies.push_back(copy);
    for (memref::CopyOp copy : copies) {
      memref::AllocOp alloc = forwardable(copy);
      if (!alloc)
        continue;
      Value out = copy.getTarget();
      Operation *reshape = copy.getSource().getDefiningOp();
      rewriter.eraseOp(copy);
      // The allocation becomes the output argument, reshaped the other way.
      rewriter.setInsertionPoint(alloc);
      if (auto collapse = dyn_cast_or_null<memref::CollapseShapeOp>(reshape)) {
        out = rewriter.create<memref::ExpandShapeOp>(alloc.getLoc(), alloc.getType(), out,
                                                     collapse.getReassociationIndices());
        rewriter.eraseOp(collapse);
      } else if (auto expand = dyn_cast_or_null<memref::ExpandShapeOp>(reshape)) {
        out = rewriter.create<memref::CollapseShapeOp>(alloc.getLoc(), alloc.getType(), out,
                                                       expand.getReassociationIndices());
        rewriter.eraseOp(expand);
      }
      for (Operation *user : llvm::make_early_inc_range(alloc->getUsers()))
        if (isa<memref::DeallocOp>(user))
          rewriter.eraseOp(user);
      rewriter.replaceAllUsesWith(alloc.getResult(), out);
      rewriter.eraseOp(alloc);
    }
  }
};

} // namespace
