// Lowering of kiln ops to linalg/tensor/arith/math, split by op family.
#ifndef KILN_CONVERSION_KILNTOLINALG_KILNTOLINALG_H
#define KILN_CONVERSION_KILNTOLINALG_KILNTOLINALG_H

#include "mlir/IR/PatternMatch.h"

namespace kiln {

/// Unary, binary, clip and cast ops as broadcasting linalg.generic ops.
void populateElementwiseToLinalgPatterns(mlir::RewritePatternSet &patterns);
/// matmul as a contraction generic.
void populateLinearAlgebraToLinalgPatterns(mlir::RewritePatternSet &patterns);
/// conv, max/avg/global pooling.
void populateConvPoolToLinalgPatterns(mlir::RewritePatternSet &patterns);
/// reduce_*, softmax.
void populateReductionToLinalgPatterns(mlir::RewritePatternSet &patterns);
/// constant, transpose, reshape, concat, slice, pad, gather.
void populateDataMovementToLinalgPatterns(mlir::RewritePatternSet &patterns);
void populateScatterToLinalgPatterns(mlir::RewritePatternSet &patterns);

/// All of the above.
void populateKilnToLinalgPatterns(mlir::RewritePatternSet &patterns);

} // namespace kiln

#endif
