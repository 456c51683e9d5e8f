// kiln-gpu-block-reductions: a reduction generic becomes a gpu.launch with one block
// per output element; the block's threads stride over the reduced elements and combine
// their partial results with gpu.all_reduce (warp shuffles and shared memory).
#include "kiln/Transforms/Passes.h"

#include "BufferWalk.h"
#include "KernelBodies.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace kiln {
#define GEN_PASS_DEF_KILNGPUBLOCKREDUCTIONS
#include "kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

using namespace kiln;

struct KilnGPUBlockReductions : kiln::impl::KilnGPUBlockReductionsBase<KilnGPUBlockReductions> {
  using Base::Base;

  LogicalResult rewrite(linalg::GenericOp op) {
    if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 || op.getNumReductionLoops() == 0)
      return failure();
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    if (llvm::any_of(ranges, ShapedType::isDynamic))
      return failure();
    auto iterators = op.getIteratorTypesArray();
    SmallVector<unsigned> parallelDims, reductionDims;
    SmallVector<int64_t> parallelSizes, reductionSizes;
    for (auto [d, kind] : llvm::enumerate(iterators)) {
      bool reduction = kind == utils::IteratorType::reduction;
      (reduction ? reductionDims : parallelDims).push_back(d);
      (reduction ? reductionSizes : parallelSizes).push_back(ranges[d]);
    }
    int64_t reduced = 1, outputs = 1;
    for (int64_t s : reductionSizes)
      reduced *= s;
    for (int64_t s : parallelSizes)
      outputs *= s;
    if (reduced < minReduction)
      return failure();
    // Contractions (operands varying along the reduction with different maps, as
    // A[m, k] and B[k, n]) are GEMM-like: not here. Operands read through one map are
    // an elementwise prologue fused into the reduction.
    llvm::SmallDenseSet<AffineMap> varying;
    for (OpOperand *in : op.getDpsInputOperands()) {
      AffineMap map = op.getMatchingIndexingMap(in);
      if (llvm::any_of(reductionDims, [&](unsigned d) { return map.isFunctionOfDim(d); }))
        varying.insert(map);
    }
    if (varying.size() > 1 && kiln::chooseGPUContractionKernel(outputs, reduced) !=
                                  kiln::GPUContractionKernel::BlockPerOutput)
      return failure();
    auto combiner = matchCombiner(op);
    if (!combiner)
      return failure();

    // Every output element is one block's: an elementwise init before (a fill, a
    // broadcast bias) can start the fold and an elementwise epilogue after can run in
    // thread 0.
    Value out = op.getDpsInitOperand(0)->get();
    AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
    auto outType = dyn_cast<MemRefType>(out.getType());
    bool oneBlockPerElement = outMap.isProjectedPermutation() && outType && outType.hasStaticShape() &&
                              outType.getNumElements() == outputs;
    linalg::GenericOp init = oneBlockPerElement ? precedingInit(op) : nullptr;
    linalg::GenericOp epilogue = oneBlockPerElement ? followingEpilogue(op) : nullptr;

    Location loc = op.getLoc();
    OpBuilder b(op);
    int64_t threads = std::min<int64_t>(256, (reduced + 31) / 32 * 32);
    Value one = b.create<arith::ConstantIndexOp>(loc, 1);
    auto launch = b.create<gpu::LaunchOp>(loc, b.create<arith::ConstantIndexOp>(loc, outputs), one, one,
                                          b.create<arith::ConstantIndexOp>(loc, threads), one, one);
    Block &body = launch.getBody().front();
    b.setInsertionPointToStart(&body);
    Value tid = launch.getThreadIds().x;
    SmallVector<Value> parallelIvs = delinearize(b, loc, launch.getBlockIds().x, parallelSizes);

    // Each thread folds elements tid, tid + threads, ... into its partial result.
    Type type = combiner->op->getResult(0).getType();
    Value identity = arith::getIdentityValue(combiner->kind, type, b, loc);
    auto loop = b.create<scf::ForOp>(loc, tid, b.create<arith::ConstantIndexOp>(loc, reduced),
                                     b.create<arith::ConstantIndexOp>(loc, threads), ValueRange{identity});
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      SmallVector<Value> reductionIvs = delinearize(b, loc, loop.getInductionVar(), reductionSizes);
      SmallVector<Value> ivs(iterators.size());
      for (auto [d, iv] : llvm::zip(parallelDims, parallelIvs))
        ivs[d] = iv;
      for (auto [d, iv] : llvm::zip(reductionDims, reductionIvs))
        ivs[d] = iv;
      IRMapping mapping = evaluatePayload(
          b, op, ivs,
          [&](OpOperand &operand) -> Value {
            if (op.isDpsInit(&operand))
              return {}; // the accumulator: only the combiner, which is not cloned, reads it
            return operandAt(b, op, operand, ivs);
          },
          {combiner->op});
      Value folded = combine(b, *combiner, loop.getRegionIterArgs()[0],
                             mapping.lookupOrDefault(combiner->element));
      b.create<scf::YieldOp>(loc, folded);
    }
    auto total = b.create<gpu::AllReduceOp>(loc, loop.getResult(0),
                                            gpu::AllReduceOperationAttr::get(b.getContext(), combiner->reduce),
                                            /*uniform=*/true);

    // Thread 0 combines the block's result into the output element.
    Value first = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, tid,
                                          b.create<arith::ConstantIndexOp>(loc, 0));
    auto write = b.create<scf::IfOp>(loc, first, /*withElseRegion=*/false);
    b.setInsertionPointToStart(write.thenBlock());
    SmallVector<Value> ivs(iterators.size(), b.create<arith::ConstantIndexOp>(loc, 0));
    for (auto [d, iv] : llvm::zip(parallelDims, parallelIvs))
      ivs[d] = iv;
    SmallVector<Value> indices = indicesAt(b, loc, outMap, ivs);
    Value old = init ? evaluateAt(b, init, indices).front()
                     : b.create<memref::LoadOp>(loc, out, indices).getResult();
    Value updated = combine(b, *combiner, old, total.getResult());
    b.create<memref::StoreOp>(loc, updated, out, indices);
    if (epilogue) {
      SmallVector<Value> results = evaluateAt(b, epilogue, indices, {{out, updated}});
      for (auto [result, target] : llvm::zip(results, epilogue.getDpsInits()))
        b.create<memref::StoreOp>(loc, result, target, indices);
    }
    b.setInsertionPointToEnd(&body);
    b.create<gpu::TerminatorOp>(loc);
    for (Operation *done : {op.getOperation(), init.getOperation(), epilogue.getOperation()})
      if (done) {
        erased.insert(done);
        done->erase();
      }
    return success();
  }

  void runOnOperation() override {
    erased.clear();
    SmallVector<Operation *> generics;
    getOperation().walk([&](linalg::GenericOp op) { generics.push_back(op); });
    // A rewrite also erases the init and epilogue it takes in, which may be later in
    // the list.
    for (Operation *op : generics)
      if (!erased.contains(op))
        (void)rewrite(cast<linalg::GenericOp>(op));
  }

  llvm::SmallPtrSet<Operation *, 16> erased;
};

} // namespace
