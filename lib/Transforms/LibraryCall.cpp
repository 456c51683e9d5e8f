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

std::optional<kiln::Epilogue> kiln::matchEpilogue(linalg::GenericOp epilogue, Value scratch) {
  if (!epilogue || !epilogue.hasPureBufferSemantics() ||
      epilogue.getNumLoops() != epilogue.getNumParallelLoops() || epilogue.getNumDpsInits() != 1 ||
      epilogue.getNumDpsInputs() > 2 ||
      !epilogue.getMatchingIndexingMap(epilogue.getDpsInitOperand(0)).isIdentity())
    return std::nullopt;
  Block &body = epilogue.getRegion().front();
  BlockArgument sum;
  Epilogue result;
  for (OpOperand *input : epilogue.getDpsInputOperands()) {
    if (input->get() == scratch && epilogue.getMatchingIndexingMap(input).isIdentity() && !sum)
      sum = body.getArgument(input->getOperandNumber());
    else
      result.addend = input;
  }
  if (!sum)
    return std::nullopt;
  BlockArgument addend = result.addend ? body.getArgument(result.addend->getOperandNumber()) : BlockArgument();
  // yield relu?(sum + addend?)
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
  bool added = false;
  if (auto add = value.getDefiningOp<arith::AddFOp>()) {
    if (!addend || !((add.getLhs() == sum && add.getRhs() == addend) ||
                     (add.getLhs() == addend && add.getRhs() == sum)))
      return std::nullopt;
    value = sum;
    added = true;
  }
  if (value != sum || (addend && !added) || body.getOperations().size() != 1u + result.relu + added)
    return std::nullopt;
  return result;
}

bool kiln::isPrivateScratch(Value scratch, ArrayRef<Operation *> users) {
  return scratch.getDefiningOp<memref::AllocOp>() &&
         llvm::all_of(scratch.getUsers(), [&](Operation *user) {
           return isa<memref::DeallocOp>(user) || llvm::is_contained(users, user);
         });
}
