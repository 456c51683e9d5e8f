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

/// The layout of a static strided f32 buffer of rank 4.
std::optional<kiln::StaticLayout> stridesOf(Value buffer) {
  auto type = dyn_cast<MemRefType>(buffer.getType());
  if (!type || type.getRank() != 4 || !type.hasStaticShape() || !type.getElementType().isF32())
    return std::nullopt;
  return kiln::staticLayoutOf(type);
}

/// A generic of one input whose body yields that input unchanged: a copy or broadcast.
bool yieldsItsInput(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  return op.getNumDpsInputs() == 1 && body.getTerminator()->getOperand(0) == body.getArgument(0);
}

/// A buffer of zeros with `source` copied into an interior window: the padded input a
/// convolution reads. Its fill and copy, and where the window begins.
struct PaddedInput {
  Value source;
  int64_t padH = 0, padW = 0;
  SmallVector<Operation *> builtBy;
};

/// `buffer` as an allocation only a fill of zeros, a copy of `source` into a window
/// (unit strides, whole images and channels), `reader` and deallocations touch.
std::optional<PaddedInput> matchPadded(Value buffer, Operation *reader) {
  auto alloc = buffer.getDefiningOp<memref::AllocOp>();
  if (!alloc)
    return std::nullopt;
  PaddedInput padded;
  linalg::GenericOp fill, copy;
  for (Operation *user : alloc->getUsers()) {
    if (user == reader || isa<memref::DeallocOp>(user))
      continue;
    if (auto generic = dyn_cast<linalg::GenericOp>(user); generic && !fill && kiln::writesWhole(generic, buffer) &&
                                                            kiln::isZero(kiln::filledValue(generic))) {
      fill = generic;
      continue;
    }
    auto window = dyn_cast<memref::SubViewOp>(user);
    if (!window || copy || !window.hasUnitStride() || !window->hasOneUse() ||
        llvm::any_of(window.getStaticOffsets(), ShapedType::isDynamic) ||
        window.getType().getRank() != 4)
      return std::nullopt;
    auto generic = dyn_cast<linalg::GenericOp>(*window->getUsers().begin());
    if (!kiln::writesWhole(generic, window) || !yieldsItsInput(generic) ||
        !generic.getMatchingIndexingMap(generic.getDpsInputOperand(0)).isIdentity())
      return std::nullopt;
    ArrayRef<int64_t> offsets = window.getStaticOffsets();
    auto whole = alloc.getType().getShape(), inner = window.getType().getShape();
    if (offsets[0] != 0 || offsets[1] != 0 || inner[0] != whole[0] || inner[1] != whole[1])
      return std::nullopt;
    copy = generic;
    padded.source = generic.getDpsInputOperand(0)->get();
    padded.padH = offsets[2];
    padded.padW = offsets[3];
  }
  if (!fill || !copy)
    return std::nullopt;
  padded.builtBy = {fill, copy};
  return padded;
}

/// Output extent cuDNN computes for a symmetric padding.
int64_t outputExtent(int64_t in, int64_t pad, int64_t filter, int64_t stride, int64_t dilation) {
  return (in + 2 * pad - ((filter - 1) * dilation + 1)) / stride + 1;
}

} // namespace

std::optional<kiln::LibraryCall> kiln::matchCudnnConvolution(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
      op.getNumLoops() != 7 || !isMultiplyAdd(op))
    return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  OpOperand *input = op.getDpsInputOperand(0), *weight = op.getDpsInputOperand(1), *output = op.getDpsInitOperand(0);
  AffineMap xMap = op.getMatchingIndexingMap(input), wMap = op.getMatchingIndexingMap(weight),
            yMap = op.getMatchingIndexingMap(output);
  // y[n, k, p, q] += x[n, c, p*sh + r*dh, q*sw + s*dw] * w[k, c, r, s]
  if (!yMap.isProjectedPermutation() || yMap.getNumResults() != 4 || !wMap.isProjectedPermutation() ||
      wMap.getNumResults() != 4 || xMap.getNumResults() != 4)
    return std::nullopt;
  unsigned n = yMap.getDimPosition(0), k = yMap.getDimPosition(1), p = yMap.getDimPosition(2),
           q = yMap.getDimPosition(3), c = wMap.getDimPosition(1), r = wMap.getDimPosition(2),
           s = wMap.getDimPosition(3);
  if (wMap.getDimPosition(0) != k || !isa<AffineDimExpr>(xMap.getResult(0)) || xMap.getDimPosition(0) != n ||
      !isa<AffineDimExpr>(xMap.getResult(1)) || xMap.getDimPosition(1) != c)
    return std::nullopt;
  auto iterators = op.getIteratorTypesArray();
  for (unsigned d : {c, r, s})
    if (iterators[d] != utils::IteratorType::reduction)
      return std::nullopt;
  // Window rows: p * stride + r * dilation; a dimension of extent 1 may have lost its
  // term to simplification, and its factor does not matter.
  int64_t stride[2], dilation[2];
  unsigned outers[] = {p, q}, windows[] = {r, s};
  for (auto [i, outer, window] : llvm::enumerate(outers, windows)) {
    auto terms = linearTerms(xMap.getResult(2 + i));
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
  auto xLayout = stridesOf(x), yLayout = stridesOf(y), wLayout = stridesOf(w);
  if (!xLayout || !yLayout || !wLayout || rootOf(y) == rootOf(x) || rootOf(y) == rootOf(w))
    return std::nullopt;
  auto xShape = cast<MemRefType>(x.getType()).getShape(), wShape = cast<MemRefType>(w.getType()).getShape(),
       yShape = cast<MemRefType>(y.getType()).getShape();
  // cuDNN's filter is packed.
  if (wLayout->strides != SmallVector<int64_t>{wShape[1] * wShape[2] * wShape[3], wShape[2] * wShape[3], wShape[3], 1})
    return std::nullopt;
  int64_t values[] = {xShape[0], xShape[1], xShape[2], xShape[3], wShape[0], wShape[2], wShape[3], yShape[2], yShape[3]};
  for (auto [field, value] : llvm::enumerate(values))
    f[KILN_CUDA_CONV_N + field] = value;
  // The padding cuDNN puts on both sides must give the same output: a wider end pad is
  // never read then (ceil mode, SAME_UPPER at stride 2).
  if (xShape[0] != yShape[0] || wShape[1] != xShape[1] || wShape[0] != yShape[1] ||
      outputExtent(xShape[2], f[KILN_CUDA_CONV_PAD_H], wShape[2], stride[0], dilation[0]) != yShape[2] ||
      outputExtent(xShape[3], f[KILN_CUDA_CONV_PAD_W], wShape[3], stride[1], dilation[1]) != yShape[3])
    return std::nullopt;
  f[KILN_CUDA_CONV_STRIDE_H] = stride[0];
  f[KILN_CUDA_CONV_STRIDE_W] = stride[1];
  f[KILN_CUDA_CONV_DILATION_H] = dilation[0];
  f[KILN_CUDA_CONV_DILATION_W] = dilation[1];
  f[KILN_CUDA_CONV_GROUPS] = 1;
  llvm::copy(xLayout->strides, f.begin() + KILN_CUDA_CONV_X_STRIDES);

  // The output starts from zeros or from the bias broadcast along channels.
  auto init = dyn_cast_or_null<linalg::GenericOp>(neighbour(op, /*after=*/false));
  if (!writesWhole(init, y))
    return std::nullopt;
  Value bias;
  if (!isZero(filledValue(init))) {
    if (!yieldsItsInput(init))
      return std::nullopt;
    OpOperand *source = init.getDpsInputOperand(0);
    auto type = dyn_cast<MemRefType>(source->get().getType());
    AffineMap map = init.getMatchingIndexingMap(source);
    if (!type || type.getRank() != 1 || !type.getElementType().isF32() || !type.getLayout().isIdentity() ||
        map.getNumResults() != 1 || map.getResult(0) != getAffineDimExpr(1, op.getContext()))
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
    auto zLayout = addend ? stridesOf(addend) : std::nullopt;
    bool fits = stridesOf(into) && cast<MemRefType>(into.getType()).getShape() == yShape &&
                (into == y || isPrivateScratch(y, {init, op, next})) && rootOf(into) != rootOf(x) &&
                rootOf(into) != rootOf(w) && (!bias || rootOf(into) != rootOf(bias));
    if (addend)
      fits = fits && zLayout && cast<MemRefType>(addend.getType()).getShape() == yShape &&
             next.getMatchingIndexingMap(added).isIdentity() && rootOf(addend) != rootOf(into);
    if (fits) {
      target = into;
      z = addend;
      f[KILN_CUDA_CONV_RELU] = epilogue->relu;
      if (z) {
        f[KILN_CUDA_CONV_RESIDUAL] = 1;
        llvm::copy(zLayout->strides, f.begin() + KILN_CUDA_CONV_Z_STRIDES);
      }
      call.replaced.push_back(next);
    }
  }
  llvm::copy(stridesOf(target)->strides, f.begin() + KILN_CUDA_CONV_Y_STRIDES);
  call.operands = {x, w, target};
  if (bias)
    call.operands.push_back(bias);
  if (z)
    call.operands.push_back(z);
  return call;
}
