// ONNX importer: model parsing, graph inputs, initializers and outputs, and the
// node loop that dispatches each node to its op importer.
#include "kiln/Frontend/ONNX/Importer.h"
#include "NodeImporter.h"

#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SmallPtrSet.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include "onnx/defs/parser.h"
#include "onnx/defs/schema.h"

#include <algorithm>

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

// Older opsets import where an op's semantics did not change; importers reject the
// legacy forms (such as the pre-7 broadcast attribute) they do not implement.
static constexpr int64_t kMinOpset = 1, kMaxOpset = 18;

//===----------------------------------------------------------------------===//
// NodeContext
//===----------------------------------------------------------------------===//

/// Names a node for messages: its name, or its index and first output when unnamed.
static std::string nodeLabel(const onnx::NodeProto &node, int index) {
  if (!node.name().empty())
    return "'" + node.name() + "'";
  return "#" + std::to_string(index) + " -> '" + (node.output_size() ? node.output(0) : "") + "'";
}

NodeContext::NodeContext(OpBuilder &b, const onnx::NodeProto &node, int index, int64_t opset,
                         StringRef file, SmallVector<Value> inputs)
    : b(b), node(node), opset(opset), label(nodeLabel(node, index)),
      loc(NameLoc::get(b.getStringAttr(node.name().empty() ? node.op_type() : node.name()),
                       FileLineColLoc::get(b.getContext(), file, 0, 0))),
      inputs(std::move(inputs)), file(file.str()) {}

LogicalResult NodeContext::fail(const Twine &reason) const {
  emitError(loc) << file << ": node " << label << " (" << node.op_type() << ", opset "
                 << opset << "): " << reason;
  return failure();
}

std::optional<ConstantTensor> onnx_import::constantValue(Value v) {
  if (auto op = v.getDefiningOp<ConstantOp>())
    return ConstantTensor::read(op.getValue());
  return std::nullopt;
}

std::optional<ConstantTensor> NodeContext::constant(size_t i) const {
  return has(i) ? constantValue(inputs[i]) : std::nullopt;
}

std::optional<ConstantTensor> NodeContext::requiredConstant(size_t i) const {
  auto c = constant(i);
  if (!c && has(i) && onMissingConstant)
    onMissingConstant(inputs[i]);
  return c;
}

FailureOr<SmallVector<int64_t>> NodeContext::constantInts(size_t i, StringRef what) const {
  auto c = requiredConstant(i);
  if (!c || c->isFloat()) {
    (void)fail(Twine(what) + " must be a constant integer tensor (computed at run time here)");
    return failure();
  }
  return SmallVector<int64_t>(c->ints.begin(), c->ints.end());
}

const onnx::AttributeProto *NodeContext::attr(StringRef name) const {
  for (const auto &a : node.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}

int64_t NodeContext::getInt(StringRef name, int64_t dflt) const {
  auto *a = attr(name);
  return a ? a->i() : dflt;
}

double NodeContext::getFloat(StringRef name, double dflt) const {
  auto *a = attr(name);
  return a ? a->f() : dflt;
}

std::string NodeContext::getString(StringRef name, StringRef dflt) const {
  auto *a = attr(name);
  return a ? a->s() : dflt.str();
}

std::optional<SmallVector<int64_t>> NodeContext::getInts(StringRef name) const {
  auto *a = attr(name);
  if (!a)
    return std::nullopt;
  return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

FailureOr<int64_t> NodeContext::axis(int64_t axis, int64_t rank) const {
  if (axis < -rank || axis >= rank) {
    (void)fail("axis " + Twine(axis) + " is out of range for rank " + Twine(rank));
    return failure();
  }
  return axis < 0 ? axis + rank : axis;
}

FailureOr<SmallVector<int64_t>> NodeContext::axes(ArrayRef<int64_t> list, int64_t rank) const {
  SmallVector<int64_t> out;
  for (int64_t a : list) {
    auto n = axis(a, rank);
    if (failed(n))
      return failure();
    out.push_back(*n);
  }
  llvm::sort(out);
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Value NodeContext::reshape(Value v, ArrayRef<int64_t> shape) {
  auto type = mlir::cast<RankedTensorType>(v.getType());
  return create<ReshapeOp>(RankedTensorType::get(shape, type.getElementType()), v);
}

Value NodeContext::cast(Value v, Type elementType) {
  auto type = mlir::cast<RankedTensorType>(v.getType());
  return create<CastOp>(RankedTensorType::get(type.getShape(), elementType), v);
}

Value NodeContext::scalar(double value, Type elementType) {
  return constantOf(RankedTensorType::get({}, elementType), [&](int64_t) { return value; });
}

Value NodeContext::constantOf(RankedTensorType type, const std::function<double(int64_t)> &at) {
  ConstantTensor t = ConstantTensor::zeros(type);
  for (int64_t i = 0; i < t.size(); ++i)
    t.set(i, at(i));
  return create<ConstantOp>(t.toAttr());
}

Value NodeContext::positions(int64_t rank, int64_t axis, int64_t size) {
  SmallVector<int64_t> shape(rank, 1);
  shape[axis] = size;
  return constantOf(RankedTensorType::get(shape, b.getI64Type()), [](int64_t i) { return (double)i; });
}

Value NodeContext::zeros(RankedTensorType type) {
  return create<ConstantOp>(DenseElementsAttr::get(type, b.getZeroAttr(type.getElementType())));
}

Value NodeContext::sliceAxis(Value x, int64_t axis, int64_t start, int64_t size) {
  auto type = mlir::cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> starts(type.getRank(), 0), sizes(type.getShape()), steps(type.getRank(), 1);
  starts[axis] = start;
  sizes[axis] = size;
  return create<SliceOp>(x, b.getDenseI64ArrayAttr(starts), b.getDenseI64ArrayAttr(sizes),
                         b.getDenseI64ArrayAttr(steps));
}

Value NodeContext::constantI64(ArrayRef<int64_t> values) {
  auto type = RankedTensorType::get({(int64_t)values.size()}, b.getI64Type());
  return create<ConstantOp>(DenseElementsAttr::get(type, values));
}

//===----------------------------------------------------------------------===//
// Types and tensors
//===----------------------------------------------------------------------===//

Type onnx_import::elementTypeOf(MLIRContext *ctx, int32_t t) {
  Builder b(ctx);
  switch (t) {
  case onnx::TensorProto::FLOAT: return b.getF32Type();
  case onnx::TensorProto::DOUBLE: return b.getF64Type();
  case onnx::TensorProto::FLOAT16: return b.getF16Type();
  case onnx::TensorProto::BFLOAT16: return b.getBF16Type();
  case onnx::TensorProto::INT8: return b.getIntegerType(8);
  case onnx::TensorProto::INT16: return b.getIntegerType(16);
  case onnx::TensorProto::INT32: return b.getIntegerType(32);
  case onnx::TensorProto::INT64: return b.getIntegerType(64);
  case onnx::TensorProto::BOOL: return b.getI1Type();
  case onnx::TensorProto::UINT8: return b.getIntegerType(8, /*isSigned=*/false);
  case onnx::TensorProto::UINT16: return b.getIntegerType(16, /*isSigned=*/false);
  case onnx::TensorProto::UINT32: return b.getIntegerType(32, /*isSigned=*/false);
  case onnx::TensorProto::UINT64: return b.getIntegerType(64, /*isSigned=*/false);
  default: return nullptr; // String and complex types are not supported.
  }
}

std::string onnx_import::dataTypeName(int32_t t) {
  if (onnx::TensorProto::DataType_IsValid(t))
    return onnx::TensorProto::DataType_Name((onnx::TensorProto::DataType)t);
  return "data type " + std::to_string(t);
}

/// Copies the typed repeated field of `tensor` into little-endian bytes of `width` bits.
template <typename Field>
static void packField(const Field &field, unsigned bytes, std::vector<char> &out) {
  out.resize(field.size() * bytes);
  for (int i = 0; i < field.size(); ++i) {
    uint64_t bits = 0;
    auto v = field.Get(i);
    if constexpr (std::is_same_v<decltype(v), float>) {
      uint32_t u;
      std::memcpy(&u, &v, 4);
      bits = u;
    } else if constexpr (std::is_same_v<decltype(v), double>) {
      std::memcpy(&bits, &v, 8);
    } else {
      bits = (uint64_t)v;
    }
    std::memcpy(out.data() + i * bytes, &bits, bytes);
  }
}

// Initializers above this size become resource blobs; smaller ones (shapes, scalars)
// stay inline so that the folders see them directly and the IR stays readable.
static constexpr size_t kInlineConstantBytes = 64;

/// Reads a tensor's bytes from its external data file, which must lie inside the
/// model's folder (a model is untrusted input: no absolute paths, no escaping "..").
static LogicalResult readExternalData(const onnx::TensorProto &tensor, StringRef modelDir,
                                      std::vector<char> &data, std::string &error) {
  std::string location;
  uint64_t offset = 0, length = 0;
  bool haveLength = false;
  for (const auto &entry : tensor.external_data()) {
    if (entry.key() == "location")
      location = entry.value();
    else if ((entry.key() == "offset" && StringRef(entry.value()).getAsInteger(10, offset)) ||
             (entry.key() == "length" && (haveLength = true) &&
              StringRef(entry.value()).getAsInteger(10, length))) {
      error = "external data of '" + tensor.name() + "' has a malformed " + entry.key();
      return failure();
    }
  }
  if (modelDir.empty() || location.empty() || llvm::sys::path::is_absolute(location)) {
    error = "external data of '" + tensor.name() + "' must name a file relative to the model";
    return failure();
  }
  SmallString<256> dir, path(modelDir), real;
  llvm::sys::path::append(path, location);
  if (llvm::sys::fs::real_path(modelDir, dir) || llvm::sys::fs::real_path(path, real)) {
    error = "external data file '" + location + "' of '" + tensor.name() + "' cannot be read";
    return failure();
  }
  if (!StringRef(real).starts_with((dir + llvm::sys::path::get_separator()).str())) {
    error = "external data path '" + location + "' leaves the model's folder";
    return failure();
  }
  auto buffer = llvm::MemoryBuffer::getFile(real, /*IsText=*/false, /*RequiresNullTerminator=*/false);
  if (!buffer) {
    error = "cannot read external data file '" + location + "': " + buffer.getError().message();
    return failure();
  }
  StringRef bytes = (*buffer)->getBuffer();
  if (offset > bytes.size() || (haveLength && length > bytes.size() - offset)) {
    error = "external data of '" + tensor.name() + "' lies beyond the end of '" + location + "'";
    return failure();
  }
  bytes = bytes.substr(offset, haveLength ? length : StringRef::npos);
  data.assign(bytes.begin(), bytes.end());
  return success();
}

FailureOr<ElementsAttr> onnx_import::tensorToAttr(MLIRContext *ctx,
                                                  const onnx::TensorProto &tensor,
                                                  StringRef modelDir, std::string &error) {
  Type et = elementTypeOf(ctx, tensor.data_type());
  if (!et) {
    error = "unsupported data type " + dataTypeName(tensor.data_type());
    return failure();
  }
  SmallVector<int64_t> shape(tensor.dims().begin(), tensor.dims().end());
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d && count > (int64_t(1) << 40) / d)) {
      error = "invalid or overflowing tensor shape";
      return failure();
    }
    count *= d;
  }
  auto type = RankedTensorType::get(shape, et);
  unsigned bytes = et.isInteger(1) ? 1 : et.getIntOrFloatBitWidth() / 8;
  std::vector<char> data;
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL) {
    if (failed(readExternalData(tensor, modelDir, data, error)))
      return failure();
  } else if (tensor.has_raw_data()) {
    data.assign(tensor.raw_data().begin(), tensor.raw_data().end());
  } else if (tensor.float_data_size()) {
    packField(tensor.float_data(), bytes, data);
  } else if (tensor.double_data_size()) {
    packField(tensor.double_data(), bytes, data);
  } else if (tensor.int64_data_size()) {
    packField(tensor.int64_data(), bytes, data);
  } else if (tensor.int32_data_size()) {
    packField(tensor.int32_data(), bytes, data);
  } else if (tensor.uint64_data_size()) {
    packField(tensor.uint64_data(), bytes, data);
  }
  if (data.size() != (size_t)count * bytes) {
    error = "tensor '" + tensor.name() + "' holds " + std::to_string(data.size()) +
            " bytes of data, but its shape and type need " + std::to_string(count * bytes);
    return failure();
  }
  if (et.isInteger(1)) {
    SmallVector<bool> bits;
    for (char c : data)
      bits.push_back(c != 0);
    return ElementsAttr(DenseElementsAttr::get(type, ArrayRef<bool>(bits)));
  }
  if (data.size() <= kInlineConstantBytes)
    return ElementsAttr(DenseElementsAttr::getFromRawBuffer(type, data));
  std::string key = tensor.name().empty() ? "constant" : tensor.name();
  for (char &c : key)
    if (!llvm::isAlnum(c) && c != '_')
      c = '_';
  auto blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(data, alignof(uint64_t));
  return ElementsAttr(DenseResourceElementsAttr::get(type, key, std::move(blob)));
}

//===----------------------------------------------------------------------===//
// The graph
//===----------------------------------------------------------------------===//

/// Every op importer, by ONNX op type.
static ImporterTable allImporters() {
  ImporterTable table;
  addElementwiseImporters(table);
  addNNImporters(table);
  addTensorImporters(table);
  addLayoutImporters(table);
  addLossImporters(table);
  addConvTransposeImporter(table);
  addSignalImporters(table);
  addRecurrentImporters(table);
  addEinsumImporter(table);
  addDetImporter(table);
  addPoolIndexImporters(table);
  addControlFlowImporters(table);
  addIndexingImporters(table);
  addQuantizeImporters(table);
  return table;
}

namespace {
class GraphImporter {
public:
  /// `bound`: the graph inputs to bind beyond options.boundInputs (their values are in
  /// options.bindableInputs).
  GraphImporter(MLIRContext *ctx, StringRef file, const ImportOptions &options,
                const llvm::StringSet<> &bound)
      : ctx(ctx), b(ctx), file(file.str()), options(options), bound(bound),
        table(allImporters()) {}

  OwningOpRef<ModuleOp> run(const onnx::ModelProto &model);

  /// Bindable graph inputs that some op needed as constants in the last run.
  const llvm::StringSet<> &wantedBindings() const { return wanted; }

private:
  LogicalResult error(const Twine &message) {
    emitError(FileLineColLoc::get(ctx, file, 0, 0)) << file << ": " << message;
    return failure();
  }
  FailureOr<RankedTensorType> valueType(const onnx::ValueInfoProto &info);
  FailureOr<ElementsAttr> boundValue(StringRef name, StringRef spec, RankedTensorType type);
  void noteMissingConstant(Value v);
  Value emptyAsConstant(Value v);
  LogicalResult importNode(const onnx::NodeProto &node, int index, int64_t opset);
  FailureOr<SmallVector<Value>> importSubgraph(const NodeContext &parent,
                                               const onnx::GraphProto &graph,
                                               ArrayRef<Value> inputs, int64_t opset);

  MLIRContext *ctx;
  OpBuilder b;
  std::string file;
  const ImportOptions &options;
  const llvm::StringSet<> &bound;
  llvm::StringSet<> wanted;
  ImporterTable table;
  llvm::StringMap<Value> values;
};
} // namespace

/// The value a bound input takes: a TensorProto file or a list of numbers, which must
/// fit the input's declared type.
FailureOr<ElementsAttr> GraphImporter::boundValue(StringRef name, StringRef spec,
                                                  RankedTensorType type) {
  auto fail = [&](const Twine &why) -> FailureOr<ElementsAttr> {
    (void)error("bound input '" + name + "': " + why);
    return failure();
  };
  if (spec.ends_with(".pb")) {
    auto buffer = llvm::MemoryBuffer::getFile(spec, /*IsText=*/false);
    onnx::TensorProto tensor;
    if (!buffer || (*buffer)->getBufferSize() > INT32_MAX ||
        !tensor.ParseFromArray((*buffer)->getBufferStart(), (int)(*buffer)->getBufferSize()))
      return fail("cannot read a TensorProto from '" + spec + "'");
    std::string why;
    auto attr = tensorToAttr(ctx, tensor, /*modelDir=*/"", why);
    if (failed(attr))
      return fail(why);
    if (attr->getType() != type)
      return fail("'" + spec + "' does not hold the input's declared type");
    return attr;
  }
  SmallVector<StringRef> items;
  spec.split(items, ',');
  ConstantTensor t = ConstantTensor::zeros(type);
  if ((int64_t)items.size() != type.getNumElements())
    return fail("" + Twine(items.size()) + " values given for " + Twine(type.getNumElements()) +
                " elements");
  for (auto [i, item] : llvm::enumerate(items)) {
    double v;
    if (item.trim().getAsDouble(v))
      return fail("'" + item + "' is not a number");
    t.set(i, v);
  }
  return ElementsAttr(t.toAttr());
}

/// Records the graph inputs `v` is computed from when all of them may be bound, so the
/// next import attempt binds them and the shape arithmetic folds.
void GraphImporter::noteMissingConstant(Value v) {
  SmallVector<Value> work{v};
  llvm::SmallPtrSet<Operation *, 16> seen;
  llvm::StringSet<> names;
  while (!work.empty()) {
    Value cur = work.pop_back_val();
    if (auto arg = dyn_cast<BlockArgument>(cur)) {
      auto func = cast<func::FuncOp>(arg.getOwner()->getParentOp());
      auto name = func.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "kiln.name");
      if (!name || !options.bindableInputs.contains(name.getValue()))
        return;
      names.insert(name.getValue());
      continue;
    }
    Operation *op = cur.getDefiningOp();
    if (seen.insert(op).second)
      llvm::append_range(work, op->getOperands());
  }
  for (auto &name : names)
    wanted.insert(name.getKey());
}

FailureOr<RankedTensorType> GraphImporter::valueType(const onnx::ValueInfoProto &info) {
  if (!info.type().has_tensor_type())
    return (void)error("graph value '" + info.name() + "' is not a tensor (sequence, map and "
                 "optional values are not supported)"), failure();
  const auto &tt = info.type().tensor_type();
  Type et = elementTypeOf(ctx, tt.elem_type());
  if (!et)
    return (void)error("graph value '" + info.name() + "' has unsupported data type " +
                 dataTypeName(tt.elem_type())), failure();
  auto pinned = options.inputShapes.find(info.name());
  if (pinned != options.inputShapes.end())
    return RankedTensorType::get(pinned->second, et);
  if (!tt.has_shape())
    return (void)error("graph value '" + info.name() + "' has no shape; pin it with --input-shape"),
           failure();
  SmallVector<int64_t> shape;
  for (const auto &dim : tt.shape().dim()) {
    if (!dim.has_dim_value() || dim.dim_value() < 0)
      return (void)error("graph value '" + info.name() + "' has symbolic dimension '" +
                         dim.dim_param() + "'; pin it with --input-shape " + info.name() +
                         "=..."),
             failure();
    shape.push_back(dim.dim_value());
  }
  return RankedTensorType::get(shape, et);
}

/// The index of an input the node omits although ONNX's schema for the op at this
/// opset requires it, if any: op importers may then read required inputs unchecked.
static std::optional<unsigned> missingRequiredInput(const NodeContext &nc, int64_t opset) {
  const onnx::OpSchema *schema =
      onnx::OpSchemaRegistry::Schema(nc.node.op_type(), opset, nc.node.domain());
  if (!schema) { // no schema to consult: every listed input is needed
    for (unsigned i = 0; i < nc.numInputs(); ++i)
      if (!nc.has(i))
        return i;
    return std::nullopt;
  }
  const auto &formals = schema->inputs();
  for (unsigned i = 0; i < formals.size(); ++i) {
    auto option = formals[i].GetOption();
    if (option == onnx::OpSchema::Single && !nc.has(i))
      return i;
    if (option == onnx::OpSchema::Variadic)
      for (unsigned j = i; j < nc.numInputs(); ++j)
        if (!nc.has(j))
          return j;
  }
  if (nc.numInputs() < (size_t)schema->min_input())
    return nc.numInputs();
  return std::nullopt;
}

LogicalResult GraphImporter::importNode(const onnx::NodeProto &node, int index, int64_t opset) {
  SmallVector<Value> inputs;
  for (const std::string &name : node.input()) {
    if (name.empty()) {
      inputs.push_back(nullptr);
      continue;
    }
    auto it = values.find(name);
    if (it == values.end())
      return NodeContext(b, node, index, opset, file, {})
          .fail("input '" + name + "' is not defined before this node (dangling name or cycle)");
    inputs.push_back(it->second);
  }
  NodeContext nc(b, node, index, opset, file, std::move(inputs));
  nc.onMissingConstant = [this](Value v) { noteMissingConstant(v); };
  nc.importGraph = [this, &nc, opset](const onnx::GraphProto &graph, ArrayRef<Value> inputs) {
    return importSubgraph(nc, graph, inputs, opset);
  };
  if (!node.domain().empty() && node.domain() != "ai.onnx")
    return nc.fail("operator domain '" + node.domain() + "' is not supported");
  auto importer = table.find(node.op_type());
  if (importer == table.end())
    return nc.fail("operator is not supported");
  if (auto missing = missingRequiredInput(nc, opset))
    return nc.fail("required input " + Twine(*missing) + " is missing");
  SmallVector<Value> results;
  if (failed(importer->second(nc, results)))
    return failure();
  for (int i = 0; i < node.output_size(); ++i) {
    if (node.output(i).empty())
      continue;
    if (i >= (int)results.size() || !results[i])
      return nc.fail("output " + Twine(i) + " ('" + node.output(i) + "') is not supported");
    values[node.output(i)] = emptyAsConstant(results[i]);
  }
  return success();
}

/// An empty tensor has no data, so its type says all: as a constant it folds away and
/// no kernel ever sees a zero-sized buffer (only inputs and outputs may be empty).
Value GraphImporter::emptyAsConstant(Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  if (type.getNumElements() != 0 || v.getDefiningOp<ConstantOp>())
    return v;
  return b.create<ConstantOp>(v.getLoc(), DenseElementsAttr::get(type, ArrayRef<Attribute>{}));
}

FailureOr<SmallVector<Value>> GraphImporter::importSubgraph(const NodeContext &parent,
                                                            const onnx::GraphProto &graph,
                                                            ArrayRef<Value> inputs,
                                                            int64_t opset) {
  if (graph.input_size() != (int)inputs.size())
    return (void)parent.fail("subgraph '" + graph.name() + "' takes " + Twine(graph.input_size()) +
                             " inputs, not " + Twine(inputs.size())),
           failure();
  // The subgraph's names shadow the enclosing scope's only while it is imported. Only
  // the names it defines are saved: copying the whole scope per unrolled iteration
  // would make loops quadratic in the model's size.
  SmallVector<std::pair<std::string, Value>> shadowed; // null Value: the name was unbound
  auto save = [&](const std::string &name) {
    auto it = values.find(name);
    shadowed.emplace_back(name, it == values.end() ? Value() : it->second);
  };
  for (const auto &formal : graph.input())
    save(formal.name());
  for (const auto &init : graph.initializer())
    save(init.name());
  for (const auto &node : graph.node())
    for (const std::string &output : node.output())
      save(output);
  auto restore = llvm::make_scope_exit([&] {
    for (auto &[name, value] : llvm::reverse(shadowed)) {
      if (value)
        values[name] = value;
      else
        values.erase(name);
    }
  });
  for (auto [formal, value] : llvm::zip(graph.input(), inputs))
    values[formal.name()] = value;
  Location loc = parent.loc;
  for (const auto &init : graph.initializer()) {
    std::string why;
    auto attr = tensorToAttr(ctx, init, /*modelDir=*/"", why);
    if (failed(attr))
      return (void)parent.fail("subgraph initializer '" + init.name() + "': " + why), failure();
    values[init.name()] = b.create<ConstantOp>(loc, *attr);
  }
  for (int i = 0; i < graph.node_size(); ++i)
    if (failed(importNode(graph.node(i), i, opset)))
      return (void)parent.fail("in subgraph '" + graph.name() + "'"), failure();
  SmallVector<Value> outputs;
  for (const auto &output : graph.output()) {
    auto it = values.find(output.name());
    if (it == values.end())
      return (void)parent.fail("subgraph output '" + output.name() + "' is never computed"), failure();
    outputs.push_back(it->second);
  }
  return outputs;
}

OwningOpRef<ModuleOp> GraphImporter::run(const onnx::ModelProto &model) {
  int64_t opset = -1;
  for (const auto &entry : model.opset_import())
    if (entry.domain().empty() || entry.domain() == "ai.onnx")
      opset = entry.version();
  if (opset < 0 && model.opset_import_size()) {
    const auto &other = model.opset_import(0);
    (void)error("the model imports no opset of the default domain, only '" + other.domain() +
                "' version " + Twine(other.version()) + "; other domains are not supported");
    return nullptr;
  }
  if (opset < kMinOpset || opset > kMaxOpset) {
    (void)error("opset " + Twine(opset) + " of the default domain is outside the supported range " +
                Twine(kMinOpset) + " to " + Twine(kMaxOpset));
    return nullptr;
  }
  const onnx::GraphProto &graph = model.graph();
  Location loc = FileLineColLoc::get(ctx, file, 0, 0);
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());

  // Initializers are constants; graph inputs that share their names are not inputs.
  llvm::StringSet<> initializerNames;
  for (const auto &init : graph.initializer())
    initializerNames.insert(init.name());
  SmallVector<Type> argTypes;
  SmallVector<std::string> argNames;
  SmallVector<std::pair<std::string, ElementsAttr>> boundValues;
  for (const auto &input : graph.input()) {
    if (initializerNames.contains(input.name()))
      continue;
    auto type = valueType(input);
    if (failed(type))
      return nullptr;
    const std::string *spec = nullptr;
    if (auto it = options.boundInputs.find(input.name()); it != options.boundInputs.end())
      spec = &it->second;
    else if (bound.contains(input.name()))
      spec = &options.bindableInputs.find(input.name())->second;
    if (spec) {
      auto value = boundValue(input.name(), *spec, *type);
      if (failed(value))
        return nullptr;
      boundValues.emplace_back(input.name(), *value);
      continue;
    }
    argTypes.push_back(*type);
    argNames.push_back(input.name());
  }
  for (auto &entry : options.boundInputs)
    if (!llvm::any_of(graph.input(), [&](auto &in) { return in.name() == entry.getKey(); })) {
      (void)error("bound input '" + entry.getKey() + "' is not a graph input");
      return nullptr;
    }
  auto func = b.create<func::FuncOp>(loc, "main", b.getFunctionType(argTypes, {}));
  Block *entry = func.addEntryBlock();
  for (auto [i, name] : llvm::enumerate(argNames)) {
    func.setArgAttr(i, "kiln.name", b.getStringAttr(name));
    values[name] = emptyAsConstant(entry->getArgument(i));
  }
  b.setInsertionPointToStart(entry);
  for (auto &[name, value] : boundValues)
    values[name] = b.create<ConstantOp>(NameLoc::get(b.getStringAttr(name), loc), value);
  for (const auto &init : graph.initializer()) {
    std::string why;
    StringRef dir = llvm::sys::path::parent_path(file);
    auto attr = tensorToAttr(ctx, init, dir.empty() ? "." : dir, why);
    if (failed(attr)) {
      (void)error("initializer '" + init.name() + "': " + why);
      return nullptr;
    }
    values[init.name()] = b.create<ConstantOp>(
        NameLoc::get(b.getStringAttr(init.name()), loc), *attr);
  }
  for (int i = 0; i < graph.node_size(); ++i)
    if (failed(importNode(graph.node(i), i, opset)))
      return nullptr;

  SmallVector<Value> results;
  SmallVector<Type> resultTypes;
  for (const auto &output : graph.output()) {
    auto it = values.find(output.name());
    if (it == values.end()) {
      (void)error("graph output '" + output.name() + "' is never computed");
      return nullptr;
    }
    // A declared static type that differs from the computed one means a bad model or
    // a Kiln bug: either way, no silent wrong answer.
    const auto &declared = output.type().tensor_type();
    bool staticShape = output.type().has_tensor_type() && declared.has_shape();
    SmallVector<int64_t> shape;
    for (const auto &dim : declared.shape().dim()) {
      staticShape &= dim.has_dim_value() && dim.dim_value() > 0;
      shape.push_back(dim.dim_value());
    }
    Type et = elementTypeOf(ctx, declared.elem_type());
    if (staticShape && et && RankedTensorType::get(shape, et) != it->second.getType()) {
      std::string computed;
      llvm::raw_string_ostream os(computed);
      os << it->second.getType();
      (void)error("graph output '" + output.name() + "' is declared with another type than the " +
                  computed + " its nodes compute");
      return nullptr;
    }
    results.push_back(it->second);
    resultTypes.push_back(it->second.getType());
  }
  if (results.empty()) {
    (void)error("the graph has no outputs");
    return nullptr;
  }
  b.create<func::ReturnOp>(loc, results);
  func.setType(b.getFunctionType(argTypes, resultTypes));
  for (auto [i, output] : llvm::enumerate(graph.output()))
    func.setResultAttr(i, "kiln.name", b.getStringAttr(output.name()));
  return module;
}

OwningOpRef<ModuleOp> kiln::importONNXFile(MLIRContext *ctx, StringRef path,
                                           const ImportOptions &options) {
  ctx->loadDialect<KilnDialect, func::FuncDialect>();
  Location loc = FileLineColLoc::get(ctx, path, 0, 0);
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer) {
    emitError(loc) << path << ": cannot read file: " << buffer.getError().message();
    return nullptr;
  }
  onnx::ModelProto model;
  StringRef data = (*buffer)->getBuffer();
  if (llvm::sys::path::extension(path) == ".onnxtxt") {
    auto status = onnx::OnnxParser::Parse(model, data.str().c_str());
    if (!status.IsOK()) {
      emitError(loc) << path << ": invalid ONNX text syntax: " << status.ErrorMessage();
      return nullptr;
    }
  } else if (data.size() > INT32_MAX || !model.ParseFromArray(data.data(), (int)data.size())) {
    emitError(loc) << path << ": not a valid ONNX model (protobuf parse failed)";
    return nullptr;
  }
  // Without bindable inputs one attempt decides. With them, an attempt that needs some
  // as constants is repeated, quietly, with those bound, until nothing more is wanted.
  llvm::StringSet<> bound;
  while (!options.bindableInputs.empty()) {
    GraphImporter attempt(ctx, path, options, bound);
    OwningOpRef<ModuleOp> module;
    {
      ScopedDiagnosticHandler quiet(ctx, [](Diagnostic &) { return success(); });
      module = attempt.run(model);
    }
    if (module)
      return module;
    bool grew = false;
    for (auto &name : attempt.wantedBindings())
      grew |= bound.insert(name.getKey()).second;
    if (!grew)
      break;
  }
  return GraphImporter(ctx, path, options, bound).run(model);
}

std::vector<std::string> kiln::supportedONNXOps() {
  ImporterTable table = allImporters();
  std::vector<std::string> names;
  for (auto &entry : table)
    names.push_back(entry.getKey().str());
  std::sort(names.begin(), names.end());
  return names;
}
