// kiln-fuse: groups kiln ops into kiln.fusion regions, the units of code generation.
#include "kiln/Transforms/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

namespace kiln {
#define GEN_PASS_DEF_KILNFUSE
#include "kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

bool isElementwise(Operation *op) {
  return isa<NegOp, AbsOp, ExpOp, LogOp, SqrtOp, ReciprocalOp, TanhOp, SigmoidOp, ReluOp, ErfOp,
             FloorOp, CeilOp, ClipOp, AddOp, SubOp, MulOp, DivOp, PowOp, MaxOp, MinOp, CastOp,
             ModOp, RemOp, AndOp, OrOp, XorOp, ShiftLeftOp, ShiftRightOp, NotOp, CompareOp, SelectOp, RoundOp, SinOp, CosOp, TanOp,
             AsinOp, AcosOp, AtanOp, SinhOp, CoshOp, AsinhOp, AcoshOp, AtanhOp>(op);
}

bool isContraction(Operation *op) { return isa<MatMulOp, ConvOp>(op); }

/// The reduce ops: region roots, and (with reduction-consumers) producers that
/// elementwise consumers take in, as layer norm's mean and variance with the centring
/// and normalization.
bool isReduction(Operation *op) {
  return isa<ReduceSumOp, ReduceMeanOp, ReduceMaxOp, ReduceMinOp, ReduceProdOp>(op);
}

/// Ops that compute nothing and stay outside regions: constants, and reshapes, which
/// are views after bufferization.
bool staysOutside(Operation *op) { return isa<ConstantOp, ReshapeOp>(op); }

/// Roots through which a region may grow into producers: elementwise chains,
/// reductions and softmax take elementwise prologues; elementwise chains also take one
/// matmul or convolution as their anchor; transposes take the slices and reshapes
/// they read through (a fused QKV projection's per-head Q, K, V) and the matmul they
/// permute.
bool canGrow(Operation *root) {
  return isElementwise(root) || isContraction(root) || isReduction(root) ||
         isa<TransposeOp, SoftmaxOp, GlobalAvgPoolOp>(root);
}

/// Small constants are cloned into regions so that their values are visible to the
/// code generator; large ones are region inputs.
bool cloneIntoRegion(Operation *op) {
  auto constant = dyn_cast_or_null<ConstantOp>(op);
  return constant && constant.getType().getNumElements() <= 64;
}

/// Collects the ops of the region rooted at `root`, in block order.
SmallVector<Operation *> collectGroup(Operation *root, const DenseSet<Operation *> &taken,
                                     bool takeReductions, bool takeViews) {
  llvm::SetVector<Operation *> group;
  group.insert(root);
  if (!canGrow(root))
    return {root};
  bool haveContraction = isContraction(root);
  SmallVector<Operation *> worklist = {root};
  while (!worklist.empty()) {
    Operation *op = worklist.pop_back_val();
    // Never recompute a producer once per window or row; a matmul may only read its
    // operands through views (below).
    if (isContraction(op) && !(takeViews && isa<MatMulOp>(op)))
      continue;
    for (Value operand : op->getOperands()) {
      Operation *producer = operand.getDefiningOp();
      if (!producer || group.contains(producer) || taken.contains(producer) ||
          producer->getBlock() != root->getBlock())
        continue;
      bool elementwise = isElementwise(producer);
      bool reduction = takeReductions && isReduction(producer) && isElementwise(op);
      // Slices and reshapes are views of their input once bufferized: a transpose
      // reading through them copies from the input once, and a matmul reading through
      // them and transposes can take the lot as cuBLASLt strides where they fit
      // (kiln-gpu-library-calls; otherwise the copy stays a kernel in the region).
      // (Not a reshape right before the matmul: linalg folds it into the product's
      // loops, which the library mapping does not take.)
      bool view = takeViews && ((isa<SliceOp, ReshapeOp>(producer) && isa<TransposeOp, SliceOp, ReshapeOp>(op)) ||
                                (isa<TransposeOp>(producer) && isa<MatMulOp>(op)));
      if (isContraction(op) && !view)
        continue;
      // Elementwise ops take one matmul or convolution in as their anchor; with views,
      // a transpose takes in the matmul it permutes, which cuBLASLt then writes through
      // the transpose's strides where they fit (attention heads put back side by side).
      bool anchor = isContraction(producer) && !haveContraction &&
                    (isElementwise(op) || (takeViews && isa<TransposeOp>(op) && isa<MatMulOp>(producer)));
      if (!elementwise && !reduction && !view && !anchor)
        continue;
      if (!llvm::all_of(producer->getUsers(), [&](Operation *u) { return group.contains(u); }))
        continue;
      haveContraction |= anchor;
      group.insert(producer);
      worklist.push_back(producer);
    }
  }
  SmallVector<Operation *> ordered(group.begin(), group.end());
  llvm::sort(ordered, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
  return ordered;
}

/// Replaces `group` (in block order, root last) with one kiln.fusion at the root.
void wrapInFusion(ArrayRef<Operation *> group) {
  Operation *root = group.back();
  DenseSet<Operation *> members(group.begin(), group.end());
  llvm::SetVector<Value> inputs;
  llvm::SetVector<Operation *> cloned;
  for (Operation *op : group)
    for (Value operand : op->getOperands()) {
      Operation *def = operand.getDefiningOp();
      if (def && members.contains(def))
        continue;
      if (cloneIntoRegion(def))
        cloned.insert(def);
      else
        inputs.insert(operand);
    }
  OpBuilder b(root);
  auto fusion = b.create<FusionOp>(root->getLoc(), root->getResultTypes(), inputs.getArrayRef());
  Block *body = new Block();
  fusion.getBody().push_back(body);
  IRMapping mapping;
  for (Value input : inputs)
    mapping.map(input, body->addArgument(input.getType(), input.getLoc()));
  OpBuilder inner = OpBuilder::atBlockBegin(body);
  for (Operation *c : cloned)
    inner.clone(*c, mapping);
  for (Operation *op : group)
    inner.clone(*op, mapping);
  SmallVector<Value> results;
  for (Value r : root->getResults())
    results.push_back(mapping.lookup(r));
  inner.create<YieldOp>(root->getLoc(), results);
  root->replaceAllUsesWith(fusion->getResults());
  for (Operation *op : llvm::reverse(group))
    op->erase();
}

struct KilnFuse : kiln::impl::KilnFuseBase<KilnFuse> {
  using Base::Base;
  void runOnOperation() override { formFusionRegions(getOperation(), reductionConsumers, viewProducers); }
};

} // namespace

void kiln::formFusionRegions(func::FuncOp func, bool takeReductions, bool takeViews) {
  SmallVector<SmallVector<Operation *>> groups;
  DenseSet<Operation *> taken;
  // Walk backwards so that each region grows from its last op (the root).
  for (Block &block : func.getBody())
    for (Operation &op : llvm::reverse(block)) {
      if (op.getDialect() != op.getContext()->getLoadedDialect<KilnDialect>() ||
          staysOutside(&op) || isa<FusionOp, YieldOp>(op) || taken.contains(&op))
        continue;
      groups.push_back(collectGroup(&op, taken, takeReductions, takeViews));
      taken.insert(groups.back().begin(), groups.back().end());
    }
  for (auto &group : groups)
    wrapInFusion(group);
}
