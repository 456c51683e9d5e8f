// kiln-gpu-row-kernels: a run of generics that work row by row (softmax, layer norm)
// becomes one kernel with a block per row; reductions combine with gpu.all_reduce and
// per-row results stay in registers.
#include "kiln/Transforms/Passes.h"

#include "BufferWalk.h"
#include "KernelBodies.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/IRMapping.h"

namespace kiln {
#define GEN_PASS_DEF_KILNGPUROWKERNELS
#include "kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {

/// One generic of a row kernel, seen from its rows.
struct Step {
  linalg::GenericOp op;
  SmallVector<int64_t> colSizes; // extents of the loops after the row loops
  int64_t cols = 1;
  std::optional<Combiner> combiner; // reductions only
};

/// Whether `map` indexes a buffer by the row loops d0..d(rows-1), in order, as its
/// leading indices, and by column loops alone after them: rows never meet.
bool leadsWithRows(AffineMap map, unsigned rows) {
  if (map.getNumResults() < rows)
    return false;
  for (unsigned i = 0; i < map.getNumResults(); ++i) {
    AffineExpr e = map.getResult(i);
    if (i < rows ? e != getAffineDimExpr(i, map.getContext())
                 : llvm::any_of(llvm::seq(0u, rows), [&](unsigned d) { return e.isFunctionOfDim(d); }))
      return false;
  }
  return true;
}

/// Whether `buffer` holds one element per row: its dimensions after the rows are 1.
bool onePerRow(Value buffer, unsigned rows) {
  auto type = cast<MemRefType>(buffer.getType());
  return llvm::all_of(type.getShape().drop_front(rows), [](int64_t s) { return s == 1; });
}

/// Whether `buffer` is its root or a reshape of it (expand_shape, collapse_shape), with
/// identity layouts and `rows` as its leading dimensions: element (r, ...) of every
/// such view lies in the root's r-th contiguous stretch of equal length.
bool isRowView(Value buffer, ArrayRef<int64_t> rows) {
  auto type = cast<MemRefType>(buffer.getType());
  if (!type.getLayout().isIdentity() || type.getRank() < (int64_t)rows.size() ||
      type.getShape().take_front(rows.size()) != rows)
    return false;
  Operation *def = buffer.getDefiningOp();
  if (!def || !isa<ViewLikeOpInterface>(def))
    return true;
  if (!isa<memref::ExpandShapeOp, memref::CollapseShapeOp>(def))
    return false;
  return isRowView(def->getOperand(0), {});
}

/// The steps of `ops` as a row kernel over `rows`, or nothing if some generic does not
/// keep to its rows.
std::optional<SmallVector<Step>> analyze(ArrayRef<linalg::GenericOp> ops, ArrayRef<int64_t> rows) {
  unsigned numRows = rows.size();
  SmallVector<Step> steps;
  llvm::DenseSet<Value> written; // roots
  for (linalg::GenericOp op : ops) {
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    if (!op.hasPureBufferSemantics() || llvm::any_of(ranges, ShapedType::isDynamic) ||
        ranges.size() < numRows || ArrayRef<int64_t>(ranges).take_front(numRows) != rows)
      return std::nullopt;
    auto iterators = op.getIteratorTypesArray();
    Step step{op, SmallVector<int64_t>(ArrayRef<int64_t>(ranges).drop_front(numRows)), 1, std::nullopt};
    for (int64_t s : step.colSizes)
      step.cols *= s;
    for (unsigned d = 0; d < numRows; ++d)
      if (iterators[d] != utils::IteratorType::parallel)
        return std::nullopt;
    if (op.getNumReductionLoops() > 0) {
      // A reduction over the whole row (every column loop), not a contraction: its
      // inputs vary along the row through one map at most.
      if (op.getNumDpsInits() != 1 ||
          llvm::any_of(llvm::seq(numRows, op.getNumLoops()), [&](unsigned d) {
            return iterators[d] == utils::IteratorType::parallel && ranges[d] != 1;
          }))
        return std::nullopt;
      llvm::SmallDenseSet<AffineMap> varying;
      for (OpOperand *in : op.getDpsInputOperands()) {
        AffineMap map = op.getMatchingIndexingMap(in);
        if (llvm::any_of(llvm::seq(numRows, op.getNumLoops()), [&](unsigned d) { return map.isFunctionOfDim(d); }))
          varying.insert(map);
      }
      step.combiner = matchCombiner(op);
      if (varying.size() > 1 || !step.combiner || !onePerRow(op.getDpsInitOperand(0)->get(), numRows))
        return std::nullopt;
    } else if (step.cols > 1) {
      // Each thread writes its own elements: every column loop indexes every output.
      for (OpOperand &init : op.getDpsInitsMutable()) {
        AffineMap map = op.getMatchingIndexingMap(&init);
        if (!map.isPermutation())
          return std::nullopt;
      }
    }
    for (OpOperand &init : op.getDpsInitsMutable())
      written.insert(rootOf(init.get()));
    steps.push_back(step);
  }
  // Every buffer the run writes is accessed through views of one layout, the rows
  // leading its dimensions and indices: row r's block never touches another's elements.
  for (linalg::GenericOp op : ops)
    for (OpOperand &operand : op->getOpOperands()) {
      if (!isa<MemRefType>(operand.get().getType()))
        continue;
      if (written.contains(rootOf(operand.get())) &&
          (!isRowView(operand.get(), rows) || !leadsWithRows(op.getMatchingIndexingMap(&operand), numRows)))
        return std::nullopt;
    }
  return steps;
}

/// Builds one row kernel: a gpu.launch with a block per row.
class RowKernelBuilder {
public:
  RowKernelBuilder(SmallVector<Step> steps, ArrayRef<int64_t> rows)
      : steps(std::move(steps)), rows(rows), b(this->steps.back().op) {}

  void build() {
    Location loc = steps.front().op.getLoc();
    int64_t blocks = 1, maxCols = 1;
    for (int64_t r : rows)
      blocks *= r;
    for (Step &step : steps)
      maxCols = std::max(maxCols, step.cols);
    planRegisters();
    threads = std::min<int64_t>(256, (maxCols + 31) / 32 * 32);
    auto launch = b.create<gpu::LaunchOp>(loc, constant(blocks), constant(1), constant(1), constant(threads),
                                          constant(1), constant(1));
    b.setInsertionPointToStart(&launch.getBody().front());
    b.create<gpu::TerminatorOp>(loc);
    b.setInsertionPointToStart(&launch.getBody().front());
    tid = launch.getThreadIds().x;
    rowIvs = delinearize(b, loc, launch.getBlockIds().x, rows);
    for (auto [i, step] : llvm::enumerate(steps)) {
      touchedMemory = false;
      if (step.combiner)
        emitReduction(step);
      else if (step.cols == 1)
        emitRowElementwise(step);
      else
        emitElementwise(step);
      if (touchedMemory && i + 1 < steps.size())
        barrier(step.op.getLoc());
    }
    eraseReplaced();
  }

private:
  Value constant(int64_t v) { return b.create<arith::ConstantIndexOp>(b.getUnknownLoc(), v); }

  void barrier(Location loc) { b.create<gpu::BarrierOp>(loc); }

  /// Decides which buffers live in registers only: scratch allocations used by the run
  /// alone (directly or through views) whose every read comes after the row's value is
  /// known. Buffers are named by their roots: the run's views of one root all agree.
  void planRegisters() {
    unsigned numRows = rows.size();
    llvm::DenseSet<Value> inRegister, readFromMemory, storedOverRow;
    llvm::DenseSet<Operation *> members;
    for (Step &step : steps)
      members.insert(step.op);
    for (Step &step : steps) {
      for (OpOperand &operand : step.op->getOpOperands()) {
        bool read = step.op.isDpsInput(&operand) || !step.op.getMatchingBlockArgument(&operand).use_empty();
        if (read && isa<MemRefType>(operand.get().getType()) && !inRegister.contains(rootOf(operand.get())))
          readFromMemory.insert(rootOf(operand.get()));
      }
      for (OpOperand &init : step.op.getDpsInitsMutable()) {
        if (!step.combiner && step.cols > 1)
          storedOverRow.insert(rootOf(init.get())); // stored by the column loop
        if ((step.combiner || step.cols == 1) && onePerRow(init.get(), numRows))
          inRegister.insert(rootOf(init.get()));
        else
          inRegister.erase(rootOf(init.get()));
      }
    }
    std::function<bool(Value)> usedByRunOnly = [&](Value buffer) {
      return llvm::all_of(buffer.getUsers(), [&](Operation *user) {
        if (auto view = dyn_cast<ViewLikeOpInterface>(user))
          return usedByRunOnly(user->getResult(0));
        return members.contains(user) || isa<memref::DeallocOp>(user);
      });
    };
    for (Step &step : steps)
      for (OpOperand &init : step.op.getDpsInitsMutable()) {
        Value root = rootOf(init.get());
        if (root.getDefiningOp<memref::AllocOp>() && !readFromMemory.contains(root) &&
            !storedOverRow.contains(root) && usedByRunOnly(root))
          registerOnly.insert(root);
      }
  }

  /// An operand's value at `ivs`: the row's register where known, else a load.
  Value operandValue(linalg::GenericOp op, OpOperand &operand, ArrayRef<Value> ivs) {
    Value v = operand.get();
    if (!isa<ShapedType>(v.getType()))
      return v;
    if (auto it = known.find(rootOf(v)); it != known.end())
      return it->second;
    touchedMemory = true;
    scalarLoaded = true;
    return operandAt(b, op, operand, ivs);
  }

  /// The loop indices of `step` at column `linear` (or the row alone for cols == 1).
  SmallVector<Value> ivsAt(Step &step, Value linear) {
    SmallVector<Value> ivs(rowIvs);
    if (linear)
      llvm::append_range(ivs, delinearize(b, step.op.getLoc(), linear, step.colSizes));
    else
      for (size_t i = 0; i < step.colSizes.size(); ++i)
        ivs.push_back(constant(0));
    return ivs;
  }

  /// A per-row value: every thread holds it; thread 0 stores it unless it lives in
  /// registers only. A store after loads of the row's values waits for every thread's.
  void setRowValue(Step &step, OpOperand &init, Value value, ArrayRef<Value> ivs) {
    Value buffer = init.get();
    if (onePerRow(buffer, rows.size()))
      known[rootOf(buffer)] = value;
    else
      known.erase(rootOf(buffer));
    if (registerOnly.contains(rootOf(buffer)))
      return;
    Location loc = step.op.getLoc();
    if (scalarLoaded)
      barrier(loc);
    scalarLoaded = false;
    touchedMemory = true;
    SmallVector<Value> indices = indicesAt(b, loc, step.op.getMatchingIndexingMap(&init), ivs);
    Value first = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, tid, constant(0));
    auto ifFirst = b.create<scf::IfOp>(loc, first, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifFirst.thenBlock());
    b.create<memref::StoreOp>(loc, value, buffer, indices);
  }

  /// Threads stride over the row's columns: tid, tid + threads, ...
  scf::ForOp columnLoop(Step &step, ValueRange iterArgs) {
    return b.create<scf::ForOp>(step.op.getLoc(), tid, constant(step.cols), constant(threads), iterArgs);
  }

  void emitReduction(Step &step) {
    linalg::GenericOp op = step.op;
    Location loc = op.getLoc();
    const Combiner &c = *step.combiner;
    Value identity = arith::getIdentityValue(c.kind, c.op->getResult(0).getType(), b, loc);
    auto loop = columnLoop(step, identity);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      SmallVector<Value> ivs = ivsAt(step, loop.getInductionVar());
      IRMapping mapping = evaluatePayload(
          b, op, ivs,
          [&](OpOperand &operand) -> Value { return op.isDpsInit(&operand) ? Value() : operandValue(op, operand, ivs); },
          {c.op});
      b.create<scf::YieldOp>(loc, combine(b, c, loop.getRegionIterArgs()[0], mapping.lookupOrDefault(c.element)));
    }
    Value total = b.create<gpu::AllReduceOp>(loc, loop.getResult(0),
                                             gpu::AllReduceOperationAttr::get(b.getContext(), c.reduce),
                                             /*uniform=*/true);
    // all_reduce waits for every thread's partial result: their loads are done.
    scalarLoaded = touchedMemory = false;
    SmallVector<Value> ivs = ivsAt(step, Value());
    OpOperand &init = *op.getDpsInitOperand(0);
    Value start = operandValue(op, init, ivs);
    setRowValue(step, init, combine(b, c, start, total), ivs);
  }

  void emitRowElementwise(Step &step) {
    linalg::GenericOp op = step.op;
    SmallVector<Value> ivs = ivsAt(step, Value());
    IRMapping mapping =
        evaluatePayload(b, op, ivs, [&](OpOperand &operand) { return operandValue(op, operand, ivs); });
    auto yielded = op.getRegion().front().getTerminator()->getOperands();
    for (auto [init, result] : llvm::zip(op.getDpsInitsMutable(), yielded))
      setRowValue(step, init, mapping.lookupOrDefault(result), ivs);
  }

  void emitElementwise(Step &step) {
    linalg::GenericOp op = step.op;
    Location loc = op.getLoc();
    touchedMemory = true;
    auto loop = columnLoop(step, {});
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPoint(loop.getBody()->getTerminator());
      SmallVector<Value> ivs = ivsAt(step, loop.getInductionVar());
      IRMapping mapping =
          evaluatePayload(b, op, ivs, [&](OpOperand &operand) { return operandValue(op, operand, ivs); });
      auto yielded = op.getRegion().front().getTerminator()->getOperands();
      for (auto [init, result] : llvm::zip(op.getDpsInitsMutable(), yielded))
        b.create<memref::StoreOp>(loc, mapping.lookupOrDefault(result), init.get(),
                                  indicesAt(b, loc, op.getMatchingIndexingMap(&init), ivs));
    }
    for (OpOperand &init : op.getDpsInitsMutable())
      known.erase(rootOf(init.get()));
    scalarLoaded = false;
  }

  /// Erases the generics, and the scratch buffers left without users.
  void eraseReplaced() {
    for (Step &step : steps)
      step.op.erase();
    for (Value root : registerOnly)
      eraseIfUnused(root);
  }

  SmallVector<Step> steps;
  ArrayRef<int64_t> rows;
  OpBuilder b;
  Value tid;
  int64_t threads = 1;
  SmallVector<Value> rowIvs;
  llvm::DenseMap<Value, Value> known; // root → its row's element, in every thread
  llvm::DenseSet<Value> registerOnly; // roots
  bool touchedMemory = false;
  bool scalarLoaded = false; // per-row values were loaded since the last barrier
};

struct KilnGPURowKernels : kiln::impl::KilnGPURowKernelsBase<KilnGPURowKernels> {
  using Base::Base;

  /// Ops that may sit between the generics of a run: they compute nothing on buffers.
  static bool isInert(Operation *op) {
    return isa<memref::AllocOp, memref::DeallocOp, arith::ConstantOp, ViewLikeOpInterface>(op);
  }

  /// The rows of a reduction worth a row kernel: its leading parallel loops.
  std::optional<SmallVector<int64_t>> seedRows(linalg::GenericOp op) {
    if (!op.hasPureBufferSemantics() || op.getNumReductionLoops() == 0)
      return std::nullopt;
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    unsigned numRows = op.getNumParallelLoops();
    int64_t reduced = 1;
    for (int64_t s : ArrayRef<int64_t>(ranges).drop_front(numRows))
      reduced *= s;
    if (reduced < minReduction)
      return std::nullopt;
    // Trailing rows of extent 1 (a reduction kept as a dimension) are columns too.
    while (numRows > 0 && ranges[numRows - 1] == 1)
      --numRows;
    return SmallVector<int64_t>(ArrayRef<int64_t>(ranges).take_front(numRows));
  }

  /// Builds row kernels in one run of generics.
  void rewriteRun(ArrayRef<linalg::GenericOp> run) {
    size_t built = 0; // generics before this one are gone into a kernel
    for (size_t k = 0; k < run.size(); ++k) {
      auto rows = seedRows(run[k]);
      if (!rows || !analyze(run.slice(k, 1), *rows))
        continue;
      size_t lo = k, hi = k + 1;
      while (lo > built && analyze(run.slice(lo - 1, hi - lo + 1), *rows))
        --lo;
      while (hi < run.size() && analyze(run.slice(lo, hi - lo + 1), *rows))
        ++hi;
      SmallVector<Step> steps = *analyze(run.slice(lo, hi - lo), *rows);
      // One pass over the row alone (a lone reduction) is kiln-gpu-block-reductions'.
      if (llvm::count_if(steps, [](const Step &s) { return s.cols > 1; }) < 2)
        continue;
      // The kernel takes the last generic's place: allocations before it are in
      // scope, and deallocations of buffers the earlier ones used go after it.
      Operation *last = steps.back().op;
      for (Operation *op = steps.front().op; op != last;) {
        Operation *next = op->getNextNode();
        if (isa<memref::DeallocOp>(op))
          op->moveAfter(last);
        op = next;
      }
      RowKernelBuilder(std::move(steps), *rows).build();
      built = hi;
      k = hi - 1;
    }
  }

  void runOnOperation() override {
    if (getOperation().isExternal())
      return;
    SmallVector<SmallVector<linalg::GenericOp>> runs(1);
    for (Operation &op : getOperation().getBody().front()) {
      if (auto generic = dyn_cast<linalg::GenericOp>(op))
        runs.back().push_back(generic);
      else if (!isInert(&op) && !runs.back().empty())
        runs.emplace_back();
    }
    for (auto &run : runs)
      rewriteRun(run);
  }
};

} // namespace
