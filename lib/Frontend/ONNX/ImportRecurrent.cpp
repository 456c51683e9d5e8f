// ONNX importers for RNN, GRU and LSTM. Static sequence lengths let the recurrence
// unroll at import time into matmuls and elementwise kiln ops, which the fusion passes
// then treat like any other graph; the input projection of all steps is one matmul.
// sequence_lens, when given, masks the steps past each batch entry's length.
#include "NodeImporter.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

enum class Cell { RNN, GRU, LSTM };

ArrayRef<int64_t> shapeOf(Value v) { return cast<RankedTensorType>(v.getType()).getShape(); }

/// One recurrent node being unrolled: its weights per direction and its activations.
class Recurrence {
public:
  Recurrence(NodeContext &c, Cell cell) : c(c), cell(cell) {}
  LogicalResult build(SmallVectorImpl<Value> &out);

private:
  int64_t gates() const { return cell == Cell::RNN ? 1 : cell == Cell::GRU ? 3 : 4; }
  /// Gate `k` (in ONNX's gate order) of a [batch, gates * hidden] value.
  Value gate(Value v, int64_t k) { return c.sliceAxis(v, 1, k * hidden, hidden); }
  Value add(Value a, Value b) { return c.create<AddOp>(a, b); }
  Value mul(Value a, Value b) { return c.create<MulOp>(a, b); }
  Value sub(Value a, Value b) { return c.create<SubOp>(a, b); }
  Value scalar(double v) { return c.scalar(v, et); }
  LogicalResult readActivations();
  /// Applies activation `i` of the direction's list (clipping its input first).
  Value activate(unsigned i, Value x);
  Value step(int64_t dir, Value xw, Value h, Value &cState);

  NodeContext &c;
  Cell cell;
  Type et;
  int64_t hidden = 0, seq = 0, batch = 0, directions = 1;
  SmallVector<std::string> activations;
  SmallVector<double> alphas, betas;
  std::optional<double> clip;
  // Per direction: R transposed to [hidden, gates * hidden], the recurrent bias, the
  // peepholes (LSTM) and GRU's transposed R of the hidden gate.
  Value recurrentT, recurrentBias, peephole;
  bool linearBeforeReset = false;
};

LogicalResult Recurrence::readActivations() {
  unsigned perDirection = cell == Cell::RNN ? 1 : cell == Cell::GRU ? 2 : 3;
  static const char *defaults[3][3] = {{"Tanh"}, {"Sigmoid", "Tanh"}, {"Sigmoid", "Tanh", "Tanh"}};
  if (auto *a = c.attr("activations")) {
    for (const auto &s : a->strings())
      activations.push_back(s);
  } else {
    for (int64_t d = 0; d < directions; ++d)
      for (unsigned i = 0; i < perDirection; ++i)
        activations.push_back(defaults[(int)cell][i]);
  }
  if ((int64_t)activations.size() != perDirection * directions)
    return c.fail("activations needs " + Twine(perDirection * directions) + " entries");
  if (auto *a = c.attr("activation_alpha"))
    alphas.assign(a->floats().begin(), a->floats().end());
  if (auto *a = c.attr("activation_beta"))
    betas.assign(a->floats().begin(), a->floats().end());
  for (const std::string &name : activations)
    if (!llvm::is_contained({"Sigmoid", "Tanh", "Relu", "HardSigmoid", "LeakyRelu", "Affine",
                             "ScaledTanh"},
                            name))
      return c.fail("activation '" + name + "' is not supported");
  return success();
}

Value Recurrence::activate(unsigned i, Value x) {
  if (clip)
    x = c.create<ClipOp>(x.getType(), x, c.b.getF64FloatAttr(-*clip), c.b.getF64FloatAttr(*clip));
  const std::string &name = activations[i];
  // Alpha and beta lists hold entries only for the activations that take them.
  unsigned withParams = 0;
  for (unsigned j = 0; j < i; ++j)
    withParams += llvm::is_contained({"HardSigmoid", "LeakyRelu", "Affine", "ScaledTanh"}, activations[j]);
  auto param = [&](SmallVector<double> &list, double dflt) {
    return withParams < list.size() ? list[withParams] : dflt;
  };
  if (name == "Sigmoid")
    return c.create<SigmoidOp>(x.getType(), x);
  if (name == "Tanh")
    return c.create<TanhOp>(x.getType(), x);
  if (name == "Relu")
    return c.create<ReluOp>(x.getType(), x);
  if (name == "HardSigmoid") {
    Value y = add(mul(x, scalar(param(alphas, 0.2))), scalar(param(betas, 0.5)));
    return c.create<ClipOp>(y.getType(), y, c.b.getF64FloatAttr(0), c.b.getF64FloatAttr(1));
  }
  if (name == "LeakyRelu") {
    Value zero = scalar(0);
    return add(c.create<MaxOp>(x, zero), mul(c.create<MinOp>(x, zero), scalar(param(alphas, 0.01))));
  }
  if (name == "Affine")
    return add(mul(x, scalar(param(alphas, 1))), scalar(param(betas, 0)));
  // ScaledTanh
  Value t = mul(x, scalar(param(betas, 1)));
  return mul(c.create<TanhOp>(t.getType(), t), scalar(param(alphas, 1)));
}

/// One time step of direction `dir`: `xw` is the step's input projection plus input
/// bias, [batch, gates * hidden]; returns the new hidden state.
Value Recurrence::step(int64_t dir, Value xw, Value h, Value &cState) {
  unsigned first = cell == Cell::RNN ? dir : cell == Cell::GRU ? 2 * dir : 3 * dir;
  Value hr = c.create<MatMulOp>(h, recurrentT);
  if (recurrentBias)
    hr = add(hr, recurrentBias);
  if (cell == Cell::RNN)
    return activate(first, add(xw, hr));
  if (cell == Cell::GRU) {
    Value z = activate(first, add(gate(xw, 0), gate(hr, 0)));
    Value r = activate(first, add(gate(xw, 1), gate(hr, 1)));
    Value hh;
    if (linearBeforeReset) {
      hh = mul(r, gate(hr, 2));
    } else {
      hh = c.create<MatMulOp>(mul(r, h), c.sliceAxis(recurrentT, 1, 2 * hidden, hidden));
      if (recurrentBias)
        hh = add(hh, c.sliceAxis(recurrentBias, 0, 2 * hidden, hidden));
    }
    Value candidate = activate(first + 1, add(gate(xw, 2), hh));
    // (1 - z) * candidate + z * h
    return add(candidate, mul(z, sub(h, candidate)));
  }
  Value pre = add(xw, hr);
  auto peep = [&](int64_t k, Value state, Value v) {
    return peephole ? add(v, mul(c.sliceAxis(peephole, 0, k * hidden, hidden), state)) : v;
  };
  Value i = activate(first, peep(0, cState, gate(pre, 0)));
  Value f = activate(first, peep(2, cState, gate(pre, 2)));
  Value g = activate(first + 1, gate(pre, 3));
  cState = add(mul(f, cState), mul(i, g));
  Value o = activate(first, peep(1, cState, gate(pre, 1)));
  return mul(o, activate(first + 2, cState));
}

LogicalResult Recurrence::build(SmallVectorImpl<Value> &out) {
  et = c.type(0).getElementType();
  if (!isa<FloatType>(et))
    return c.fail("only floating-point inputs are supported");
  hidden = c.getInt("hidden_size", 0);
  std::string direction = c.getString("direction", "forward");
  directions = direction == "bidirectional" ? 2 : 1;
  if (direction != "forward" && direction != "reverse" && direction != "bidirectional")
    return c.fail("direction '" + direction + "' is not supported");
  if (c.getInt("input_forget", 0))
    return c.fail("input_forget is not supported");
  if (auto *a = c.attr("clip"))
    clip = a->f();
  linearBeforeReset = c.getInt("linear_before_reset", 0);
  bool batchFirst = c.getInt("layout", 0);
  Value x = c.input(0);
  if (c.type(0).getRank() != 3)
    return c.fail("X must have rank 3");
  if (batchFirst)
    x = c.create<TransposeOp>(x, c.b.getDenseI64ArrayAttr({1, 0, 2}));
  seq = shapeOf(x)[0];
  batch = shapeOf(x)[1];
  int64_t inputSize = shapeOf(x)[2], g = gates();
  auto expect = [&](size_t i, ArrayRef<int64_t> shape, StringRef name) -> LogicalResult {
    if (!c.has(i))
      return success();
    Type type = c.type(i).getElementType();
    bool typeOk = i == 4 ? type.isInteger(32) || type.isInteger(64) : type == et;
    if (c.type(i).getShape() != shape || !typeOk)
      return c.fail(Twine(name) + " does not have the expected shape and type");
    return success();
  };
  SmallVector<int64_t> stateShape = batchFirst ? SmallVector<int64_t>{batch, directions, hidden}
                                               : SmallVector<int64_t>{directions, batch, hidden};
  if (hidden < 1 || failed(expect(1, {directions, g * hidden, inputSize}, "W")) ||
      failed(expect(2, {directions, g * hidden, hidden}, "R")) ||
      failed(expect(3, {directions, 2 * g * hidden}, "B")) ||
      failed(expect(4, {batch}, "sequence_lens")) || failed(expect(5, stateShape, "initial_h")) ||
      (cell == Cell::LSTM && (failed(expect(6, stateShape, "initial_c")) ||
                              failed(expect(7, {directions, 3 * hidden}, "P")))) ||
      failed(readActivations()))
    return failure();

  // Steps at or past a batch entry's length keep its state and output zeros.
  Value lengths;
  if (c.has(4)) {
    auto lens = c.constant(4);
    if (!lens || llvm::any_of(lens->ints, [&](int64_t l) { return l != seq; })) {
      Type i64 = c.b.getI64Type();
      lengths = c.reshape(c.type(4).getElementType() == i64 ? c.input(4) : c.cast(c.input(4), i64),
                          {batch, 1});
    }
  }
  Value zeroState = c.zeros(RankedTensorType::get({batch, hidden}, et));
  auto stateOf = [&](size_t input, int64_t dir) -> Value {
    if (!c.has(input))
      return zeroState;
    return c.reshape(c.sliceAxis(c.input(input), batchFirst ? 1 : 0, dir, 1), {batch, hidden});
  };

  SmallVector<SmallVector<Value>> outputs(seq, SmallVector<Value>(directions));
  SmallVector<Value> finalH, finalC;
  for (int64_t dir = 0; dir < directions; ++dir) {
    bool reverse = direction == "reverse" || dir == 1;
    auto perDirection = [&](size_t input) { return c.reshape(c.sliceAxis(c.input(input), 0, dir, 1),
                                                             shapeOf(c.input(input)).drop_front()); };
    Value wT = c.create<TransposeOp>(perDirection(1), c.b.getDenseI64ArrayAttr({1, 0}));
    recurrentT = c.create<TransposeOp>(perDirection(2), c.b.getDenseI64ArrayAttr({1, 0}));
    Value inputBias;
    recurrentBias = nullptr;
    if (c.has(3)) {
      Value bias = perDirection(3);
      inputBias = c.sliceAxis(bias, 0, 0, g * hidden);
      recurrentBias = c.sliceAxis(bias, 0, g * hidden, g * hidden);
    }
    peephole = cell == Cell::LSTM && c.has(7) ? perDirection(7) : nullptr;
    // The input projection of every step at once: [seq * batch, input] x [input, G*H].
    Value xw = c.create<MatMulOp>(c.reshape(x, {seq * batch, inputSize}), wT);
    if (inputBias)
      xw = add(xw, inputBias);
    xw = c.reshape(xw, {seq, batch, g * hidden});
    Value h = stateOf(5, dir), cState = cell == Cell::LSTM ? stateOf(6, dir) : nullptr;
    for (int64_t s = 0; s < seq; ++s) {
      int64_t t = reverse ? seq - 1 - s : s;
      Value cNext = cState;
      Value hNext = step(dir, c.reshape(c.sliceAxis(xw, 0, t, 1), {batch, g * hidden}), h, cNext);
      Value y = hNext;
      if (lengths) {
        Value live = c.create<CompareOp>(c.constantI64({t}), lengths, c.b.getStringAttr("lt"));
        y = c.create<SelectOp>(live, hNext, zeroState);
        hNext = c.create<SelectOp>(live, hNext, h);
        if (cState)
          cNext = c.create<SelectOp>(live, cNext, cState);
      }
      outputs[t][dir] = c.reshape(y, {1, 1, batch, hidden});
      h = hNext;
      cState = cNext;
    }
    finalH.push_back(c.reshape(h, {1, batch, hidden}));
    if (cState)
      finalC.push_back(c.reshape(cState, {1, batch, hidden}));
  }

  // Y is [seq, directions, batch, hidden], or [batch, seq, directions, hidden].
  SmallVector<Value> steps;
  for (auto &perStep : outputs)
    steps.push_back(directions == 1 ? perStep[0] : c.create<ConcatOp>(perStep, c.b.getI64IntegerAttr(1)));
  Value y = seq == 1 ? steps[0] : c.create<ConcatOp>(steps, c.b.getI64IntegerAttr(0));
  auto states = [&](SmallVector<Value> &list) {
    Value v = directions == 1 ? list[0] : c.create<ConcatOp>(list, c.b.getI64IntegerAttr(0));
    return batchFirst ? c.create<TransposeOp>(v, c.b.getDenseI64ArrayAttr({1, 0, 2})) : v;
  };
  out.push_back(batchFirst ? c.create<TransposeOp>(y, c.b.getDenseI64ArrayAttr({2, 0, 1, 3})) : y);
  out.push_back(states(finalH));
  if (cell == Cell::LSTM)
    out.push_back(states(finalC));
  return success();
}

template <Cell cell> LogicalResult importRecurrent(NodeContext &c, SmallVectorImpl<Value> &out) {
  return Recurrence(c, cell).build(out);
}

} // namespace

void onnx_import::addRecurrentImporters(ImporterTable &t) {
  t["RNN"] = importRecurrent<Cell::RNN>;
  t["GRU"] = importRecurrent<Cell::GRU>;
  t["LSTM"] = importRecurrent<Cell::LSTM>;
}
