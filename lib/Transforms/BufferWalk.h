// Small queries on ops over buffers that several GPU passes share.
#ifndef KILN_LIB_TRANSFORMS_BUFFERWALK_H
#define KILN_LIB_TRANSFORMS_BUFFERWALK_H

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/DenseSet.h"

#include <optional>

namespace kiln {

/// The allocation or argument a buffer is a view of: buffers with different roots do
/// not overlap.
inline mlir::Value rootOf(mlir::Value memref) {
  while (auto view = memref.getDefiningOp<mlir::ViewLikeOpInterface>())
    memref = view.getViewSource();
  return memref;
}

/// The nearest op before (or after) `op` that may touch memory, skipping ops without
/// memory effects (views, constants).
inline mlir::Operation *neighbour(mlir::Operation *op, bool after) {
  mlir::Operation *next = after ? op->getNextNode() : op->getPrevNode();
  while (next && mlir::isMemoryEffectFree(next) && next->getNumRegions() == 0)
    next = after ? next->getNextNode() : next->getPrevNode();
  return next;
}

/// Erases what a rewrite left of `buffer` once it stopped using it: its views that
/// nothing uses, then `buffer` itself (a view or an allocation) with its deallocations
/// when nothing else uses it. Returns whether `buffer` is gone.
inline bool eraseIfUnused(mlir::Value buffer) {
  for (mlir::Operation *user : llvm::make_early_inc_range(buffer.getUsers()))
    if (auto view = llvm::dyn_cast<mlir::ViewLikeOpInterface>(user); view && view.getViewSource() == buffer)
      eraseIfUnused(view->getResult(0));
  mlir::Operation *def = buffer.getDefiningOp();
  if (!def || !llvm::isa<mlir::memref::AllocOp, mlir::ViewLikeOpInterface>(def) ||
      !llvm::all_of(buffer.getUsers(), [](mlir::Operation *user) { return llvm::isa<mlir::memref::DeallocOp>(user); }))
    return false;
  for (mlir::Operation *user : llvm::make_early_inc_range(buffer.getUsers()))
    user->erase();
  def->erase();
  return true;
}

/// Element strides and offset of a strided buffer, all known at compile time.
struct StaticLayout {
  llvm::SmallVector<int64_t> strides;
  int64_t offset = 0;
};

/// `type`'s layout where every stride and the offset are static; nullopt otherwise.
inline std::optional<StaticLayout> staticLayoutOf(mlir::MemRefType type) {
  StaticLayout layout;
  if (mlir::failed(type.getStridesAndOffset(layout.strides, layout.offset)) ||
      mlir::ShapedType::isDynamic(layout.offset) || llvm::any_of(layout.strides, mlir::ShapedType::isDynamic))
    return std::nullopt;
  return layout;
}

/// Whether any op from `first` through `last` (the same block, in order) may write a
/// buffer whose root is in `roots`: a store or another write to one of them, or an op
/// whose effects are unknown (a call).
inline bool mayWriteBetween(mlir::Operation *first, mlir::Operation *last,
                            const llvm::DenseSet<mlir::Value> &roots) {
  for (mlir::Operation *top = first; top; top = top->getNextNode()) {
    mlir::WalkResult result = top->walk([&](mlir::Operation *op) {
      if (llvm::isa<mlir::memref::AllocOp, mlir::memref::DeallocOp>(op) || mlir::isMemoryEffectFree(op))
        return mlir::WalkResult::advance();
      auto effects = llvm::dyn_cast<mlir::MemoryEffectOpInterface>(op);
      if (!effects)
        return op->hasTrait<mlir::OpTrait::HasRecursiveMemoryEffects>() ? mlir::WalkResult::advance()
                                                                        : mlir::WalkResult::interrupt();
      llvm::SmallVector<mlir::MemoryEffects::EffectInstance> instances;
      effects.getEffects(instances);
      for (auto &effect : instances)
        if (llvm::isa<mlir::MemoryEffects::Write>(effect.getEffect()) &&
            (!effect.getValue() || roots.contains(rootOf(effect.getValue()))))
          return mlir::WalkResult::interrupt();
      return mlir::WalkResult::advance();
    });
    if (result.wasInterrupted())
      return true;
    if (top == last)
      break;
  }
  return false;
}

} // namespace kiln

#endif
