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

/// `copy` moves a whole allocation into an output argument: the allocation can be
/// the argument itself when nothing uses it after the copy but its deallocation, and
/// nothing else uses the argument.
memref::AllocOp forwardable(memref::CopyOp copy) {
  auto out = dyn_cast<BlockArgument>(copy.getTarget());
  auto alloc = copy.getSource().getDefiningOp<memref::AllocOp>();
  if (!out || !alloc || !out.hasOneUse() || alloc.getType() != out.getType() ||
      alloc->getBlock() != copy->getBlock() || out.getOwner() != copy->getBlock())
    return nullptr;
  for (Operation *user : alloc->getUsers()) {
    if (user == copy || isa<memref::DeallocOp>(user))
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
      rewriter.eraseOp(copy);
      for (Operation *user : llvm::make_early_inc_range(alloc->getUsers()))
        if (isa<memref::DeallocOp>(user))
          rewriter.eraseOp(user);
      rewriter.replaceAllUsesWith(alloc.getResult(), out);
      rewriter.eraseOp(alloc);
    }
  }
};

} // namespace
