// kiln-fuse-parallel-loops: the loop nests of one fusion become one nest (one GPU
// kernel), and the values each iteration passes through memory stay in registers.
#include "kiln/Transforms/Passes.h"

#include "BufferWalk.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace kiln {
#define GEN_PASS_DEF_KILNFUSEPARALLELLOOPS
#include "kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

using kiln::rootOf;

/// One load or store of an element.
struct Access {
  Operation *op;
  Value memref;
  ValueRange indices;
  bool isStore;
};

std::optional<Access> asAccess(Operation *op) {
  if (auto load = dyn_cast<memref::LoadOp>(op))
    return Access{op, load.getMemRef(), load.getIndices(), false};
  if (auto store = dyn_cast<memref::StoreOp>(op))
    return Access{op, store.getMemRef(), store.getIndices(), true};
  return std::nullopt;
}

/// Every element access under `op`, or nothing when something else there touches
/// memory (a call, a copy, a nested parallel loop).
std::optional<SmallVector<Access>> accessesUnder(Operation *op) {
  SmallVector<Access> accesses;
  WalkResult result = op->walk([&](Operation *nested) {
    if (nested == op)
      return WalkResult::advance();
    if (auto access = asAccess(nested)) {
      accesses.push_back(*access);
      return WalkResult::advance();
    }
    if (isa<scf::ParallelOp>(nested))
      return WalkResult::interrupt();
    if (isMemoryEffectFree(nested) || nested->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
      return WalkResult::advance();
    return WalkResult::interrupt();
  });
  if (result.wasInterrupted())
    return std::nullopt;
  return accesses;
}

//===----------------------------------------------------------------------===//
// Fusing adjacent nests
//===----------------------------------------------------------------------===//

bool sameIterationSpace(scf::ParallelOp a, scf::ParallelOp b) {
  auto equal = [](ValueRange x, ValueRange y) {
    return llvm::all_of(llvm::zip_equal(x, y), [](auto pair) {
      auto [l, r] = pair;
      auto lc = getConstantIntValue(l), rc = getConstantIntValue(r);
      return l == r || (lc && rc && *lc == *rc);
    });
  };
  return a.getNumLoops() == b.getNumLoops() && equal(a.getLowerBound(), b.getLowerBound()) &&
         equal(a.getUpperBound(), b.getUpperBound()) && equal(a.getStep(), b.getStep());
}

/// Which loop variable each index is, when every index is one and every loop
/// variable appears once: an access that touches a different element in every
/// iteration.
std::optional<SmallVector<unsigned>> pointIndices(scf::ParallelOp loop, ValueRange indices) {
  SmallVector<unsigned> positions;
  llvm::SmallBitVector seen(loop.getNumLoops());
  for (Value index : indices) {
    auto arg = dyn_cast<BlockArgument>(index);
    if (!arg || arg.getOwner() != loop.getBody() || seen.test(arg.getArgNumber()))
      return std::nullopt;
    seen.set(arg.getArgNumber());
    positions.push_back(arg.getArgNumber());
  }
  if (!seen.all())
    return std::nullopt;
  return positions;
}

/// True when running `second`'s body right after `first`'s, point by point, computes
/// what running the two nests one after the other does: every buffer written by one
/// and touched by the other is accessed only at the loop's point, through the same
/// view and with the same index order.
bool canFuse(scf::ParallelOp first, scf::ParallelOp second) {
  if (!sameIterationSpace(first, second))
    return false;
  auto firstAccesses = accessesUnder(first), secondAccesses = accessesUnder(second);
  if (!firstAccesses || !secondAccesses)
    return false;
  llvm::DenseSet<Value> written;
  llvm::DenseMap<Value, unsigned> touchedBy; // bit 0: first, bit 1: second
  for (const Access &access : *firstAccesses)
    touchedBy[rootOf(access.memref)] |= 1;
  for (const Access &access : *secondAccesses)
    touchedBy[rootOf(access.memref)] |= 2;
  for (const Access &access : llvm::concat<Access>(*firstAccesses, *secondAccesses))
    if (access.isStore)
      written.insert(rootOf(access.memref));
  // For each root both loops touch and one writes: the one view and index order every
  // access uses. Roots only one loop touches need nothing.
  llvm::DenseMap<Value, std::pair<Value, SmallVector<unsigned>>> shape;
  auto check = [&](scf::ParallelOp loop, ArrayRef<Access> accesses) {
    for (const Access &access : accesses) {
      Value root = rootOf(access.memref);
      if (!written.contains(root) || touchedBy[root] != 3)
        continue;
      auto point = pointIndices(loop, access.indices);
      if (!point)
        return false;
      auto [it, inserted] = shape.try_emplace(root, access.memref, *point);
      if (!inserted && (it->second.first != access.memref || it->second.second != *point))
        return false;
    }
    return true;
  };
  return check(first, *firstAccesses) && check(second, *secondAccesses);
}

/// Merges runs of adjacent nests in `block` (only side-effect-free ops between them).
void fuseAdjacent(Block &block) {
  scf::ParallelOp previous;
  for (Operation &op : llvm::make_early_inc_range(block)) {
    auto loop = dyn_cast<scf::ParallelOp>(op);
    if (!loop) {
      if (!isMemoryEffectFree(&op) || op.getNumRegions() != 0)
        previous = nullptr;
      continue;
    }
    if (previous && canFuse(previous, loop)) {
      IRMapping mapping;
      mapping.map(previous.getBody()->getArguments(), loop.getBody()->getArguments());
      OpBuilder b = OpBuilder::atBlockBegin(loop.getBody());
      for (Operation &nested : previous.getBody()->without_terminator())
        b.clone(nested, mapping);
      previous.erase();
    }
    previous = loop;
  }
}

//===----------------------------------------------------------------------===//
// Registers instead of memory
//===----------------------------------------------------------------------===//

bool sameElement(const Access &a, const Access &b) {
  return a.memref == b.memref && llvm::equal(a.indices, b.indices);
}

/// An element a loop loads and then stores at loop-invariant indices, untouched
/// otherwise, becomes a loop-carried value: loaded once before, stored once after.
/// Returns the rewritten loop, or null when no element qualifies.
scf::ForOp promoteAccumulator(IRRewriter &rewriter, scf::ForOp loop) {
  auto accesses = accessesUnder(loop);
  if (!accesses)
    return nullptr;
  for (const Access &store : *accesses) {
    if (!store.isStore || store.op->getBlock() != loop.getBody() ||
        !llvm::all_of(store.indices, [&](Value v) { return loop.isDefinedOutsideOfLoop(v); }))
      continue;
    Value root = rootOf(store.memref);
    SmallVector<const Access *> sameRoot;
    for (const Access &other : *accesses)
      if (rootOf(other.memref) == root)
        sameRoot.push_back(&other);
    if (sameRoot.size() != 2)
      continue;
    const Access &load = sameRoot[0]->op == store.op ? *sameRoot[1] : *sameRoot[0];
    if (load.isStore || load.op->getBlock() != loop.getBody() || !sameElement(load, store) ||
        !load.op->isBeforeInBlock(store.op))
      continue;
    auto storeOp = cast<memref::StoreOp>(store.op);
    Operation *loadOp = load.op;
    rewriter.setInsertionPoint(loop);
    Value init = rewriter.create<memref::LoadOp>(loop.getLoc(), storeOp.getMemRef(), storeOp.getIndices());
    Value stored = storeOp.getValueToStore();
    auto replaced = loop.replaceWithAdditionalYields(
        rewriter, init, /*replaceInitOperandUsesInLoop=*/false,
        [&](OpBuilder &, Location, ArrayRef<BlockArgument>) { return SmallVector<Value>{stored}; });
    if (failed(replaced))
      return nullptr;
    auto newLoop = cast<scf::ForOp>(replaced->getOperation());
    rewriter.replaceOp(loadOp, newLoop.getRegionIterArgs().back());
    rewriter.setInsertionPointAfter(newLoop);
    rewriter.create<memref::StoreOp>(storeOp.getLoc(), newLoop.getResults().back(), storeOp.getMemRef(),
                                     storeOp.getIndices());
    rewriter.eraseOp(storeOp);
    return newLoop;
  }
  return nullptr;
}

/// Within one block: a load of an element stored earlier in the block takes the stored
/// value, and a store overwritten before any possible read is dropped. Ops holding
/// regions count as reading and writing every buffer accessed inside them.
void forwardStores(IRRewriter &rewriter, Block &block) {
  struct Pending {
    Access store;
    bool read;
  };
  llvm::DenseMap<Value, Pending> byRoot; // at most one known element per root
  auto markRead = [&](Value root) {
    if (auto it = byRoot.find(root); it != byRoot.end())
      it->second.read = true;
  };
  for (Operation &op : llvm::make_early_inc_range(block)) {
    if (auto access = asAccess(&op)) {
      Value root = rootOf(access->memref);
      auto it = byRoot.find(root);
      bool same = it != byRoot.end() && sameElement(it->second.store, *access);
      if (!access->isStore) {
        if (same)
          rewriter.replaceOp(&op, cast<memref::StoreOp>(it->second.store.op).getValueToStore());
        else
          markRead(root);
        continue;
      }
      if (same && !it->second.read)
        rewriter.eraseOp(it->second.store.op);
      byRoot[root] = Pending{*access, false};
      continue;
    }
    if (isMemoryEffectFree(&op) && op.getNumRegions() == 0)
      continue;
    auto nested = op.getNumRegions() ? accessesUnder(&op) : std::nullopt;
    if (!nested) { // unknown effects: forget everything, assume all was read
      byRoot.clear();
      continue;
    }
    for (const Access &access : *nested) {
      Value root = rootOf(access.memref);
      markRead(root);
      if (access.isStore)
        byRoot.erase(root);
    }
  }
}

/// Allocations that are only written (through views or not) and freed.
void eraseWriteOnlyBuffers(IRRewriter &rewriter, func::FuncOp func) {
  SmallVector<memref::AllocOp> allocs;
  func.walk([&](memref::AllocOp alloc) { allocs.push_back(alloc); });
  for (memref::AllocOp alloc : allocs) {
    SmallVector<Operation *> users;
    SmallVector<Value> worklist{alloc.getResult()};
    bool writeOnly = true;
    while (!worklist.empty() && writeOnly) {
      Value value = worklist.pop_back_val();
      for (OpOperand &use : value.getUses()) {
        Operation *user = use.getOwner();
        users.push_back(user);
        if (auto view = dyn_cast<ViewLikeOpInterface>(user); view && view.getViewSource() == value)
          worklist.append(user->result_begin(), user->result_end());
        else if (auto store = dyn_cast<memref::StoreOp>(user); store && store.getMemRef() == value)
          continue;
        else if (!isa<memref::DeallocOp>(user))
          writeOnly = false;
      }
    }
    if (!writeOnly)
      continue;
    for (Operation *user : llvm::reverse(users))
      rewriter.eraseOp(user);
    rewriter.eraseOp(alloc);
  }
}

struct KilnFuseParallelLoops : kiln::impl::KilnFuseParallelLoopsBase<KilnFuseParallelLoops> {
  using Base::Base;
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    for (Block &block : func.getBody())
      fuseAdjacent(block);
    IRRewriter rewriter(&getContext());
    // Innermost loops first, so an outer loop sees its inner accumulators promoted.
    SmallVector<scf::ForOp> loops;
    func.walk([&](scf::ForOp loop) { loops.push_back(loop); });
    for (scf::ForOp loop : loops)
      while (scf::ForOp promoted = promoteAccumulator(rewriter, loop))
        loop = promoted;
    SmallVector<Block *> blocks;
    func.walk([&](Block *block) { blocks.push_back(block); });
    for (Block *block : blocks)
      forwardStores(rewriter, *block);
    eraseWriteOnlyBuffers(rewriter, func);
  }
};

} // namespace
