// The per-node interface of the ONNX importer: one function per ONNX op type reads a
// node's inputs and attributes through NodeContext and builds kiln ops.
#ifndef KILN_LIB_FRONTEND_ONNX_NODEIMPORTER_H
#define KILN_LIB_FRONTEND_ONNX_NODEIMPORTER_H

#include "kiln/Dialect/Kiln/ConstantTensor.h"
#include "kiln/Dialect/Kiln/KilnDialect.h"
#include "kiln/Dialect/Kiln/ShapeRules.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringMap.h"

#include "onnx/onnx_pb.h"

#include <functional>
#include <optional>

namespace kiln::onnx_import {

using mlir::Value;

/// What an op importer sees of one node: its inputs as values, its attributes, the
/// opset in force, and a builder positioned in @main.
class NodeContext {
public:
  NodeContext(mlir::OpBuilder &b, const onnx::NodeProto &node, int index, int64_t opset,
              llvm::StringRef file, llvm::SmallVector<Value> inputs);

  mlir::OpBuilder &b;
  const onnx::NodeProto &node;
  const int64_t opset;
  const std::string label; // how messages name the node
  mlir::Location loc;

  /// Emits "FILE: node 'NAME' (OP, opset N): REASON" and returns failure.
  mlir::LogicalResult fail(const llvm::Twine &reason) const;

  size_t numInputs() const { return inputs.size(); }
  /// True if input `i` is present (ONNX marks omitted optional inputs with "").
  bool has(size_t i) const { return i < inputs.size() && inputs[i]; }
  Value input(size_t i) const { return inputs[i]; }
  mlir::RankedTensorType type(size_t i) const {
    return mlir::cast<mlir::RankedTensorType>(inputs[i].getType());
  }
  /// Input `i`'s value if it is a compile-time constant.
  std::optional<ConstantTensor> constant(size_t i) const;
  /// As constant(), for an operand the op cannot take at run time: when it is not a
  /// constant, the importer is told, so it may bind the graph inputs it comes from.
  std::optional<ConstantTensor> requiredConstant(size_t i) const;
  /// Input `i` as a list of integers, failing with a message if it is not constant.
  mlir::FailureOr<llvm::SmallVector<int64_t>> constantInts(size_t i, llvm::StringRef what) const;

  const onnx::AttributeProto *attr(llvm::StringRef name) const;
  int64_t getInt(llvm::StringRef name, int64_t dflt) const;
  double getFloat(llvm::StringRef name, double dflt) const;
  std::string getString(llvm::StringRef name, llvm::StringRef dflt) const;
  std::optional<llvm::SmallVector<int64_t>> getInts(llvm::StringRef name) const;

  /// Normalizes a possibly negative axis against `rank`, failing when out of range.
  mlir::FailureOr<int64_t> axis(int64_t axis, int64_t rank) const;
  /// Normalizes a list of axes: non-negative, sorted, without repeats.
  mlir::FailureOr<llvm::SmallVector<int64_t>> axes(llvm::ArrayRef<int64_t> axes, int64_t rank) const;

  // Builders that fold as they go, so shape arithmetic on constants disappears.
  template <typename OpTy, typename... Args> Value create(Args &&...args) {
    return b.createOrFold<OpTy>(loc, std::forward<Args>(args)...);
  }
  Value reshape(Value v, llvm::ArrayRef<int64_t> shape);
  Value cast(Value v, mlir::Type elementType);
  /// A constant splat of `value` with `like`'s element type and rank-0 shape.
  Value scalar(double value, mlir::Type elementType);
  Value constantI64(llvm::ArrayRef<int64_t> values);
  /// A constant of `type` whose element `i` (row-major) is at(i).
  Value constantOf(mlir::RankedTensorType type, const std::function<double(int64_t)> &at);
  /// The i64 positions 0..size-1 along `axis` of a rank-`rank` tensor whose other
  /// dimensions are 1 (they broadcast).
  Value positions(int64_t rank, int64_t axis, int64_t size);
  /// A zero constant of `type` (a splat).
  Value zeros(mlir::RankedTensorType type);
  /// Elements [start, start + size) of `x` along `axis`, all of the other dimensions.
  Value sliceAxis(Value x, int64_t axis, int64_t start, int64_t size);

  /// Called with an operand that must be a compile-time constant but is not.
  std::function<void(Value)> onMissingConstant;
  /// Imports a subgraph (an If branch, a Loop or Scan body) inline: its formal inputs
  /// take `inputs`, the enclosing scopes' values stay visible, and its outputs return.
  std::function<mlir::FailureOr<llvm::SmallVector<Value>>(const onnx::GraphProto &,
                                                          llvm::ArrayRef<Value> inputs)>
      importGraph;

private:
  llvm::SmallVector<Value> inputs;
  std::string file;
};

/// The value of `v` when a kiln.constant defines it.
std::optional<ConstantTensor> constantValue(Value v);

using ImportFn =
    std::function<mlir::LogicalResult(NodeContext &, llvm::SmallVectorImpl<Value> &results)>;
using ImporterTable = llvm::StringMap<ImportFn>;

void addElementwiseImporters(ImporterTable &table);
void addNNImporters(ImporterTable &table);
void addTensorImporters(ImporterTable &table);
void addLayoutImporters(ImporterTable &table);
void addLossImporters(ImporterTable &table);
void addConvTransposeImporter(ImporterTable &table);
void addSignalImporters(ImporterTable &table);
void addRecurrentImporters(ImporterTable &table);
void addEinsumImporter(ImporterTable &table);
void addDetImporter(ImporterTable &table);
void addPoolIndexImporters(ImporterTable &table);
void addControlFlowImporters(ImporterTable &table);
void addIndexingImporters(ImporterTable &table);
void addQuantizeImporters(ImporterTable &table);

/// A conv or pool window: per spatial dimension the kernel size, stride, dilation, and
/// the pads (all begin pads, then all end pads).
struct Window {
  llvm::SmallVector<int64_t> kernel, strides, dilations, pads;
};
/// Reads kernel_shape (else `kernelFallback`), strides, dilations and pads or auto_pad
/// for the [N, C, D...] input 0.
mlir::FailureOr<Window> readWindow(NodeContext &c, llvm::ArrayRef<int64_t> kernelFallback);

/// MaxPool's two outputs: the maxima and, for each, its flat index in the input
/// (row-major, or column-major over the spatial dimensions with storage_order=1).
mlir::LogicalResult buildMaxPoolWithIndices(NodeContext &c, const Window &w, bool ceil,
                                            llvm::SmallVectorImpl<Value> &out);

/// A kiln.conv of `x` and `w` (and `bias`, may be null) with the node's Conv
/// attributes (strides, pads, auto_pad, dilations, group), checked against the shapes.
mlir::FailureOr<Value> buildConv(NodeContext &c, Value x, Value w, Value bias);

/// Converts an ONNX data type to an MLIR element type, or null if Kiln lacks it.
mlir::Type elementTypeOf(mlir::MLIRContext *ctx, int32_t onnxType);
/// Name of an ONNX data type for messages.
std::string dataTypeName(int32_t onnxType);
/// Builds a constant attribute from a TensorProto (resource blob when large). External
/// data is read relative to `modelDir` (empty: not allowed).
mlir::FailureOr<mlir::ElementsAttr> tensorToAttr(mlir::MLIRContext *ctx,
                                                 const onnx::TensorProto &tensor,
                                                 llvm::StringRef modelDir, std::string &error);

} // namespace kiln::onnx_import

#endif
