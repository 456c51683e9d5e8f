// The kiln dialect: registration, result-type inference and verifiers.
#include "kiln/Dialect/Kiln/KilnDialect.h"
#include "kiln/Dialect/Kiln/ShapeRules.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"

using namespace mlir;
using namespace kiln;

#include "Kiln/KilnDialect.cpp.inc"

void KilnDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "Kiln/KilnOps.cpp.inc"
      >();
}

Operation *KilnDialect::materializeConstant(OpBuilder &builder, Attribute value, Type type,
                                            Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return builder.create<ConstantOp>(loc, elements);
}

static LogicalResult fail(std::optional<Location> loc, const Twine &message) {
  return emitOptionalError(loc, message);
}

static RankedTensorType rankedOf(Type type) { return dyn_cast<RankedTensorType>(type); }

//===----------------------------------------------------------------------===//
// Shared inference hooks
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<int64_t>> kiln::broadcastShapes(ArrayRef<int64_t> a,
                                                      ArrayRef<int64_t> b) {
  size_t rank = std::max(a.size(), b.size());
  SmallVector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t x = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t y = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (x != y && x != 1 && y != 1)
      return failure();
    out[i] = x == 1 ? y : x;
  }
  return out;
}

LogicalResult kiln::inferBroadcastType(std::optional<Location> loc, Type lhs, Type rhs,
                                       SmallVectorImpl<Type> &out) {
  auto a = rankedOf(lhs), b = rankedOf(rhs);
  if (!a || !b)
    return fail(loc, "operands must be ranked tensors");
  if (a.getElementType() != b.getElementType())
    return fail(loc, "operand element types differ");
  auto shape = broadcastShapes(a.getShape(), b.getShape());
  if (failed(shape))
    return fail(loc, "shapes are not broadcast-compatible");
  out.push_back(RankedTensorType::get(*shape, a.getElementType()));
  return success();
}

LogicalResult kiln::inferReduceType(std::optional<Location> loc, Type input,
                                    ArrayRef<int64_t> axes, bool keepdims,
                                    SmallVectorImpl<Type> &out) {
  auto type = rankedOf(input);
  for (size_t i = 0; i < axes.size(); ++i)
    if (axes[i] < 0 || axes[i] >= type.getRank() || (i && axes[i] <= axes[i - 1]))
      return fail(loc, "axes must be sorted, unique and within the input's rank");
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    bool reduced = llvm::is_contained(axes, d);
    if (!reduced)
      shape.push_back(type.getDimSize(d));
    else if (keepdims)
      shape.push_back(1);
  }
  out.push_back(RankedTensorType::get(shape, type.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// Per-op inference and verification
//===----------------------------------------------------------------------===//

LogicalResult ConstantOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                           Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto type = rankedOf(adaptor.getValue().getType());
  if (!type)
    return fail(loc, "value must have a ranked tensor type");
  types.push_back(type);
  return success();
}

LogicalResult CastOp::verify() {
  if (getInput().getType().getShape() != getOutput().getType().getShape())
    return emitOpError("input and result shapes differ");
  return success();
}

static const char *const kPredicates[] = {"eq", "ne", "lt", "le", "gt", "ge"};

LogicalResult CompareOp::verify() {
  if (!llvm::is_contained(kPredicates, getPredicate()))
    return emitOpError("unknown predicate '") << getPredicate() << "'";
  return success();
}

LogicalResult CompareOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location> loc,
                                          Adaptor adaptor, SmallVectorImpl<Type> &types) {
  if (failed(inferBroadcastType(loc, adaptor.getLhs().getType(), adaptor.getRhs().getType(), types)))
    return failure();
  types[0] = cast<RankedTensorType>(types[0]).clone(IntegerType::get(ctx, 1));
  return success();
}

LogicalResult SelectOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto c = rankedOf(adaptor.getCondition().getType());
  auto a = rankedOf(adaptor.getOnTrue().getType()), b = rankedOf(adaptor.getOnFalse().getType());
  if (!c.getElementType().isInteger(1))
    return fail(loc, "condition must be i1");
  if (a.getElementType() != b.getElementType())
    return fail(loc, "branch element types differ");
  auto ab = broadcastShapes(a.getShape(), b.getShape());
  auto shape = succeeded(ab) ? broadcastShapes(*ab, c.getShape()) : ab;
  if (failed(shape))
    return fail(loc, "shapes are not broadcast-compatible");
  types.push_back(RankedTensorType::get(*shape, a.getElementType()));
  return success();
}

LogicalResult MatMulOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto a = rankedOf(adaptor.getLhs().getType()), b = rankedOf(adaptor.getRhs().getType());
  if (a.getRank() < 2 || b.getRank() < 2)
    return fail(loc, "operands must have rank 2 or more");
  if (a.getElementType() != b.getElementType())
    return fail(loc, "operand element types differ");
  if (a.getShape().back() != b.getShape()[b.getRank() - 2])
    return fail(loc, "contracting dimensions differ: " + Twine(a.getShape().back()) + " vs " +
                         Twine(b.getShape()[b.getRank() - 2]));
  auto batch = broadcastShapes(a.getShape().drop_back(2), b.getShape().drop_back(2));
  if (failed(batch))
    return fail(loc, "batch dimensions are not broadcast-compatible");
  SmallVector<int64_t> shape = *batch;
  shape.push_back(a.getShape()[a.getRank() - 2]);
  shape.push_back(b.getShape().back());
  types.push_back(RankedTensorType::get(shape, a.getElementType()));
  return success();
}

LogicalResult ConvOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                       Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = rankedOf(adaptor.getInput().getType()), w = rankedOf(adaptor.getWeight().getType());
  int64_t spatial = x.getRank() - 2, groups = adaptor.getGroups();
  if (spatial < 1 || w.getRank() != x.getRank())
    return fail(loc, "input and weight must both be [N, C, D...] with one or more D");
  if (x.getElementType() != w.getElementType())
    return fail(loc, "input and weight element types differ");
  if (groups < 1 || x.getDimSize(1) % groups || w.getDimSize(0) % groups ||
      x.getDimSize(1) / groups != w.getDimSize(1))
    return fail(loc, "channels do not match groups: input C=" + Twine(x.getDimSize(1)) +
                         ", weight C/groups=" + Twine(w.getDimSize(1)) +
                         ", groups=" + Twine(groups));
  if (auto bias = adaptor.getBias()) {
    auto b = rankedOf(bias.getType());
    if (b.getRank() != 1 || b.getDimSize(0) != w.getDimSize(0))
      return fail(loc, "bias must have shape [F]");
  }
  auto shape = convOutputShape(x.getShape(), w.getShape().drop_front(2), adaptor.getStrides(),
                               adaptor.getDilations(), adaptor.getPads(), false);
  if (failed(shape))
    return fail(loc, "invalid strides, dilations or pads, or an empty output");
  (*shape)[1] = w.getDimSize(0);
  types.push_back(RankedTensorType::get(*shape, x.getElementType()));
  return success();
}

LogicalResult MaxPoolOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                          Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = rankedOf(adaptor.getInput().getType());
  auto shape = convOutputShape(x.getShape(), adaptor.getKernelShape(), adaptor.getStrides(),
                               adaptor.getDilations(), adaptor.getPads(),
                               adaptor.getCeilMode());
  if (failed(shape))
    return fail(loc, "invalid kernel, strides, dilations or pads");
  types.push_back(RankedTensorType::get(*shape, x.getElementType()));
  return success();
}

LogicalResult AvgPoolOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                          Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = rankedOf(adaptor.getInput().getType());
  SmallVector<int64_t> ones(adaptor.getKernelShape().size(), 1);
  auto shape = convOutputShape(x.getShape(), adaptor.getKernelShape(), adaptor.getStrides(),
                               ones, adaptor.getPads(), adaptor.getCeilMode());
  if (failed(shape))
    return fail(loc, "invalid kernel, strides or pads");
  types.push_back(RankedTensorType::get(*shape, x.getElementType()));
  return success();
}

LogicalResult GlobalAvgPoolOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                                Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = rankedOf(adaptor.getInput().getType());
  if (x.getRank() < 3)
    return fail(loc, "input must be [N, C, D...]");
  SmallVector<int64_t> shape(x.getShape());
  std::fill(shape.begin() + 2, shape.end(), 1);
  types.push_back(RankedTensorType::get(shape, x.getElementType()));
  return success();
}

LogicalResult SoftmaxOp::verify() {
  if (getAxis() < 0 || getAxis() >= getInput().getType().getRank())
    return emitOpError("axis ") << getAxis() << " is out of range";
  return success();
}

LogicalResult BatchNormOp::verify() {
  auto x = getInput().getType();
  if (x.getRank() < 2)
    return emitOpError("input must have a channel dimension");
  for (Value v : {getScale(), getBias(), getMean(), getVariance()}) {
    auto t = cast<RankedTensorType>(v.getType());
    if (t.getRank() != 1 || t.getDimSize(0) != x.getDimSize(1) ||
        t.getElementType() != x.getElementType())
      return emitOpError("scale, bias, mean and variance must be [C] of the input's type");
  }
  if (getOutput().getType() != x)
    return emitOpError("result type must equal the input type");
  return success();
}

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                            Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = rankedOf(adaptor.getInput().getType());
  ArrayRef<int64_t> perm = adaptor.getPerm();
  if (!isPermutation(perm, x.getRank()))
    return fail(loc, "perm is not a permutation of the input's dimensions");
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(x.getDimSize(p));
  types.push_back(RankedTensorType::get(shape, x.getElementType()));
  return success();
}

LogicalResult ReshapeOp::verify() {
  auto in = getInput().getType(), out = getOutput().getType();
  if (!in.hasStaticShape() || !out.hasStaticShape())
    return emitOpError("shapes must be static");
  if (in.getNumElements() != out.getNumElements())
    return emitOpError("element counts differ: ")
           << in.getNumElements() << " vs " << out.getNumElements();
  if (in.getElementType() != out.getElementType())
    return emitOpError("element types differ");
  return success();
}

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor, SmallVectorImpl<Type> &types) {
  if (adaptor.getInputs().empty())
    return fail(loc, "needs at least one input");
  auto first = rankedOf(adaptor.getInputs().front().getType());
  int64_t axis = adaptor.getAxis();
  if (axis < 0 || axis >= first.getRank())
    return fail(loc, "axis is out of range");
  SmallVector<int64_t> shape(first.getShape());
  shape[axis] = 0;
  for (Value v : adaptor.getInputs()) {
    auto t = rankedOf(v.getType());
    if (t.getRank() != first.getRank() || t.getElementType() != first.getElementType())
      return fail(loc, "inputs differ in rank or element type");
    for (int64_t d = 0; d < t.getRank(); ++d)
      if (d != axis && t.getDimSize(d) != first.getDimSize(d))
        return fail(loc, "inputs differ in dimension " + Twine(d));
    shape[axis] += t.getDimSize(axis);
  }
  types.push_back(RankedTensorType::get(shape, first.getElementType()));
  return success();
}

LogicalResult SliceOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                        Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = rankedOf(adaptor.getInput().getType());
  auto starts = adaptor.getStarts(), sizes = adaptor.getSizes(), steps = adaptor.getSteps();
  if ((int64_t)starts.size() != x.getRank() || sizes.size() != starts.size() ||
      steps.size() != starts.size())
    return fail(loc, "starts, sizes and steps need one entry per dimension");
  for (int64_t d = 0; d < x.getRank(); ++d) {
    int64_t last = starts[d] + (sizes[d] - 1) * steps[d];
    if (steps[d] == 0 || sizes[d] < 0 ||
        (sizes[d] > 0 && (starts[d] < 0 || starts[d] >= x.getDimSize(d) || last < 0 ||
                          last >= x.getDimSize(d))))
      return fail(loc, "slice of dimension " + Twine(d) + " reads out of bounds");
  }
  types.push_back(RankedTensorType::get(sizes, x.getElementType()));
  return success();
}

LogicalResult PadOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                      Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto x = rankedOf(adaptor.getInput().getType());
  auto pads = adaptor.getPads();
  if ((int64_t)pads.size() != 2 * x.getRank())
    return fail(loc, "pads needs two entries per dimension");
  SmallVector<int64_t> shape(x.getShape());
  for (int64_t d = 0; d < x.getRank(); ++d) {
    if (pads[d] < 0 || pads[d + x.getRank()] < 0)
      return fail(loc, "pads must be non-negative");
    shape[d] += pads[d] + pads[d + x.getRank()];
  }
  types.push_back(RankedTensorType::get(shape, x.getElementType()));
  return success();
}

LogicalResult GatherOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                         Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto data = rankedOf(adaptor.getData().getType());
  auto indices = rankedOf(adaptor.getIndices().getType());
  int64_t axis = adaptor.getAxis();
  if (axis < 0 || axis >= data.getRank())
    return fail(loc, "axis is out of range");
  SmallVector<int64_t> shape(data.getShape().take_front(axis));
  llvm::append_range(shape, indices.getShape());
  llvm::append_range(shape, data.getShape().drop_front(axis + 1));
  types.push_back(RankedTensorType::get(shape, data.getElementType()));
  return success();
}

LogicalResult GatherElementsOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                                 Adaptor adaptor, SmallVectorImpl<Type> &types) {
  auto data = rankedOf(adaptor.getData().getType());
  auto indices = rankedOf(adaptor.getIndices().getType());
  if (data.getRank() != indices.getRank())
    return fail(loc, "indices must have the rank of data");
  if (adaptor.getAxis() < 0 || adaptor.getAxis() >= data.getRank())
    return fail(loc, "axis is out of range");
  types.push_back(RankedTensorType::get(indices.getShape(), data.getElementType()));
  return success();
}

LogicalResult ScatterNDOp::verify() {
  auto data = getData().getType(), updates = getUpdates().getType();
  auto indices = getIndices().getType();
  if (indices.getRank() < 1)
    return emitOpError("indices must have rank 1 or more");
  int64_t k = indices.getShape().back();
  if (k < 1 || k > data.getRank())
    return emitOpError("index rows address ") << k << " dimensions of a rank-" << data.getRank()
                                              << " tensor";
  SmallVector<int64_t> expected(indices.getShape().drop_back());
  llvm::append_range(expected, data.getShape().drop_front(k));
  if (updates.getShape() != ArrayRef<int64_t>(expected) ||
      updates.getElementType() != data.getElementType())
    return emitOpError("updates must be ") << RankedTensorType::get(expected, data.getElementType());
  if (!llvm::is_contained({"none", "add", "mul", "max", "min"}, getReduction()))
    return emitOpError("unknown reduction '") << getReduction() << "'";
  return success();
}

LogicalResult FusionOp::verify() {
  Block &body = getBody().front();
  if (body.getNumArguments() != getInputs().size())
    return emitOpError("region takes ") << body.getNumArguments() << " arguments but the op has "
                                        << getInputs().size() << " inputs";
  for (auto [arg, input] : llvm::zip(body.getArguments(), getInputs()))
    if (arg.getType() != input.getType())
      return emitOpError("region argument types must match the inputs");
  auto yield = cast<YieldOp>(body.getTerminator());
  if (yield.getValues().getTypes() != getResultTypes())
    return emitOpError("yielded types must match the results");
  return success();
}

#define GET_OP_CLASSES
#include "Kiln/KilnOps.cpp.inc"
