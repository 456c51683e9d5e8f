// Output-shape rules shared by the kiln verifiers, the importer and the lowerings.
#ifndef KILN_DIALECT_KILN_SHAPERULES_H
#define KILN_DIALECT_KILN_SHAPERULES_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/LogicalResult.h"

namespace kiln {

/// Shape of a convolution or pooling output for input `[N, C, D...]`: each spatial
/// dimension is (D + pad_begin + pad_end - dilation * (K - 1) - 1) / stride + 1, rounded
/// up in ceil mode, where a last window starting inside the end padding is dropped.
/// `pads` is all begin pads, then all end pads. Fails on inconsistent sizes or an
/// empty output.
llvm::FailureOr<llvm::SmallVector<int64_t>>
convOutputShape(llvm::ArrayRef<int64_t> input, llvm::ArrayRef<int64_t> kernel,
                llvm::ArrayRef<int64_t> strides, llvm::ArrayRef<int64_t> dilations,
                llvm::ArrayRef<int64_t> pads, bool ceilMode);

/// True if `perm` is a permutation of 0..rank-1.
bool isPermutation(llvm::ArrayRef<int64_t> perm, int64_t rank);

/// Number of elements of a static shape (1 for rank 0).
inline int64_t elementCount(llvm::ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

} // namespace kiln

#endif
