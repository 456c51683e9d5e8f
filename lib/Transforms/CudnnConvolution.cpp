// kiln-gpu-library-calls for convolutions: a 2-D convolution generic (KilnToLinalg's
// n, k, p, q, c, r, s loops over a padded input) becomes one cuDNN fused call,
// y = relu?(conv(x, w) + z? + bias?), described by the fields of
// runtime/include/kiln/cuda_library.h. The padded copy of the input is never built
// (cuDNN pads), the bias broadcast that initializes the output becomes cuDNN's bias,
// and a ReLU and a residual add right after become its activation and z.
#include "LibraryCall.h"

#include "kiln/cuda_library.h"

#include "mlir/IR/AffineExprVisitor.h"

using namespace mlir;

namespace {

/// An index expression as sum of loop dims times constants; nullopt for anything else
/// (a constant term, a product of dims, floordiv).
std::optional<llvm::SmallDenseMap<unsigned, int64_t>> linearTerms(AffineExpr expr) {
  llvm::SmallDenseMap<unsigned, int64_t> terms;
  std::function<bool(AffineExpr, int64_t)> add = [&](AffineExpr e, int64_t scale) {
    if (auto dim = dyn_cast<AffineDimExpr>(e)) {
      terms[dim.getPosition()] += scale;
      return true;
    }
    auto binary = dyn_cast<AffineBinaryOpExpr>(e);
    if (!binary)
      return false;
    if (binary.getKind() == AffineExprKind::Add)
      return add(binary.getLHS(), scale) && add(binary.getRHS(), scale);
    if (binary.getKind() == AffineExprKind::Mul)
      if (auto constant = dyn_cast<AffineConstantExpr>(binary.getRHS()))
        return add(binary.getLHS(), scale * constant.getValue());
    return false;
  };
  if (!add(expr, 1))
    return std::nullopt;
  return terms;
}

/// A static f32 buffer as one of cuDNN's 4-D tensors: its shape and strides. A
/// grouped convolution's generic splits the groups off the channels (x and y
/// [N, G, C/G, H, W], the filter [G, K/G, C/G, R, S]); `groupDim` then names the group
/// dimension, which must run on into the next so the two read as one.
struct Tensor4d {
  SmallVector<int64_t> shape, strides;
};
std::optional<Tensor4d> tensor4dOf(Value buffer, std::optional<unsigned> groupDim) {
  auto type = dyn_cast<MemRefType>(buffer.getType());
  if (!type || type.getRank() != (groupDim ? 5 : 4) || !type.hasStaticShape() || !type.getElementType().isF32())
    return std::nullopt;
  std::optional<kiln::StaticLayout> layout = kiln::staticLayoutOf(type);
  if (!layout)
    return std::nullopt;
  Tensor4d tensor{llvm::to_vector(type.getShape()), layout->strides};
  if (groupDim) {
    unsigned g = *groupDim;
    if (tensor.strides[g] != tensor.shape[g + 1] * tensor.strides[g + 1])
      return std::nullopt;
    tensor.shape[g + 1] *= tensor.shape[g];
    tensor.shape.erase(tensor.shape.begin() + g);
    tensor.strides.erase(tensor.strides.begin() + g);
  }
  return tensor;
}

/// A buffer of zeros with `source` copied into an interior window: the padded input a
/// convolution reads. Its fill and copy, and where the window begins.
struct PaddedInput {
  Value source;
  int64_t padH = 0, padW = 0;
  SmallVector<Operation *> builtBy;
};

/// `buffer` as a padded copy of zeros (see kiln::matchPaddedCopy) that `reader` reads,
/// padded along the last two (spatial) dimensions only.
std::optional<PaddedInput> matchPadded(Value buffer, Operation *reader) {
  std::optional<kiln::PaddedCopy> copy = kiln::matchPaddedCopy(buffer, reader);
  if (!copy || !kiln::isZero(copy->padding) || copy->window.getType().getRank() < 2)
    return std::nullopt;
  ArrayRef<int64_t> offsets = copy->offsets;
  auto whole = cast<MemRefType>(buffer.getType()).getShape(), inner = copy->window.getType().getShape();
  unsigned spatial = offsets.size() - 2;
  if (llvm::any_of(offsets.take_front(spatial), [](int64_t offset) { return offset != 0; }) ||
      inner.take_front(spatial) != whole.take_front(spatial))
    return std::nullopt;
  return PaddedInput{copy->source, offsets[spatial], offsets[spatial + 1], {copy->fill, copy->copy}};
}

/// Output extent cuDNN computes for a symmetric padding.
int64_t outputExtent(int64_t in, int64_t pad, int64_t filter, int64_t stride, int64_t dilation) {
  return (in + 2 * pad - ((filter - 1) * dilation + 1)) / stride + 1;
}

} // namespace

std::optional<kiln::LibraryCall> kiln::matchCudnnConvolution(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 || !isMultiplyAdd(op))
    return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  OpOperand *input = op.getDpsInputOperand(0), *weight = op.getDpsInputOperand(1), *output = op.getDpsInitOperand(0);
  AffineMap xMap = op.getMatchingIndexingMap(input), wMap = op.getMatchingIndexingMap(weight),
            yMap = op.getMatchingIndexingMap(output);
  // KilnToLinalg's three forms (loops n, [g,] k, p, q, [c,] r, s):
  //   ungrouped  y[n, k, p, q]    += x[n, c, p*sh + r*dh, q*sw + s*dw]    * w[k, c, r, s]
  //   grouped    y[n, g, k, p, q] += x[n, g, c, p*sh + r*dh, q*sw + s*dw] * w[g, k, c, r, s]
  //   depthwise  y[n, k, p, q]    += x[n, k floordiv m, p*sh + r*dh, ...] * w[k, 0, r, s]
  unsigned rank = yMap.getNumResults();
  if ((rank != 4 && rank != 5) || !yMap.isProjectedPermutation() || xMap.getNumResults() != rank ||
      wMap.getNumResults() != rank)
    return std::nullopt;
  bool split = rank == 5;
  std::optional<unsigned> xyGroupDim = split ? std::optional<unsigned>(1) : std::nullopt,
                          wGroupDim = split ? std::optional<unsigned>(0) : std::nullopt;
  auto dimAt = [](AffineMap map, unsigned i) -> std::optional<unsigned> {
    if (auto dim = dyn_cast<AffineDimExpr>(map.getResult(i)))
      return dim.getPosition();
    return std::nullopt;
  };
  unsigned n = yMap.getDimPosition(0), k = yMap.getDimPosition(rank - 3), p = yMap.getDimPosition(rank - 2),
           q = yMap.getDimPosition(rank - 1);
  std::optional<unsigned> r = dimAt(wMap, rank - 2), s = dimAt(wMap, rank - 1);
  if (!r || !s || dimAt(wMap, rank - 4) != k || dimAt(xMap, 0) != n ||
      (split && (dimAt(xMap, 1) != yMap.getDimPosition(1) || dimAt(wMap, 0) != yMap.getDimPosition(1))))
    return std::nullopt;
  // The channel a filter tap reads: a reduced loop c, or for a depthwise filter (one
  // input channel per filter) the filter's own input channel k floordiv m.
  AffineExpr xChannel = xMap.getResult(rank - 3), wChannel = wMap.getResult(rank - 3);
  int64_t multiplier = 0; // filters per input channel when depthwise
  SmallVector<unsigned> reduced = {*r, *s};
  if (auto zero = dyn_cast<AffineConstantExpr>(wChannel); zero && zero.getValue() == 0 && !split) {
    auto divided = dyn_cast<AffineBinaryOpExpr>(xChannel);
    auto divisor = divided ? dyn_cast<AffineConstantExpr>(divided.getRHS()) : AffineConstantExpr();
    if (dimAt(xMap, rank - 3) == k) {
      multiplier = 1;
    } else if (divisor && divided.getKind() == AffineExprKind::FloorDiv &&
               divided.getLHS() == getAffineDimExpr(k, op.getContext())) {
      multiplier = divisor.getValue();
    } else {
      return std::nullopt;
    }
  } else {
    std::optional<unsigned> c = dimAt(wMap, rank - 3);
    if (!c || dimAt(xMap, rank - 3) != c)
      return std::nullopt;
    reduced.push_back(*c);
  }
  auto iterators = op.getIteratorTypesArray();
  for (unsigned d : reduced)
    if (iterators[d] != utils::IteratorType::reduction)
      return std::nullopt;
  // Window rows: p * stride + r * dilation; a dimension of extent 1 may have lost its
  // term to simplification, and its factor does not matter.
  int64_t stride[2], dilation[2];
  unsigned outers[] = {p, q}, windows[] = {*r, *s};
  for (auto [i, outer, window] : llvm::enumerate(outers, windows)) {
    auto terms = linearTerms(xMap.getResult(rank - 2 + i));
    if (!terms || llvm::any_of(*terms, [&](auto term) { return term.first != outer && term.first != window; }))
      return std::nullopt;
    stride[i] = terms->lookup(outer);
    dilation[i] = terms->lookup(window);
    if (ranges[outer] == 1 && stride[i] == 0)
      stride[i] = 1;
    if (ranges[window] == 1 && dilation[i] == 0)
      dilation[i] = 1;
    if (stride[i] < 1 || dilation[i] < 1)
      return std::nullopt;
  }

  LibraryCall call{"kiln_cudnn_conv", "kiln.cudnn", SmallVector<int64_t>(KILN_CUDA_CONV_FIELDS, 0), {}, {}};
  auto &f = call.fields;
  // The input: as it is, or the source of a padded copy (cuDNN pads itself).
  Value x = input->get();
  std::optional<PaddedInput> padded = matchPadded(x, op);
  if (padded) {
    x = padded->source;
    call.replaced.append(padded->builtBy);
    f[KILN_CUDA_CONV_PAD_H] = padded->padH;
    f[KILN_CUDA_CONV_PAD_W] = padded->padW;
  }
  Value w = weight->get(), y = output->get();
  auto xt = tensor4dOf(x, xyGroupDim), yt = tensor4dOf(y, xyGroupDim), wt = tensor4dOf(w, wGroupDim);
  if (!xt || !yt || !wt || rootOf(y) == rootOf(x) || rootOf(y) == rootOf(w))
    return std::nullopt;
  ArrayRef<int64_t> xShape = xt->shape, wShape = wt->shape, yShape = yt->shape;
  // cuDNN's filter is packed.
  if (wt->strides != SmallVector<int64_t>{wShape[1] * wShape[2] * wShape[3], wShape[2] * wShape[3], wShape[3], 1})
    return std::nullopt;
  int64_t values[] = {xShape[0], xShape[1], xShape[2], xShape[3], wShape[0], wShape[2], wShape[3], yShape[2], yShape[3]};
  for (auto [field, value] : llvm::enumerate(values))
    f[KILN_CUDA_CONV_N + field] = value;
  // Filters of one group read that group's C / groups input channels.
  int64_t groups = split ? ranges[yMap.getDimPosition(1)] : multiplier ? xShape[1] : 1;
  if (xShape[1] != wShape[1] * groups || yShape[1] % groups || (multiplier && yShape[1] != multiplier * groups))
    return std::nullopt;
  // The padding cuDNN puts on both sides must give the same output: a wider end pad is
  // never read then (ceil mode, SAME_UPPER at stride 2).
  if (xShape[0] != yShape[0] || wShape[0] != yShape[1] ||
      outputExtent(xShape[2], f[KILN_CUDA_CONV_PAD_H], wShape[2], stride[0], dilation[0]) != yShape[2] ||
      outputExtent(xShape[3], f[KILN_CUDA_CONV_PAD_W], wShape[3], stride[1], dilation[1]) != yShape[3])
    return std::nullopt;
  f[KILN_CUDA_CONV_STRIDE_H] = stride[0];
  f[KILN_CUDA_CONV_STRIDE_W] = stride[1];
  f[KILN_CUDA_CONV_DILATION_H] = dilation[0];
  f[KILN_CUDA_CONV_DILATION_W] = dilation[1];
  f[KILN_CUDA_CONV_GROUPS] = groups;
  llvm::copy(xt->strides, f.begin() + KILN_CUDA_CONV_X_STRIDES);

  // The output starts from zeros or from the bias broadcast along channels.
  auto init = dyn_cast_or_null<linalg::GenericOp>(neighbour(op, /*after=*/false));
  if (!writesWhole(init, y))
    return std::nullopt;
  Value bias;
  if (!isZero(filledValue(init))) {
    if (!yieldsItsInput(init))
      return std::nullopt;
    // One value per output channel, packed: [K], or [G, K/G] when the groups are split.
    OpOperand *source = init.getDpsInputOperand(0);
    auto type = dyn_cast<MemRefType>(source->get().getType());
    AffineMap map = init.getMatchingIndexingMap(source);
    SmallVector<AffineExpr> channels = {getAffineDimExpr(1, op.getContext())};
    if (split)
      channels.push_back(getAffineDimExpr(2, op.getContext()));
    if (!type || !type.getElementType().isF32() || !type.getLayout().isIdentity() ||
        map.getResults() != ArrayRef<AffineExpr>(channels))
      return std::nullopt;
    bias = source->get();
    f[KILN_CUDA_CONV_BIAS] = 1;
  }
  call.replaced.append({init, op});

  // A ReLU and a residual add right after, in place or into the epilogue's buffer.
  Value target = y, z;
  auto next = dyn_cast_or_null<linalg::GenericOp>(neighbour(op, /*after=*/true));
  std::optional<Epilogue> epilogue = matchEpilogue(next, y);
  if (epilogue && epilogue->addends.size() <= 1) {
    Value into = next.getDpsInitOperand(0)->get();
    OpOperand *added = epilogue->addends.empty() ? nullptr : epilogue->addends.front();
    Value addend = added ? added->get() : Value();
    auto zt = addend ? tensor4dOf(addend, xyGroupDim) : std::nullopt;
    auto yType = cast<MemRefType>(y.getType());
    bool fits = tensor4dOf(into, xyGroupDim) && cast<MemRefType>(into.getType()).getShape() == yType.getShape() &&
                (into == y || isPrivateScratch(y, {init, op, next})) && rootOf(into) != rootOf(x) &&
                rootOf(into) != rootOf(w) && (!bias || rootOf(into) != rootOf(bias));
    if (addend)
      fits = fits && zt && cast<MemRefType>(addend.getType()).getShape() == yType.getShape() &&
             next.getMatchingIndexingMap(added).isIdentity() && rootOf(addend) != rootOf(into);
    if (fits) {
      target = into;
      z = addend;
      f[KILN_CUDA_CONV_RELU] = epilogue->relu;
      if (z) {
        f[KILN_CUDA_CONV_RESIDUAL] = 1;
        llvm::copy(zt->strides, f.begin() + KILN_CUDA_CONV_Z_STRIDES);
      }
      call.replaced.push_back(next);
    }
  }
  llvm::copy(tensor4dOf(target, xyGroupDim)->strides, f.begin() + KILN_CUDA_CONV_Y_STRIDES);
  call.operands = {x, w, target};
  if (bias)
    call.operands.push_back(bias);
  if (z)
    call.operands.push_back(z);
  return call;
}
