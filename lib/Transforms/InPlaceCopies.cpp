// Reading a product's permuted operand in place: a copy that only transposes its
// source (through slices and reshapes, all views) becomes a strided view of the source,
// which a library reads with its own strides.
#include "LibraryCall.h"

#include "mlir/Interfaces/SideEffectInterfaces.h"

using namespace mlir;

namespace {

/// A generic that copies its one input into its one output, elementwise, through a
/// permutation of the loops: out[d] = in[perm(d)].
bool isPermutingCopy(linalg::GenericOp copy) {
  if (!copy.hasPureBufferSemantics() || copy.getNumDpsInputs() != 1 || copy.getNumDpsInits() != 1 ||
      copy.getNumLoops() != copy.getNumParallelLoops())
    return false;
  Block &body = copy.getRegion().front();
  return copy.getMatchingIndexingMap(copy.getDpsInitOperand(0)).isIdentity() &&
         copy.getMatchingIndexingMap(copy.getDpsInputOperand(0)).isPermutation() &&
         body.getOperations().size() == 1 && body.getTerminator()->getOperand(0) == body.getArgument(0);
}

/// Whether an op between the copy and the product may write `root`.
bool mayWrite(Operation *op, Value root) {
  if (isMemoryEffectFree(op) || isa<memref::AllocOp, memref::DeallocOp>(op))
    return false;
  auto generic = dyn_cast<linalg::GenericOp>(op);
  return !generic || llvm::any_of(generic.getDpsInits(), [&](Value init) { return kiln::rootOf(init) == root; });
}

/// The copy writing `buffer`, a scratch allocation that `product` alone reads.
linalg::GenericOp soleCopyInto(Value buffer, linalg::GenericOp product) {
  if (!buffer.getDefiningOp<memref::AllocOp>())
    return nullptr;
  linalg::GenericOp copy;
  for (Operation *user : buffer.getUsers()) {
    if (user == product || isa<memref::DeallocOp>(user))
      continue;
    auto generic = dyn_cast<linalg::GenericOp>(user);
    if (copy || !generic || !isPermutingCopy(generic) || generic.getDpsInitOperand(0)->get() != buffer)
      return nullptr;
    copy = generic;
  }
  if (!copy || copy->getBlock() != product->getBlock() || !copy->isBeforeInBlock(product))
    return nullptr;
  Value source = kiln::rootOf(copy.getDpsInputOperand(0)->get());
  for (Operation *op = copy->getNextNode(); op != product; op = op->getNextNode())
    if (mayWrite(op, source))
      return nullptr;
  return copy;
}

} // namespace

SmallVector<kiln::InPlaceRead> kiln::readCopiesInPlace(linalg::GenericOp op) {
  SmallVector<InPlaceRead> reads;
  for (OpOperand *in : op.getDpsInputOperands()) {
    linalg::GenericOp copy = soleCopyInto(in->get(), op);
    if (!copy)
      continue;
    Value source = copy.getDpsInputOperand(0)->get();
    auto sourceLayout = staticLayoutOf(cast<MemRefType>(source.getType()));
    if (!sourceLayout)
      continue;
    // out[d] = source[perm(d)]: the view's dimension k steps like the source dimension
    // that loop k indexes.
    auto copiedType = cast<MemRefType>(in->get().getType());
    AffineMap perm = copy.getMatchingIndexingMap(copy.getDpsInputOperand(0));
    SmallVector<int64_t> strides(copiedType.getRank());
    for (auto [j, expr] : llvm::enumerate(perm.getResults()))
      strides[cast<AffineDimExpr>(expr).getPosition()] = sourceLayout->strides[j];
    auto viewType = MemRefType::get(copiedType.getShape(), copiedType.getElementType(),
                                    StridedLayoutAttr::get(op.getContext(), sourceLayout->offset, strides));
    OpBuilder b(copy);
    auto view = b.create<memref::ReinterpretCastOp>(copy.getLoc(), viewType, source, sourceLayout->offset,
                                                    copiedType.getShape(), strides);
    reads.push_back({in, in->get(), copy, view});
    in->set(view);
  }
  return reads;
}

void kiln::undoInPlaceReads(ArrayRef<InPlaceRead> reads) {
  for (const InPlaceRead &read : reads) {
    read.operand->set(read.copied);
    read.view->erase();
  }
}

void kiln::dropCopies(ArrayRef<InPlaceRead> reads) {
  for (const InPlaceRead &read : reads) {
    read.copy->erase();
    eraseIfUnused(read.copied); // the product now reads the view
  }
}
