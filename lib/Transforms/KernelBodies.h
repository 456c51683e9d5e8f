// Building blocks for passes that write kernel bodies by hand from linalg generics on
// buffers (kiln-gpu-block-reductions, kiln-gpu-row-kernels): a reduction's combiner,
// index arithmetic, and a generic's payload evaluated at one point of its loops.
#ifndef KILN_LIB_TRANSFORMS_KERNELBODIES_H
#define KILN_LIB_TRANSFORMS_KERNELBODIES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <functional>
#include <optional>

namespace kiln {

/// How a reduction generic combines each element into its output: the combining op,
/// its identity and the matching gpu.all_reduce operation.
struct Combiner {
  mlir::Operation *op;
  unsigned accIndex;   // which operand of op is the accumulator
  mlir::Value element; // the other operand
  mlir::arith::AtomicRMWKind kind;
  mlir::gpu::AllReduceOperation reduce;
};

/// The combiner of a one-output reduction generic whose payload folds each element
/// into the accumulator with one associative op (add, mul, max, min).
std::optional<Combiner> matchCombiner(mlir::linalg::GenericOp op);

/// The combiner applied to an accumulator and an element.
mlir::Value combine(mlir::OpBuilder &b, const Combiner &c, mlir::Value acc, mlir::Value element);

/// Index values of `linear` split over `sizes` (row-major).
llvm::SmallVector<mlir::Value> delinearize(mlir::OpBuilder &b, mlir::Location loc, mlir::Value linear,
                                           llvm::ArrayRef<int64_t> sizes);

/// The indices `map` gives an operand's element at loop indices `ivs`.
llvm::SmallVector<mlir::Value> indicesAt(mlir::OpBuilder &b, mlir::Location loc, mlir::AffineMap map,
                                         llvm::ArrayRef<mlir::Value> ivs);

/// The element of `operand` (indexed by `map`) at loop indices `ivs`.
mlir::Value loadAt(mlir::OpBuilder &b, mlir::Location loc, mlir::Value operand, mlir::AffineMap map,
                   llvm::ArrayRef<mlir::Value> ivs);

/// `operand`'s element at `generic`'s loop indices `ivs`: a scalar is itself, a
/// buffer's element is loaded.
mlir::Value operandAt(mlir::OpBuilder &b, mlir::linalg::GenericOp generic, mlir::OpOperand &operand,
                      llvm::ArrayRef<mlir::Value> ivs);

/// The value of one operand of a generic at the point being evaluated.
using OperandValue = std::function<mlir::Value(mlir::OpOperand &)>;

/// Clones `generic`'s payload for the one point `ivs` of its loops (linalg.index reads
/// them), except the ops in `skip`; each used block argument takes `valueOf` its
/// operand (none: left unmapped, for arguments only skipped ops read). Returns the mapping, so callers can look up any payload value.
mlir::IRMapping evaluatePayload(mlir::OpBuilder &b, mlir::linalg::GenericOp generic,
                                llvm::ArrayRef<mlir::Value> ivs, const OperandValue &valueOf,
                                llvm::ArrayRef<mlir::Operation *> skip = {});

/// The values `generic` yields at loop indices `ivs`: operands in `known` take those
/// values, scalars are themselves, other buffers are loaded there.
using KnownValues = llvm::DenseMap<mlir::Value, mlir::Value>;
llvm::SmallVector<mlir::Value> evaluateAt(mlir::OpBuilder &b, mlir::linalg::GenericOp generic,
                                          llvm::ArrayRef<mlir::Value> ivs,
                                          const KnownValues &known = KnownValues());

/// An elementwise generic right before the contraction or reduction `op` that writes
/// `op`'s whole output, element for element, from buffers `op` does not touch (a fill,
/// a broadcast bias): a kernel can compute each element's starting value instead of
/// loading it.
mlir::linalg::GenericOp precedingInit(mlir::linalg::GenericOp op);

/// An elementwise generic right after `op` over exactly `op`'s output, reading that
/// output only element for element and writing nothing `op` reads: a kernel can apply
/// it to each element of `op`'s result as it finishes it (a mean's division, a bias
/// and ReLU).
mlir::linalg::GenericOp followingEpilogue(mlir::linalg::GenericOp op);

} // namespace kiln

#endif
