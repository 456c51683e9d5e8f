// ONNX importers for control flow with static structure: If (the branch a constant
// condition picks, or both branches and a select), Loop (unrolled while its trip count
// and condition are compile-time constants) and Scan (unrolled over the static scan
// length). Subgraphs are imported inline through NodeContext::importGraph.
#include "NodeImporter.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

/// Unrolled loops beyond this many iterations would make graphs too big to compile.
constexpr int64_t kMaxUnrolledIterations = 4096;

const onnx::GraphProto *graphAttr(NodeContext &c, StringRef name) {
  const onnx::AttributeProto *a = c.attr(name);
  return a && a->has_g() ? &a->g() : nullptr;
}

/// `values` (of equal types) stacked along a new dimension `axis`.
Value stack(NodeContext &c, ArrayRef<Value> values, int64_t axis) {
  SmallVector<Value> parts;
  for (Value v : values) {
    SmallVector<int64_t> shape(cast<RankedTensorType>(v.getType()).getShape());
    shape.insert(shape.begin() + axis, 1);
    parts.push_back(c.reshape(v, shape));
  }
  return parts.size() == 1 ? parts[0] : c.create<ConcatOp>(parts, c.b.getI64IntegerAttr(axis));
}

/// Element `index` of `x` along `axis`, with that dimension dropped.
Value take(NodeContext &c, Value x, int64_t axis, int64_t index) {
  SmallVector<int64_t> shape(cast<RankedTensorType>(x.getType()).getShape());
  shape.erase(shape.begin() + axis);
  return c.reshape(c.sliceAxis(x, axis, index, 1), shape);
}

LogicalResult importIf(NodeContext &c, SmallVectorImpl<Value> &out) {
  const onnx::GraphProto *thenGraph = graphAttr(c, "then_branch"), *elseGraph = graphAttr(c, "else_branch");
  if (!thenGraph || !elseGraph)
    return c.fail("then_branch and else_branch are required");
  if (c.type(0).getNumElements() != 1 || !c.type(0).getElementType().isInteger(1))
    return c.fail("cond must hold one bool");
  if (auto cond = c.constant(0)) {
    auto outputs = c.importGraph(cond->asDouble(0) ? *thenGraph : *elseGraph, {});
    if (failed(outputs))
      return failure();
    out.append(*outputs);
    return success();
  }
  // A run-time condition: both branches run and a select picks, which needs outputs of
  // the same types.
  auto thenOut = c.importGraph(*thenGraph, {}), elseOut = c.importGraph(*elseGraph, {});
  if (failed(thenOut) || failed(elseOut))
    return failure();
  if (thenOut->size() != elseOut->size())
    return c.fail("the branches return different numbers of outputs");
  Value cond = c.reshape(c.input(0), {});
  for (auto [t, e] : llvm::zip(*thenOut, *elseOut)) {
    if (t.getType() != e.getType())
      return c.fail("with a run-time condition, both branches must return the same types");
    out.push_back(c.create<SelectOp>(cond, t, e));
  }
  return success();
}

/// Loop: the body imported once per iteration. The trip count and the condition must
/// be constants at every step; scan outputs are stacked along a new first dimension.
LogicalResult importLoop(NodeContext &c, SmallVectorImpl<Value> &out) {
  const onnx::GraphProto *body = graphAttr(c, "body");
  if (!body)
    return c.fail("body is required");
  std::optional<int64_t> tripCount;
  if (c.has(0)) {
    auto m = c.requiredConstant(0);
    if (!m || m->size() != 1)
      return c.fail("the trip count must be a compile-time constant");
    tripCount = (int64_t)m->asDouble(0);
  }
  bool cond = true;
  if (c.has(1)) {
    auto v = c.requiredConstant(1);
    if (!v || v->size() != 1)
      return c.fail("the loop condition must be a compile-time constant");
    cond = v->asDouble(0) != 0;
  }
  if (!tripCount && !c.has(1))
    return c.fail("a loop without trip count or condition never ends");
  SmallVector<Value> carried;
  for (size_t i = 2; i < c.numInputs(); ++i)
    carried.push_back(c.input(i));
  size_t scanCount = body->output_size() - 1 - carried.size();
  if ((size_t)body->output_size() < 1 + carried.size())
    return c.fail("the body returns fewer values than the loop carries");
  SmallVector<SmallVector<Value>> scans(scanCount);
  auto i64 = c.b.getI64Type(), i1 = c.b.getI1Type();
  for (int64_t i = 0; cond && (!tripCount || i < *tripCount); ++i) {
    if (i == kMaxUnrolledIterations)
      return c.fail("the loop runs more than " + Twine(kMaxUnrolledIterations) +
                    " iterations, too many to unroll");
    SmallVector<Value> inputs{c.constantOf(RankedTensorType::get({}, i64), [&](int64_t) { return (double)i; }),
                              c.constantOf(RankedTensorType::get({}, i1), [](int64_t) { return 1.0; })};
    inputs.append(carried);
    auto results = c.importGraph(*body, inputs);
    if (failed(results))
      return failure();
    auto next = constantValue((*results)[0]);
    if (!next || next->size() != 1)
      return c.fail("the body's condition output must be a compile-time constant");
    cond = next->asDouble(0) != 0;
    for (size_t k = 0; k < carried.size(); ++k)
      carried[k] = (*results)[1 + k];
    for (size_t k = 0; k < scanCount; ++k)
      scans[k].push_back((*results)[1 + carried.size() + k]);
  }
  out.append(carried);
  for (auto &values : scans) {
    if (values.empty())
      return c.fail("the loop runs no iteration, so its scan outputs would be empty");
    for (Value v : values)
      if (v.getType() != values[0].getType())
        return c.fail("scan outputs change shape between iterations");
    out.push_back(stack(c, values, 0));
  }
  return success();
}

/// Scan's input axes: one per scan input, default 0, normalized against `rank(i)`.
FailureOr<SmallVector<int64_t>> scanAxes(NodeContext &c, StringRef name, size_t count,
                                         const std::function<int64_t(size_t)> &rank) {
  auto given = c.getInts(name).value_or(SmallVector<int64_t>(count, 0));
  if (given.size() != count)
    return (void)c.fail(name + " needs one entry per tensor"), failure();
  for (size_t i = 0; i < count; ++i) {
    auto axis = c.axis(given[i], rank(i));
    if (failed(axis))
      return failure();
    given[i] = *axis;
  }
  return given;
}

/// One unrolled scan: `states` go around, `scanned` are cut along their axes, and the
/// body's extra outputs are stacked along `outAxes`.
LogicalResult unrollScan(NodeContext &c, const onnx::GraphProto &body, SmallVector<Value> states,
                         ArrayRef<Value> scanned, ArrayRef<int64_t> inAxes, ArrayRef<int64_t> inReverse,
                         ArrayRef<int64_t> outAxes, ArrayRef<int64_t> outReverse,
                         SmallVectorImpl<Value> &out) {
  int64_t length = cast<RankedTensorType>(scanned[0].getType()).getDimSize(inAxes[0]);
  for (auto [x, axis] : llvm::zip(scanned, inAxes))
    if (cast<RankedTensorType>(x.getType()).getDimSize(axis) != length)
      return c.fail("scan inputs differ in length");
  if (length < 1)
    return c.fail("empty scans are not supported");
  if (length > kMaxUnrolledIterations)
    return c.fail("the scan is longer than " + Twine(kMaxUnrolledIterations) + ", too long to unroll");
  size_t scanOutputs = body.output_size() - states.size();
  SmallVector<SmallVector<Value>> collected(scanOutputs);
  for (int64_t t = 0; t < length; ++t) {
    SmallVector<Value> inputs(states);
    for (size_t j = 0; j < scanned.size(); ++j)
      inputs.push_back(take(c, scanned[j], inAxes[j], inReverse[j] ? length - 1 - t : t));
    auto results = c.importGraph(body, inputs);
    if (failed(results))
      return failure();
    for (size_t k = 0; k < states.size(); ++k)
      states[k] = (*results)[k];
    for (size_t k = 0; k < scanOutputs; ++k)
      collected[k].push_back((*results)[states.size() + k]);
  }
  out.append(states);
  for (size_t k = 0; k < scanOutputs; ++k) {
    if (outReverse[k])
      std::reverse(collected[k].begin(), collected[k].end());
    for (Value v : collected[k])
      if (v.getType() != collected[k][0].getType())
        return c.fail("scan outputs change shape between iterations");
    // Scan outputs gain a dimension, so their axes count against the body output's rank + 1.
    auto axis = c.axis(outAxes[k], cast<RankedTensorType>(collected[k][0].getType()).getRank() + 1);
    if (failed(axis))
      return failure();
    out.push_back(stack(c, collected[k], *axis));
  }
  return success();
}

LogicalResult importScan(NodeContext &c, SmallVectorImpl<Value> &out) {
  const onnx::GraphProto *body = graphAttr(c, "body");
  if (!body)
    return c.fail("body is required");
  int64_t scanInputs = c.getInt("num_scan_inputs", 0);
  // Scan-8 takes an optional sequence_lens first and a batch dimension on every tensor.
  bool batched = c.opset < 9;
  size_t first = batched ? 1 : 0;
  if (scanInputs < 1 || (int64_t)c.numInputs() - (int64_t)first < scanInputs)
    return c.fail("num_scan_inputs must be between 1 and the number of inputs");
  size_t stateCount = c.numInputs() - first - scanInputs;
  if ((size_t)body->output_size() < stateCount)
    return c.fail("the body returns fewer values than the scan carries");
  size_t scanOutputs = body->output_size() - stateCount;
  SmallVector<Value> states, scanned;
  for (size_t i = 0; i < stateCount; ++i)
    states.push_back(c.input(first + i));
  for (int64_t i = 0; i < scanInputs; ++i)
    scanned.push_back(c.input(first + stateCount + i));
  auto rankOf = [](Value v) { return cast<RankedTensorType>(v.getType()).getRank(); };

  if (!batched) {
    auto inAxes = scanAxes(c, "scan_input_axes", scanInputs, [&](size_t i) { return rankOf(scanned[i]); });
    auto inReverse = c.getInts("scan_input_directions").value_or(SmallVector<int64_t>(scanInputs, 0));
    auto outReverse = c.getInts("scan_output_directions").value_or(SmallVector<int64_t>(scanOutputs, 0));
    auto outAxes = c.getInts("scan_output_axes").value_or(SmallVector<int64_t>(scanOutputs, 0));
    if (failed(inAxes))
      return failure();
    if (inReverse.size() != (size_t)scanInputs || outReverse.size() != scanOutputs ||
        outAxes.size() != scanOutputs)
      return c.fail("scan axes and directions need one entry per tensor");
    return unrollScan(c, *body, states, scanned, *inAxes, inReverse, outAxes, outReverse, out);
  }

  // Scan-8: every batch element scans on its own along axis 1, all to full length.
  for (Value v : llvm::concat<Value>(states, scanned))
    if (rankOf(v) < 1 || cast<RankedTensorType>(v.getType()).getDimSize(0) != c.type(first).getDimSize(0))
      return c.fail("every input needs the same batch dimension");
  if (llvm::any_of(scanned, [&](Value v) { return rankOf(v) < 2; }))
    return c.fail("scan inputs must be [batch, sequence, ...]");
  int64_t batch = c.type(first).getDimSize(0), length = cast<RankedTensorType>(scanned[0].getType()).getDimSize(1);
  if (c.has(0)) {
    auto lens = c.requiredConstant(0);
    if (!lens || llvm::any_of(llvm::seq<int64_t>(0, lens->size()),
                              [&](int64_t i) { return lens->asDouble(i) != length; }))
      return c.fail("sequence_lens must be a constant equal to the full sequence length");
  }
  auto directions = c.getInts("directions").value_or(SmallVector<int64_t>(scanInputs, 0));
  if (directions.size() != (size_t)scanInputs)
    return c.fail("directions needs one entry per scan input");
  SmallVector<SmallVector<Value>> perBatch(stateCount + scanOutputs);
  for (int64_t n = 0; n < batch; ++n) {
    SmallVector<Value> s, x, results;
    for (Value v : states)
      s.push_back(take(c, v, 0, n));
    for (Value v : scanned)
      x.push_back(take(c, v, 0, n));
    if (failed(unrollScan(c, *body, s, x, SmallVector<int64_t>(scanInputs, 0), directions,
                          SmallVector<int64_t>(scanOutputs, 0), SmallVector<int64_t>(scanOutputs, 0),
                          results)))
      return failure();
    for (auto [k, r] : llvm::enumerate(results))
      perBatch[k].push_back(r);
  }
  for (auto &values : perBatch)
    out.push_back(stack(c, values, 0));
  return success();
}

} // namespace

void onnx_import::addControlFlowImporters(ImporterTable &t) {
  t["If"] = importIf;
  t["Loop"] = importLoop;
  t["Scan"] = importScan;
}
