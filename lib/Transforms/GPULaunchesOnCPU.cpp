// kiln-gpu-launches-on-cpu: runs each gpu.launch on the CPU as loops over its blocks
// and threads, keeping what the threads of a block share: the kernel body is cut into
// phases at its barriers and all_reduces, and every thread of a block finishes one
// phase before any starts the next. An all_reduce combines the values its threads
// left in an array; a value a later phase reads is computed again there when that is
// free of memory effects, and otherwise kept per thread in an array.
#include "kiln/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace kiln {
#define GEN_PASS_DEF_KILNGPULAUNCHESONCPU
#include "kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// `acc` combined with `value` as `op` does.
Value combine(OpBuilder &b, Location loc, gpu::AllReduceOperation op, Value acc, Value value) {
  using Op = gpu::AllReduceOperation;
  switch (op) {
  case Op::ADD:
    return isa<FloatType>(acc.getType()) ? arith::AddFOp::create(b, loc, acc, value).getResult()
                                         : arith::AddIOp::create(b, loc, acc, value).getResult();
  case Op::MUL:
    return isa<FloatType>(acc.getType()) ? arith::MulFOp::create(b, loc, acc, value).getResult()
                                         : arith::MulIOp::create(b, loc, acc, value).getResult();
  case Op::MINUI: return arith::MinUIOp::create(b, loc, acc, value);
  case Op::MINSI: return arith::MinSIOp::create(b, loc, acc, value);
  case Op::MINNUMF: return arith::MinNumFOp::create(b, loc, acc, value);
  case Op::MAXUI: return arith::MaxUIOp::create(b, loc, acc, value);
  case Op::MAXSI: return arith::MaxSIOp::create(b, loc, acc, value);
  case Op::MAXNUMF: return arith::MaxNumFOp::create(b, loc, acc, value);
  case Op::AND: return arith::AndIOp::create(b, loc, acc, value);
  case Op::OR: return arith::OrIOp::create(b, loc, acc, value);
  case Op::XOR: return arith::XOrIOp::create(b, loc, acc, value);
  case Op::MINIMUMF: return arith::MinimumFOp::create(b, loc, acc, value);
  case Op::MAXIMUMF: return arith::MaximumFOp::create(b, loc, acc, value);
  }
  llvm_unreachable("all_reduce operation");
}

/// An op a later phase may compute again instead of reading: no memory effects, no
/// regions.
bool recomputable(Operation *op) { return op->getNumRegions() == 0 && isMemoryEffectFree(op); }

struct LaunchEmulator {
  gpu::LaunchOp launch;
  Location loc;
  /// The body's top-level ops, phase by phase; a phase ends at a barrier or at an
  /// all_reduce (then in `reductions`, null after a barrier or at the end).
  SmallVector<SmallVector<Operation *>> phases{{}};
  SmallVector<gpu::AllReduceOp> reductions;
  DenseMap<Operation *, unsigned> phaseOf;
  /// Per-thread arrays: the values kept for a later phase, each all_reduce's operands.
  DenseMap<Value, Value> kept;
  DenseMap<Operation *, Value> partials;

  explicit LaunchEmulator(gpu::LaunchOp launch) : launch(launch), loc(launch.getLoc()) {}

  LogicalResult split() {
    if (!launch.getWorkgroupAttributions().empty() || !launch.getPrivateAttributions().empty() ||
        launch.getAsyncToken() || launch.getClusterSize() || !launch.getBody().hasOneBlock())
      return launch.emitError("kiln-gpu-launches-on-cpu: only synchronous launches of one block "
                              "without memory attributions or clusters run on the CPU");
    for (Operation &op : launch.getBody().front().without_terminator()) {
      if (isa<gpu::BarrierOp>(op)) {
        reductions.push_back(nullptr);
        phases.emplace_back();
        continue;
      }
      if (auto reduce = dyn_cast<gpu::AllReduceOp>(op)) {
        if (!reduce.getOp() || !reduce.getBody().empty())
          return reduce.emitError("kiln-gpu-launches-on-cpu: an all_reduce with a body does not run on the CPU");
        phaseOf[&op] = phases.size() - 1;
        reductions.push_back(reduce);
        phases.emplace_back();
        continue;
      }
      // Threads meet only at the top level of the body, where phases can end.
      WalkResult nested = op.walk([](Operation *inner) {
        return isa<gpu::BarrierOp, gpu::AllReduceOp, gpu::ShuffleOp, gpu::SubgroupReduceOp>(inner)
                   ? WalkResult::interrupt()
                   : WalkResult::advance();
      });
      if (nested.wasInterrupted())
        return op.emitError("kiln-gpu-launches-on-cpu: threads meet inside control flow; cannot run on the CPU");
      phaseOf[&op] = phases.size() - 1;
      phases.back().push_back(&op);
    }
    reductions.push_back(nullptr);
    return success();
  }

  /// The top-level op of the body holding `op`.
  Operation *topLevel(Operation *op) {
    Block *body = &launch.getBody().front();
    while (op && op->getBlock() != body)
      op = op->getParentOp();
    return op;
  }

  /// Whether a phase after `def`'s reads `value`, directly or through ops it would
  /// compute again.
  bool readLater(Value value, unsigned phase) {
    auto [known, inserted] = readsLater.try_emplace(value, false);
    if (!inserted)
      return known->second;
    bool later = llvm::any_of(value.getUses(), [&](OpOperand &use) {
      Operation *user = topLevel(use.getOwner());
      if (!user || isa<gpu::TerminatorOp>(user))
        return false;
      return phaseOf.lookup(user) != phase ||
             (recomputable(user) && llvm::any_of(user->getResults(), [&](Value r) { return readLater(r, phase); }));
    });
    readsLater[value] = later;
    return later;
  }
  DenseMap<Value, bool> readsLater; // memo: each value is only asked about its own phase

  /// gpu.thread_id and the like as the launch's own arguments.
  void useLaunchArguments() {
    gpu::KernelDim3 dims[] = {launch.getThreadIds(), launch.getBlockIds(), launch.getBlockSize(), launch.getGridSize()};
    auto pick = [](gpu::KernelDim3 dim, gpu::Dimension d) {
      return d == gpu::Dimension::x ? dim.x : d == gpu::Dimension::y ? dim.y : dim.z;
    };
    launch.getBody().walk([&](Operation *op) {
      Value arg;
      if (auto id = dyn_cast<gpu::ThreadIdOp>(op))
        arg = pick(dims[0], id.getDimension());
      else if (auto id = dyn_cast<gpu::BlockIdOp>(op))
        arg = pick(dims[1], id.getDimension());
      else if (auto dim = dyn_cast<gpu::BlockDimOp>(op))
        arg = pick(dims[2], dim.getDimension());
      else if (auto dim = dyn_cast<gpu::GridDimOp>(op))
        arg = pick(dims[3], dim.getDimension());
      if (arg)
        op->getResult(0).replaceAllUsesWith(arg);
    });
  }

  LogicalResult run() {
    useLaunchArguments();
    if (failed(split()))
      return failure();
    OpBuilder b(launch);
    auto index = [&](int64_t v) { return arith::ConstantIndexOp::create(b, loc, v).getResult(); };
    Value zero = index(0), one = index(1);
    gpu::KernelDim3 grid = launch.getGridSizeOperandValues(), block = launch.getBlockSizeOperandValues();
    Value threads = arith::MulIOp::create(b, loc, arith::MulIOp::create(b, loc, block.x, block.y), block.z);
    auto arrayFor = [&](Value value) -> FailureOr<Value> {
      Type type = value.getType();
      if (!type.isIntOrIndexOrFloat())
        return launch.emitError("kiln-gpu-launches-on-cpu: a value of type ")
               << type << " is read across a barrier; cannot run on the CPU";
      return memref::AllocaOp::create(b, loc, MemRefType::get({ShapedType::kDynamic}, type), threads).getResult();
    };
    for (auto [phase, ops] : llvm::enumerate(phases))
      for (Operation *op : ops)
        if (!recomputable(op))
          for (Value result : op->getResults())
            if (readLater(result, phase)) {
              FailureOr<Value> array = arrayFor(result);
              if (failed(array))
                return failure();
              kept[result] = *array;
            }
    for (gpu::AllReduceOp reduce : reductions) {
      if (!reduce)
        continue;
      FailureOr<Value> array = arrayFor(reduce.getValue());
      if (failed(array))
        return failure();
      partials[reduce] = *array;
    }

    // Loops z, y, x over `extents` at the insertion point, which moves into the
    // innermost; launch arguments `ids` map to the indices they count, last first
    // where `reversed` holds. Returns those indices and the outermost loop.
    auto loops = [&](gpu::KernelDim3 extents, gpu::KernelDim3 ids, IRMapping &map, Value reversed) {
      gpu::KernelDim3 ivs;
      Operation *outermost = nullptr;
      for (auto [extent, id, iv] : {std::tie(extents.z, ids.z, ivs.z), std::tie(extents.y, ids.y, ivs.y),
                                    std::tie(extents.x, ids.x, ivs.x)}) {
        auto loop = scf::ForOp::create(b, loc, zero, extent, one);
        outermost = outermost ? outermost : loop.getOperation();
        b.setInsertionPointToStart(loop.getBody());
        iv = loop.getInductionVar();
        if (reversed) {
          Value last = arith::SubIOp::create(b, loc, arith::SubIOp::create(b, loc, extent, one), iv);
          iv = arith::SelectOp::create(b, loc, reversed, last, iv);
        }
        map.map(id, iv);
      }
      return std::make_pair(ivs, outermost);
    };
    IRMapping perBlock;
    gpu::KernelDim3 gridArgs = launch.getGridSize(), blockArgs = launch.getBlockSize();
    Value args[] = {gridArgs.x, gridArgs.y, gridArgs.z, blockArgs.x, blockArgs.y, blockArgs.z};
    Value values[] = {grid.x, grid.y, grid.z, block.x, block.y, block.z};
    for (auto [arg, value] : llvm::zip_equal(args, values))
      perBlock.map(arg, value);
    gpu::KernelDim3 blockIds = loops(grid, launch.getBlockIds(), perBlock, Value()).first;
    // Odd blocks run their threads last first: a thread that reads, within a phase,
    // what another writes (a missing barrier) then reads it stale in one order or
    // the other, whichever thread comes first on the GPU.
    Value odd = arith::TruncIOp::create(
        b, loc, b.getI1Type(), arith::IndexCastOp::create(b, loc, b.getI64Type(), blockIds.x));

    for (auto [phase, ops] : llvm::enumerate(phases)) {
      OpBuilder::InsertionGuard guard(b);
      IRMapping map = perBlock;
      auto [tid, threadLoops] = loops(block, launch.getThreadIds(), map, odd);
      // The thread's index in the block's arrays: (z * by + y) * bx + x.
      Value zy = arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, tid.z, block.y), tid.y);
      Value linear = arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, zy, block.x), tid.x);
      std::function<Value(Value)> materialize = [&](Value value) -> Value {
        if (Value mapped = map.lookupOrNull(value))
          return mapped;
        Operation *def = value.getDefiningOp();
        Operation *top = def ? topLevel(def) : nullptr;
        if (!top || top != def)
          return value; // defined outside the launch, or inside an op being cloned
        if (Value array = kept.lookup(value)) {
          Value loaded = memref::LoadOp::create(b, loc, array, linear);
          map.map(value, loaded);
          return loaded;
        }
        for (Value operand : def->getOperands())
          materialize(operand);
        b.clone(*def, map);
        return map.lookup(value);
      };
      for (Operation *op : ops) {
        op->walk([&](Operation *inner) {
          for (Value operand : inner->getOperands())
            materialize(operand);
        });
        b.clone(*op, map);
        for (Value result : op->getResults())
          if (Value array = kept.lookup(result))
            memref::StoreOp::create(b, loc, map.lookup(result), array, linear);
      }
      gpu::AllReduceOp reduce = reductions[phase];
      if (!reduce)
        continue;
      Value array = partials.lookup(reduce);
      memref::StoreOp::create(b, loc, materialize(reduce.getValue()), array, linear);
      // After every thread of the phase: the combined value, the same for all.
      b.setInsertionPointAfter(threadLoops);
      Value first = memref::LoadOp::create(b, loc, array, zero);
      auto fold = scf::ForOp::create(b, loc, one, threads, one, ValueRange{first});
      {
        OpBuilder::InsertionGuard inner(b);
        b.setInsertionPointToStart(fold.getBody());
        Value next = memref::LoadOp::create(b, loc, array, fold.getInductionVar());
        Value acc = combine(b, loc, *reduce.getOp(), fold.getRegionIterArg(0), next);
        scf::YieldOp::create(b, loc, acc);
      }
      perBlock.map(reduce.getResult(), fold.getResult(0));
    }
    launch.erase();
    return success();
  }
};

struct KilnGPULaunchesOnCPU : kiln::impl::KilnGPULaunchesOnCPUBase<KilnGPULaunchesOnCPU> {
  void runOnOperation() override {
    SmallVector<gpu::LaunchOp> launches;
    getOperation().walk([&](gpu::LaunchOp launch) { launches.push_back(launch); });
    for (gpu::LaunchOp launch : launches)
      if (failed(LaunchEmulator(launch).run()))
        return signalPassFailure();
  }
};

} // namespace
