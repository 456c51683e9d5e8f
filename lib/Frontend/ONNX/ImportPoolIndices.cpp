// ONNX importers for the pooling ops that deal in element indices: MaxPool's indices
// output (a running maximum over the window's offsets that carries constant indices)
// and MaxUnpool (a scatter of the values to those indices).
#include "NodeImporter.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

/// Calls `visit` with every offset of a window of `kernel` sizes, row-major.
static void forEachOffset(ArrayRef<int64_t> kernel, const std::function<void(ArrayRef<int64_t>)> &visit) {
  SmallVector<int64_t> offset(kernel.size(), 0);
  while (true) {
    visit(offset);
    int64_t d = kernel.size() - 1;
    while (d >= 0 && ++offset[d] == kernel[d])
      offset[d--] = 0;
    if (d < 0)
      return;
  }
}

LogicalResult onnx_import::buildMaxPoolWithIndices(NodeContext &c, const Window &w, bool ceil,
                                                    SmallVectorImpl<Value> &out) {
  RankedTensorType type = c.type(0);
  ArrayRef<int64_t> in = type.getShape();
  int64_t spatial = in.size() - 2;
  auto outShape = convOutputShape(in, w.kernel, w.strides, w.dilations, w.pads, ceil);
  if (failed(outShape))
    return c.fail("the window does not fit the padded input");
  bool columnMajor = c.getInt("storage_order", 0);

  // Pad with the lowest value so that every window lies inside; ceil mode may need more
  // end padding than the attribute gives.
  Type et = type.getElementType();
  double lowest = -INFINITY;
  if (auto it = dyn_cast<IntegerType>(et))
    lowest = integerRange(it.getWidth(), it.isUnsigned()).first;
  SmallVector<int64_t> pads(2 * in.size(), 0), padded(in);
  for (int64_t d = 0; d < spatial; ++d) {
    int64_t reach = ((*outShape)[d + 2] - 1) * w.strides[d] + (w.kernel[d] - 1) * w.dilations[d] + 1;
    pads[d + 2] = w.pads[d];
    pads[in.size() + d + 2] = std::max<int64_t>(0, reach - in[d + 2] - w.pads[d]);
    padded[d + 2] += pads[d + 2] + pads[in.size() + d + 2];
  }
  Value x = c.create<PadOp>(c.input(0), c.b.getDenseI64ArrayAttr(pads), c.b.getF64FloatAttr(lowest));

  // The spatial index of each padded position (-1 in the padding, which never wins).
  SmallVector<int64_t> indexShape(padded);
  indexShape[0] = indexShape[1] = 1;
  auto i64 = c.b.getI64Type();
  SmallVector<int64_t> paddedStrides = rowMajorStrides(padded);
  Value index = c.constantOf(RankedTensorType::get(indexShape, i64), [&](int64_t flat) {
    int64_t result = 0, scale = 1;
    for (int64_t k = 0; k < spatial; ++k) {
      int64_t d = columnMajor ? k : spatial - 1 - k; // innermost dimension first
      int64_t pos = flat / paddedStrides[d + 2] % padded[d + 2] - pads[d + 2];
      if (pos < 0 || pos >= in[d + 2])
        return -1.0;
      result += pos * scale;
      scale *= in[d + 2];
    }
    return (double)result;
  });

  Value best, bestIndex;
  forEachOffset(w.kernel, [&](ArrayRef<int64_t> offset) {
    SmallVector<int64_t> starts(in.size(), 0), steps(in.size(), 1), sizes(*outShape);
    for (int64_t d = 0; d < spatial; ++d) {
      starts[d + 2] = offset[d] * w.dilations[d];
      steps[d + 2] = w.strides[d];
    }
    auto slice = [&](Value v, ArrayRef<int64_t> sz) {
      return c.create<SliceOp>(v, c.b.getDenseI64ArrayAttr(starts), c.b.getDenseI64ArrayAttr(sz),
                               c.b.getDenseI64ArrayAttr(steps));
    };
    Value v = slice(x, sizes);
    sizes[0] = sizes[1] = 1;
    Value i = slice(index, sizes);
    if (!best) {
      best = v;
      bestIndex = i;
      return;
    }
    // Strictly greater: ties keep the first offset, as the ONNX reference does.
    Value greater = c.create<CompareOp>(v, best, c.b.getStringAttr("gt"));
    best = c.create<SelectOp>(greater, v, best);
    bestIndex = c.create<SelectOp>(greater, i, bestIndex);
  });

  // The index counts whole images and channels before this one.
  int64_t image = elementCount(in.drop_front(2));
  SmallVector<int64_t> planeShape(in.size(), 1);
  planeShape[0] = in[0];
  planeShape[1] = in[1];
  Value planes = c.constantOf(RankedTensorType::get(planeShape, i64),
                              [&](int64_t plane) { return (double)(plane * image); });
  out.push_back(best);
  out.push_back(c.create<AddOp>(bestIndex, planes));
  return success();
}

namespace {

/// MaxUnpool: zeros of the unpooled shape with each value put at its index.
LogicalResult importMaxUnpool(NodeContext &c, SmallVectorImpl<Value> &out) {
  if (!c.attr("kernel_shape"))
    return c.fail("kernel_shape is required");
  auto w = readWindow(c, {});
  if (failed(w))
    return failure();
  ArrayRef<int64_t> in = c.type(0).getShape();
  if (c.type(1).getShape() != in)
    return c.fail("the indices must have the values' shape");
  int64_t spatial = in.size() - 2;
  SmallVector<int64_t> shape(in);
  for (int64_t d = 0; d < spatial; ++d)
    shape[d + 2] = (in[d + 2] - 1) * w->strides[d] + w->kernel[d] - w->pads[d] - w->pads[d + spatial];
  if (c.has(2)) {
    auto given = c.constantInts(2, "output_shape");
    if (failed(given))
      return failure();
    // ONNX's reference reads the indices in the window's shape and pads the result to
    // output_shape; onnxruntime and PyTorch read them in output_shape. Only where the
    // two shapes agree is the answer unambiguous.
    if (ArrayRef<int64_t>(*given) != ArrayRef<int64_t>(shape))
      return c.fail("an output_shape other than the window's unpooled shape is not supported "
                    "(ONNX's reference and onnxruntime disagree on its meaning)");
  }
  if (llvm::any_of(shape, [](int64_t d) { return d < 1; }))
    return c.fail("the unpooled shape is empty");
  int64_t total = elementCount(shape), count = elementCount(in);
  Type et = c.type(0).getElementType();
  auto flatType = RankedTensorType::get({total}, et);
  Value indices = c.reshape(c.cast(c.input(1), c.b.getI64Type()), {count, 1});
  Value y = c.create<ScatterNDOp>(flatType, c.zeros(flatType), indices, c.reshape(c.input(0), {count}),
                                  c.b.getStringAttr("none"));
  out.push_back(c.reshape(y, shape));
  return success();
}

} // namespace

void kiln::onnx_import::addPoolIndexImporters(ImporterTable &t) { t["MaxUnpool"] = importMaxUnpool; }
