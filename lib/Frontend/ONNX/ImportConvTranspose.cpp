// ONNX ConvTranspose as a convolution: the input is spread out with zeros between its
// elements (stride) and padded by the kernel's reach, and convolved with the weights
// flipped in space and with input and output channels swapped per group.
#include "NodeImporter.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

ArrayRef<int64_t> shapeOf(Value v) { return cast<RankedTensorType>(v.getType()).getShape(); }

Value slice(NodeContext &c, Value x, ArrayRef<int64_t> starts, ArrayRef<int64_t> sizes,
            ArrayRef<int64_t> steps) {
  return c.create<SliceOp>(x, c.b.getDenseI64ArrayAttr(starts), c.b.getDenseI64ArrayAttr(sizes),
                           c.b.getDenseI64ArrayAttr(steps));
}

/// Inserts stride-1 zeros between the elements of spatial dimension `d` of x.
Value spread(NodeContext &c, Value x, size_t d, int64_t stride) {
  if (stride == 1)
    return x;
  SmallVector<int64_t> shape(shapeOf(x)), withSlot(shape);
  int64_t n = shape[d];
  withSlot.insert(withSlot.begin() + d + 1, 1);
  SmallVector<int64_t> pads(2 * withSlot.size(), 0);
  pads[withSlot.size() + d + 1] = stride - 1;
  Value padded = c.create<PadOp>(c.reshape(x, withSlot), c.b.getDenseI64ArrayAttr(pads),
                                 c.b.getF64FloatAttr(0));
  shape[d] = n * stride;
  Value flat = c.reshape(padded, shape);
  SmallVector<int64_t> starts(shape.size(), 0), sizes(shape), steps(shape.size(), 1);
  sizes[d] = (n - 1) * stride + 1;
  return slice(c, flat, starts, sizes, steps);
}

LogicalResult importConvTranspose(NodeContext &c, SmallVectorImpl<Value> &out) {
  auto xt = c.type(0), wt = c.type(1);
  Type et = xt.getElementType();
  size_t s = xt.getRank() - 2;
  if (!isa<FloatType>(et) || xt.getRank() < 3 || wt.getRank() != xt.getRank())
    return c.fail("expects float input [N, C, D...] and weight [C, F/group, K...]");
  int64_t group = c.getInt("group", 1), cin = xt.getDimSize(1);
  if (group < 1 || cin % group || wt.getDimSize(0) != cin)
    return c.fail("weight channels do not match the input and group");
  int64_t fPerGroup = wt.getDimSize(1);
  SmallVector<int64_t> kernel(wt.getShape().drop_front(2));
  auto strides = c.getInts("strides").value_or(SmallVector<int64_t>(s, 1));
  auto dilations = c.getInts("dilations").value_or(SmallVector<int64_t>(s, 1));
  auto outPad = c.getInts("output_padding").value_or(SmallVector<int64_t>(s, 0));
  if (strides.size() != s || dilations.size() != s || outPad.size() != s)
    return c.fail("strides, dilations and output_padding need one entry per spatial dimension");
  // Total padding per dimension, from pads, output_shape or auto_pad.
  SmallVector<int64_t> pads = c.getInts("pads").value_or(SmallVector<int64_t>(2 * s, 0));
  std::string autoPad = c.getString("auto_pad", "NOTSET");
  auto outputShape = c.getInts("output_shape");
  if (outputShape || autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    if (outputShape && outputShape->size() != s)
      return c.fail("output_shape needs one entry per spatial dimension");
    for (size_t i = 0; i < s; ++i) {
      int64_t want = outputShape ? (*outputShape)[i] : xt.getDimSize(i + 2) * strides[i];
      int64_t total = strides[i] * (xt.getDimSize(i + 2) - 1) + outPad[i] +
                      (kernel[i] - 1) * dilations[i] + 1 - want;
      // A negative total (a larger output_shape) extends the output at the end with
      // positions no input reaches (bias only).
      bool lower = autoPad == "SAME_LOWER";
      pads[i] = total < 0 ? 0 : lower ? total - total / 2 : total / 2;
      pads[i + s] = total - pads[i];
    }
  } else if (autoPad != "NOTSET" && autoPad != "VALID") {
    return c.fail("unsupported auto_pad value '" + autoPad + "'");
  }
  if (pads.size() != 2 * s)
    return c.fail("pads must have two entries per spatial dimension");

  Value x = c.input(0);
  for (size_t i = 0; i < s; ++i)
    x = spread(c, x, i + 2, strides[i]);
  // Edge padding: the kernel's reach minus the transposed conv's pads (negative crops).
  SmallVector<int64_t> edge(2 * (s + 2), 0);
  SmallVector<int64_t> crop(shapeOf(x)), starts(s + 2, 0), steps(s + 2, 1);
  bool needCrop = false;
  for (size_t i = 0; i < s; ++i) {
    int64_t reach = (kernel[i] - 1) * dilations[i];
    int64_t begin = reach - pads[i], end = reach - pads[i + s] + outPad[i];
    edge[i + 2] = std::max<int64_t>(begin, 0);
    edge[i + 2 + s + 2] = std::max<int64_t>(end, 0);
    starts[i + 2] = std::max<int64_t>(-begin, 0);
    crop[i + 2] += edge[i + 2] + edge[i + 2 + s + 2] - starts[i + 2] - std::max<int64_t>(-end, 0);
    needCrop |= begin < 0 || end < 0;
  }
  x = c.create<PadOp>(x, c.b.getDenseI64ArrayAttr(edge), c.b.getF64FloatAttr(0));
  if (needCrop)
    x = slice(c, x, starts, crop, steps);

  // Weight [C, F/g, K...] -> [g, C/g, F/g, K...] -> [g, F/g, C/g, K...] -> [F, C/g, K...],
  // flipped in space.
  SmallVector<int64_t> grouped = {group, cin / group, fPerGroup};
  llvm::append_range(grouped, kernel);
  SmallVector<int64_t> perm = {0, 2, 1};
  for (size_t i = 0; i < s; ++i)
    perm.push_back(3 + i);
  Value w = c.create<TransposeOp>(c.reshape(c.input(1), grouped), c.b.getDenseI64ArrayAttr(perm));
  SmallVector<int64_t> convWeight = {group * fPerGroup, cin / group};
  llvm::append_range(convWeight, kernel);
  w = c.reshape(w, convWeight);
  SmallVector<int64_t> wStarts(s + 2, 0), wSteps(s + 2, 1);
  for (size_t i = 0; i < s; ++i) {
    wStarts[i + 2] = kernel[i] - 1;
    wSteps[i + 2] = -1;
  }
  w = slice(c, w, wStarts, convWeight, wSteps);

  SmallVector<int64_t> ones(s, 1), zeros(2 * s, 0);
  Value bias = c.has(2) ? c.input(2) : Value();
  out.push_back(c.create<ConvOp>(x, w, bias, c.b.getDenseI64ArrayAttr(ones),
                                 c.b.getDenseI64ArrayAttr(dilations), c.b.getDenseI64ArrayAttr(zeros),
                                 c.b.getI64IntegerAttr(group)));
  return success();
}

} // namespace

void onnx_import::addConvTransposeImporter(ImporterTable &t) {
  t["ConvTranspose"] = importConvTranspose;
}
