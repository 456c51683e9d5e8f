// ONNX Einsum, decomposed at import time: each operand takes its diagonals (repeated
// labels) and sums the labels no one else needs; operands then contract pairwise as
// one batched matmul (transposed and reshaped into [batch, free, contracted] form), and
// the result is transposed into the output's label order.
#include "NodeImporter.h"

#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace kiln;
using namespace kiln::onnx_import;

namespace {

ArrayRef<int64_t> shapeOf(Value v) { return cast<RankedTensorType>(v.getType()).getShape(); }

/// A value whose dimension i carries label labels[i].
struct Term {
  Value value;
  std::string labels;
};

class Einsum {
public:
  explicit Einsum(NodeContext &c) : c(c) {}
  LogicalResult build(SmallVectorImpl<Value> &out);

private:
  LogicalResult parse(StringRef equation);
  Term diagonals(Term t);
  Term sumOut(Term t, const std::string &keep);
  Term contract(Term a, Term b, const std::string &keep);
  Value transpose(Value v, ArrayRef<int64_t> perm) {
    return c.create<TransposeOp>(v, c.b.getDenseI64ArrayAttr(perm));
  }

  NodeContext &c;
  SmallVector<std::string> inputs;
  std::string output;
  llvm::DenseMap<char, int64_t> sizes;
};

/// Reads the equation, giving the dimensions an ellipsis covers the labels '0', '1', ...
/// (right-aligned across operands, as broadcasting would align them).
LogicalResult Einsum::parse(StringRef equation) {
  std::string eq;
  for (char ch : equation)
    if (ch != ' ')
      eq += ch;
  auto [lhs, rhs] = StringRef(eq).split("->");
  bool explicitOutput = StringRef(eq).contains("->");
  SmallVector<StringRef> terms;
  lhs.split(terms, ',');
  if (terms.size() != c.numInputs())
    return c.fail("the equation names " + Twine(terms.size()) + " operands, the node has " +
                  Twine(c.numInputs()));
  int64_t ellipsisRank = 0;
  for (auto [i, term] : llvm::enumerate(terms)) {
    int64_t letters = 0;
    for (char ch : term)
      letters += llvm::isAlpha(ch);
    if (term.contains("..."))
      ellipsisRank = std::max(ellipsisRank, c.type(i).getRank() - letters);
  }
  if (ellipsisRank > 10)
    return c.fail("an ellipsis covers too many dimensions");
  auto expand = [&](StringRef term, int64_t rank) {
    std::string labels;
    for (size_t p = 0; p < term.size(); ++p) {
      if (term.substr(p).starts_with("...")) {
        for (int64_t e = ellipsisRank - rank; e < ellipsisRank; ++e)
          labels += char('0' + e);
        p += 2;
      } else {
        labels += term[p];
      }
    }
    return labels;
  };
  for (auto [i, term] : llvm::enumerate(terms)) {
    int64_t letters = llvm::count_if(term, [](char ch) { return llvm::isAlpha(ch); });
    std::string labels = expand(term, term.contains("...") ? c.type(i).getRank() - letters : 0);
    if ((int64_t)labels.size() != c.type(i).getRank() ||
        llvm::any_of(labels, [](char ch) { return !llvm::isAlnum(ch); }))
      return c.fail("term '" + term + "' does not match operand " + Twine(i) + "'s rank");
    for (auto [d, label] : llvm::enumerate(labels)) {
      int64_t size = c.type(i).getDimSize(d);
      auto [it, inserted] = sizes.try_emplace(label, size);
      if (!inserted && it->second != size)
        return c.fail(Twine("label '") + StringRef(&label, 1) + "' has sizes " +
                      Twine(it->second) + " and " + Twine(size));
    }
    inputs.push_back(labels);
  }
  if (explicitOutput) {
    output = expand(rhs, ellipsisRank);
  } else {
    // Implicit output: ellipsis dimensions, then the labels seen once, alphabetically.
    for (int64_t e = 0; e < ellipsisRank; ++e)
      output += char('0' + e);
    std::string once;
    for (auto &entry : sizes) {
      char label = entry.first;
      int64_t uses = 0;
      for (auto &labels : inputs)
        uses += llvm::count(labels, label);
      if (llvm::isAlpha(label) && uses == 1)
        once += label;
    }
    llvm::sort(once);
    output += once;
  }
  for (char label : output)
    if (!sizes.count(label))
      return c.fail(Twine("output label '") + StringRef(&label, 1) + "' names no input dimension");
  return success();
}

/// Takes the diagonal of each repeated label: multiplies by an identity mask over the
/// two dimensions and sums one of them away.
Term Einsum::diagonals(Term t) {
  for (size_t p = 0; p < t.labels.size(); ++p) {
    size_t q = t.labels.find(t.labels[p], p + 1);
    if (q == std::string::npos)
      continue;
    int64_t n = sizes[t.labels[p]], rank = t.labels.size();
    SmallVector<int64_t> maskShape(rank, 1);
    maskShape[p] = maskShape[q] = n;
    Value eye = c.constantOf(
        RankedTensorType::get(maskShape, cast<RankedTensorType>(t.value.getType()).getElementType()),
        [&](int64_t i) { return double(i / n % n == i % n); }); // row == column
    Value masked = c.create<MulOp>(t.value, eye);
    t.value = c.create<ReduceSumOp>(masked, c.b.getDenseI64ArrayAttr({(int64_t)q}), c.b.getBoolAttr(false));
    t.labels.erase(q, 1);
    --p; // The label may repeat a third time.
  }
  return t;
}

/// Sums away the labels not in `keep`.
Term Einsum::sumOut(Term t, const std::string &keep) {
  SmallVector<int64_t> axes;
  std::string kept;
  for (auto [d, label] : llvm::enumerate(t.labels)) {
    if (keep.find(label) == std::string::npos)
      axes.push_back(d);
    else
      kept += label;
  }
  if (axes.empty())
    return t;
  return {c.create<ReduceSumOp>(t.value, c.b.getDenseI64ArrayAttr(axes), c.b.getBoolAttr(false)), kept};
}

/// a x b as one batched matmul: [batch, aFree, contracted] x [batch, contracted, bFree].
Term Einsum::contract(Term a, Term b, const std::string &keep) {
  std::string batch, aFree, bFree, contracted;
  for (char label : a.labels) {
    bool inB = b.labels.find(label) != std::string::npos;
    bool kept = keep.find(label) != std::string::npos;
    (inB ? (kept ? batch : contracted) : aFree) += label;
  }
  for (char label : b.labels)
    if (a.labels.find(label) == std::string::npos)
      bFree += label;
  auto product = [&](const std::string &labels) {
    int64_t n = 1;
    for (char label : labels)
      n *= sizes[label];
    return n;
  };
  auto arrange = [&](Term t, const std::string &order, ArrayRef<int64_t> shape) {
    SmallVector<int64_t> perm;
    for (char label : order)
      perm.push_back(t.labels.find(label));
    return c.reshape(transpose(t.value, perm), shape);
  };
  int64_t nb = product(batch), na = product(aFree), nb2 = product(bFree), nk = product(contracted);
  Value lhs = arrange(a, batch + aFree + contracted, {nb, na, nk});
  Value rhs = arrange(b, batch + contracted + bFree, {nb, nk, nb2});
  std::string labels = batch + aFree + bFree;
  SmallVector<int64_t> shape;
  for (char label : labels)
    shape.push_back(sizes[label]);
  return {c.reshape(c.create<MatMulOp>(lhs, rhs), shape), labels};
}

LogicalResult Einsum::build(SmallVectorImpl<Value> &out) {
  if (c.numInputs() == 0)
    return c.fail("needs at least one input");
  Type et = c.type(0).getElementType();
  if (!isa<FloatType>(et))
    return c.fail("only floating-point inputs are supported");
  for (size_t i = 0; i < c.numInputs(); ++i)
    if (c.type(i).getElementType() != et)
      return c.fail("operands differ in element type");
  if (failed(parse(c.getString("equation", ""))))
    return failure();
  // Labels each step must keep: the output's and those of operands still to come.
  auto needed = [&](size_t after) {
    std::string keep = output;
    for (size_t j = after; j < inputs.size(); ++j)
      keep += inputs[j];
    return keep;
  };
  Term acc = sumOut(diagonals({c.input(0), inputs[0]}), needed(1) + (inputs.size() > 1 ? inputs[1] : ""));
  for (size_t i = 1; i < inputs.size(); ++i) {
    Term next = sumOut(diagonals({c.input(i), inputs[i]}), needed(i + 1) + acc.labels);
    acc = contract(acc, next, needed(i + 1));
  }
  acc = sumOut(acc, output);
  SmallVector<int64_t> perm;
  for (char label : output)
    perm.push_back(acc.labels.find(label));
  Value result = acc.value;
  if (!llvm::equal(perm, llvm::seq<int64_t>(0, perm.size())))
    result = transpose(result, perm);
  out.push_back(result);
  return success();
}

} // namespace

void onnx_import::addEinsumImporter(ImporterTable &t) {
  t["Einsum"] = [](NodeContext &c, SmallVectorImpl<Value> &out) { return Einsum(c).build(out); };
}
