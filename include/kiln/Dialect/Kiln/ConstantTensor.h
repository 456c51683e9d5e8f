// Host-side view of constant tensors (inline dense or resource blobs) for folding.
#ifndef KILN_DIALECT_KILN_CONSTANTTENSOR_H
#define KILN_DIALECT_KILN_CONSTANTTENSOR_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"

#include <optional>
#include <vector>

namespace kiln {

/// A constant's elements widened to double (floats) or int64 (integers and i1), which
/// keeps folding code type-agnostic. Only used for tensors small enough to fold.
struct ConstantTensor {
  mlir::RankedTensorType type;
  std::vector<double> floats;
  std::vector<int64_t> ints;

  bool isFloat() const { return mlir::isa<mlir::FloatType>(type.getElementType()); }
  int64_t size() const { return type.getNumElements(); }
  double asDouble(int64_t i) const { return isFloat() ? floats[i] : (double)ints[i]; }
  /// Sets element `i` from a double (truncated for integer types).
  void set(int64_t i, double v) {
    if (isFloat())
      floats[i] = v;
    else
      ints[i] = (int64_t)v;
  }

  /// Reads `attr` (DenseElementsAttr or DenseResourceElementsAttr) when it has at most
  /// `maxElements` elements of a supported type.
  static std::optional<ConstantTensor> read(mlir::Attribute attr,
                                            int64_t maxElements = 1 << 22);
  /// A zero-filled tensor of `type`.
  static ConstantTensor zeros(mlir::RankedTensorType type);
  /// Converts back into a DenseElementsAttr of `type`, rounding to its element type.
  mlir::DenseElementsAttr toAttr() const;
};

/// Row-major strides of `shape`.
llvm::SmallVector<int64_t> rowMajorStrides(llvm::ArrayRef<int64_t> shape);

} // namespace kiln

#endif
