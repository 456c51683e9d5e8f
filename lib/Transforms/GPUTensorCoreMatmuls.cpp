// kiln-gpu-tensor-core-matmuls: a matmul generic chosen for tensor cores
// (kiln.gpu_kernel = "tensor_core") becomes a gpu.launch whose warps multiply with
// mma.sync m16n8k8 on TF32 in three passes (3xTF32: f32 accuracy); the fusion's init
// (a fill, a bias) and epilogue (bias, activation, residual) run on the accumulators
// in registers, so the whole fusion is still one kernel.
#include "kiln/Transforms/Passes.h"

#include "KernelBodies.h"
#include "LibraryCall.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/SmallBitVector.h"

namespace kiln {
#define GEN_PASS_DEF_KILNGPUTENSORCOREMATMULS
#include "kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

using namespace kiln;

// A block of 2x2 warps computes a 64x64 tile of the output; each warp a 32x32 tile as
// 2x4 mma tiles of 16x8. The block steps through the reduction 16 at a time: its
// threads copy a 64x16 slice of each operand into shared memory, coalesced, two steps
// ahead (three stages of slices), and the warps read their fragments from there, 8
// deep per mma.
constexpr int64_t kWarpSize = 32, kBlockTile = 64, kWarpTile = 32, kMmaM = 16, kMmaN = 8, kMmaK = 8;
constexpr int64_t kStageK = 16, kStages = 3;
constexpr int64_t kWarpRowTiles = kWarpTile / kMmaM, kWarpColTiles = kWarpTile / kMmaN;
constexpr int64_t kThreads = (kBlockTile / kWarpTile) * (kBlockTile / kWarpTile) * kWarpSize;
constexpr int64_t kAccumulators = kWarpRowTiles * kWarpColTiles * 4; // 4 per thread per mma tile
constexpr int64_t kStaged = kBlockTile * kStageK / kThreads;          // per thread per operand and step
// The warps read their fragments 16 bytes at a time where a slice is stored k-minor
// (see fragments()): its rows are 16 floats, unpadded, and the 8 lanes of each quarter
// warp read two whole rows, all 32 banks. A slice stored k-major has rows of 64 floats
// whose groups of 8 are permuted by depth (element (k, i) at column i ^ swizzle(k)), so
// that lanes reading depths 4 apart hit different banks.
// A cp.async copies 4 floats (16 bytes) where the operand allows; the 64-byte and
// 256-byte rows keep such runs 16-byte aligned in shared memory.
constexpr int64_t kVectorRun = 4;
// The grid's y (row tiles) and z (batch) extents are limited to 65535 blocks.
constexpr int64_t kMaxGridYZ = 65535;
// Fewer than 64 blocks leave most of a GPU's 108 to 132 multiprocessors idle. A
// reduction of at least 1024 is then split into up to 16 parts of at least 256, for
// about 128 blocks. A split costs a second launch and a pass over the sums, about 16
// steps of the kernel; a block that would run 64 steps or more saves several times that.
constexpr int64_t kFewBlocks = 64, kTargetBlocks = 128, kMaxSplits = 16;
constexpr int64_t kMinSplitDepth = 1024, kMinPartDepth = 256;
// The kernel adding the split sums: a thread per output.
constexpr int64_t kSumThreads = 256;

/// The loops of a contraction `out[b.., m.., n..] += a[b.., m.., k..] * b[b.., k.., n..]`
/// seen as a batch of GEMMs, whatever the operands' layouts: the row loops index the
/// output and the first operand but not the second (a matmul's rows; a convolution's
/// images and pixels), the column loops the output and the second but not the first
/// (columns; filters), the reduction loops are the GEMM's depth (a convolution's
/// channels and window) and the loops both operands index are batch loops (groups). A
/// group of loops runs row-major as one GEMM dimension.
struct MatmulLoops {
  SmallVector<unsigned> m, n, k, batch;
  SmallVector<int64_t> ranges;
  SmallVector<int64_t> sizes(ArrayRef<unsigned> group) const {
    return llvm::map_to_vector(group, [&](unsigned d) { return ranges[d]; });
  }
  int64_t extent(ArrayRef<unsigned> group) const {
    int64_t total = 1;
    for (unsigned d : group)
      total *= ranges[d];
    return total;
  }
};

std::optional<MatmulLoops> matchMatmul(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1)
    return std::nullopt;
  for (Value operand : op->getOperands()) {
    auto type = dyn_cast<MemRefType>(operand.getType());
    if (!type || !type.getElementType().isF32())
      return std::nullopt;
  }
  if (!isMultiplyAdd(op))
    return std::nullopt;

  MatmulLoops loops;
  loops.ranges = op.getStaticLoopRanges();
  if (llvm::any_of(loops.ranges, ShapedType::isDynamic))
    return std::nullopt;
  AffineMap a = op.getMatchingIndexingMap(op.getDpsInputOperand(0));
  AffineMap b = op.getMatchingIndexingMap(op.getDpsInputOperand(1));
  AffineMap out = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (!out.isProjectedPermutation())
    return std::nullopt;
  for (auto [d, kind] : llvm::enumerate(op.getIteratorTypesArray())) {
    bool inA = a.isFunctionOfDim(d), inB = b.isFunctionOfDim(d);
    if (kind == utils::IteratorType::reduction) {
      loops.k.push_back(d);
      continue;
    }
    if (!out.isFunctionOfDim(d))
      return std::nullopt;
    (inA && !inB ? loops.m : !inA && inB ? loops.n : loops.batch).push_back(d);
  }
  if (loops.m.empty() || loops.n.empty() || loops.k.empty())
    return std::nullopt;
  // Rows run in the order the output lays them out, so neighbouring lanes store
  // neighbouring elements.
  auto byOutput = [&](unsigned x, unsigned y) {
    return *out.getResultPosition(getAffineDimExpr(x, op.getContext())) <
           *out.getResultPosition(getAffineDimExpr(y, op.getContext()));
  };
  llvm::sort(loops.m, byOutput);
  llvm::sort(loops.n, byOutput);
  return loops;
}

/// Writes the kernel for one matmul generic and its init and epilogue generics.
struct KernelWriter {
  OpBuilder &b;
  Location loc;
  linalg::GenericOp op;
  const MatmulLoops &loops;
  std::array<std::optional<PaddedCopy>, 2> padded; // read through their padding
  int64_t rows, cols, depth;

  int64_t batches, splits = 1, chunk; // the reduction in `splits` parts of `chunk`
  SmallVector<int64_t> batchSizes;
  linalg::GenericOp init, epilogue;

  KernelWriter(OpBuilder &b, linalg::GenericOp op, const MatmulLoops &loops)
      : b(b), loc(op.getLoc()), op(op), loops(loops), rows(loops.extent(loops.m)),
        cols(loops.extent(loops.n)), depth(loops.extent(loops.k)), batches(loops.extent(loops.batch)),
        chunk(depth), batchSizes(loops.sizes(loops.batch)) {
    int64_t blocks = tiles(rows) * tiles(cols) * batches;
    if (blocks >= kFewBlocks || depth < kMinSplitDepth)
      return;
    int64_t parts = std::min({llvm::divideCeilSigned(kTargetBlocks, blocks), depth / kMinPartDepth, kMaxSplits, kMaxGridYZ / batches});
    if (parts < 2)
      return;
    chunk = llvm::divideCeilSigned(llvm::divideCeilSigned(depth, parts), kStageK) * kStageK;
    splits = llvm::divideCeilSigned(depth, chunk);
  }
  static int64_t tiles(int64_t extent) { return llvm::divideCeilSigned(extent, kBlockTile); }

  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value add(Value x, int64_t y) { return y ? add(x, index(y)) : x; }
  Value mul(Value x, int64_t y) { return arith::MulIOp::create(b, loc, x, index(y)); }
  Value div(Value x, int64_t y) { return arith::DivUIOp::create(b, loc, x, index(y)); }
  Value rem(Value x, int64_t y) { return arith::RemUIOp::create(b, loc, x, index(y)); }
  Value less(Value x, int64_t y) { return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, x, index(y)); }

  /// `i`, the first of a run of `run` elements, kept inside [0, extent) where the
  /// tiles overrun it: the elements loaded there only feed outputs that are never
  /// stored.
  Value clamp(Value i, int64_t extent, int64_t tile, int64_t run = 1) {
    return extent % tile ? arith::MinUIOp::create(b, loc, i, index(extent - run)).getResult() : i;
  }

  /// The generic's loop indices at GEMM row `row`, column `col` and depth `k` (each
  /// split over its loops; null: a group the operand does not index) of `batch`.
  SmallVector<Value> ivs(ArrayRef<Value> batch, Value row, Value col, Value k) {
    SmallVector<Value> all(loops.ranges.size());
    for (auto [d, iv] : llvm::zip_equal(loops.batch, batch))
      all[d] = iv;
    for (auto [group, linear] : {std::pair{&loops.m, row}, std::pair{&loops.n, col}, std::pair{&loops.k, k}})
      if (linear)
        for (auto [d, iv] : llvm::zip_equal(*group, delinearize(b, loc, linear, loops.sizes(*group))))
          all[d] = iv;
    for (Value &iv : all) // a loop the operand does not index
      iv = iv ? iv : index(0);
    return all;
  }

  /// Where operand `which`'s element at those indices lies, and whether it is there:
  /// `inside` (null: always) is false past the end of the reduction, where the element
  /// is zero, and `within` (null: not a padded copy) false in the padding, where the
  /// element is the padding value.
  struct Source {
    Value buffer;
    SmallVector<Value> indices;
    Value inside, within;
  };
  Source source(unsigned which, ArrayRef<Value> batch, Value row, Value col, Value k, int64_t kRun = 1) {
    OpOperand *operand = op.getDpsInputOperand(which);
    Source source;
    source.inside = depth % kStageK ? less(k, depth) : Value();
    Value at = clamp(k, depth, kStageK, kRun);
    source.indices = indicesAt(b, loc, op.getMatchingIndexingMap(operand), ivs(batch, row, col, at));
    source.buffer = operand->get();
    if (std::optional<PaddedCopy> &pad = padded[which]) {
      // Inside the window: the source's element; around it: the padding. An index
      // before the window wraps around and fails the unsigned test too.
      source.buffer = pad->source;
      for (auto [position, offset, size] :
           llvm::zip_equal(source.indices, pad->offsets, pad->window.getType().getShape())) {
        position = arith::SubIOp::create(b, loc, position, index(offset));
        Value in = less(position, size);
        source.within = source.within ? arith::AndIOp::create(b, loc, source.within, in).getResult() : in;
        position = arith::SelectOp::create(b, loc, in, position, index(0));
      }
    }
    return source;
  }

  /// Operand `which`'s element at those indices: zero past the end of the reduction.
  Value element(unsigned which, ArrayRef<Value> batch, Value row, Value col, Value k) {
    Source at = source(which, batch, row, col, k);
    Value value = memref::LoadOp::create(b, loc, at.buffer, at.indices);
    if (at.within)
      value = arith::SelectOp::create(b, loc, at.within, value, padded[which]->padding);
    if (!at.inside)
      return value;
    Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
    return arith::SelectOp::create(b, loc, at.inside, value, zero);
  }

  /// The strides and offset of the buffer operand `which` is read from (a padded
  /// copy's source), if it has them.
  std::optional<std::pair<SmallVector<int64_t>, int64_t>> sourceLayout(unsigned which) {
    std::optional<PaddedCopy> &pad = padded[which];
    auto type = cast<MemRefType>((pad ? pad->source : op.getDpsInputOperand(which)->get()).getType());
    std::pair<SmallVector<int64_t>, int64_t> layout;
    if (type.getRank() == 0 || failed(type.getStridesAndOffset(layout.first, layout.second)))
      return std::nullopt;
    return layout;
  }

  /// Whether operand `which` can be copied with cp.async: its buffer's last
  /// dimension is contiguous (the copy's requirement), and what it reads as missing
  /// (past the reduction, a zero padding) is zero, which cp.async fills in.
  bool copiedAsync(unsigned which) {
    auto layout = sourceLayout(which);
    if (!layout || layout->first.back() != 1)
      return false;
    return !padded[which] || matchPattern(padded[which]->padding, m_AnyZeroFloat());
  }

  /// `x` rounded to TF32 (10 mantissa bits, to nearest, ties away from zero), as
  /// bits: one cvt.rna.tf32.f32.
  Value tf32Bits(Value x) {
    return NVVM::ConvertFloatToTF32Op::create(b, loc, b.getI32Type(), x, NVVM::FPRoundingMode::RNA,
                                              NVVM::SaturationMode::NONE, /*relu=*/false);
  }
  /// `x` as a TF32 high part (its sign, exponent and top 10 mantissa bits) and the
  /// TF32 of the rest: x = hi + lo to about 2^-21 of x, where TF32 alone keeps 2^-10.
  /// Truncating (not rounding) the high part keeps it finite near FLT_MAX and costs
  /// one op; with the subtraction and the rest's rounding, three a split. An
  /// infinite x has a NaN rest (see exactSum).
  std::pair<Value, Value> split(Value x) {
    Value mask = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(static_cast<int32_t>(0xffffe000u)));
    Value hi = arith::AndIOp::create(b, loc, arith::BitcastOp::create(b, loc, b.getI32Type(), x), mask);
    return {hi, tf32Bits(arith::SubFOp::create(b, loc, x, asFloat(hi)))};
  }
  /// Output (`row`, `col`)'s sum over depths [`kStart`, `kEnd`) in plain f32, a
  /// product at a time from the operands in memory. The tensor cores' sum is NaN
  /// where an operand is infinite (its rest is NaN; a small product 0 * inf is too)
  /// even when f32's is ±inf: such a thread's outputs take this sum instead.
  Value exactSum(ArrayRef<Value> batch, Value row, Value col, Value kStart, Value kEnd) {
    Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
    auto loop = scf::ForOp::create(b, loc, kStart, kEnd, index(1), ValueRange{zero});
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value k = loop.getInductionVar();
    Value product = arith::MulFOp::create(b, loc, element(0, batch, row, Value(), k), element(1, batch, Value(), col, k));
    scf::YieldOp::create(b, loc, ValueRange{arith::AddFOp::create(b, loc, loop.getRegionIterArgs()[0], product)});
    return loop.getResult(0);
  }
  Value asFloat(Value bits) { return arith::BitcastOp::create(b, loc, b.getF32Type(), bits); }

  /// How operand `which` is staged: along the reduction (`true`: its last dimension
  /// moves with the innermost reduction loop and not with the rows or columns, as a
  /// row-major matmul's left operand or a filter) or along its rows or columns (a
  /// convolution's input, a matmul's right operand), so that neighbouring threads
  /// copy neighbouring elements.
  bool stagedAlongK(unsigned which) {
    AffineMap map = op.getMatchingIndexingMap(op.getDpsInputOperand(which));
    if (map.getNumResults() == 0)
      return false;
    AffineExpr last = map.getResults().back();
    unsigned inner = (which == 0 ? loops.m : loops.n).back();
    return last.isFunctionOfDim(loops.k.back()) && !last.isFunctionOfDim(inner);
  }

  /// The shared-memory slices of operand `which`, one per stage: 64 rows (or
  /// columns) by 16 along the reduction, k-minor or k-major as it is staged.
  MemRefType sliceType(unsigned which) {
    auto space = gpu::AddressSpaceAttr::get(op.getContext(), gpu::AddressSpace::Workgroup);
    SmallVector<int64_t> shape = stagedAlongK(which) ? SmallVector<int64_t>{kStages, kBlockTile, kStageK}
                                                     : SmallVector<int64_t>{kStages, kStageK, kBlockTile};
    return MemRefType::get(shape, b.getF32Type(), MemRefLayoutAttrInterface(), space);
  }
  /// Where element (`mn`, `k`) of the slice of `stage` lies in `slices`. A k-major
  /// row's groups of 8 are XORed with 8 * ((k / 4) % 4): a warp's fragment read, lanes
  /// t = 0..3 at depths 4 apart and g = 0..7 at neighbouring columns, then touches
  /// 32 banks; runs of 4 stay contiguous and aligned.
  SmallVector<Value> sliceAt(unsigned which, Value stage, Value mn, Value k) {
    if (stagedAlongK(which))
      return {stage, mn, k};
    Value swizzle = mul(rem(div(k, 4), 4), 8);
    return {stage, k, arith::XOrIOp::create(b, loc, mn, swizzle)};
  }

  /// How many neighbouring elements of operand `which` one cp.async copies: 4 (16
  /// bytes) where they are always contiguous and 16-byte aligned, else 1. A copy
  /// runs along a group of loops (the reduction k-minor, else the rows or columns),
  /// innermost fastest; the innermost loops whose buffer dimensions nest exactly (a
  /// loop indexing a dimension alone, of stride the extent of those inside it: a
  /// filter's channels and window, a 1x1 convolution's pixels) are contiguous, and
  /// must span a multiple of 4 (so runs of 4 stay within them and fall wholly in or
  /// out of the tiles' and the reduction's ends). Every other dimension's stride and
  /// the offset must be multiples of 4 (the base is aligned: every buffer on the
  /// device is). Loops of extent 1 index nothing.
  int64_t copyRun(unsigned which) {
    if (!copiedAsync(which) || padded[which])
      return 1;
    MLIRContext *ctx = op.getContext();
    OpOperand *operand = op.getDpsInputOperand(which);
    AffineMap map = op.getMatchingIndexingMap(operand);
    SmallVector<AffineExpr> zeroed;
    for (unsigned d = 0; d < map.getNumDims(); ++d)
      zeroed.push_back(loops.ranges[d] == 1 ? getAffineConstantExpr(0, ctx) : getAffineDimExpr(d, ctx));
    map = simplifyAffineMap(map.replaceDimsAndSymbols(zeroed, {}, map.getNumDims(), 0));
    auto [strides, offset] = *sourceLayout(which);
    if (ShapedType::isDynamic(offset) || offset % kVectorRun)
      return 1;
    ArrayRef<unsigned> group = stagedAlongK(which) ? loops.k : which == 0 ? loops.m : loops.n;
    int64_t contiguous = 1;
    llvm::SmallBitVector nested(map.getNumResults());
    for (unsigned d : llvm::reverse(group)) {
      if (loops.ranges[d] == 1)
        continue;
      AffineExpr loop = getAffineDimExpr(d, ctx);
      std::optional<unsigned> at = map.getResultPosition(loop);
      if (!at || strides[*at] != contiguous ||
          llvm::any_of(llvm::enumerate(map.getResults()),
                       [&](auto result) { return result.index() != *at && result.value().isFunctionOfDim(d); }))
        break;
      nested.set(*at);
      contiguous *= loops.ranges[d];
    }
    if (contiguous % kVectorRun)
      return 1;
    for (auto [at, result] : llvm::enumerate(map.getResults()))
      if (!nested.test(at) && !isa<AffineConstantExpr>(result) &&
          (ShapedType::isDynamic(strides[at]) || strides[at] % kVectorRun))
        return 1;
    return kVectorRun;
  }

  /// Thread `tid`'s `j`th run of `run` elements of a slice: (row or column, depth)
  /// of its first within the slice. Neighbouring threads take neighbouring runs along
  /// the slice's contiguous side.
  std::pair<Value, Value> stagedAt(unsigned which, Value tid, int64_t j, int64_t run) {
    if (stagedAlongK(which)) {
      int64_t perRow = kStageK / run;
      return {add(div(tid, perRow), j * (kThreads / perRow)), mul(rem(tid, perRow), run)};
    }
    int64_t perRow = kBlockTile / run;
    return {mul(rem(tid, perRow), run), add(div(tid, perRow), j * (kThreads / perRow))};
  }

  /// Starts copying this thread's elements of both operands' slices at depth `k0`
  /// into the slices of `stage`, with cp.async (a copy that lands while the thread
  /// goes on; cp.async.wait_group waits for it); a row or column past the end is
  /// clamped (its outputs are never stored). An operand cp.async cannot copy is
  /// loaded and stored at once.
  void copyStage(ArrayRef<Value> batch, Value rowTile, Value colTile, Value tid, Value k0, ArrayRef<Value> slices,
                 Value stage) {
    for (unsigned which : {0u, 1u}) {
      int64_t run = copyRun(which);
      int64_t kRun = stagedAlongK(which) ? run : 1, mnRun = stagedAlongK(which) ? 1 : run;
      for (int64_t j = 0; j < kStaged / run; ++j) {
        auto [mn, kInSlice] = stagedAt(which, tid, j, run);
        Value k = add(k0, kInSlice);
        Value row = which == 0 ? clamp(add(rowTile, mn), rows, kBlockTile, mnRun) : Value();
        Value col = which == 1 ? clamp(add(colTile, mn), cols, kBlockTile, mnRun) : Value();
        SmallVector<Value> to = sliceAt(which, stage, mn, kInSlice);
        if (!copiedAsync(which)) {
          memref::StoreOp::create(b, loc, element(which, batch, row, col, k), slices[which], to);
          continue;
        }
        Source from = source(which, batch, row, col, k, kRun);
        Value there = from.inside && from.within ? arith::AndIOp::create(b, loc, from.inside, from.within)
                                                 : (from.inside ? from.inside : from.within);
        Value count = there ? arith::SelectOp::create(b, loc, there, index(run), index(0)).getResult() : Value();
        // 16-byte copies bypass L1 (.cg), as the tiles are reused from shared memory.
        nvgpu::DeviceAsyncCopyOp::create(b, loc, nvgpu::DeviceAsyncTokenType::get(b.getContext()), slices[which], to,
                                         from.buffer, from.indices, b.getIndexAttr(run), count,
                                         run == 4 ? b.getUnitAttr() : UnitAttr());
      }
    }
  }
  Value foldedDiv(Value x, int64_t y) { return b.createOrFold<arith::DivUIOp>(loc, x, index(y)); }
  Value foldedRem(Value x, int64_t y) { return b.createOrFold<arith::RemUIOp>(loc, x, index(y)); }
  Value foldedMul(Value x, int64_t y) { return b.createOrFold<arith::MulIOp>(loc, x, index(y)); }
  Value foldedAdd(Value x, Value y) { return b.createOrFold<arith::AddIOp>(loc, x, y); }

  /// Where in the warp's tile the `slot`th of the 4 rows (A) or columns (B) of
  /// operand `which` lies that lane group `g` reads: A's rows g and g + 8 of each of
  /// the warp's 2 row tiles, B's column g of each of its 4 column tiles. From a
  /// k-major slice a lane reads 4 neighbours instead, 4g + slot, in one 16-byte read
  /// per depth: the mma.syncs then take the warp tile's rows or columns in another
  /// order, which the accumulators' positions follow (accumulatorAt). (From a k-minor
  /// slice, rows 4 apart would share banks.) `slot` may be a constant.
  static_assert(kWarpRowTiles * 2 == 4 && kWarpColTiles == 4, "4 slots: one 16-byte read");
  Value slotOffset(unsigned which, Value slot, Value g) {
    if (!stagedAlongK(which))
      return foldedAdd(foldedMul(g, 4), slot);
    if (which == 1)
      return foldedAdd(foldedMul(slot, kMmaN), g);
    return foldedAdd(foldedAdd(foldedMul(foldedDiv(slot, 2), kMmaM), foldedMul(foldedRem(slot, 2), 8)), g);
  }

  /// This thread's elements of the slice of `stage` of operand `which`, split into
  /// TF32 parts: at each of its 4 rows or columns (slotOffset from `warpBase`), the
  /// four at depths 4t to 4t + 3, one 16-byte read per row stored k-minor, per depth
  /// stored k-major.
  using Four = std::array<std::pair<Value, Value>, 4>;
  SmallVector<Four> fragments(unsigned which, ArrayRef<Value> slices, Value stage, Value warpBase, Value g, Value t) {
    auto read16 = [&](Value mn, Value k) {
      return vector::LoadOp::create(b, loc, VectorType::get({4}, b.getF32Type()), slices[which],
                                    sliceAt(which, stage, mn, k), /*nontemporal=*/false, llvm::MaybeAlign(16))
          .getResult();
    };
    Value k = mul(t, 4);
    SmallVector<Four> all(4);
    if (stagedAlongK(which)) {
      for (int64_t slot = 0; slot < 4; ++slot) {
        Value run = read16(add(warpBase, slotOffset(which, index(slot), g)), k);
        for (int64_t q = 0; q < 4; ++q)
          all[slot][q] = split(vector::ExtractOp::create(b, loc, run, q));
      }
      return all;
    }
    Value first = add(warpBase, slotOffset(which, index(0), g));
    for (int64_t q = 0; q < 4; ++q) {
      Value run = read16(first, add(k, q));
      for (int64_t slot = 0; slot < 4; ++slot)
        all[slot][q] = split(vector::ExtractOp::create(b, loc, run, slot));
    }
    return all;
  }

  /// One stage of 16 along the reduction for this thread's accumulators, the warp's
  /// mma.sync way: lane (g = lane / 4, t = lane % 4) holds A's (g, c), (g + 8, c),
  /// (g, c + 4), (g + 8, c + 4) of each 16x8 tile, B's (c, g), (c + 4, g) of each 8x8
  /// tile, and accumulators (g, 2t), (g, 2t + 1), (g + 8, 2t), (g + 8, 2t + 1), where
  /// the mma's depths c and c + 4 are the slice's 4t + 2s and 4t + 2s + 1 in its step
  /// s of 8. The sum over the 16 depths does not depend on their order as long as both
  /// operands take the same one, and with this one each lane reads 4 neighbouring
  /// depths. Which of the warp tile's rows and columns an mma tile's are, slotOffset
  /// says. `warpRow` and `warpCol` are the warp's tile within the block's.
  SmallVector<Value> multiplyStage(ArrayRef<Value> slices, Value stage, Value warpRow, Value warpCol, Value g, Value t,
                                   ValueRange acc) {
    SmallVector<Four> a = fragments(0, slices, stage, warpRow, g, t);
    SmallVector<Four> bt = fragments(1, slices, stage, warpCol, g, t);
    MLIRContext *ctx = b.getContext();
    Type f32 = b.getF32Type();
    auto result = LLVM::LLVMStructType::getLiteral(ctx, {f32, f32, f32, f32});
    SmallVector<Value> next(acc.begin(), acc.end());
    auto part = [](bool high, const std::pair<Value, Value> &parts) { return high ? parts.first : parts.second; };
    for (int64_t s = 0; s < kStageK / kMmaK; ++s)
      // The small products first: lo*hi, hi*lo, then hi*hi (lo*lo is below f32's
      // precision). Each pass over the warp's 8 tiles issues 8 independent mma.syncs.
      for (auto [aHigh, bHigh] : {std::pair{false, true}, std::pair{true, false}, std::pair{true, true}})
        for (int64_t mi = 0; mi < kWarpRowTiles; ++mi)
          for (int64_t ni = 0; ni < kWarpColTiles; ++ni) {
            SmallVector<Value> aRegs, bRegs;
            for (int64_t reg = 0; reg < 4; ++reg) // rows g, g + 8; depths c, c + 4
              aRegs.push_back(part(aHigh, a[mi * 2 + reg % 2][2 * s + reg / 2]));
            for (int64_t reg = 0; reg < 2; ++reg)
              bRegs.push_back(part(bHigh, bt[ni][2 * s + reg]));
            MutableArrayRef<Value> c(next.data() + (mi * kWarpColTiles + ni) * 4, 4);
            auto mma = NVVM::MmaOp::create(
                b, loc, result, aRegs, bRegs, ValueRange(c), ArrayRef<int64_t>{kMmaM, kMmaN, kMmaK}, std::nullopt,
                std::nullopt, std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::tf32, NVVM::MMATypes::tf32},
                std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row, NVVM::MMALayout::col});
            for (int64_t e = 0; e < 4; ++e)
              c[e] = LLVM::ExtractValueOp::create(b, loc, mma, e);
          }
    return next;
  }

  /// Accumulator `i`'s output row and column (see multiplyStage): in mma tile
  /// (mi, ni), row g or g + 8, column c = 2t or 2t + 1, whose B elements lane group c
  /// read. `i` may be a constant (what is constant folds) or not (a loop over them).
  std::pair<Value, Value> accumulatorAt(Value i, Value rowBase, Value colBase, Value g, Value t) {
    Value tile = foldedDiv(i, 4), e = foldedRem(i, 4);
    Value mi = foldedDiv(tile, kWarpColTiles), ni = foldedRem(tile, kWarpColTiles);
    Value aSlot = foldedAdd(foldedMul(mi, 2), foldedDiv(e, 2));
    Value c = foldedAdd(mul(t, 2), foldedRem(e, 2));
    return {foldedAdd(rowBase, slotOffset(0, aSlot, g)), foldedAdd(colBase, slotOffset(1, ni, c))};
  }

  /// Output (`row`, `col`) of `batch` (null: at the generic's loop indices `at`)
  /// finished: `sum` added to its starting value (the init's, else the output's own),
  /// the product stored where it is read, the epilogue applied and stored.
  void finish(Value sum, ArrayRef<Value> at) {
    Value out = op.getDpsInitOperand(0)->get();
    SmallVector<Value> indices = indicesAt(b, loc, op.getMatchingIndexingMap(op.getDpsInitOperand(0)), at);
    Value start = init ? evaluateAt(b, init, indices).front() : memref::LoadOp::create(b, loc, out, indices).getResult();
    Value product = arith::AddFOp::create(b, loc, start, sum);
    SmallVector<Operation *> fused{op};
    for (linalg::GenericOp other : {init, epilogue})
      if (other)
        fused.push_back(other);
    // The product's own buffer is stored only when something else reads it or the
    // epilogue does not overwrite it.
    if (!epilogue || (!isPrivateScratch(out, fused) && !llvm::is_contained(epilogue.getDpsInits(), out)))
      memref::StoreOp::create(b, loc, product, out, indices);
    if (epilogue) {
      SmallVector<Value> results = evaluateAt(b, epilogue, indices, {{out, product}});
      for (auto [result, target] : llvm::zip(results, epilogue.getDpsInits()))
        memref::StoreOp::create(b, loc, result, target, indices);
    }
  }

  /// `ivs` (row-major over `sizes`) as one index.
  Value linearize(ArrayRef<Value> ivs, ArrayRef<int64_t> sizes) {
    Value linear = index(0);
    for (auto [iv, size] : llvm::zip_equal(ivs, sizes))
      linear = add(mul(linear, size), iv);
    return linear;
  }

  /// The launch, with `init` giving each output's starting value (else the output's
  /// own) and `epilogue` applied to each finished output. With the reduction split,
  /// each block leaves its part's sums in a workspace and a second kernel adds them.
  void write() {
    Value workspace;
    if (splits > 1)
      workspace = memref::AllocOp::create(b, loc, MemRefType::get({splits, batches, rows, cols}, b.getF32Type()));
    auto launch = gpu::LaunchOp::create(b, loc, index(tiles(cols)), index(tiles(rows)), index(batches * splits),
                                        index(kThreads), index(1), index(1), /*dynamicSharedMemorySize=*/nullptr,
                                        /*asyncTokenType=*/nullptr, /*asyncDependencies=*/{},
                                        TypeRange{sliceType(0), sliceType(1)});
    Block &body = launch.getBody().front();
    b.setInsertionPointToStart(&body);
    SmallVector<Value> slices(launch.getWorkgroupAttributions());
    Value tid = launch.getThreadIds().x;
    Value warp = div(tid, kWarpSize), lane = rem(tid, kWarpSize);
    Value g = div(lane, 4), t = rem(lane, 4);
    int64_t warpCols = kBlockTile / kWarpTile;
    Value warpRow = mul(div(warp, warpCols), kWarpTile), warpCol = mul(rem(warp, warpCols), kWarpTile);
    Value rowTile = mul(launch.getBlockIds().y, kBlockTile), colTile = mul(launch.getBlockIds().x, kBlockTile);
    Value z = launch.getBlockIds().z;
    // Block z: batch element z / splits, part z % splits of the reduction.
    Value batchIndex = z, part, kStart = index(0), kEnd = index(depth);
    if (splits > 1) {
      batchIndex = div(z, splits);
      part = rem(z, splits);
      kStart = mul(part, chunk);
      kEnd = arith::MinUIOp::create(b, loc, add(kStart, chunk), kEnd);
    }
    SmallVector<Value> batch = delinearize(b, loc, batchIndex, batchSizes);

    // A pipeline of three stages: while the warps multiply the slices of step i,
    // the copies for steps i + 1 and i + 2 are in flight. One barrier a step both
    // publishes step i's slices (each thread waited for its own copies at the end of
    // step i - 1) and ends step i - 1's reads of the stage that step i + 2 overwrites.
    auto ifBefore = [&](Value k, Value end, llvm::function_ref<void()> body) {
      auto guard = scf::IfOp::create(b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, k, end),
                                     /*withElseRegion=*/false);
      OpBuilder::InsertionGuard restore(b);
      b.setInsertionPointToStart(guard.thenBlock());
      body();
    };
    copyStage(batch, rowTile, colTile, tid, kStart, slices, index(0));
    NVVM::CpAsyncCommitGroupOp::create(b, loc);
    Value secondK = add(kStart, kStageK);
    ifBefore(secondK, kEnd, [&] { copyStage(batch, rowTile, colTile, tid, secondK, slices, index(1)); });
    NVVM::CpAsyncCommitGroupOp::create(b, loc); // empty past the end: one group per step all the same
    NVVM::CpAsyncWaitGroupOp::create(b, loc, 1);
    Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0));
    auto steps = scf::ForOp::create(b, loc, kStart, kEnd, index(kStageK), SmallVector<Value>(kAccumulators, zero));
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(steps.getBody());
      Value k0 = steps.getInductionVar();
      Value step = div(arith::SubIOp::create(b, loc, k0, kStart), kStageK);
      Value stage = rem(step, kStages), ahead = rem(add(step, 2), kStages);
      gpu::BarrierOp::create(b, loc);
      Value aheadK = add(k0, 2 * kStageK);
      ifBefore(aheadK, kEnd, [&] { copyStage(batch, rowTile, colTile, tid, aheadK, slices, ahead); });
      NVVM::CpAsyncCommitGroupOp::create(b, loc);
      SmallVector<Value> next = multiplyStage(slices, stage, warpRow, warpCol, g, t, steps.getRegionIterArgs());
      NVVM::CpAsyncWaitGroupOp::create(b, loc, 1); // step i + 1's copies have landed
      scf::YieldOp::create(b, loc, next);
    }

    Value rowBase = add(rowTile, warpRow), colBase = add(colTile, warpCol);
    bool ragged = rows % kBlockTile || cols % kBlockTile;
    // Output `i`'s sum `sumAt` finished (or left in the workspace).
    auto finishOne = [&](Value i, llvm::function_ref<Value(Value, Value)> sumAt) {
      OpBuilder::InsertionGuard guard(b);
      auto [row, col] = accumulatorAt(i, rowBase, colBase, g, t);
      if (ragged) {
        Value inside = arith::AndIOp::create(b, loc, less(row, rows), less(col, cols));
        auto guardIf = scf::IfOp::create(b, loc, inside, /*withElseRegion=*/false);
        b.setInsertionPointToStart(guardIf.thenBlock());
      }
      Value sum = sumAt(row, col);
      if (workspace)
        memref::StoreOp::create(b, loc, sum, workspace, ValueRange{part, batchIndex, row, col});
      else
        finish(sum, ivs(batch, row, col, Value()));
    };
    // A NaN among this thread's sums (rare: an infinite or NaN operand) sends all of
    // them to exactSum, one loop over the outputs (kept small: the registers a kernel
    // gets are those its largest path needs); otherwise the accumulators are the sums.
    Value anyNaN;
    for (Value acc : steps.getResults()) {
      Value nan = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, acc, acc);
      anyNaN = anyNaN ? arith::OrIOp::create(b, loc, anyNaN, nan).getResult() : nan;
    }
    auto nanIf = scf::IfOp::create(b, loc, anyNaN, /*withElseRegion=*/true);
    b.setInsertionPointToStart(nanIf.thenBlock());
    auto outputs = scf::ForOp::create(b, loc, index(0), index(kAccumulators), index(1));
    b.setInsertionPointToStart(outputs.getBody());
    finishOne(outputs.getInductionVar(), [&](Value row, Value col) { return exactSum(batch, row, col, kStart, kEnd); });
    b.setInsertionPointToStart(nanIf.elseBlock());
    for (int64_t i = 0; i < kAccumulators; ++i)
      finishOne(index(i), [&](Value, Value) { return steps.getResult(i); });
    b.setInsertionPointToEnd(&body);
    gpu::TerminatorOp::create(b, loc);
    b.setInsertionPointAfter(launch);
    if (workspace) {
      writeSplitSums(workspace);
      memref::DeallocOp::create(b, loc, workspace);
    }
  }

  /// The kernel adding each output's split sums, in order, and finishing it: a thread
  /// per output, neighbouring threads on neighbouring outputs of the output buffer.
  void writeSplitSums(Value workspace) {
    int64_t outputs = batches * rows * cols;
    auto launch = gpu::LaunchOp::create(b, loc, index(llvm::divideCeilSigned(outputs, kSumThreads)), index(1), index(1),
                                        index(kSumThreads), index(1), index(1));
    Block &body = launch.getBody().front();
    b.setInsertionPointToStart(&body);
    Value id = add(mul(launch.getBlockIds().x, kSumThreads), launch.getThreadIds().x);
    if (outputs % kSumThreads) {
      auto inside = scf::IfOp::create(b, loc, less(id, outputs), /*withElseRegion=*/false);
      b.setInsertionPointToStart(inside.thenBlock());
    }
    // The output's loop indices in the order the output buffer lays them out.
    AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
    SmallVector<int64_t> outSizes;
    for (AffineExpr e : outMap.getResults())
      outSizes.push_back(loops.ranges[cast<AffineDimExpr>(e).getPosition()]);
    SmallVector<Value> at(loops.ranges.size(), index(0));
    for (auto [e, iv] : llvm::zip_equal(outMap.getResults(), delinearize(b, loc, id, outSizes)))
      at[cast<AffineDimExpr>(e).getPosition()] = iv;
    auto group = [&](ArrayRef<unsigned> dims) {
      return linearize(llvm::map_to_vector(dims, [&](unsigned d) { return at[d]; }), loops.sizes(dims));
    };
    SmallVector<Value> where{index(0), group(loops.batch), group(loops.m), group(loops.n)};
    Value sum = memref::LoadOp::create(b, loc, workspace, where);
    for (int64_t s = 1; s < splits; ++s) {
      where[0] = index(s);
      sum = arith::AddFOp::create(b, loc, sum, memref::LoadOp::create(b, loc, workspace, where));
    }
    finish(sum, at);
    b.setInsertionPointToEnd(&body);
    gpu::TerminatorOp::create(b, loc);
    b.setInsertionPointAfter(launch);
  }
};

struct KilnGPUTensorCoreMatmuls : kiln::impl::KilnGPUTensorCoreMatmulsBase<KilnGPUTensorCoreMatmuls> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<linalg::GenericOp> chosen;
    getOperation().walk([&](linalg::GenericOp op) {
      auto kernel = op->getAttrOfType<StringAttr>("kiln.gpu_kernel");
      if (kernel && kernel.getValue() == "tensor_core")
        chosen.push_back(op);
    });
    llvm::SmallPtrSet<Operation *, 16> erased;
    for (linalg::GenericOp op : chosen) {
      if (erased.contains(op))
        continue;
      std::optional<MatmulLoops> loops = matchMatmul(op);
      // Threads store outputs while others still read the operands: none may be a
      // view of the output.
      Value outRoot = rootOf(op.getDpsInitOperand(0)->get());
      if (llvm::any_of(op.getDpsInputOperands(), [&](OpOperand *in) { return rootOf(in->get()) == outRoot; }))
        loops = std::nullopt;
      if (loops && (KernelWriter::tiles(loops->extent(loops->m)) > kMaxGridYZ ||
                    loops->extent(loops->batch) > kMaxGridYZ))
        loops = std::nullopt;
      if (!loops) {
        // The graph-level choice assumed a plain product (a prologue folded into it,
        // say, is not); the per-output kernels take it.
        op->setAttr("kiln.gpu_kernel", StringAttr::get(&getContext(), "thread_per_output"));
        continue;
      }
      // The init and epilogue must index the output as the product does, one element
      // per output; every output is computed once, by one thread.
      auto outType = cast<MemRefType>(op.getDpsInitOperand(0)->get().getType());
      int64_t outputs = 1;
      for (auto [d, kind] : llvm::enumerate(op.getIteratorTypesArray()))
        outputs *= kind == utils::IteratorType::parallel ? loops->ranges[d] : 1;
      bool elementwiseOut = outType.hasStaticShape() && outType.getNumElements() == outputs;
      linalg::GenericOp init = elementwiseOut ? precedingInit(op) : nullptr;
      linalg::GenericOp epilogue = elementwiseOut ? followingEpilogue(op) : nullptr;
      OpBuilder b(op);
      KernelWriter writer(b, op, *loops);
      writer.init = init;
      writer.epilogue = epilogue;
      for (unsigned which : {0u, 1u})
        if (which == 0 || op.getDpsInputOperand(1)->get() != op.getDpsInputOperand(0)->get())
          writer.padded[which] = matchPaddedCopy(op.getDpsInputOperand(which)->get(), op);
      writer.write();
      for (Operation *done : {op.getOperation(), init.getOperation(), epilogue.getOperation()})
        if (done) {
          erased.insert(done);
          done->erase();
        }
      // A padded copy read in place goes with its buffer.
      for (std::optional<PaddedCopy> &pad : writer.padded)
        if (pad) {
          Value buffer = pad->window.getSource();
          for (Operation *built : {pad->fill.getOperation(), pad->copy.getOperation()}) {
            erased.insert(built);
            built->erase();
          }
          eraseIfUnused(buffer); // its window and deallocations too
        }
    }
  }
};

} // namespace
