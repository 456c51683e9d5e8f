// ONNX importers for the signal ops: the Hann, Hamming and Blackman windows and
// MelWeightMatrix (constants; their sizes must be known when compiling), DFT (matmuls
// with constant bases) and STFT (framing by a constant gather, then DFT).
#include "NodeImporter.h"

#include <cmath>

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

/// A generalized cosine window a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N), where N is
/// the size (periodic, the default) or the size - 1 (symmetric).
ImportFn cosineWindow(double a0, double a1, double a2) {
  return [=](NodeContext &c, SmallVectorImpl<Value> &out) -> LogicalResult {
    auto size = c.requiredConstant(0);
    if (!size || size->size() != 1 || size->isFloat())
      return c.fail("size must be a constant integer scalar");
    int64_t n = (int64_t)size->asDouble(0);
    if (n < 1)
      return c.fail("size must be positive");
    Type et = elementTypeOf(c.b.getContext(), c.getInt("output_datatype", onnx::TensorProto::FLOAT));
    if (!et)
      return c.fail("unsupported output_datatype " + dataTypeName(c.getInt("output_datatype", 0)));
    double period = c.getInt("periodic", 1) ? n : n - 1;
    out.push_back(c.constantOf(RankedTensorType::get({n}, et), [&](int64_t i) {
      double phase = period > 0 ? 2 * M_PI * i / period : 0;
      return a0 - a1 * std::cos(phase) + a2 * std::cos(2 * phase);
    }));
    return success();
  };
}

/// The DFT of `x` ([..., N, 1 or 2]: real or complex) along `axis`, zero-padded or cut
/// to `length`: with static lengths the transform is two matmuls with constant cosine
/// and sine matrices per part. The result is [..., bins, 2].
Value dft(NodeContext &c, Value x, int64_t axis, int64_t length, bool inverse, bool onesided) {
  auto type = cast<RankedTensorType>(x.getType());
  ArrayRef<int64_t> shape = type.getShape();
  Type et = type.getElementType();
  int64_t rank = shape.size(), n = shape[axis];
  int64_t bins = onesided ? length / 2 + 1 : length;
  // The signal axis goes last, so each part is [..., N] x [N, bins].
  SmallVector<int64_t> perm;
  for (int64_t d = 0; d < rank - 1; ++d)
    if (d != axis)
      perm.push_back(d);
  perm.push_back(axis);
  SmallVector<int64_t> partShape(shape.drop_back());
  auto part = [&](int64_t i) {
    Value p = c.reshape(c.sliceAxis(x, rank - 1, i, 1), partShape);
    return c.create<TransposeOp>(p, c.b.getDenseI64ArrayAttr(perm));
  };
  // Entry [t, k] of the matrices: the basis at time t (< min(N, length)) and bin k.
  double sign = inverse ? 1 : -1, scale = inverse ? 1.0 / length : 1.0;
  auto basis = [&](bool sine) {
    return c.constantOf(RankedTensorType::get({n, bins}, et), [&](int64_t i) {
      int64_t t = i / bins, k = i % bins;
      if (t >= length)
        return 0.0;
      double theta = 2 * M_PI * double(t * k % length) / length;
      return scale * (sine ? sign * std::sin(theta) : std::cos(theta));
    });
  };
  Value cosM = basis(false), sinM = basis(true);
  Value re = part(0);
  // (re + i im)(cos + i s sin) = re cos - im s sin + i (im cos + re s sin)
  Value outRe = c.create<MatMulOp>(re, cosM), outIm = c.create<MatMulOp>(re, sinM);
  if (shape.back() == 2) {
    Value im = part(1);
    outRe = c.create<SubOp>(outRe, c.create<MatMulOp>(im, sinM));
    outIm = c.create<AddOp>(outIm, c.create<MatMulOp>(im, cosM));
  }
  // Back to the input's order, with the real and imaginary parts as the last axis.
  SmallVector<int64_t> inversePerm(perm.size());
  for (auto [i, p] : llvm::enumerate(perm))
    inversePerm[p] = i;
  SmallVector<int64_t> resultShape(partShape);
  resultShape[axis] = bins;
  resultShape.push_back(1);
  auto restore = [&](Value v) {
    return c.reshape(c.create<TransposeOp>(v, c.b.getDenseI64ArrayAttr(inversePerm)), resultShape);
  };
  return c.create<ConcatOp>(ValueRange{restore(outRe), restore(outIm)}, c.b.getI64IntegerAttr(rank - 1));
}

/// True for a floating-point [..., N, 1 or 2] tensor: a real or complex signal.
bool isSignal(RankedTensorType type) {
  return isa<FloatType>(type.getElementType()) && type.getRank() >= 2 &&
         (type.getShape().back() == 1 || type.getShape().back() == 2);
}

/// A constant integer scalar operand, or nullopt (after a message naming `what`).
std::optional<int64_t> positiveScalar(NodeContext &c, size_t i, StringRef what) {
  auto v = c.requiredConstant(i);
  if (!v || v->size() != 1 || v->isFloat() || v->asDouble(0) < 1)
    return (void)c.fail(what + " must be a positive constant integer"), std::nullopt;
  return (int64_t)v->asDouble(0);
}

LogicalResult importDFT(NodeContext &c, SmallVectorImpl<Value> &out) {
  if (!isSignal(c.type(0)))
    return c.fail("input must be floating-point [..., N, 1 or 2]");
  int64_t rank = c.type(0).getRank();
  auto axis = c.axis(c.getInt("axis", 1), rank - 1);
  if (failed(axis))
    return failure();
  int64_t length = c.type(0).getDimSize(*axis);
  if (c.has(1)) {
    auto l = positiveScalar(c, 1, "dft_length");
    if (!l)
      return failure();
    length = *l;
  }
  bool inverse = c.getInt("inverse", 0), onesided = c.getInt("onesided", 0);
  if (inverse && onesided)
    return c.fail("an inverse one-sided DFT is not supported");
  out.push_back(dft(c, c.input(0), *axis, length, inverse, onesided));
  return success();
}

/// STFT: the signal cut into frames by a constant gather, windowed, then a DFT of
/// each frame.
LogicalResult importSTFT(NodeContext &c, SmallVectorImpl<Value> &out) {
  RankedTensorType type = c.type(0);
  if (!isSignal(type) || type.getRank() != 3)
    return c.fail("signal must be floating-point [batch, length, 1 or 2]");
  int64_t signalLength = type.getDimSize(1);
  auto step = positiveScalar(c, 1, "frame_step");
  if (!step)
    return failure();
  std::optional<int64_t> frameLength;
  if (c.has(3) && !(frameLength = positiveScalar(c, 3, "frame_length")))
    return failure();
  if (c.has(2)) {
    if (c.type(2).getRank() != 1 || (frameLength && c.type(2).getDimSize(0) != *frameLength))
      return c.fail("window must be 1-D with frame_length elements");
    frameLength = c.type(2).getDimSize(0);
  }
  if (!frameLength)
    return c.fail("frame_length or window is required");
  if (*frameLength > signalLength)
    return c.fail("frame_length exceeds the signal's length");
  int64_t frames = (signalLength - *frameLength) / *step + 1;
  Value positions = c.constantOf(RankedTensorType::get({frames, *frameLength}, c.b.getI64Type()),
                                 [&](int64_t i) { return double(i / *frameLength * *step + i % *frameLength); });
  Value x = c.create<GatherOp>(c.input(0), positions, c.b.getI64IntegerAttr(1)); // [B, F, L, C]
  if (c.has(2))
    x = c.create<MulOp>(x, c.reshape(c.cast(c.input(2), type.getElementType()), {1, 1, *frameLength, 1}));
  out.push_back(dft(c, x, 2, *frameLength, false, c.getInt("onesided", 1)));
  return success();
}

/// MelWeightMatrix: the constant [dft_length / 2 + 1, num_mel_bins] bank of triangular
/// filters whose corners lie evenly on the mel scale (mel = 2595 log10(1 + hz / 700)).
LogicalResult importMelWeightMatrix(NodeContext &c, SmallVectorImpl<Value> &out) {
  std::optional<ConstantTensor> args[5];
  for (size_t i = 0; i < 5; ++i)
    if (!(args[i] = c.requiredConstant(i)) || args[i]->size() != 1)
      return c.fail("all five inputs must be constant scalars");
  int64_t melBins = (int64_t)args[0]->asDouble(0), dftLength = (int64_t)args[1]->asDouble(0);
  double sampleRate = args[2]->asDouble(0), lowHz = args[3]->asDouble(0), highHz = args[4]->asDouble(0);
  if (melBins < 1 || dftLength < 1 || sampleRate <= 0 || lowHz < 0 || highHz <= lowHz)
    return c.fail("needs num_mel_bins, dft_length, sample_rate > 0 and 0 <= lower < upper edge");
  Type et = elementTypeOf(c.b.getContext(), c.getInt("output_datatype", onnx::TensorProto::FLOAT));
  if (!et)
    return c.fail("unsupported output_datatype " + dataTypeName(c.getInt("output_datatype", 0)));
  int64_t spectrumBins = dftLength / 2 + 1;
  // The filters' corners: melBins + 2 points, as spectrum bins.
  auto toMel = [](double hz) { return 2595 * std::log10(1 + hz / 700); };
  double lowMel = toMel(lowHz), melStep = (toMel(highHz) - lowMel) / (melBins + 2);
  SmallVector<int64_t> corner(melBins + 2);
  for (int64_t i = 0; i < melBins + 2; ++i) {
    double hz = 700 * (std::pow(10, (lowMel + i * melStep) / 2595) - 1);
    corner[i] = (int64_t)std::floor((dftLength + 1) * hz / sampleRate);
  }
  if (corner.back() >= spectrumBins)
    return c.fail("upper_edge_hertz lies beyond the spectrum's last bin");
  // Filter m rises from 0 at corner m to 1 at corner m + 1 and falls to 0 at corner m + 2.
  out.push_back(c.constantOf(RankedTensorType::get({spectrumBins, melBins}, et), [&](int64_t i) {
    int64_t bin = i / melBins, m = i % melBins;
    int64_t left = corner[m], center = corner[m + 1], right = corner[m + 2];
    if (bin >= center && bin < right)
      return double(right - bin) / double(right - center);
    if (bin == center)
      return 1.0;
    if (bin >= left && bin < center)
      return double(bin - left) / double(center - left);
    return 0.0;
  }));
  return success();
}

} // namespace

void onnx_import::addSignalImporters(ImporterTable &t) {
  t["HannWindow"] = cosineWindow(0.5, 0.5, 0);
  t["HammingWindow"] = cosineWindow(25.0 / 46, 21.0 / 46, 0);
  t["BlackmanWindow"] = cosineWindow(0.42, 0.5, 0.08);
  t["DFT"] = importDFT;
  t["STFT"] = importSTFT;
  t["MelWeightMatrix"] = importMelWeightMatrix;
}
