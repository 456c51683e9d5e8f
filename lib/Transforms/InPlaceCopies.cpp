// A product's operands read and written in place: a copy that only permutes elements
// between the product and another buffer (a transpose, through slices and reshapes,
// all views) becomes a strided view of that buffer, which a library reads or writes
// with its own strides.
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

/// Whether `op` may write memory under `root` (with `reads`, or read it).
bool mayAccess(Operation *op, Value root, bool reads) {
  if (isMemoryEffectFree(op) || isa<memref::AllocOp, memref::DeallocOp>(op))
    return false;
  auto generic = dyn_cast<linalg::GenericOp>(op);
  if (!generic)
    return true;
  ValueRange operands = reads ? ValueRange(generic->getOperands()) : ValueRange(generic.getDpsInits());
  return llvm::any_of(operands, [&](Value v) { return isa<MemRefType>(v.getType()) && kiln::rootOf(v) == root; });
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
    if (mayAccess(op, source, /*reads=*/false))
      return nullptr;
  return copy;
}

/// The permuting copy that alone reads `buffer`, a scratch allocation `product` writes,
/// after it; and the uses of `buffer` that become the view: the product's and that of
/// the fill right before it. Null if anything else uses `buffer`.
linalg::GenericOp soleCopyFrom(Value buffer, linalg::GenericOp product, SmallVectorImpl<OpOperand *> &uses) {
  if (!buffer.getDefiningOp<memref::AllocOp>())
    return nullptr;
  Operation *fill = kiln::neighbour(product, /*after=*/false);
  linalg::GenericOp copy;
  for (OpOperand &use : buffer.getUses()) {
    auto generic = dyn_cast<linalg::GenericOp>(use.getOwner());
    if (isa<memref::DeallocOp>(use.getOwner()))
      continue;
    if (!generic || generic->getBlock() != product->getBlock())
      return nullptr;
    if ((generic == product || generic == fill) && generic.isDpsInit(&use)) {
      uses.push_back(&use);
    } else if (!copy && isPermutingCopy(generic) && generic.isDpsInput(&use) && product->isBeforeInBlock(generic)) {
      copy = generic;
    } else {
      return nullptr;
    }
  }
  return copy;
}

/// A view of `base` shaped like `like`, at `offset` elements with `strides`.
Operation *stridedView(OpBuilder &b, Location loc, Value base, Value like, int64_t offset,
                       ArrayRef<int64_t> strides) {
  auto type = cast<MemRefType>(like.getType());
  auto viewType = MemRefType::get(type.getShape(), type.getElementType(),
                                  StridedLayoutAttr::get(b.getContext(), offset, strides));
  return b.create<memref::ReinterpretCastOp>(loc, viewType, base, offset, type.getShape(), strides);
}

} // namespace

SmallVector<kiln::InPlaceCopy> kiln::readCopiesInPlace(linalg::GenericOp op) {
  SmallVector<InPlaceCopy> reads;
  for (OpOperand *in : op.getDpsInputOperands()) {
    linalg::GenericOp copy = soleCopyInto(in->get(), op);
    if (!copy)
      continue;
    Value source = copy.getDpsInputOperand(0)->get();
    auto layout = staticLayoutOf(cast<MemRefType>(source.getType()));
    if (!layout)
      continue;
    // out[d] = source[perm(d)]: the view's dimension k steps like the source dimension
    // that loop k indexes.
    AffineMap perm = copy.getMatchingIndexingMap(copy.getDpsInputOperand(0));
    SmallVector<int64_t> strides(perm.getNumResults());
    for (auto [j, expr] : llvm::enumerate(perm.getResults()))
      strides[cast<AffineDimExpr>(expr).getPosition()] = layout->strides[j];
    OpBuilder b(copy);
    Operation *view = stridedView(b, copy.getLoc(), source, in->get(), layout->offset, strides);
    reads.push_back({{in}, in->get(), copy, view});
    in->set(view->getResult(0));
  }
  return reads;
}

std::optional<kiln::InPlaceCopy> kiln::writeCopyInPlace(linalg::GenericOp op) {
  if (op.getNumDpsInits() != 1)
    return std::nullopt;
  Value out = op.getDpsInitOperand(0)->get();
  SmallVector<OpOperand *, 2> uses;
  linalg::GenericOp copy = soleCopyFrom(out, op, uses);
  if (!copy)
    return std::nullopt;
  Value target = copy.getDpsInitOperand(0)->get(), root = rootOf(target);
  auto layout = staticLayoutOf(cast<MemRefType>(target.getType()));
  if (!layout)
    return std::nullopt;
  // The target is now written where the fill or product is, not at the copy: its
  // buffer must exist there, and nothing in between may touch it (nor may the product
  // read it). Its views' offsets count from the buffer's start.
  Operation *first = uses.front()->getOwner();
  for (OpOperand *use : uses)
    if (use->getOwner()->isBeforeInBlock(first))
      first = use->getOwner();
  if (Operation *def = root.getDefiningOp(); def && (def->getBlock() != op->getBlock() || !def->isBeforeInBlock(first)))
    return std::nullopt;
  for (Operation *between = first; between != copy; between = between->getNextNode())
    if (mayAccess(between, root, /*reads=*/true))
      return std::nullopt;
  // target[d] = out[perm(d)]: the view's dimension k steps like the target dimension
  // that loop perm(k) indexes.
  AffineMap perm = copy.getMatchingIndexingMap(copy.getDpsInputOperand(0));
  SmallVector<int64_t> strides;
  for (AffineExpr expr : perm.getResults())
    strides.push_back(layout->strides[cast<AffineDimExpr>(expr).getPosition()]);
  OpBuilder b(first);
  Operation *view = stridedView(b, copy.getLoc(), root, out, layout->offset, strides);
  for (OpOperand *use : uses)
    use->set(view->getResult(0));
  return InPlaceCopy{uses, out, copy, view};
}

void kiln::undoInPlaceCopy(const InPlaceCopy &copy) {
  for (OpOperand *use : copy.uses)
    use->set(copy.copied);
  copy.view->erase();
}

void kiln::dropCopies(ArrayRef<InPlaceCopy> copies) {
  for (const InPlaceCopy &copy : copies) {
    copy.copy->erase();
    eraseIfUnused(copy.copied); // the product now uses the view
  }
}
