// ONNX importers for the classification losses, NegativeLogLikelihoodLoss and
// SoftmaxCrossEntropyLoss, built from gathers, selects and reductions.
#include "NodeImporter.h"

#include <numeric>

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

ArrayRef<int64_t> shapeOf(Value v) { return cast<RankedTensorType>(v.getType()).getShape(); }

Value reduceAll(NodeContext &c, Value x) {
  SmallVector<int64_t> axes(shapeOf(x).size());
  std::iota(axes.begin(), axes.end(), 0);
  return c.create<ReduceSumOp>(x, c.b.getDenseI64ArrayAttr(axes), c.b.getBoolAttr(false));
}

/// log(softmax(x)) along axis 1, computed stably as x - max - log(sum(exp(x - max))).
Value logSoftmax(NodeContext &c, Value x) {
  auto axis = c.b.getDenseI64ArrayAttr({1});
  Value shifted = c.create<SubOp>(x, c.create<ReduceMaxOp>(x, axis, c.b.getBoolAttr(true)));
  Value sum = c.create<ReduceSumOp>(c.create<ExpOp>(shifted.getType(), shifted), axis,
                                    c.b.getBoolAttr(true));
  return c.create<SubOp>(shifted, c.create<LogOp>(sum.getType(), sum));
}

/// The NLL loss of log-probabilities `logProb` [N, C, D...] at integer `target`
/// [N, D...], with optional per-class `weight` [C].
FailureOr<Value> nllLoss(NodeContext &c, Value logProb, Value target, Value weight) {
  auto xt = cast<RankedTensorType>(logProb.getType());
  auto tt = cast<RankedTensorType>(target.getType());
  Type et = xt.getElementType();
  if (!isa<FloatType>(et) || xt.getRank() < 2 || !isa<IntegerType>(tt.getElementType()) ||
      tt.getElementType().isInteger(1) || tt.getRank() != xt.getRank() - 1 ||
      tt.getShape()[0] != xt.getShape()[0] ||
      tt.getShape().drop_front() != xt.getShape().drop_front(2)) {
    (void)c.fail("expects float input [N, C, D...] and integer target [N, D...]");
    return failure();
  }
  std::string reduction = c.getString("reduction", "mean");
  if (reduction != "none" && reduction != "sum" && reduction != "mean") {
    (void)c.fail("unsupported reduction '" + reduction + "'");
    return failure();
  }
  // picked[n, d] = logProb[n, target[n, d], d]
  SmallVector<int64_t> withClass(tt.getShape());
  withClass.insert(withClass.begin() + 1, 1);
  Value index = c.reshape(target, withClass);
  Value picked = c.reshape(c.create<GatherElementsOp>(logProb, index, c.b.getI64IntegerAttr(1)),
                           tt.getShape());
  Value loss = c.create<NegOp>(picked.getType(), picked);
  Value w = weight ? c.create<GatherOp>(weight, target, c.b.getI64IntegerAttr(0))
                   : c.create<ConstantOp>(DenseElementsAttr::get(
                         RankedTensorType::get(tt.getShape(), et), c.b.getFloatAttr(et, 1.0)));
  if (const auto *ignore = c.attr("ignore_index")) {
    Value ignored = c.scalar((double)ignore->i(), tt.getElementType());
    Value keep = c.create<CompareOp>(target, ignored, c.b.getStringAttr("ne"));
    w = c.create<SelectOp>(keep, w, c.scalar(0, et));
  }
  loss = c.create<MulOp>(loss, w);
  if (reduction == "none")
    return loss;
  Value total = reduceAll(c, loss);
  return reduction == "sum" ? total : c.create<DivOp>(total, reduceAll(c, w));
}

LogicalResult importNLL(NodeContext &c, SmallVectorImpl<Value> &out) {
  auto loss = nllLoss(c, c.input(0), c.input(1), c.has(2) ? c.input(2) : Value());
  if (failed(loss))
    return failure();
  out.push_back(*loss);
  return success();
}

LogicalResult importSoftmaxCrossEntropy(NodeContext &c, SmallVectorImpl<Value> &out) {
  if (!isa<FloatType>(c.type(0).getElementType()) || c.type(0).getRank() < 2)
    return c.fail("scores must be a float [N, C, D...] tensor");
  Value logProb = logSoftmax(c, c.input(0));
  auto loss = nllLoss(c, logProb, c.input(1), c.has(2) ? c.input(2) : Value());
  if (failed(loss))
    return failure();
  out.append({*loss, logProb});
  return success();
}

} // namespace

void onnx_import::addLossImporters(ImporterTable &t) {
  t["NegativeLogLikelihoodLoss"] = importNLL;
  t["SoftmaxCrossEntropyLoss"] = importSoftmaxCrossEntropy;
}
