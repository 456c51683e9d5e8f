// kiln-gpu-launches-on-cpu: runs each gpu.launch on the CPU as loops over its blocks
// and threads, keeping what the threads of a block share: the kernel body is cut into
// phases at its barriers and all_reduces (inside loops too: a loop whose body has
// barriers runs once per block, each iteration's phases inside it), and every thread
// of a block finishes one phase before any starts the next. An all_reduce combines
// the values its threads left in an array; a value a later phase reads is computed
// again there when that is free of memory effects, and otherwise kept per thread in
// an array, as are the values such a loop carries. Shared memory is one buffer.
// An mma.sync brings only its warp together: what runs between block meetings with
// mma.syncs in it runs warp by warp. A cp.async lands at the wait that retires it
// (AsyncCopiesOnCPU.cpp).
#include "kiln/Transforms/Passes.h"

#include "AsyncCopiesOnCPU.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
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

/// Whether threads meet (a barrier, a reduction across threads, a warp's
/// matrix multiply) anywhere in `op`.
bool synchronizes(Operation *op) {
  return op->walk([](Operation *inner) {
           return isa<gpu::BarrierOp, gpu::AllReduceOp, gpu::ShuffleOp, gpu::SubgroupReduceOp, NVVM::MmaOp>(inner)
                      ? WalkResult::interrupt()
                      : WalkResult::advance();
         }).wasInterrupted();
}

/// Whether the whole block meets in `op` (a barrier, an all_reduce), not only warps.
bool meetsBlock(Operation *op) {
  return op->walk([](Operation *inner) {
           return isa<gpu::BarrierOp, gpu::AllReduceOp>(inner) ? WalkResult::interrupt() : WalkResult::advance();
         }).wasInterrupted();
}

struct LaunchEmulator {
  gpu::LaunchOp launch;
  Location loc;

  /// A run of ops every thread of a block finishes before any thread starts the next
  /// one: it ends at a barrier, an all_reduce (`reduce`), a run of mma.syncs none of
  /// which reads another's result (`mmas`: the lanes' fragments are stored, and they
  /// are computed warp by warp after the phase), a loop whose body has barriers (`loop`: the loop's initial values are
  /// stored at its end) or the end of a loop body (`yield`: the next iteration's
  /// values are stored).
  struct Phase {
    SmallVector<Operation *> ops;
    gpu::AllReduceOp reduce;
    SmallVector<NVVM::MmaOp> mmas;
    Value mmaArray; // their results: (thread, mma, register)
    scf::ForOp loop;
    scf::YieldOp yield;
  };
  /// What a block runs, in order: phases, and loops over phases (their bodies cut
  /// into phases too), which every thread of a block runs together.
  struct Step {
    unsigned phase = 0;
    scf::ForOp loop;
    std::vector<Step> body;
    /// Whether the whole block meets right before this step (a barrier, an
    /// all_reduce, a loop with them) rather than only each warp (a run of
    /// mma.syncs): steps joined by warp meetings alone run warp by warp.
    bool afterBlock = true;
  };
  SmallVector<Phase> phases;
  std::vector<Step> steps;
  /// The blocks cut into phases: the launch body and the bodies of loops with barriers.
  llvm::SmallPtrSet<Block *, 4> cut;
  DenseMap<Operation *, unsigned> phaseOf;
  /// Per-thread arrays: the values kept for a later phase (and a loop's carried
  /// values, results included), each all_reduce's operands.
  DenseMap<Value, Value> kept;
  DenseMap<Operation *, Value> partials;
  /// Per thread, the A, B and C fragments (4, 2 and 4 registers) of each mma.sync of
  /// a phase; and where each mma.sync result lies: its phase's results array (thread,
  /// mma, register), at that mma and register.
  std::array<Value, 3> fragments;
  DenseMap<Value, std::tuple<Value, int64_t, int64_t>> mmaResults;
  /// Values the same for every thread of a block: launch sizes, block ids, reductions'
  /// results, the induction variables of loops with barriers, shared memory.
  IRMapping uniform;

  explicit LaunchEmulator(gpu::LaunchOp launch) : launch(launch), loc(launch.getLoc()) {}

  unsigned newPhase() {
    phases.emplace_back();
    return phases.size() - 1;
  }

  /// Cuts `block` into phases appended to `into`.
  LogicalResult split(Block &block, std::vector<Step> &into) {
    cut.insert(&block);
    unsigned current = newPhase();
    into.push_back(Step{current});
    auto next = [&](bool afterBlock) {
      current = newPhase();
      into.push_back(Step{current});
      into.back().afterBlock = afterBlock;
    };
    for (Operation &op : block.without_terminator()) {
      if (isa<gpu::BarrierOp>(op)) {
        next(/*afterBlock=*/true);
        continue;
      }
      if (auto mma = dyn_cast<NVVM::MmaOp>(op)) {
        if (failed(checkMma(mma)))
          return failure();
        // One that reads a result of the phase's run starts the next phase.
        if (llvm::any_of(mma->getOperands(), [&](Value operand) {
              auto extract = operand.getDefiningOp<LLVM::ExtractValueOp>();
              return extract && llvm::is_contained(phases[current].mmas, extract.getContainer().getDefiningOp());
            }))
          next(/*afterBlock=*/false);
        phaseOf[&op] = current;
        phases[current].mmas.push_back(mma);
        continue;
      }
      // An mma.sync's results are per-thread arrays, read where they are used.
      if (auto extract = dyn_cast<LLVM::ExtractValueOp>(op); extract && extract.getContainer().getDefiningOp<NVVM::MmaOp>())
        continue;
      if (!phases[current].mmas.empty()) // the run of mma.syncs ends its phase
        next(/*afterBlock=*/false);
      if (auto reduce = dyn_cast<gpu::AllReduceOp>(op)) {
        if (!reduce.getOp() || !reduce.getBody().empty())
          return reduce.emitError("kiln-gpu-launches-on-cpu: an all_reduce with a body does not run on the CPU");
        phaseOf[&op] = current;
        phases[current].reduce = reduce;
        into.back().afterBlock = true; // its operands meet from every thread
        next(/*afterBlock=*/true);
        continue;
      }
      auto loop = dyn_cast<scf::ForOp>(op);
      if (loop && synchronizes(loop)) {
        phaseOf[&op] = current;
        phases[current].loop = loop;
        bool blockWide = meetsBlock(loop);
        Step step{0, loop, {}, blockWide};
        if (failed(split(*loop.getBody(), step.body)))
          return failure();
        into.push_back(std::move(step));
        next(blockWide);
        continue;
      }
      if (synchronizes(&op))
        return op.emitError("kiln-gpu-launches-on-cpu: threads meet inside control flow; cannot run on the CPU");
      phaseOf[&op] = current;
      phases[current].ops.push_back(&op);
    }
    if (auto yield = dyn_cast<scf::YieldOp>(block.getTerminator())) {
      if (!phases[current].mmas.empty())
        next(/*afterBlock=*/false);
      phaseOf[yield] = current;
      phases[current].yield = yield;
    }
    return success();
  }

  /// The mma.sync forms the CPU computes: m16n8k8 on TF32, A row-major, B
  /// column-major, f32 accumulators, each result read through llvm.extractvalue.
  LogicalResult checkMma(NVVM::MmaOp mma) {
    NVVM::MMAShapeAttr shape = mma.getShape();
    bool supported = shape.getM() == 16 && shape.getN() == 8 && shape.getK() == 8 &&
                     mma.getMultiplicandAPtxType() == NVVM::MMATypes::tf32 &&
                     mma.getMultiplicandBPtxType() == NVVM::MMATypes::tf32 &&
                     mma.getLayoutA() == NVVM::MMALayout::row && mma.getLayoutB() == NVVM::MMALayout::col &&
                     mma.getOperandA().size() == 4 && mma.getOperandB().size() == 2 &&
                     mma.getOperandC().size() == 4 && llvm::all_of(mma.getOperandC(), [](Value c) {
                       return c.getType().isF32();
                     });
    for (Operation *user : mma->getUsers()) {
      auto extract = dyn_cast<LLVM::ExtractValueOp>(user);
      supported &= extract && extract.getPosition().size() == 1 && extract.getPosition()[0] < 4;
    }
    if (!supported)
      return mma.emitError("kiln-gpu-launches-on-cpu: only mma.sync m16n8k8 on tf32 (row, col) with f32 "
                           "accumulators read through llvm.extractvalue runs on the CPU");
    return success();
  }

  /// The op of a block cut into phases that holds `op`; null outside the launch.
  Operation *topLevel(Operation *op) {
    while (op && !cut.contains(op->getBlock()))
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

  /// TF32 roundings (cvt.rna.tf32.f32) as integer arithmetic: half a unit of the
  /// 10th mantissa bit added to the magnitude, the 13 bits below it cleared.
  LogicalResult roundTF32() {
    SmallVector<NVVM::ConvertFloatToTF32Op> ops;
    launch.getBody().walk([&](NVVM::ConvertFloatToTF32Op op) { ops.push_back(op); });
    for (NVVM::ConvertFloatToTF32Op op : ops) {
      if (op.getRnd() != NVVM::FPRoundingMode::RNA || op.getSat() != NVVM::SaturationMode::NONE || op.getRelu())
        return op.emitError("kiln-gpu-launches-on-cpu: only cvt.rna.tf32.f32 runs on the CPU");
      OpBuilder at(op);
      Location where = op.getLoc();
      Type i32 = at.getI32Type();
      Value bits = arith::BitcastOp::create(at, where, i32, op.getSrc());
      Value half = arith::ConstantOp::create(at, where, at.getI32IntegerAttr(0x1000));
      Value mask = arith::ConstantOp::create(at, where, at.getI32IntegerAttr(static_cast<int32_t>(0xffffe000u)));
      op.replaceAllUsesWith(arith::AndIOp::create(at, where, arith::AddIOp::create(at, where, bits, half), mask).getResult());
      op.erase();
    }
    return success();
  }

  OpBuilder b{launch};
  Value zero, one, threads;
  /// The block's warps where it runs warp by warp (a one-dimensional block of whole
  /// warps; else null), and the first thread of the warp being emitted (null: all).
  Value warps, warpFirst;
  static constexpr int64_t kWarpSize = 32;
  Value odd; // this block runs its threads last first

  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }

  /// A per-thread array for values like `value`.
  FailureOr<Value> arrayFor(Value value) {
    Type type = value.getType();
    auto vector = dyn_cast<VectorType>(type); // a 16-byte read of shared memory
    if (!type.isIntOrIndexOrFloat() && !(vector && vector.getRank() == 1 && !vector.isScalable()))
      return launch.emitError("kiln-gpu-launches-on-cpu: a value of type ")
             << type << " is read across a barrier; cannot run on the CPU";
    return memref::AllocaOp::create(b, loc, MemRefType::get({ShapedType::kDynamic}, type), threads).getResult();
  }

  LogicalResult allocateArrays() {
    int64_t mmas = 0;
    for (Phase &p : phases)
      mmas = std::max<int64_t>(mmas, p.mmas.size());
    if (mmas) {
      Type i32 = b.getI32Type(), f32 = b.getF32Type();
      for (auto [array, type, count] : {std::tuple{&fragments[0], i32, 4}, std::tuple{&fragments[1], i32, 2},
                                        std::tuple{&fragments[2], f32, 4}})
        *array = memref::AllocaOp::create(b, loc, MemRefType::get({ShapedType::kDynamic, mmas, count}, type), threads);
    }
    for (auto [phase, p] : llvm::enumerate(phases)) {
      for (Operation *op : p.ops)
        if (!recomputable(op))
          for (Value result : op->getResults())
            if (readLater(result, phase)) {
              FailureOr<Value> array = arrayFor(result);
              if (failed(array))
                return failure();
              kept[result] = *array;
            }
      if (p.reduce) {
        FailureOr<Value> array = arrayFor(p.reduce.getValue());
        if (failed(array))
          return failure();
        partials[p.reduce] = *array;
      }
      if (!p.mmas.empty()) {
        // The fragments of every phase's mma.syncs pass through the same arrays (they
        // are computed right after the phase); each phase has its results array.
        p.mmaArray = memref::AllocaOp::create(
            b, loc, MemRefType::get({ShapedType::kDynamic, (int64_t)p.mmas.size(), 4}, b.getF32Type()), threads);
        for (auto [j, mma] : llvm::enumerate(p.mmas))
          for (Operation *user : mma->getUsers())
            mmaResults[user->getResult(0)] = {p.mmaArray, j, cast<LLVM::ExtractValueOp>(user).getPosition()[0]};
      }
      // A loop's carried values: set before it, read and set by its iterations, read
      // as its results after it.
      if (p.loop)
        for (auto [carried, result] : llvm::zip_equal(p.loop.getRegionIterArgs(), p.loop.getResults())) {
          FailureOr<Value> array = arrayFor(carried);
          if (failed(array))
            return failure();
          kept[carried] = *array;
          kept[result] = *array;
        }
    }
    return success();
  }

  /// `iv` of a loop from 0 to `extent`, counted down instead where `reversed` holds.
  Value lastFirstIf(Value reversed, Value iv, Value extent) {
    Value last = arith::SubIOp::create(b, loc, arith::SubIOp::create(b, loc, extent, one), iv);
    return arith::SelectOp::create(b, loc, reversed, last, iv);
  }

  /// Loops z, y, x over `extents` at the insertion point, which moves into the
  /// innermost; launch arguments `ids` map to the indices they count, last first
  /// where `reversed` holds. Returns those indices and the outermost loop.
  std::pair<gpu::KernelDim3, Operation *> loops(gpu::KernelDim3 extents, gpu::KernelDim3 ids, IRMapping &map,
                                                Value reversed) {
    gpu::KernelDim3 ivs;
    Operation *outermost = nullptr;
    for (auto [extent, id, iv] : {std::tie(extents.z, ids.z, ivs.z), std::tie(extents.y, ids.y, ivs.y),
                                  std::tie(extents.x, ids.x, ivs.x)}) {
      auto loop = scf::ForOp::create(b, loc, zero, extent, one);
      outermost = outermost ? outermost : loop.getOperation();
      b.setInsertionPointToStart(loop.getBody());
      iv = loop.getInductionVar();
      if (reversed)
        iv = lastFirstIf(reversed, iv, extent);
      map.map(id, iv);
    }
    return std::make_pair(ivs, outermost);
  }

  /// `value` for all threads of the block at once (a bound of a loop with barriers).
  FailureOr<Value> uniformValue(Value value) {
    if (Value mapped = uniform.lookupOrNull(value))
      return mapped;
    if (!launch.getBody().isAncestor(value.getParentRegion()))
      return value; // defined before the launch
    Operation *def = value.getDefiningOp();
    if (!def || !recomputable(def)) // a thread id, a load
      return launch.emitError("kiln-gpu-launches-on-cpu: a loop with barriers has bounds that "
                              "may differ between threads; cannot run on the CPU");
    for (Value operand : def->getOperands())
      if (failed(uniformValue(operand)))
        return failure();
    b.clone(*def, uniform);
    return uniform.lookup(value);
  }

  /// Loops over the block's threads at the insertion point, which moves into the
  /// innermost; `map` takes the thread ids. Returns the thread's index in per-thread
  /// arrays and the outermost loop.
  std::pair<Value, Operation *> threadLoops(IRMapping &map) {
    if (warpFirst) { // the warp's lanes (the block is one-dimensional)
      auto loop = scf::ForOp::create(b, loc, zero, index(kWarpSize), one);
      b.setInsertionPointToStart(loop.getBody());
      Value lane = lastFirstIf(odd, loop.getInductionVar(), index(kWarpSize));
      Value linear = arith::AddIOp::create(b, loc, warpFirst, lane);
      gpu::KernelDim3 ids = launch.getThreadIds();
      map.map(ids.x, linear);
      map.map(ids.y, zero);
      map.map(ids.z, zero);
      return {linear, loop.getOperation()};
    }
    gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
    auto [tid, outermost] = loops(block, launch.getThreadIds(), map, odd);
    // (z * by + y) * bx + x
    Value zy = arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, tid.z, block.y), tid.y);
    return {arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, zy, block.x), tid.x), outermost};
  }

  /// `value` for the thread with index `linear` at the insertion point: mapped, loaded
  /// from its array, or computed again.
  Value materialize(Value value, IRMapping &map, Value linear) {
    if (Value mapped = map.lookupOrNull(value))
      return mapped;
    if (Value array = kept.lookup(value)) { // kept, or carried by a loop with barriers
      Value loaded = memref::LoadOp::create(b, loc, array, linear);
      map.map(value, loaded);
      return loaded;
    }
    if (auto it = mmaResults.find(value); it != mmaResults.end()) {
      auto [results, j, reg] = it->second;
      Value loaded = memref::LoadOp::create(b, loc, results, ValueRange{linear, index(j), index(reg)});
      map.map(value, loaded);
      return loaded;
    }
    Operation *def = value.getDefiningOp();
    if (!def || topLevel(def) != def)
      return value; // defined outside the launch, or inside an op being cloned
    for (Value operand : def->getOperands())
      materialize(operand, map, linear);
    b.clone(*def, map);
    return map.lookup(value);
  }

  /// One thread's part of `phase` at the insertion point: its ops, the values it keeps
  /// for later phases, what it carries into a loop or its next iteration, its operand
  /// of an all_reduce.
  void runPhase(Phase &phase, IRMapping &map, Value linear) {
    for (Operation *op : phase.ops) {
      op->walk([&](Operation *inner) {
        for (Value operand : inner->getOperands())
          materialize(operand, map, linear);
      });
      b.clone(*op, map);
      for (Value result : op->getResults())
        if (Value array = kept.lookup(result))
          memref::StoreOp::create(b, loc, map.lookup(result), array, linear);
    }
    auto carry = [&](ValueRange values, ValueRange carried) {
      // All read before any is set.
      SmallVector<Value> loaded = llvm::map_to_vector(values, [&](Value v) { return materialize(v, map, linear); });
      for (auto [value, arg] : llvm::zip_equal(loaded, carried))
        memref::StoreOp::create(b, loc, value, kept.lookup(arg), linear);
    };
    if (phase.loop)
      carry(phase.loop.getInitArgs(), phase.loop.getRegionIterArgs());
    if (phase.yield)
      carry(phase.yield.getOperands(), cast<scf::ForOp>(phase.yield->getParentOp()).getRegionIterArgs());
    if (phase.reduce)
      memref::StoreOp::create(b, loc, materialize(phase.reduce.getValue(), map, linear),
                              partials.lookup(phase.reduce), linear);
    for (auto [j, mma] : llvm::enumerate(phase.mmas)) {
      OperandRange operands[] = {mma.getOperandA(), mma.getOperandB(), mma.getOperandC()};
      for (auto [array, group] : llvm::zip_equal(fragments, operands))
        for (auto [reg, operand] : llvm::enumerate(group))
          memref::StoreOp::create(b, loc, materialize(operand, map, linear), array,
                                  ValueRange{linear, index(static_cast<int64_t>(j)), index(static_cast<int64_t>(reg))});
    }
  }

  /// `phase`'s mma.syncs for every warp of the block, from the fragments its lanes
  /// stored, each product in f32 and summed in order after C, as PTX lays out
  /// m16n8k8 on TF32: with g = lane / 4 and t = lane % 4, A's registers hold (g, t),
  /// (g + 8, t), (g, t + 4), (g + 8, t + 4); B's (t, g), (t + 4, g); C's and D's
  /// (g, 2t), (g, 2t + 1), (g + 8, 2t), (g + 8, 2t + 1).
  void emitMmas(Phase &phase) {
    Value c2 = index(2), c4 = index(4), c8 = index(8), c32 = index(kWarpSize);
    OpBuilder::InsertionGuard guard(b);
    auto each = [&](Value upper) {
      auto loop = scf::ForOp::create(b, loc, zero, upper, one);
      b.setInsertionPointToStart(loop.getBody());
      return loop.getInductionVar();
    };
    Value j = each(index(phase.mmas.size()));
    Value id = warpFirst ? arith::AddIOp::create(b, loc, warpFirst, each(c32)).getResult() : each(threads);
    Value e = each(c4);
    Value lane = arith::RemUIOp::create(b, loc, id, c32);
    Value warp = arith::SubIOp::create(b, loc, id, lane); // the warp's first thread
    Value g = arith::DivUIOp::create(b, loc, lane, c4), t = arith::RemUIOp::create(b, loc, lane, c4);
    Value col = arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, t, c2), arith::RemUIOp::create(b, loc, e, c2));
    Value rowHalf = arith::DivUIOp::create(b, loc, e, c2); // row g or g + 8
    Value start = memref::LoadOp::create(b, loc, fragments[2], ValueRange{id, j, e});
    auto products = scf::ForOp::create(b, loc, zero, c8, one, ValueRange{start});
    {
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(products.getBody());
      Value k = products.getInductionVar();
      Value kLow = arith::RemUIOp::create(b, loc, k, c4), kHigh = arith::DivUIOp::create(b, loc, k, c4);
      auto laneOf = [&](Value x) { // lane 4x + k % 4 of the warp
        return arith::AddIOp::create(b, loc, warp, arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, x, c4), kLow));
      };
      // A(row, k): lane 4 (row % 8) + k % 4, register row / 8 + 2 (k / 4).
      Value aReg = arith::AddIOp::create(b, loc, arith::MulIOp::create(b, loc, kHigh, c2), rowHalf);
      // B(k, col): lane 4 col + k % 4, register k / 4.
      // The tensor cores read a TF32 operand's sign, exponent and 10 mantissa bits.
      auto tf32 = [&](Value bits) {
        Value top = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(static_cast<int32_t>(0xffffe000u)));
        return arith::BitcastOp::create(b, loc, b.getF32Type(), arith::AndIOp::create(b, loc, bits, top));
      };
      Value x = tf32(memref::LoadOp::create(b, loc, fragments[0], ValueRange{laneOf(g), j, aReg}));
      Value y = tf32(memref::LoadOp::create(b, loc, fragments[1], ValueRange{laneOf(col), j, kHigh}));
      Value sum = arith::AddFOp::create(b, loc, products.getRegionIterArg(0), arith::MulFOp::create(b, loc, x, y));
      scf::YieldOp::create(b, loc, sum);
    }
    memref::StoreOp::create(b, loc, products.getResult(0), phase.mmaArray, ValueRange{id, j, e});
  }

  void emitPhase(Phase &phase) {
    OpBuilder::InsertionGuard guard(b);
    IRMapping map = uniform;
    auto [linear, outermost] = threadLoops(map);
    runPhase(phase, map, linear);
    if (!phase.mmas.empty()) {
      b.setInsertionPointAfter(outermost);
      emitMmas(phase);
    }
    gpu::AllReduceOp reduce = phase.reduce;
    if (!reduce)
      return;
    // After every thread of the phase: the combined value, the same for all.
    b.setInsertionPointAfter(outermost);
    Value array = partials.lookup(reduce);
    Value first = memref::LoadOp::create(b, loc, array, zero);
    auto fold = scf::ForOp::create(b, loc, one, threads, one, ValueRange{first});
    {
      OpBuilder::InsertionGuard inner(b);
      b.setInsertionPointToStart(fold.getBody());
      Value next = memref::LoadOp::create(b, loc, array, fold.getInductionVar());
      Value acc = combine(b, loc, *reduce.getOp(), fold.getRegionIterArg(0), next);
      scf::YieldOp::create(b, loc, acc);
    }
    uniform.map(reduce.getResult(), fold.getResult(0));
  }

  /// `step`'s loop, run by the whole block. No barrier separates the end of an
  /// iteration from the start of the next, so when the body starts with plain ops
  /// (its head) those of iteration i + 1 share a phase with the last ones (its tail)
  /// of iteration i: a thread then reads what another writes across the loop's back
  /// edge as on the GPU. The first iteration's head runs before the loop.
  LogicalResult emitLoop(Step &step) {
    FailureOr<Value> lower = uniformValue(step.loop.getLowerBound());
    FailureOr<Value> upper = uniformValue(step.loop.getUpperBound());
    FailureOr<Value> stride = uniformValue(step.loop.getStep());
    if (failed(lower) || failed(upper) || failed(stride))
      return failure();
    Value iv = step.loop.getInductionVar();
    Phase &head = phases[step.body.front().phase], &tail = phases[step.body.back().phase];
    bool wrap = step.body.size() > 1 && !step.body.front().loop && !head.ops.empty() && !head.reduce && head.mmas.empty() &&
                !head.loop;
    auto runHead = [&](Value at, IRMapping &threadIds, Value linear) {
      IRMapping map = uniform;
      gpu::KernelDim3 ids = launch.getThreadIds();
      for (Value id : {ids.x, ids.y, ids.z})
        map.map(id, threadIds.lookup(id));
      map.map(iv, at);
      runPhase(head, map, linear);
    };
    auto ifBefore = [&](Value x, Value end) {
      auto branch = scf::IfOp::create(b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, x, end),
                                      /*withElseRegion=*/false);
      b.setInsertionPointToStart(branch.thenBlock());
    };
    if (wrap) {
      OpBuilder::InsertionGuard guard(b);
      ifBefore(*lower, *upper);
      IRMapping map = uniform;
      auto [linear, outermost] = threadLoops(map);
      runHead(*lower, map, linear);
    }
    auto loop = scf::ForOp::create(b, loc, *lower, *upper, *stride);
    uniform.map(iv, loop.getInductionVar());
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    if (!wrap)
      return emit(step.body);
    if (failed(emit(MutableArrayRef<Step>(step.body).drop_front().drop_back())))
      return failure();
    IRMapping map = uniform;
    auto [linear, outermost] = threadLoops(map);
    runPhase(tail, map, linear);
    Value next = arith::AddIOp::create(b, loc, loop.getInductionVar(), *stride);
    ifBefore(next, *upper);
    runHead(next, map, linear);
    return success();
  }

  /// `steps` in order, each run of steps joined only by warp meetings (mma.syncs,
  /// loops with nothing else) warp by warp: one warp runs all of them before the next
  /// starts (last first in odd blocks), as no barrier orders the warps there. A
  /// barrier missing between warps then shows.
  LogicalResult emit(MutableArrayRef<Step> steps) {
    for (size_t first = 0; first < steps.size();) {
      size_t end = first + 1;
      while (end < steps.size() && !steps[end].afterBlock)
        ++end;
      MutableArrayRef<Step> run = steps.slice(first, end - first);
      first = end;
      bool warpLocal = run.size() > 1 || (run.front().loop && !meetsBlock(run.front().loop));
      if (warpFirst || !warps || !warpLocal) {
        if (failed(emitEach(run)))
          return failure();
        continue;
      }
      auto loop = scf::ForOp::create(b, loc, zero, warps, one);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value warp = lastFirstIf(odd, loop.getInductionVar(), warps);
      warpFirst = arith::MulIOp::create(b, loc, warp, index(kWarpSize));
      LogicalResult emitted = emitEach(run);
      warpFirst = Value();
      if (failed(emitted))
        return failure();
    }
    return success();
  }
  LogicalResult emitEach(MutableArrayRef<Step> steps) {
    for (Step &step : steps) {
      if (!step.loop)
        emitPhase(phases[step.phase]);
      else if (failed(emitLoop(step)))
        return failure();
    }
    return success();
  }

  LogicalResult run() {
    if (!launch.getPrivateAttributions().empty() || launch.getAsyncToken() || launch.getClusterSize() ||
        !launch.getBody().hasOneBlock())
      return launch.emitError("kiln-gpu-launches-on-cpu: only synchronous launches of one block "
                              "without private memory or clusters run on the CPU");
    useLaunchArguments();
    if (failed(roundTF32()) || failed(kiln::landAsyncCopiesAtWaits(launch)) || failed(split(launch.getBody().front(), steps)))
      return failure();
    zero = index(0);
    one = index(1);
    gpu::KernelDim3 grid = launch.getGridSizeOperandValues(), block = launch.getBlockSizeOperandValues();
    threads = arith::MulIOp::create(b, loc, arith::MulIOp::create(b, loc, block.x, block.y), block.z);
    std::optional<int64_t> x = getConstantIntValue(block.x), y = getConstantIntValue(block.y),
                           z = getConstantIntValue(block.z);
    if (x && y == 1 && z == 1 && *x % kWarpSize == 0)
      warps = index(*x / kWarpSize);
    if (failed(allocateArrays()))
      return failure();
    // A block's shared memory: one buffer, which the blocks use one after another,
    // aligned to 16 bytes as on the GPU (kernels read it 16 bytes at a time).
    for (BlockArgument shared : launch.getWorkgroupAttributions()) {
      auto type = cast<MemRefType>(shared.getType());
      auto plain = MemRefType::get(type.getShape(), type.getElementType(), type.getLayout());
      uniform.map(shared, memref::AllocaOp::create(b, loc, plain, b.getI64IntegerAttr(16)).getResult());
    }
    gpu::KernelDim3 gridArgs = launch.getGridSize(), blockArgs = launch.getBlockSize();
    Value args[] = {gridArgs.x, gridArgs.y, gridArgs.z, blockArgs.x, blockArgs.y, blockArgs.z};
    Value values[] = {grid.x, grid.y, grid.z, block.x, block.y, block.z};
    for (auto [arg, value] : llvm::zip_equal(args, values))
      uniform.map(arg, value);
    gpu::KernelDim3 blockIds = loops(grid, launch.getBlockIds(), uniform, Value()).first;
    // Odd blocks run their threads last first: a thread that reads, within a phase,
    // what another writes (a missing barrier) then reads it stale in one order or
    // the other, whichever thread comes first on the GPU.
    odd = arith::TruncIOp::create(b, loc, b.getI1Type(),
                                  arith::IndexCastOp::create(b, loc, b.getI64Type(), blockIds.x));
    if (failed(emit(steps)))
      return failure();
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
