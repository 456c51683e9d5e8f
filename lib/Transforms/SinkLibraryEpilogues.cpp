// kiln-sink-library-epilogues: the end of a fusion that a library call cannot take
// (a ReLU6's clip after a cuDNN convolution) moves into the fusions that read its
// result, which recompute it as they load, instead of running as a kernel of its own
// over the library's output.
#include "kiln/Transforms/Passes.h"

#include "mlir/IR/IRMapping.h"

namespace kiln {
#define GEN_PASS_DEF_KILNSINKLIBRARYEPILOGUES
#include "kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

bool kiln::isCheapEpilogueOp(Operation *op) {
  return isa<ClipOp, ReluOp, MaxOp, MinOp, AddOp, SubOp, MulOp, NegOp, AbsOp>(op);
}

namespace {

/// A consumer recomputes the moved ops once per read, so only a few arithmetic
/// instructions move, and only into consumers that read each element at most this
/// often (a depthwise 3x3 filter: 9 times).
constexpr int64_t kMaxReads = 32;

bool isElementwiseConsumer(Operation *op) {
  return isa<NegOp, AbsOp, ExpOp, LogOp, SqrtOp, ReciprocalOp, TanhOp, SigmoidOp, ReluOp, ErfOp,
             ClipOp, AddOp, SubOp, MulOp, DivOp, PowOp, MaxOp, MinOp>(op);
}

StringRef libraryOf(Operation *op) {
  auto kernel = op->getAttrOfType<StringAttr>("kiln.gpu_kernel");
  return kernel && (kernel.getValue() == "cudnn" || kernel.getValue() == "cublaslt") ? kernel.getValue()
                                                                                         : StringRef();
}

/// The fusion's library call, if it has one.
Operation *libraryOpIn(FusionOp fusion) {
  Operation *found = nullptr;
  fusion.getBody().walk([&](Operation *op) {
    if (!libraryOf(op).empty())
      found = op;
  });
  return found;
}

/// How many times `conv` reads each element of its input: every filter of the group
/// over every window position covering it.
int64_t readsPerInput(ConvOp conv) {
  auto weight = cast<ShapedType>(conv.getWeight().getType());
  if (!weight.hasStaticShape())
    return INT64_MAX;
  int64_t reads = weight.getShape().front() / conv.getGroups();
  for (auto [size, stride] : llvm::zip(weight.getShape().drop_front(2), conv.getStrides()))
    reads *= std::max<int64_t>(1, (size + stride - 1) / stride);
  return reads;
}

/// Whether a fusion without library calls may read `arg` through recomputed ops:
/// elementwise ops that do not broadcast it, and convolutions that read each element
/// a few times.
bool canRecompute(BlockArgument arg) {
  int64_t elements = cast<ShapedType>(arg.getType()).getNumElements();
  return llvm::all_of(arg.getUsers(), [&](Operation *user) {
    if (isElementwiseConsumer(user))
      return cast<ShapedType>(user->getResult(0).getType()).getNumElements() == elements;
    auto conv = dyn_cast<ConvOp>(user);
    return conv && conv.getInput() == arg && conv.getWeight() != arg && conv.getBias() != arg &&
           readsPerInput(conv) <= kMaxReads;
  });
}

/// The library's own epilogue after `library`'s result: the chain of adds (a bias, a
/// residual) and one final ReLU that cuDNN's fused call and cuBLASLt's epilogues take.
/// Returns the last value of that chain.
Value libraryResultWithEpilogue(Operation *library) {
  Value value = library->getResult(0);
  while (value.hasOneUse()) {
    Operation *user = *value.getUsers().begin();
    if (isa<ReluOp>(user))
      return user->getResult(0);
    auto add = dyn_cast<AddOp>(user);
    if (!add || add.getLhs() == add.getRhs() || add.getType() != value.getType())
      return value;
    value = add.getResult();
  }
  return value;
}

struct Tail {
  Value libraryValue;             // what the fusion yields afterwards
  SmallVector<Operation *> ops;   // what moves, in block order
};

/// The ops of `fusion` after its library call's epilogue, if they are cheap elementwise
/// ops computing the fusion's one result from that value, constants and inputs.
std::optional<Tail> tailOf(FusionOp fusion) {
  Operation *library = libraryOpIn(fusion);
  if (!library || library->getParentOp() != fusion || fusion->getNumResults() != 1)
    return std::nullopt;
  Tail tail{libraryResultWithEpilogue(library), {}};
  Block &body = fusion.getBody().front();
  Operation *yield = body.getTerminator();
  if (yield->getOperand(0) == tail.libraryValue)
    return std::nullopt;
  for (Operation *op = tail.libraryValue.getDefiningOp()->getNextNode(); op != yield; op = op->getNextNode()) {
    if (isa<ConstantOp>(op))
      continue;
    if (!isCheapEpilogueOp(op))
      return std::nullopt;
    tail.ops.push_back(op);
  }
  // Every moved op reads the library's value, moved ops, constants and inputs, and is
  // used only by moved ops or the yield; their result keeps the type.
  DenseSet<Operation *> moved(tail.ops.begin(), tail.ops.end());
  for (Operation *op : tail.ops) {
    for (Value operand : op->getOperands()) {
      Operation *def = operand.getDefiningOp();
      if (operand != tail.libraryValue && !moved.contains(def) && !isa_and_nonnull<ConstantOp>(def) &&
          !(isa<BlockArgument>(operand) && cast<BlockArgument>(operand).getOwner() == &body))
        return std::nullopt;
    }
    for (Operation *user : op->getUsers())
      if (!moved.contains(user) && user != yield)
        return std::nullopt;
  }
  if (yield->getOperand(0).getType() != tail.libraryValue.getType())
    return std::nullopt;
  return tail;
}

/// Moves `tail` out of `fusion` into every consumer (all fusions without library calls
/// that can recompute it), or does nothing.
bool sink(FusionOp fusion, const Tail &tail) {
  Value result = fusion->getResult(0);
  SmallVector<std::pair<FusionOp, unsigned>> reads;
  for (OpOperand &use : result.getUses()) {
    auto consumer = dyn_cast<FusionOp>(use.getOwner());
    if (!consumer || libraryOpIn(consumer) || llvm::count(consumer.getInputs(), result) != 1 ||
        !canRecompute(consumer.getBody().getArgument(use.getOperandNumber())))
      return false;
    reads.push_back({consumer, use.getOperandNumber()});
  }
  if (reads.empty())
    return false;

  Block &body = fusion.getBody().front();
  Value tailResult = body.getTerminator()->getOperand(0);
  for (auto [consumer, index] : reads) {
    Block &inner = consumer.getBody().front();
    // Consumer arguments for the fusion's result and for the outer values the tail
    // reads (the fusion's own inputs).
    auto argumentFor = [&](Value outer) -> Value {
      for (auto [i, input] : llvm::enumerate(consumer.getInputs()))
        if (input == outer && i != index)
          return inner.getArgument(i);
      consumer.getInputsMutable().append(outer);
      return inner.addArgument(outer.getType(), outer.getLoc());
    };
    IRMapping mapping;
    mapping.map(tail.libraryValue, argumentFor(result));
    OpBuilder builder = OpBuilder::atBlockBegin(&inner);
    for (Operation *op : tail.ops)
      for (Value operand : op->getOperands()) {
        if (mapping.contains(operand))
          continue;
        if (auto arg = dyn_cast<BlockArgument>(operand); arg && arg.getOwner() == &body)
          mapping.map(operand, argumentFor(fusion.getInputs()[arg.getArgNumber()]));
        else if (operand.getDefiningOp<ConstantOp>())
          mapping.map(operand, builder.clone(*operand.getDefiningOp())->getResult(0));
      }
    for (Operation *op : tail.ops)
      builder.clone(*op, mapping);
    inner.getArgument(index).replaceAllUsesWith(mapping.lookup(tailResult));
    consumer.getInputsMutable().erase(index);
    inner.eraseArgument(index);
  }
  body.getTerminator()->setOperand(0, tail.libraryValue);
  for (Operation *op : llvm::reverse(tail.ops))
    op->erase();
  return true;
}

struct KilnSinkLibraryEpilogues : kiln::impl::KilnSinkLibraryEpiloguesBase<KilnSinkLibraryEpilogues> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<FusionOp> fusions;
    getOperation().walk([&](FusionOp fusion) { fusions.push_back(fusion); });
    for (FusionOp fusion : fusions) {
      std::optional<Tail> tail = tailOf(fusion);
      if (!tail || !sink(fusion, *tail))
        continue;
      // Constants the moved ops read may now be dead here.
      for (Operation &op : llvm::make_early_inc_range(llvm::reverse(fusion.getBody().front())))
        if (isa<ConstantOp>(op) && op.use_empty())
          op.erase();
    }
  }
};

} // namespace
