// ONNX importers for the signal ops: the Hann, Hamming and Blackman windows (constants;
// their size must be known when compiling) and DFT (matmuls with constant bases).
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

/// DFT along `axis` of [..., N, 1 or 2] (real or complex) data: with static lengths the
/// transform is two matmuls with constant cosine and sine matrices per part.
LogicalResult importDFT(NodeContext &c, SmallVectorImpl<Value> &out) {
  ArrayRef<int64_t> shape = c.type(0).getShape();
  Type et = c.type(0).getElementType();
  int64_t rank = shape.size();
  if (!isa<FloatType>(et) || rank < 2 || (shape.back() != 1 && shape.back() != 2))
    return c.fail("input must be floating-point [..., N, 1 or 2]");
  auto axis = c.axis(c.getInt("axis", 1), rank - 1);
  if (failed(axis))
    return failure();
  int64_t n = shape[*axis], length = n;
  if (c.has(1)) {
    auto l = c.requiredConstant(1);
    if (!l || l->size() != 1 || l->isFloat() || l->asDouble(0) < 1)
      return c.fail("dft_length must be a positive constant integer");
    length = (int64_t)l->asDouble(0);
  }
  bool inverse = c.getInt("inverse", 0), onesided = c.getInt("onesided", 0);
  if (inverse && onesided)
    return c.fail("an inverse one-sided DFT is not supported");
  int64_t bins = onesided ? length / 2 + 1 : length;
  // The signal axis goes last, so each part is [..., N] x [N, bins].
  SmallVector<int64_t> perm;
  for (int64_t d = 0; d < rank - 1; ++d)
    if (d != *axis)
      perm.push_back(d);
  perm.push_back(*axis);
  SmallVector<int64_t> partShape(shape.drop_back());
  auto part = [&](int64_t i) {
    Value p = c.reshape(c.sliceAxis(c.input(0), rank - 1, i, 1), partShape);
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
  resultShape[*axis] = bins;
  resultShape.push_back(1);
  auto restore = [&](Value v) {
    return c.reshape(c.create<TransposeOp>(v, c.b.getDenseI64ArrayAttr(inversePerm)), resultShape);
  };
  out.push_back(c.create<ConcatOp>(ValueRange{restore(outRe), restore(outIm)},
                                   c.b.getI64IntegerAttr(rank - 1)));
  return success();
}

} // namespace

void onnx_import::addSignalImporters(ImporterTable &t) {
  t["HannWindow"] = cosineWindow(0.5, 0.5, 0);
  t["HammingWindow"] = cosineWindow(25.0 / 46, 21.0 / 46, 0);
  t["BlackmanWindow"] = cosineWindow(0.42, 0.5, 0.08);
  t["DFT"] = importDFT;
}
