// Host-side view of constant tensors (inline dense or resource blobs) for folding.
#ifndef KILN_DIALECT_KILN_CONSTANTTENSOR_H
#define KILN_DIALECT_KILN_CONSTANTTENSOR_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"

#include <cmath>
#include <optional>
#include <utility>
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

/// Lowest and highest values of a `width`-bit integer as doubles. 64-bit bounds stop
/// at +-9.2e18, which still converts to int64 exactly: as clip bounds they bind nothing.
inline std::pair<double, double> integerRange(unsigned width, bool isUnsigned) {
  if (isUnsigned)
    return {0, width >= 64 ? 9.2e18 : std::ldexp(1.0, width) - 1};
  if (width >= 64)
    return {-9.2e18, 9.2e18};
  return {-std::ldexp(1.0, width - 1), std::ldexp(1.0, width - 1) - 1};
}

} // namespace kiln

#endif
