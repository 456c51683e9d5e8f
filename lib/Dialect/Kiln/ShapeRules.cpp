// Output-shape rules shared by the kiln verifiers, the importer and the lowerings.
#include "kiln/Dialect/Kiln/ShapeRules.h"

#include <algorithm>

using namespace llvm;

FailureOr<SmallVector<int64_t>> kiln::convOutputShape(ArrayRef<int64_t> input,
                                                      ArrayRef<int64_t> kernel,
                                                      ArrayRef<int64_t> strides,
                                                      ArrayRef<int64_t> dilations,
                                                      ArrayRef<int64_t> pads, bool ceilMode) {
  size_t spatial = kernel.size();
  if (input.size() != spatial + 2 || strides.size() != spatial ||
      dilations.size() != spatial || pads.size() != 2 * spatial)
    return failure();
  SmallVector<int64_t> out(input.take_front(2));
  for (size_t i = 0; i < spatial; ++i) {
    if (strides[i] < 1 || dilations[i] < 1 || kernel[i] < 1 || pads[i] < 0 ||
        pads[i + spatial] < 0)
      return failure();
    int64_t span = input[i + 2] + pads[i] + pads[i + spatial] - dilations[i] * (kernel[i] - 1) - 1;
    if (span < 0)
      return failure();
    int64_t n = (ceilMode ? (span + strides[i] - 1) / strides[i] : span / strides[i]) + 1;
    if (ceilMode && (n - 1) * strides[i] >= input[i + 2] + pads[i])
      --n;
    out.push_back(n);
  }
  return out;
}

bool kiln::isPermutation(ArrayRef<int64_t> perm, int64_t rank) {
  if ((int64_t)perm.size() != rank)
    return false;
  SmallVector<bool> seen(rank, false);
  for (int64_t p : perm) {
    if (p < 0 || p >= rank || seen[p])
      return false;
    seen[p] = true;
  }
  return true;
}
