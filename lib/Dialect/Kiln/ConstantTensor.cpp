// Host-side view of constant tensors (inline dense or resource blobs) for folding.
#include "kiln/Dialect/Kiln/ConstantTensor.h"

#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/APFloat.h"

#include <cstring>

using namespace mlir;
using namespace kiln;

SmallVector<int64_t> kiln::rowMajorStrides(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t i = (int64_t)shape.size() - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

static bool supportedElement(Type t) {
  if (auto f = dyn_cast<FloatType>(t))
    return f.isF16() || f.isBF16() || f.isF32() || f.isF64();
  auto i = dyn_cast<IntegerType>(t);
  return i && !i.isUnsigned() && llvm::is_contained({1u, 8u, 16u, 32u, 64u}, i.getWidth());
}

static double floatFromBits(FloatType type, uint64_t bits) {
  APFloat value(type.getFloatSemantics(), APInt(type.getWidth(), bits));
  bool lost;
  value.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
  return value.convertToDouble();
}

/// Reads element `i` of a packed little-endian buffer holding `type` elements.
static void readRaw(ConstantTensor &out, ArrayRef<char> data, Type type, bool splat) {
  int64_t n = out.size();
  unsigned width = type.getIntOrFloatBitWidth();
  unsigned bytes = width == 1 ? 1 : width / 8;
  auto load = [&](int64_t i) {
    uint64_t bits = 0;
    std::memcpy(&bits, data.data() + (splat ? 0 : i * bytes), bytes);
    return bits;
  };
  for (int64_t i = 0; i < n; ++i) {
    uint64_t bits = load(i);
    if (auto f = dyn_cast<FloatType>(type)) {
      if (f.isF32()) {
        float v;
        std::memcpy(&v, &bits, 4);
        out.floats[i] = v;
      } else if (f.isF64()) {
        double v;
        std::memcpy(&v, &bits, 8);
        out.floats[i] = v;
      } else {
        out.floats[i] = floatFromBits(f, bits);
      }
    } else if (width == 1) {
      out.ints[i] = bits & 1;
    } else {
      out.ints[i] = APInt(width, bits).getSExtValue();
    }
  }
}

std::optional<ConstantTensor> ConstantTensor::read(Attribute attr, int64_t maxElements) {
  auto elements = dyn_cast_or_null<ElementsAttr>(attr);
  if (!elements)
    return std::nullopt;
  auto type = dyn_cast<RankedTensorType>(elements.getType());
  if (!type || !type.hasStaticShape() || type.getNumElements() > maxElements ||
      !supportedElement(type.getElementType()))
    return std::nullopt;
  ConstantTensor out = zeros(type);
  Type elementType = type.getElementType();
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    if (isa<FloatType>(elementType)) {
      int64_t i = 0;
      for (const APFloat &v : dense.getValues<APFloat>()) {
        APFloat d = v;
        bool lost;
        d.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
        out.floats[i++] = d.convertToDouble();
      }
    } else {
      int64_t i = 0;
      bool isBool = elementType.isInteger(1);
      for (const APInt &v : dense.getValues<APInt>())
        out.ints[i++] = isBool ? (int64_t)v.getZExtValue() : v.getSExtValue();
    }
    return out;
  }
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob)
      return std::nullopt;
    ArrayRef<char> data = blob->getData();
    unsigned width = elementType.getIntOrFloatBitWidth();
    size_t bytes = (width == 1 ? 1 : width / 8) * (size_t)out.size();
    if (data.size() < bytes)
      return std::nullopt;
    readRaw(out, data, elementType, /*splat=*/false);
    return out;
  }
  return std::nullopt;
}

ConstantTensor ConstantTensor::zeros(RankedTensorType type) {
  ConstantTensor t;
  t.type = type;
  if (isa<FloatType>(type.getElementType()))
    t.floats.assign(type.getNumElements(), 0.0);
  else
    t.ints.assign(type.getNumElements(), 0);
  return t;
}

template <typename T, typename V>
static DenseElementsAttr packAs(RankedTensorType type, const std::vector<V> &values) {
  std::vector<T> packed(values.begin(), values.end());
  ArrayRef<char> raw(reinterpret_cast<const char *>(packed.data()), packed.size() * sizeof(T));
  return DenseElementsAttr::getFromRawBuffer(type, raw);
}

DenseElementsAttr ConstantTensor::toAttr() const {
  Type et = type.getElementType();
  if (auto f = dyn_cast<FloatType>(et)) {
    if (f.isF32())
      return packAs<float>(type, floats);
    if (f.isF64())
      return packAs<double>(type, floats);
    SmallVector<APFloat> values;
    for (double v : floats) {
      APFloat a(v);
      bool lost;
      a.convert(f.getFloatSemantics(), APFloat::rmNearestTiesToEven, &lost);
      values.push_back(a);
    }
    return DenseElementsAttr::get(type, values);
  }
  switch (et.getIntOrFloatBitWidth()) {
  case 1: {
    SmallVector<bool> bits;
    for (int64_t v : ints)
      bits.push_back(v != 0);
    return DenseElementsAttr::get(type, ArrayRef<bool>(bits));
  }
  case 8:
    return packAs<int8_t>(type, ints);
  case 16:
    return packAs<int16_t>(type, ints);
  case 32:
    return packAs<int32_t>(type, ints);
  default:
    return packAs<int64_t>(type, ints);
  }
}
