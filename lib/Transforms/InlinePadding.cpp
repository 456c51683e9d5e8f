// kiln-inline-padding: loads from a padded buffer compute its interior point instead
// (read the source of a padded copy, or recompute an elementwise op written into the
// interior) or yield the padding value, so the padded buffer is never built.
#include "kiln/Transforms/Passes.h"

#include "BufferWalk.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/IRMapping.h"
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
  scf::ParallelOp fill, interiorNest;
  Value padding;
  memref::SubViewOp interior;
  memref::StoreOp interiorStore;
  SmallVector<memref::LoadOp> loads;
  SmallVector<Operation *> deallocs;
};

/// The buffers `nest`'s body loads, when the body is only loads, side-effect-free ops
/// without regions and `store`: a point computed from its inputs (a copy, or an
/// elementwise op such as a clip moved in front of a convolution).
std::optional<DenseSet<Value>> pointwiseInputs(scf::ParallelOp nest, memref::StoreOp store) {
  DenseSet<Value> inputs;
  for (Operation &op : nest.getBody()->without_terminator()) {
    if (auto load = dyn_cast<memref::LoadOp>(op))
      inputs.insert(kiln::rootOf(load.getMemRef()));
    else if (&op != store && (op.getNumRegions() != 0 || !isMemoryEffectFree(&op)))
      return std::nullopt;
  }
  return inputs;
}

/// `alloc` is filled with one value over its whole shape, then an interior window
/// (static offsets, unit strides) is computed point by point from other buffers, which
/// nothing writes until the last read; afterwards it is only read.
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
      if (!loop || store.getMemRef() != view || !coversShape(loop, view.getType().getShape(), store.getIndices()))
        return std::nullopt;
      padded.interior = view;
      padded.interiorNest = loop;
      padded.interiorStore = store;
    } else if (auto load = dyn_cast<memref::LoadOp>(user)) {
      padded.loads.push_back(load);
    } else if (isa<memref::DeallocOp>(user)) {
      padded.deallocs.push_back(user);
    } else {
      return std::nullopt;
    }
  }
  if (!padded.fill || !padded.interiorNest)
    return std::nullopt;
  std::optional<DenseSet<Value>> inputs = pointwiseInputs(padded.interiorNest, padded.interiorStore);
  if (!inputs || inputs->contains(alloc))
    return std::nullopt;
  // Fill, then the interior, then every read: all in the allocation's block, in that
  // order, with the interior's inputs unchanged until the last read.
  Block *block = alloc->getBlock();
  if (padded.fill->getBlock() != block || padded.interiorNest->getBlock() != block ||
      !padded.fill->isBeforeInBlock(padded.interiorNest))
    return std::nullopt;
  Operation *lastReader = padded.interiorNest;
  for (memref::LoadOp load : padded.loads) {
    Operation *inBlock = block->findAncestorOpInBlock(*load);
    if (!inBlock || !padded.interiorNest->isBeforeInBlock(inBlock))
      return std::nullopt;
    if (lastReader->isBeforeInBlock(inBlock))
      lastReader = inBlock;
  }
  if (lastReader != padded.interiorNest && kiln::mayWriteBetween(padded.interiorNest->getNextNode(), lastReader, *inputs))
    return std::nullopt;
  return padded;
}

/// `load` of the padded buffer becomes: in the interior, the interior's computation
/// at the shifted indices; elsewhere, the padding value.
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
  auto computeInterior = [&](OpBuilder &b) -> Value {
    IRMapping mapping;
    mapping.map(padded.interiorNest.getInductionVars(), shifted);
    for (Operation &op : padded.interiorNest.getBody()->without_terminator())
      if (&op != padded.interiorStore)
        b.clone(op, mapping);
    return mapping.lookupOrDefault(padded.interiorStore.getValueToStore());
  };
  if (!inside) { // the window is the whole buffer
    rewriter.replaceOp(load, computeInterior(rewriter));
    return;
  }
  auto choice = rewriter.create<scf::IfOp>(
      loc, inside, [&](OpBuilder &b, Location loc) { b.create<scf::YieldOp>(loc, computeInterior(b)); },
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
      rewriter.eraseOp(padded->interiorNest);
      rewriter.eraseOp(padded->interior);
      rewriter.eraseOp(padded->fill);
      for (Operation *dealloc : padded->deallocs)
        rewriter.eraseOp(dealloc);
      rewriter.eraseOp(alloc);
    }
  }
};

} // namespace
