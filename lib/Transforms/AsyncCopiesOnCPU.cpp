// cp.async on the CPU, for kiln-gpu-launches-on-cpu: each copy
// (nvgpu.device_async_copy) reads its source where it is issued, as the hardware may,
// and keeps the values in per-thread arrays; its destination holds a poison value
// until the cp.async.wait_group that retires the copy's group (all but the newest N
// that the thread committed) stores them there. So a thread that reads a stage of
// shared memory before its own wait, or a wait that retires too little, computes with
// the poison; a stage overwritten while other threads still read it (a missing
// barrier) shows as before.
#include "AsyncCopiesOnCPU.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;

namespace {

/// Large enough to ruin any sum it enters, small enough that the product of two
/// stays finite: infinities could make NaN sums, which the tensor-core kernel
/// computes again from global memory, hiding the read.
constexpr double kPoison = 1e10;

struct AsyncCopies {
  gpu::LaunchOp launch;
  Location loc;
  SmallVector<nvgpu::DeviceAsyncCopyOp> copies;
  SmallVector<NVVM::CpAsyncCommitGroupOp> commits;
  SmallVector<NVVM::CpAsyncWaitGroupOp> waits;
  llvm::SetVector<Value> targets; // the copies' destinations
  int64_t targetOf(Value target) { return llvm::find(targets, target) - targets.begin(); }
  SmallVector<int64_t> runs;      // elements per copy, per destination
  Type element;
  /// Per thread: the groups committed, and the pending copies, in slots of `slots`
  /// (group % groupSlots, copy): group (-1: none), destination, indices, values.
  Value committed, groups, destinations, indices, values;
  int64_t groupSlots = 0, slots = 0, rank = 0, longest = 0;

  explicit AsyncCopies(gpu::LaunchOp launch) : launch(launch), loc(launch.getLoc()) {}

  Value index(OpBuilder &b, int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value i64(OpBuilder &b, int64_t v) { return arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(v)); }

  LogicalResult collect() {
    launch.getBody().walk([&](Operation *op) {
      if (auto copy = dyn_cast<nvgpu::DeviceAsyncCopyOp>(op))
        copies.push_back(copy);
      else if (auto commit = dyn_cast<NVVM::CpAsyncCommitGroupOp>(op))
        commits.push_back(commit);
      else if (auto wait = dyn_cast<NVVM::CpAsyncWaitGroupOp>(op))
        waits.push_back(wait);
    });
    Region &body = launch.getBody();
    for (nvgpu::DeviceAsyncCopyOp copy : copies) {
      if (!copy.getAsyncToken().use_empty())
        return copy.emitError("kiln-gpu-launches-on-cpu: a cp.async whose token is used (nvgpu groups) "
                              "does not run on the CPU; commit and wait with nvvm.cp.async ops");
      auto source = cast<MemRefType>(copy.getSrc().getType());
      SmallVector<int64_t> strides;
      int64_t offset;
      if (failed(source.getStridesAndOffset(strides, offset)) || ShapedType::isDynamic(offset) ||
          llvm::any_of(strides, ShapedType::isDynamic) || !source.hasStaticShape())
        return copy.emitError("kiln-gpu-launches-on-cpu: a cp.async from a buffer of dynamic shape or layout "
                              "does not run on the CPU");
      // The waits land copies into their destinations: those must be there.
      Value target = copy.getDst();
      bool everywhere = isa<BlockArgument>(target) ? target.getParentRegion() == &body
                                                   : !body.isAncestor(target.getParentRegion());
      Type type = copy.getDst().getType().getElementType();
      if (!everywhere || !isa<FloatType>(type) || (element && type != element))
        return copy.emitError("kiln-gpu-launches-on-cpu: a cp.async runs on the CPU into shared memory of the "
                              "launch, all of one float type");
      element = type;
      int64_t run = copy.getDstElements().getSExtValue();
      if (targets.insert(target))
        runs.push_back(run);
      else if (runs[targetOf(target)] != run)
        return copy.emitError("kiln-gpu-launches-on-cpu: cp.async copies into one buffer of different sizes "
                              "do not run on the CPU");
      rank = std::max<int64_t>(rank, copy.getDstIndices().size());
      longest = std::max(longest, run);
    }
    if (!copies.empty() && waits.empty())
      return copies.front().emitError("kiln-gpu-launches-on-cpu: a cp.async never waited for");
    return success();
  }

  /// The per-thread arrays, before the launch; their start, at the top of its body.
  void allocate(Value &tid) {
    int64_t newest = 0;
    for (NVVM::CpAsyncWaitGroupOp wait : waits)
      newest = std::max<int64_t>(newest, wait.getN());
    // A slot per copy and group that may be pending at once: the newest N, the one
    // being copied, and one to spare (a slot still taken is landed first).
    groupSlots = newest + 2;
    slots = groupSlots * copies.size();
    OpBuilder b(launch);
    gpu::KernelDim3 size = launch.getBlockSizeOperandValues();
    Value threads = arith::MulIOp::create(b, loc, arith::MulIOp::create(b, loc, size.x, size.y), size.z);
    auto array = [&](ArrayRef<int64_t> shape, Type type) {
      SmallVector<int64_t> all{ShapedType::kDynamic};
      all.append(shape.begin(), shape.end());
      return memref::AllocaOp::create(b, loc, MemRefType::get(all, type), ValueRange{threads}).getResult();
    };
    committed = array({}, b.getI64Type());
    groups = array({slots}, b.getI64Type());
    destinations = array({slots}, b.getIndexType());
    indices = array({slots, rank}, b.getIndexType());
    values = array({slots, longest}, element);

    b.setInsertionPointToStart(&launch.getBody().front());
    gpu::KernelDim3 id = launch.getThreadIds(), dim = launch.getBlockSize();
    tid = arith::AddIOp::create(
        b, loc, id.x,
        arith::MulIOp::create(b, loc, dim.x,
                              arith::AddIOp::create(b, loc, id.y, arith::MulIOp::create(b, loc, dim.y, id.z))));
    memref::StoreOp::create(b, loc, i64(b, 0), committed, ValueRange{tid});
    auto clear = scf::ForOp::create(b, loc, index(b, 0), index(b, slots), index(b, 1));
    b.setInsertionPointToStart(clear.getBody());
    memref::StoreOp::create(b, loc, i64(b, -1), groups, ValueRange{tid, clear.getInductionVar()});
  }

  /// Stores the pending copy in `slot` into its destination and frees the slot.
  void land(OpBuilder &b, Value tid, Value slot) {
    Value target = memref::LoadOp::create(b, loc, destinations, ValueRange{tid, slot});
    auto which = scf::IndexSwitchOp::create(b, loc, TypeRange{}, target,
                                            llvm::to_vector(llvm::seq<int64_t>(0, targets.size())), targets.size());
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&which.getDefaultRegion().emplaceBlock());
    scf::YieldOp::create(b, loc);
    for (auto [d, target] : llvm::enumerate(targets)) {
      b.setInsertionPointToStart(&which.getCaseRegions()[d].emplaceBlock());
      int64_t targetRank = cast<MemRefType>(target.getType()).getRank();
      SmallVector<Value> at;
      for (int64_t r = 0; r < targetRank; ++r)
        at.push_back(memref::LoadOp::create(b, loc, indices, ValueRange{tid, slot, index(b, r)}));
      Value last = at.back();
      for (int64_t e = 0; e < runs[d]; ++e) {
        at.back() = arith::AddIOp::create(b, loc, last, index(b, e));
        Value value = memref::LoadOp::create(b, loc, values, ValueRange{tid, slot, index(b, e)});
        memref::StoreOp::create(b, loc, value, target, at);
      }
      scf::YieldOp::create(b, loc);
    }
    b.setInsertionPointAfter(which);
    memref::StoreOp::create(b, loc, i64(b, -1), groups, ValueRange{tid, slot});
  }

  /// Copy `j`: its values read and kept in its slot, its destination poisoned.
  void issue(unsigned j, Value tid) {
    nvgpu::DeviceAsyncCopyOp copy = copies[j];
    OpBuilder b(copy);
    Value group = memref::LoadOp::create(b, loc, committed, ValueRange{tid});
    Value slot = arith::AddIOp::create(
        b, loc,
        arith::MulIOp::create(
            b, loc,
            arith::IndexCastOp::create(b, loc, b.getIndexType(), arith::RemUIOp::create(b, loc, group, i64(b, groupSlots))),
            index(b, copies.size())),
        index(b, j));
    Value taken = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge,
                                        memref::LoadOp::create(b, loc, groups, ValueRange{tid, slot}), i64(b, 0));
    auto first = scf::IfOp::create(b, loc, taken, /*withElseRegion=*/false);
    {
      OpBuilder inner = first.getThenBodyBuilder();
      land(inner, tid, slot);
    }
    // A run may cross the source's inner dimensions where they nest (a filter's
    // window): its elements are read through a flat view, at the first one's offset
    // and on; past the source count they are zero, and not read.
    auto source = cast<MemRefType>(copy.getSrc().getType());
    SmallVector<int64_t> strides;
    int64_t offset;
    (void)source.getStridesAndOffset(strides, offset);
    int64_t span = 1;
    for (auto [size, stride] : llvm::zip_equal(source.getShape(), strides))
      span += (size - 1) * stride;
    auto flatType = MemRefType::get({span}, element, StridedLayoutAttr::get(b.getContext(), offset, {1}));
    Value flat = memref::ReinterpretCastOp::create(b, loc, flatType, copy.getSrc(), offset, ArrayRef<int64_t>{span},
                                                   ArrayRef<int64_t>{1});
    Value from = index(b, 0);
    for (auto [at, stride] : llvm::zip_equal(copy.getSrcIndices(), strides))
      from = arith::AddIOp::create(b, loc, from, arith::MulIOp::create(b, loc, at, index(b, stride)));
    Value poison = arith::ConstantOp::create(b, loc, FloatAttr::get(element, kPoison));
    for (int64_t e = 0; e < copy.getDstElements().getSExtValue(); ++e) {
      Value step = index(b, e);
      Value value;
      if (Value count = copy.getSrcElements()) {
        Value read = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, step, count);
        auto load = scf::IfOp::create(b, loc, TypeRange{element}, read, /*withElseRegion=*/true);
        OpBuilder inner = load.getThenBodyBuilder();
        scf::YieldOp::create(inner, loc,
                             memref::LoadOp::create(inner, loc, flat, ValueRange{arith::AddIOp::create(inner, loc, from, step)})
                                 .getResult());
        inner = load.getElseBodyBuilder();
        scf::YieldOp::create(inner, loc, arith::ConstantOp::create(inner, loc, b.getZeroAttr(element)).getResult());
        value = load.getResult(0);
      } else {
        value = memref::LoadOp::create(b, loc, flat, ValueRange{arith::AddIOp::create(b, loc, from, step)});
      }
      memref::StoreOp::create(b, loc, value, values, ValueRange{tid, slot, step});
      SmallVector<Value> to(copy.getDstIndices());
      to.back() = arith::AddIOp::create(b, loc, to.back(), step);
      memref::StoreOp::create(b, loc, poison, copy.getDst(), to);
    }
    memref::StoreOp::create(b, loc, index(b, targetOf(copy.getDst())), destinations, ValueRange{tid, slot});
    for (auto [r, at] : llvm::enumerate(copy.getDstIndices()))
      memref::StoreOp::create(b, loc, at, indices, ValueRange{tid, slot, index(b, r)});
    memref::StoreOp::create(b, loc, group, groups, ValueRange{tid, slot});
    copy.erase();
  }

  void commit(NVVM::CpAsyncCommitGroupOp op, Value tid) {
    OpBuilder b(op);
    Value count = memref::LoadOp::create(b, loc, committed, ValueRange{tid});
    memref::StoreOp::create(b, loc, arith::AddIOp::create(b, loc, count, i64(b, 1)), committed, ValueRange{tid});
    op.erase();
  }

  /// Lands every pending copy of a group older than the newest N committed.
  void wait(NVVM::CpAsyncWaitGroupOp op, Value tid) {
    OpBuilder b(op);
    Value limit = arith::SubIOp::create(b, loc, memref::LoadOp::create(b, loc, committed, ValueRange{tid}),
                                        i64(b, op.getN()));
    auto loop = scf::ForOp::create(b, loc, index(b, 0), index(b, slots), index(b, 1));
    b.setInsertionPointToStart(loop.getBody());
    Value slot = loop.getInductionVar();
    Value group = memref::LoadOp::create(b, loc, groups, ValueRange{tid, slot});
    Value due = arith::AndIOp::create(b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, group, i64(b, 0)),
                                      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, group, limit));
    auto ifDue = scf::IfOp::create(b, loc, due, /*withElseRegion=*/false);
    OpBuilder inner = ifDue.getThenBodyBuilder();
    land(inner, tid, slot);
    op.erase();
  }
};

} // namespace

LogicalResult kiln::landAsyncCopiesAtWaits(gpu::LaunchOp launch) {
  AsyncCopies pipeline(launch);
  if (failed(pipeline.collect()))
    return failure();
  if (pipeline.copies.empty()) {
    for (Operation *op : pipeline.commits)
      op->erase();
    for (Operation *op : pipeline.waits)
      op->erase();
    return success();
  }
  Value tid;
  pipeline.allocate(tid);
  for (unsigned j = 0; j < pipeline.copies.size(); ++j)
    pipeline.issue(j, tid);
  for (NVVM::CpAsyncCommitGroupOp op : pipeline.commits)
    pipeline.commit(op, tid);
  for (NVVM::CpAsyncWaitGroupOp op : pipeline.waits)
    pipeline.wait(op, tid);
  return success();
}
