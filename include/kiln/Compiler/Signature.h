// The model signature (names, dtypes and shapes of inputs and outputs) as carried by
// artifacts, and the C header that describes an object file.
#ifndef KILN_COMPILER_SIGNATURE_H
#define KILN_COMPILER_SIGNATURE_H

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <string>
#include <vector>

namespace kiln {

struct TensorSignature {
  std::string name;
  std::string dtype; // f32, f64, f16, bf16, i8, i16, i32, i64, bool
  std::vector<int64_t> shape;
  int64_t byteSize() const;
};

struct ModelSignature {
  std::vector<TensorSignature> inputs, outputs;

  /// Reads the signature of the imported @main (kiln.name attributes, tensor types).
  static llvm::FailureOr<ModelSignature> fromFunction(mlir::func::FuncOp main);
  /// The text embedded in artifacts; runtime/src/signature.c parses it.
  std::string serialize() const;
  /// A C header declaring `<prefix>_run` and the buffer shapes and sizes.
  std::string cHeader(llvm::StringRef prefix, llvm::StringRef modelPath) const;
};

} // namespace kiln

#endif
