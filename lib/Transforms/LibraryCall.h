// What kiln-gpu-library-calls' matchers share: the library step a group of generics on
// buffers becomes, and the small queries every matcher asks about those generics.
#ifndef KILN_LIB_TRANSFORMS_LIBRARYCALL_H
#define KILN_LIB_TRANSFORMS_LIBRARYCALL_H

#include "BufferWalk.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

#include <optional>

namespace kiln {

/// A library step replacing some generics: `call @<callee>(operands)` with the
/// descriptor `fields` as the declaration's `attribute`, placed after the last of
/// `replaced`, which are then erased (and allocations left without readers with them).
struct LibraryCall {
  llvm::StringRef callee, attribute;
  llvm::SmallVector<int64_t> fields;
  llvm::SmallVector<mlir::Value> operands;
  llvm::SmallVector<mlir::Operation *> replaced;
};

/// What an elementwise generic right after a product does to it:
/// `relu?(sum + addends...)`.
struct Epilogue {
  bool relu = false;
  /// The epilogue's operands added to the product (at most two), in operand order.
  llvm::SmallVector<mlir::OpOperand *, 2> addends;
};

/// A product's operand that a copy only permuting its elements stood between: an
/// input the copy wrote from its source (a transpose of attention heads, read through
/// slices and reshapes), or the output the copy then wrote into its target (the heads
/// put back side by side). The product uses a strided view of the source or target
/// instead, which a library reads or writes with its own strides.
struct InPlaceCopy {
  llvm::SmallVector<mlir::OpOperand *, 2> uses; // pointed at the view
  mlir::Value copied;                           // the buffer between product and copy
  mlir::linalg::GenericOp copy;
  mlir::Operation *view;
};

/// Points each input of `op` that a permuting copy wrote at a view of its source.
llvm::SmallVector<InPlaceCopy> readCopiesInPlace(mlir::linalg::GenericOp op);
/// Points `op`'s output, and the fill before `op`, at a view of the target of the
/// permuting copy that alone reads it.
std::optional<InPlaceCopy> writeCopyInPlace(mlir::linalg::GenericOp op);
/// Puts the copy's buffer back, when the library cannot take the view.
void undoInPlaceCopy(const InPlaceCopy &copy);
/// Erases the copies, no longer needed, with their buffers.
void dropCopies(llvm::ArrayRef<InPlaceCopy> copies);

bool isZero(mlir::Value value);

/// An elementwise generic over exactly `buffer`'s elements writing only `buffer`, with
/// identity indexing for it.
bool writesWhole(mlir::linalg::GenericOp op, mlir::Value buffer);

/// The generic's body is acc + lhs * rhs, in any operand order.
bool isMultiplyAdd(mlir::linalg::GenericOp op);

/// The value a generic that writes one value everywhere (a fill) stores, looking
/// through an input it yields unchanged.
mlir::Value filledValue(mlir::linalg::GenericOp op);

/// A generic of one input whose body yields that input unchanged: a copy or broadcast.
bool yieldsItsInput(mlir::linalg::GenericOp op);

/// A padded copy: an allocation filled with one scalar, then `source` copied into a
/// window of it (unit strides, static offsets). Whoever reads the allocation can read
/// `source` instead, through the window's offsets, and the fill and copy go.
struct PaddedCopy {
  mlir::Value source, padding;
  llvm::SmallVector<int64_t> offsets;
  mlir::linalg::GenericOp fill, copy;
  mlir::memref::SubViewOp window;
};

/// `buffer` as a padded copy `reader` reads: only the fill, the copy, `reader` and
/// deallocations touch it, the fill and copy come before `reader` in its block, in
/// that order, and nothing may write `source` between the copy and `reader`.
std::optional<PaddedCopy> matchPaddedCopy(mlir::Value buffer, mlir::Operation *reader);

/// `epilogue`, an elementwise generic of at most three inputs and one init with
/// identity indexing, as relu?(scratch + addends...) where `scratch` is the product's
/// output read through identity indexing, each other input added once; nullopt for
/// any other body.
std::optional<Epilogue> matchEpilogue(mlir::linalg::GenericOp epilogue, mlir::Value scratch);

/// Whether the epilogue may write its own buffer instead of `scratch`: `scratch` is an
/// allocation nothing but `users` and deallocations touches.
bool isPrivateScratch(mlir::Value scratch, llvm::ArrayRef<mlir::Operation *> users);

/// The cuDNN convolution a contraction generic marked "cudnn" is, with the padding
/// copy before it, the bias or zero fill of its output and the ReLU and residual add
/// after it taken in; nullopt when cuDNN cannot take it as it stands.
std::optional<LibraryCall> matchCudnnConvolution(mlir::linalg::GenericOp op);

} // namespace kiln

#endif
