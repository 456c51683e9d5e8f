// Queries kiln-gpu-library-calls' matchers share (see LibraryCall.h).
#include "LibraryCall.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;

bool kiln::isZero(Value value) { return value && matchPattern(value, m_AnyZeroFloat()); }

bool kiln::writesWhole(linalg::GenericOp op, Value buffer) {
  return op && op.hasPureBufferSemantics() && op.getNumLoops() == op.getNumParallelLoops() &&
         op.getNumDpsInits() == 1 && op.getDpsInitOperand(0)->get() == buffer &&
         op.getMatchingIndexingMap(op.getDpsInitOperand(0)).isIdentity();
}

bool kiln::isMultiplyAdd(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  if (body.getNumArguments() != 3 || body.getOperations().size() != 3)
    return false;
  auto add = body.getTerminator()->getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return false;
  Value acc = body.getArgument(2);
  Value product = add.getLhs() == acc ? add.getRhs() : add.getRhs() == acc ? add.getLhs() : Value();
  auto mul = product ? product.getDefiningOp<arith::MulFOp>() : nullptr;
  if (!mul)
    return false;
  Value x = body.getArgument(0), y = body.getArgument(1);
  return (mul.getLhs() == x && mul.getRhs() == y) || (mul.getLhs() == y && mul.getRhs() == x);
}

Value kiln::filledValue(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  Value yielded = body.getTerminator()->getOperand(0);
  if (auto arg = dyn_cast<BlockArgument>(yielded); arg && arg.getOwner() == &body) {
    if (arg.getArgNumber() >= op.getNumDpsInputs())
      return Value();
    OpOperand *input = op.getDpsInputOperand(arg.getArgNumber());
    // Only a scalar, or a value read the same at every point, fills.
    if (isa<ShapedType>(input->get().getType()) && op.getMatchingIndexingMap(input).getNumResults())
      return Value();
    return input->get();
  }
  return yielded.getParentBlock() == &body ? Value() : yielded;
}

bool kiln::yieldsItsInput(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  return op.getNumDpsInputs() == 1 && body.getTerminator()->getOperand(0) == body.getArgument(0);
}

std::optional<kiln::PaddedCopy> kiln::matchPaddedCopy(Value buffer, Operation *reader) {
  auto alloc = buffer.getDefiningOp<memref::AllocOp>();
  if (!alloc)
    return std::nullopt;
  PaddedCopy padded;
  for (Operation *user : alloc->getUsers()) {
    if (user == reader || isa<memref::DeallocOp>(user))
      continue;
    if (auto fill = dyn_cast<linalg::GenericOp>(user); fill && !padded.fill && writesWhole(fill, buffer)) {
      padded.padding = filledValue(fill);
      if (!padded.padding || isa<ShapedType>(padded.padding.getType()))
        return std::nullopt;
      padded.fill = fill;
      continue;
    }
    auto window = dyn_cast<memref::SubViewOp>(user);
    if (!window || padded.copy || !window.hasUnitStride() || !window->hasOneUse() ||
        llvm::any_of(window.getStaticOffsets(), ShapedType::isDynamic))
      return std::nullopt;
    auto copy = dyn_cast<linalg::GenericOp>(*window->getUsers().begin());
    if (!writesWhole(copy, window) || !yieldsItsInput(copy) ||
        !copy.getMatchingIndexingMap(copy.getDpsInputOperand(0)).isIdentity())
      return std::nullopt;
    padded.window = window;
    padded.copy = copy;
    padded.source = copy.getDpsInputOperand(0)->get();
    padded.offsets = llvm::to_vector(window.getStaticOffsets());
  }
  if (!padded.fill || !padded.copy)
    return std::nullopt;
  Operation *fill = padded.fill, *copy = padded.copy;
  if (fill->getBlock() != reader->getBlock() || copy->getBlock() != reader->getBlock() ||
      !fill->isBeforeInBlock(copy) || !copy->isBeforeInBlock(reader))
    return std::nullopt;
  // The source must still hold what was copied when `reader` reads it.
  if (copy->getNextNode() != reader &&
      mayWriteBetween(copy->getNextNode(), reader->getPrevNode(), {rootOf(padded.source)}))
    return std::nullopt;
  return padded;
}

std::optional<kiln::Epilogue> kiln::matchEpilogue(linalg::GenericOp epilogue, Value scratch) {
  if (!epilogue || !epilogue.hasPureBufferSemantics() ||
      epilogue.getNumLoops() != epilogue.getNumParallelLoops() || epilogue.getNumDpsInits() != 1 ||
      epilogue.getNumDpsInputs() > 3 ||
      !epilogue.getMatchingIndexingMap(epilogue.getDpsInitOperand(0)).isIdentity())
    return std::nullopt;
  Block &body = epilogue.getRegion().front();
  BlockArgument sum;
  Epilogue result;
  for (OpOperand *input : epilogue.getDpsInputOperands()) {
    if (input->get() == scratch && epilogue.getMatchingIndexingMap(input).isIdentity() && !sum)
      sum = body.getArgument(input->getOperandNumber());
    else
      result.addends.push_back(input);
  }
  if (!sum)
    return std::nullopt;
  // yield relu?(a tree of adds whose leaves are the sum and each addend, once)
  Value value = body.getTerminator()->getOperand(0);
  if (auto max = value.getDefiningOp<arith::MaximumFOp>()) {
    if (isZero(max.getRhs()))
      value = max.getLhs();
    else if (isZero(max.getLhs()))
      value = max.getRhs();
    else
      return std::nullopt;
    result.relu = true;
  }
  SmallVector<Value> leaves;
  unsigned adds = 0;
  std::function<bool(Value)> collect = [&](Value v) {
    auto add = v.getDefiningOp<arith::AddFOp>();
    if (!add || add->getBlock() != &body)
      return leaves.push_back(v), true;
    ++adds;
    return collect(add.getLhs()) && collect(add.getRhs());
  };
  collect(value);
  SmallVector<Value> expected = {sum};
  for (OpOperand *addend : result.addends)
    expected.push_back(body.getArgument(addend->getOperandNumber()));
  auto byPointer = [](Value x, Value y) { return x.getAsOpaquePointer() < y.getAsOpaquePointer(); };
  llvm::sort(leaves, byPointer);
  llvm::sort(expected, byPointer);
  if (leaves != expected || body.getOperations().size() != 1u + result.relu + adds)
    return std::nullopt;
  return result;
}

bool kiln::isPrivateScratch(Value scratch, ArrayRef<Operation *> users) {
  return scratch.getDefiningOp<memref::AllocOp>() &&
         llvm::all_of(scratch.getUsers(), [&](Operation *user) {
           return isa<memref::DeallocOp>(user) || llvm::is_contained(users, user);
         });
}
