#include "KernelBodies.h"
#include "BufferWalk.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;

std::optional<kiln::Combiner> kiln::matchCombiner(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  BlockArgument acc = body.getArgument(op.getNumDpsInputs());
  Operation *combine = body.getTerminator()->getOperand(0).getDefiningOp();
  if (!combine || combine->getNumOperands() != 2 || !acc.hasOneUse() ||
      acc.getUses().begin()->getOwner() != combine)
    return std::nullopt;
  unsigned accIndex = combine->getOperand(0) == acc ? 0 : 1;
  Value element = combine->getOperand(1 - accIndex);
  using K = arith::AtomicRMWKind;
  using R = gpu::AllReduceOperation;
  auto make = [&](K kind, R reduce) { return Combiner{combine, accIndex, element, kind, reduce}; };
  return llvm::TypeSwitch<Operation *, std::optional<Combiner>>(combine)
      .Case([&](arith::AddFOp) { return make(K::addf, R::ADD); })
      .Case([&](arith::MulFOp) { return make(K::mulf, R::MUL); })
      .Case([&](arith::MaximumFOp) { return make(K::maximumf, R::MAXIMUMF); })
      .Case([&](arith::MinimumFOp) { return make(K::minimumf, R::MINIMUMF); })
      .Case([&](arith::MaxNumFOp) { return make(K::maxnumf, R::MAXNUMF); })
      .Case([&](arith::MinNumFOp) { return make(K::minnumf, R::MINNUMF); })
      .Case([&](arith::AddIOp) { return make(K::addi, R::ADD); })
      .Case([&](arith::MaxSIOp) { return make(K::maxs, R::MAXSI); })
      .Case([&](arith::MinSIOp) { return make(K::mins, R::MINSI); })
      .Default([](Operation *) { return std::nullopt; });
}

Value kiln::combine(OpBuilder &b, const Combiner &c, Value acc, Value element) {
  IRMapping mapping;
  mapping.map(c.op->getOperand(c.accIndex), acc);
  mapping.map(c.op->getOperand(1 - c.accIndex), element);
  return b.clone(*c.op, mapping)->getResult(0);
}

SmallVector<Value> kiln::delinearize(OpBuilder &b, Location loc, Value linear, ArrayRef<int64_t> sizes) {
  // `linear` is below the product of `sizes`: the outermost dimension that is not 1
  // takes what is left of it whole.
  SmallVector<Value> ivs(sizes.size());
  for (int64_t d = sizes.size() - 1; d >= 0; --d) {
    bool outermost = llvm::all_of(sizes.take_front(d), [](int64_t s) { return s == 1; });
    if (sizes[d] == 1) {
      ivs[d] = b.create<arith::ConstantIndexOp>(loc, 0);
    } else if (outermost) {
      ivs[d] = linear;
      linear = b.create<arith::ConstantIndexOp>(loc, 0);
    } else {
      Value size = b.create<arith::ConstantIndexOp>(loc, sizes[d]);
      ivs[d] = b.create<arith::RemUIOp>(loc, linear, size);
      linear = b.create<arith::DivUIOp>(loc, linear, size);
    }
  }
  return ivs;
}

SmallVector<Value> kiln::indicesAt(OpBuilder &b, Location loc, AffineMap map, ArrayRef<Value> ivs) {
  SmallVector<Value> indices;
  for (AffineExpr e : map.getResults())
    indices.push_back(b.create<affine::AffineApplyOp>(loc, AffineMap::get(map.getNumDims(), 0, e), ivs));
  return indices;
}

Value kiln::loadAt(OpBuilder &b, Location loc, Value operand, AffineMap map, ArrayRef<Value> ivs) {
  return b.create<memref::LoadOp>(loc, operand, indicesAt(b, loc, map, ivs));
}

Value kiln::operandAt(OpBuilder &b, linalg::GenericOp generic, OpOperand &operand, ArrayRef<Value> ivs) {
  if (!isa<ShapedType>(operand.get().getType()))
    return operand.get();
  return loadAt(b, generic.getLoc(), operand.get(), generic.getMatchingIndexingMap(&operand), ivs);
}

IRMapping kiln::evaluatePayload(OpBuilder &b, linalg::GenericOp generic, ArrayRef<Value> ivs,
                                const OperandValue &valueOf, ArrayRef<Operation *> skip) {
  Block &body = generic.getRegion().front();
  IRMapping mapping;
  for (OpOperand &operand : generic->getOpOperands()) {
    BlockArgument arg = body.getArgument(operand.getOperandNumber());
    if (arg.use_empty())
      continue;
    if (Value value = valueOf(operand))
      mapping.map(arg, value);
  }
  for (Operation &inner : body.without_terminator()) {
    if (llvm::is_contained(skip, &inner))
      continue;
    if (auto index = dyn_cast<linalg::IndexOp>(inner))
      mapping.map(index.getResult(), ivs[index.getDim()]);
    else
      b.clone(inner, mapping);
  }
  return mapping;
}

SmallVector<Value> kiln::evaluateAt(OpBuilder &b, linalg::GenericOp generic, ArrayRef<Value> ivs,
                                    const KnownValues &known) {
  IRMapping mapping = evaluatePayload(b, generic, ivs, [&](OpOperand &operand) -> Value {
    if (auto it = known.find(operand.get()); it != known.end())
      return it->second;
    return operandAt(b, generic, operand, ivs);
  });
  SmallVector<Value> results;
  for (Value result : generic.getRegion().front().getTerminator()->getOperands())
    results.push_back(mapping.lookupOrDefault(result));
  return results;
}

static bool allParallel(linalg::GenericOp op) {
  return op.getNumLoops() == op.getNumParallelLoops() && op.hasPureBufferSemantics();
}

linalg::GenericOp kiln::precedingInit(linalg::GenericOp op) {
  auto init = dyn_cast_or_null<linalg::GenericOp>(neighbour(op, /*after=*/false));
  Value out = op.getDpsInitOperand(0)->get();
  if (!init || !allParallel(init) || init.getNumDpsInits() != 1 ||
      init.getDpsInitOperand(0)->get() != out ||
      !init.getMatchingIndexingMap(init.getDpsInitOperand(0)).isIdentity() ||
      !init.getRegion().front().getArgument(init.getNumDpsInputs()).use_empty())
    return nullptr;
  Value root = rootOf(out);
  for (OpOperand *in : llvm::concat<OpOperand *>(init.getDpsInputOperands(), op.getDpsInputOperands()))
    if (isa<ShapedType>(in->get().getType()) && rootOf(in->get()) == root)
      return nullptr;
  return init;
}

linalg::GenericOp kiln::followingEpilogue(linalg::GenericOp op) {
  auto epilogue = dyn_cast_or_null<linalg::GenericOp>(neighbour(op, /*after=*/true));
  Value out = op.getDpsInitOperand(0)->get();
  auto outType = dyn_cast<MemRefType>(out.getType());
  if (!epilogue || !allParallel(epilogue) || !outType ||
      epilogue.getStaticLoopRanges() != SmallVector<int64_t>(outType.getShape()))
    return nullptr;
  llvm::DenseSet<Value> readByReduction;
  for (OpOperand *in : op.getDpsInputOperands())
    readByReduction.insert(rootOf(in->get()));
  for (OpOperand &operand : epilogue->getOpOperands()) {
    bool isOut = operand.get() == out;
    if (!isOut && isa<ShapedType>(operand.get().getType()) && rootOf(operand.get()) == rootOf(out))
      return nullptr; // another view of the output
    if ((isOut || epilogue.isDpsInit(&operand)) && !epilogue.getMatchingIndexingMap(&operand).isIdentity())
      return nullptr;
    if (epilogue.isDpsInit(&operand) && readByReduction.contains(rootOf(operand.get())))
      return nullptr;
  }
  return epilogue;
}
