// ONNX frontend: reads .onnx (binary protobuf) or .onnxtxt (ONNX text syntax) into
// a module holding one kiln-dialect function, @main.
#ifndef KILN_FRONTEND_ONNX_IMPORTER_H
#define KILN_FRONTEND_ONNX_IMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringMap.h"

#include <string>
#include <vector>

namespace kiln {

struct ImportOptions {
  /// Static shapes for graph inputs whose dimensions are symbolic, by input name.
  llvm::StringMap<std::vector<int64_t>> inputShapes;
  /// Graph inputs whose values are fixed at compile time, by input name: each becomes
  /// a constant and leaves the compiled signature. A value is a TensorProto file
  /// (NAME.pb) or a comma-separated list of numbers ("1,3,224,224").
  llvm::StringMap<std::string> boundInputs;
  /// Values the importer may bind, as above, but only for inputs that an op needs as
  /// a compile-time constant (a Reshape's shape, Slice's starts, Resize's scales...):
  /// the artifact is then specialized to those values, like TensorRT's shape tensors.
  llvm::StringMap<std::string> bindableInputs;
};

/// Imports the model at `path`. On failure, emits one error diagnostic naming the
/// file, the node (name, op type, opset) and the reason, and returns null.
mlir::OwningOpRef<mlir::ModuleOp> importONNXFile(mlir::MLIRContext *context,
                                                 llvm::StringRef path,
                                                 const ImportOptions &options = {});

/// Names the ONNX operators the importer handles, sorted.
std::vector<std::string> supportedONNXOps();

} // namespace kiln

#endif
