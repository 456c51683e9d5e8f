// ONNX importers for the signal ops whose results are compile-time constants: the
// Hann, Hamming and Blackman windows (their size must be known when compiling).
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

} // namespace

void onnx_import::addSignalImporters(ImporterTable &t) {
  t["HannWindow"] = cosineWindow(0.5, 0.5, 0);
  t["HammingWindow"] = cosineWindow(25.0 / 46, 21.0 / 46, 0);
  t["BlackmanWindow"] = cosineWindow(0.42, 0.5, 0.08);
}
