// kiln-tile-for-gpu: each outermost scf.parallel becomes a 1-D loop of blocks around a
// 1-D loop of threads, mapped to block x and thread x.
#include "kiln/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_KILNTILEFORGPU
#include "kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// The loop's iteration count when its bounds and steps are constants.
std::optional<int64_t> staticTripCount(scf::ParallelOp loop) {
  int64_t total = 1;
  for (auto [lb, ub, step] : llvm::zip(loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    auto l = getConstantIntValue(lb), u = getConstantIntValue(ub), s = getConstantIntValue(step);
    if (!l || !u || !s || *s <= 0)
      return std::nullopt;
    total *= (*u - *l + *s - 1) / *s;
  }
  return total;
}

struct KilnTileForGPU : kiln::impl::KilnTileForGPUBase<KilnTileForGPU> {
  using Base::Base;
  /// Maps every dimension of `loop` to `processor` (only 1-D loops use BlockX/ThreadX).
  void map(scf::ParallelOp loop, gpu::Processor processor) {
    AffineMap identity = AffineMap::getMultiDimIdentityMap(1, &getContext());
    SmallVector<gpu::ParallelLoopDimMappingAttr> dims(
        loop.getNumLoops(), gpu::ParallelLoopDimMappingAttr::get(&getContext(), processor, identity, identity));
    (void)gpu::setMappingAttr(loop, dims);
  }

  SmallVector<scf::ParallelOp> outermostLoops() {
    SmallVector<scf::ParallelOp> loops;
    getOperation().walk([&](scf::ParallelOp loop) {
      if (!loop->getParentOfType<scf::ParallelOp>())
        loops.push_back(loop);
    });
    return loops;
  }

  /// Element work left outside any scf.parallel (a reduction of a whole tensor, a
  /// rank-0 copy) becomes a single-iteration parallel loop: a one-thread kernel. Such
  /// work is a run of serial loops, loads, stores and the arithmetic and math between
  /// them.
  static bool isSerialWork(Operation &op) {
    if (isa<scf::ForOp, memref::LoadOp, memref::StoreOp>(op)) // loop results stay in the run
      return true;
    StringRef dialect = op.getDialect() ? op.getDialect()->getNamespace() : "";
    return (dialect == "arith" || dialect == "math") && !isa<arith::ConstantOp>(op);
  }

  void wrapSerialWork() {
    SmallVector<SmallVector<Operation *>> runs(1);
    for (Operation &op : getOperation().getBody().getOps()) {
      if (isa<arith::ConstantOp>(op)) // constants stay outside and do not end a run
        continue;
      if (isSerialWork(op))
        runs.back().push_back(&op);
      else if (!runs.back().empty())
        runs.emplace_back();
    }
    for (auto &run : runs) {
      // Only runs with a store or loop do work; results used after the run stay.
      bool works = llvm::any_of(run, [](Operation *op) { return isa<memref::StoreOp, scf::ForOp>(op); });
      bool escapes = llvm::any_of(run, [&](Operation *op) {
        return llvm::any_of(op->getUsers(), [&](Operation *user) { return !llvm::is_contained(run, user); });
      });
      if (!works || escapes)
        continue;
      OpBuilder b(run.front());
      Location loc = run.front()->getLoc();
      Value zero = b.create<arith::ConstantIndexOp>(loc, 0);
      Value one = b.create<arith::ConstantIndexOp>(loc, 1);
      auto wrapper = b.create<scf::ParallelOp>(loc, ValueRange{zero}, ValueRange{one}, ValueRange{one});
      for (Operation *op : run)
        op->moveBefore(wrapper.getBody()->getTerminator());
    }
  }

  void runOnOperation() override {
    wrapSerialWork();
    // Trip counts are read before collapsing, whose new bounds are unfolded products;
    // collapsing replaces each loop in place, so the order of the loops stays.
    SmallVector<int64_t> trips;
    for (scf::ParallelOp loop : outermostLoops()) {
      auto count = staticTripCount(loop);
      if (!count) {
        loop.emitError("parallel loop with dynamic bounds cannot be mapped to the GPU");
        return signalPassFailure();
      }
      trips.push_back(*count);
    }
    IRRewriter rewriter(&getContext());
    for (scf::ParallelOp loop : outermostLoops())
      if (loop.getNumLoops() > 1) {
        std::vector<unsigned> all(loop.getNumLoops());
        std::iota(all.begin(), all.end(), 0);
        rewriter.setInsertionPoint(loop);
        collapseParallelLoops(rewriter, loop, {all});
      }
    for (auto [loop, count] : llvm::zip(outermostLoops(), trips)) {
      int64_t threads = std::min<int64_t>(threadsPerBlock, std::max<int64_t>(count, 1));
      auto [blocks, lanes] = scf::tileParallelLoop(loop, {threads}, /*noMinMaxBounds=*/true);
      // Parallel loops nested deeper (a copy inside a serial scatter loop) run
      // sequentially in the thread: as scf.for, since the GPU mapping handles nested
      // parallel loops only directly inside mapped ones.
      SmallVector<scf::ParallelOp> nested;
      lanes.getBody()->walk([&](scf::ParallelOp loop) { nested.push_back(loop); });
      for (scf::ParallelOp loop : llvm::reverse(nested)) {
        rewriter.setInsertionPoint(loop);
        if (failed(scf::parallelForToNestedFors(rewriter, loop))) {
          loop.emitError("cannot serialize this nested parallel loop");
          return signalPassFailure();
        }
      }
      map(blocks, gpu::Processor::BlockX);
      map(lanes, gpu::Processor::ThreadX);
    }
    // Fold the bound arithmetic that collapsing and tiling leave. Folding only: the
    // scf.parallel canonicalization would merge the block and thread loops again.
    (void)applyPatternsGreedily(getOperation(), FrozenRewritePatternSet());
  }
};

} // namespace
