// Small queries on ops over buffers that several GPU passes share.
#ifndef KILN_LIB_TRANSFORMS_BUFFERWALK_H
#define KILN_LIB_TRANSFORMS_BUFFERWALK_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

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

} // namespace kiln

#endif
