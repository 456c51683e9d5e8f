// kiln-inline-padding: loads from a padded copy of a buffer read the buffer itself, or
// yield the padding value, so the padded copy is never built.
#include "kiln/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/PatternMatch.h"

namespace kiln {
#define GEN_PASS_DEF_KILNINLINEPADDING
#include "kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// The body of `loop` without its terminator is exactly `ops` op kinds, in order.
template <typename... Ops>
bool bodyIs(scf::ParallelOp loop) {
  auto body = loop.getBody()->without_terminator();
  if (std::distance(body.begin(), body.end()) != sizeof...(Ops))
    return false;
  auto it = body.begin();
  return (isa<Ops>(*it++) && ...);
}

/// `loop` runs from 0 by 1 over `shape`, and `indices` are its variables in order.
bool coversShape(scf::ParallelOp loop, ArrayRef<int64_t> shape, ValueRange indices) {
  if (loop.getNumLoops() != shape.size() || !llvm::equal(indices, loop.getBody()->getArguments()))
    return false;
  for (auto [lb, ub, step, size] : llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep(), shape))
    if (getConstantIntValue(lb) != 0 || getConstantIntValue(step) != 1 || getConstantIntValue(ub) != size)
      return false;
  return true;
}

struct PaddedBuffer {
  memref::AllocOp alloc;
  scf::ParallelOp fill, copy;
  Value padding, source;
  memref::SubViewOp interior;
  SmallVector<memref::LoadOp> loads;
  SmallVector<Operation *> deallocs;
};

/// `alloc` is filled with one value over its whole shape, then an interior window
/// (static offsets, unit strides) receives a copy of `source`; afterwards it is only read.
std::optional<PaddedBuffer> matchPadded(memref::AllocOp alloc) {
  auto type = alloc.getType();
  if (!type.hasStaticShape() || !type.getLayout().isIdentity())
    return std::nullopt;
  PaddedBuffer padded{alloc, {}, {}, {}, {}, {}, {}, {}};
  for (Operation *user : alloc->getUsers()) {
    if (auto store = dyn_cast<memref::StoreOp>(user)) {
      auto loop = dyn_cast<scf::ParallelOp>(store->getParentOp());
      if (padded.fill || !loop || !bodyIs<memref::StoreOp>(loop) || store.getMemRef() != alloc ||
          !coversShape(loop, type.getShape(), store.getIndices()) ||
          !loop.isDefinedOutsideOfLoop(store.getValueToStore()))
        return std::nullopt;
      padded.fill = loop;
      padded.padding = store.getValueToStore();
    } else if (auto view = dyn_cast<memref::SubViewOp>(user)) {
      if (padded.interior || !view.hasUnitStride() ||
          llvm::any_of(view.getStaticOffsets(), ShapedType::isDynamic) ||
          view.getType().getRank() != type.getRank() || !view->hasOneUse())
        return std::nullopt;
      auto store = dyn_cast<memref::StoreOp>(*view->getUsers().begin());
      auto loop = store ? dyn_cast<scf::ParallelOp>(store->getParentOp()) : nullptr;
      if (!loop || !bodyIs<memref::LoadOp, memref::StoreOp>(loop) || store.getMemRef() != view ||
          !coversShape(loop, view.getType().getShape(), store.getIndices()))
        return std::nullopt;
      auto load = store.getValueToStore().getDefiningOp<memref::LoadOp>();
      if (!load || load->getParentOp() != loop || !llvm::equal(load.getIndices(), store.getIndices()) ||
          !loop.isDefinedOutsideOfLoop(load.getMemRef()) ||
          load.getMemRefType().getShape() != view.getType().getShape())
        return std::nullopt;
      padded.interior = view;
      padded.copy = loop;
      padded.source = load.getMemRef();
    } else if (auto load = dyn_cast<memref::LoadOp>(user)) {
      padded.loads.push_back(load);
    } else if (isa<memref::DeallocOp>(user)) {
      padded.deallocs.push_back(user);
    } else {
      return std::nullopt;
    }
  }
  if (!padded.fill || !padded.copy)
    return std::nullopt;
  // Fill, then copy, then every read: all in the allocation's block, in that order.
  Block *block = alloc->getBlock();
  if (padded.fill->getBlock() != block || padded.copy->getBlock() != block ||
      !padded.fill->isBeforeInBlock(padded.copy))
    return std::nullopt;
  for (memref::LoadOp load : padded.loads) {
    Operation *inBlock = block->findAncestorOpInBlock(*load);
    if (!inBlock || !padded.copy->isBeforeInBlock(inBlock))
      return std::nullopt;
  }
  return padded;
}

/// `load` of the padded buffer becomes: in the interior, a load of the source at the
/// shifted indices; elsewhere, the padding value.
void rewriteLoad(IRRewriter &rewriter, PaddedBuffer &padded, memref::LoadOp load) {
  rewriter.setInsertionPoint(load);
  Location loc = load.getLoc();
  ArrayRef<int64_t> full = padded.alloc.getType().getShape();
  SmallVector<Value> shifted;
  Value inside;
  for (auto [index, offset, size, extent] :
       llvm::zip(load.getIndices(), padded.interior.getStaticOffsets(), padded.interior.getStaticSizes(), full)) {
    if (offset == 0) {
      shifted.push_back(index);
      if (size == extent)
        continue;
    } else {
      Value lo = rewriter.create<arith::ConstantIndexOp>(loc, offset);
      shifted.push_back(rewriter.create<arith::SubIOp>(loc, index, lo));
      Value above = rewriter.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sge, index, lo);
      inside = inside ? rewriter.create<arith::AndIOp>(loc, inside, above).getResult() : above;
    }
    Value hi = rewriter.create<arith::ConstantIndexOp>(loc, offset + size);
    Value below = rewriter.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, index, hi);
    inside = inside ? rewriter.create<arith::AndIOp>(loc, inside, below).getResult() : below;
  }
  if (!inside) { // the window is the whole buffer
    rewriter.replaceOpWithNewOp<memref::LoadOp>(load, padded.source, shifted);
    return;
  }
  auto choice = rewriter.create<scf::IfOp>(
      loc, inside,
      [&](OpBuilder &b, Location loc) {
        b.create<scf::YieldOp>(loc, b.create<memref::LoadOp>(loc, padded.source, shifted).getResult());
      },
      [&](OpBuilder &b, Location loc) { b.create<scf::YieldOp>(loc, padded.padding); });
  rewriter.replaceOp(load, choice.getResults());
}

struct KilnInlinePadding : kiln::impl::KilnInlinePaddingBase<KilnInlinePadding> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<memref::AllocOp> allocs;
    getOperation().walk([&](memref::AllocOp alloc) { allocs.push_back(alloc); });
    IRRewriter rewriter(&getContext());
    for (memref::AllocOp alloc : allocs) {
      auto padded = matchPadded(alloc);
      if (!padded)
        continue;
      for (memref::LoadOp load : padded->loads)
        rewriteLoad(rewriter, *padded, load);
      rewriter.eraseOp(padded->copy);
      rewriter.eraseOp(padded->interior);
      rewriter.eraseOp(padded->fill);
      for (Operation *dealloc : padded->deallocs)
        rewriter.eraseOp(dealloc);
      rewriter.eraseOp(alloc);
    }
  }
};

} // namespace
