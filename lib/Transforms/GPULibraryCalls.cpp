// kiln-gpu-library-calls: contractions the CUDA target hands to cuBLASLt or cuDNN become
// calls that the host program turns into library steps. The row-major, possibly batched
// and transposed kiln matmul is mapped onto cuBLASLt's column-major problem here, once,
// and written down as the descriptor of runtime/include/kiln/cuda_library.h; the
// convolutions' mapping is in CudnnConvolution.cpp.
#include "kiln/Transforms/Passes.h"

#include "LibraryCall.h"

#include "kiln/cuda_library.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace kiln {
#define GEN_PASS_DEF_KILNGPULIBRARYCALLS
#include "kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// One group of loop dimensions collapsed into a single matrix dimension of one
/// operand: its extent and the element stride between consecutive indices.
struct Extent {
  int64_t size = 1;
  int64_t stride = 0;
};

/// A buffer operand seen from the generic's loops: the element stride along each loop
/// dimension (0 where the operand does not vary with it) and where it starts.
struct Access {
  Value buffer;
  SmallVector<int64_t> strides;
  SmallVector<bool> varies;
  int64_t offset = 0;
};

/// How `operand` of `op` moves with each loop; fails for indexing other than one loop
/// per dimension (or a constant 0) and for non-strided buffers.
std::optional<Access> accessOf(linalg::GenericOp op, OpOperand &operand, ArrayRef<int64_t> ranges) {
  auto type = dyn_cast<MemRefType>(operand.get().getType());
  if (!type || !type.hasStaticShape() || !type.getElementType().isF32())
    return std::nullopt;
  auto layout = kiln::staticLayoutOf(type);
  if (!layout)
    return std::nullopt;
  Access access{operand.get(), SmallVector<int64_t>(ranges.size(), 0),
                SmallVector<bool>(ranges.size(), false), layout->offset};
  // Loops of extent 1 are always at 0 (a 1x1 filter's window loops): o + k is o.
  AffineMap map = op.getMatchingIndexingMap(&operand);
  SmallVector<AffineExpr> zeros;
  for (auto [d, range] : llvm::enumerate(ranges))
    zeros.push_back(range == 1 ? getAffineConstantExpr(0, op.getContext()) : getAffineDimExpr(d, op.getContext()));
  map = simplifyAffineMap(map.replaceDimsAndSymbols(zeros, {}, map.getNumDims(), 0));
  for (auto [expr, stride, size] : llvm::zip(map.getResults(), layout->strides, type.getShape())) {
    if (auto dim = dyn_cast<AffineDimExpr>(expr)) {
      unsigned d = dim.getPosition();
      if (access.varies[d])
        return std::nullopt;
      access.varies[d] = ranges[d] != 1;
      access.strides[d] = ranges[d] != 1 ? stride : 0;
    } else if (auto constant = dyn_cast<AffineConstantExpr>(expr); !constant || constant.getValue() != 0) {
      return std::nullopt;
    }
  }
  return access;
}

/// `dims` (outermost first) of `access` as one dimension: each must step over whole
/// runs of the next. Fails if it varies with some of them but not all.
std::optional<Extent> collapse(const Access &access, ArrayRef<unsigned> dims, ArrayRef<int64_t> ranges) {
  Extent extent;
  for (unsigned d : dims)
    extent.size *= ranges[d];
  unsigned varying = llvm::count_if(dims, [&](unsigned d) { return access.varies[d]; });
  if (varying == 0)
    return extent;
  if (varying != dims.size())
    return std::nullopt;
  for (unsigned i = 0; i + 1 < dims.size(); ++i)
    if (access.strides[dims[i]] != access.strides[dims[i + 1]] * ranges[dims[i + 1]])
      return std::nullopt;
  extent.stride = access.strides[dims.back()];
  return extent;
}

/// A rows x cols matrix whose rows and cols step by the given extents, as cuBLASLt's
/// column-major storage: as is, or transposed (stored cols x rows); and its leading
/// dimension.
std::optional<std::pair<bool, int64_t>> columnMajor(Extent rows, Extent cols) {
  if (rows.size == 1 || rows.stride == 1) {
    int64_t ld = cols.size == 1 ? rows.size : cols.stride;
    if (ld >= rows.size)
      return std::make_pair(false, ld);
  }
  if (cols.size == 1 || cols.stride == 1) {
    int64_t ld = rows.size == 1 ? cols.size : rows.stride;
    if (ld >= cols.size)
      return std::make_pair(true, ld);
  }
  return std::nullopt;
}

/// Bytes every address of the buffer is a multiple of, given its element offset from
/// a 256-byte aligned allocation.
int64_t alignment(int64_t elementOffset) {
  int64_t bytes = elementOffset * 4;
  int64_t align = 256;
  while (align > 4 && bytes % align)
    align /= 2;
  return align;
}

using kiln::neighbour;
using kiln::rootOf;
using kiln::isZero;
using kiln::writesWhole;

/// The matmul of a contraction generic, in cuBLASLt's terms.
struct Matmul {
  SmallVector<int64_t> fields = SmallVector<int64_t>(KILN_CUDA_MATMUL_FIELDS, 0);
  Value a, b, c, d, bias;
  SmallVector<Operation *> replaced;
  /// An elementwise init (a convolution's bias broadcast) the product no longer
  /// accumulates onto: it is added after the call instead, where it merges with the
  /// fusion's epilogue into one kernel.
  linalg::GenericOp addAfter;
};

struct KilnGPULibraryCalls : kiln::impl::KilnGPULibraryCallsBase<KilnGPULibraryCalls> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<std::pair<linalg::GenericOp, bool>> chosen; // and whether for cuDNN
    module.walk([&](linalg::GenericOp op) {
      auto kernel = op->getAttrOfType<StringAttr>("kiln.gpu_kernel");
      if (kernel && (kernel.getValue() == "cublaslt" || kernel.getValue() == "cudnn"))
        chosen.push_back({op, kernel.getValue() == "cudnn"});
    });
    for (auto [op, cudnn] : chosen) {
      std::optional<Matmul> matmul;
      if (!cudnn) {
        // Operands a transpose lays out, or that one puts back, are read or written
        // in place where the strides fit (attention heads at batch 1). Where they do
        // not, the copies stay, the last tried first.
        SmallVector<kiln::InPlaceCopy> copies = kiln::readCopiesInPlace(op);
        if (auto write = kiln::writeCopyInPlace(op))
          copies.push_back(*write);
        matmul = match(op);
        while (!matmul && !copies.empty()) {
          kiln::undoInPlaceCopy(copies.pop_back_val());
          matmul = match(op);
        }
        if (matmul)
          kiln::dropCopies(copies);
      }
      std::optional<kiln::LibraryCall> conv = cudnn ? kiln::matchCudnnConvolution(op) : std::nullopt;
      if (!matmul && !conv) {
        // The graph-level choice assumed a plain product; a generated kernel does it.
        op->setAttr("kiln.gpu_kernel", StringAttr::get(&getContext(), "thread_per_output"));
        continue;
      }
      if (matmul)
        replace(symbols, *matmul, op);
      else
        emitCall(symbols, *conv, op.getLoc());
    }
  }

  /// `op` as a cuBLASLt matmul, with the fill before it and the bias and ReLU after it
  /// taken in where they fit.
  std::optional<Matmul> match(linalg::GenericOp op) {
    if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1 ||
        !kiln::isMultiplyAdd(op))
      return std::nullopt;
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    if (llvm::any_of(ranges, ShapedType::isDynamic))
      return std::nullopt;
    auto lhs = accessOf(op, *op.getDpsInputOperand(0), ranges);
    auto rhs = accessOf(op, *op.getDpsInputOperand(1), ranges);
    auto out = accessOf(op, *op.getDpsInitOperand(0), ranges);
    // cuBLASLt reads A and B while it writes D: they must not share memory.
    if (!lhs || !rhs || !out || rootOf(out->buffer) == rootOf(lhs->buffer) ||
        rootOf(out->buffer) == rootOf(rhs->buffer))
      return std::nullopt;

    // Loop dimensions by role, each group ordered by the output's strides (the
    // reduction by the left operand's), outermost first.
    SmallVector<unsigned> m, n, k, batch;
    for (unsigned d = 0; d < ranges.size(); ++d) {
      if (ranges[d] == 1)
        continue;
      if (op.getIteratorTypesArray()[d] == utils::IteratorType::reduction) {
        if (!lhs->varies[d] || !rhs->varies[d] || out->varies[d])
          return std::nullopt;
        k.push_back(d);
      } else if (!out->varies[d]) {
        return std::nullopt;
      } else if (lhs->varies[d] && !rhs->varies[d]) {
        m.push_back(d);
      } else if (rhs->varies[d] && !lhs->varies[d]) {
        n.push_back(d);
      } else {
        batch.push_back(d);
      }
    }
    auto outerFirst = [](const Access &access) {
      return [&access](unsigned x, unsigned y) { return access.strides[x] > access.strides[y]; };
    };
    llvm::stable_sort(m, outerFirst(*out));
    llvm::stable_sort(n, outerFirst(*out));
    llvm::stable_sort(k, outerFirst(*lhs));
    // Outer row or column dims that do not run on into the rest (the images of a 1x1
    // convolution, with the channels between them and the pixels) become batch dims,
    // the other operand repeating across them.
    auto peel = [&](SmallVector<unsigned> &group, const Access &input) {
      while (group.size() > 1 && (!collapse(input, group, ranges) || !collapse(*out, group, ranges))) {
        batch.push_back(group.front());
        group.erase(group.begin());
      }
    };
    peel(m, *lhs);
    peel(n, *rhs);
    llvm::stable_sort(batch, outerFirst(*out));

    Matmul result;
    result.a = lhs->buffer;
    result.b = rhs->buffer;
    result.d = result.c = out->buffer;
    int64_t beta = 1;
    // A fill of zeros before: nothing to accumulate onto.
    auto init = dyn_cast_or_null<linalg::GenericOp>(neighbour(op, /*after=*/false));
    if (writesWhole(init, out->buffer)) {
      if (isZero(kiln::filledValue(init))) {
        beta = 0;
        result.replaced.push_back(init);
      } else if (init.getRegion().front().getArgument(init.getNumDpsInputs()).use_empty() &&
                 llvm::none_of(init.getDpsInputOperands(), [&](OpOperand *in) {
                   return isa<MemRefType>(in->get().getType()) &&
                          (rootOf(in->get()) == rootOf(out->buffer) || rootOf(in->get()) == rootOf(lhs->buffer) ||
                           rootOf(in->get()) == rootOf(rhs->buffer));
                 })) {
        beta = 0;
        result.addAfter = init;
      }
    }
    result.replaced.push_back(op);

    // The rows of cuBLASLt's D are the output's contiguous group: the right operand's
    // columns for a row-major output (D^T = B^T A^T), the left's rows otherwise.
    auto k0 = collapse(*lhs, k, ranges), k1 = collapse(*rhs, k, ranges);
    if (!k0 || !k1)
      return std::nullopt;
    auto bat = [&](const Access &access) { return collapse(access, batch, ranges); };
    auto batA = bat(*lhs), batB = bat(*rhs), batD = bat(*out);
    if (!batA || !batB || !batD)
      return std::nullopt;
    bool assigned = false;
    for (bool swapped : {true, false}) {
      const Access &first = swapped ? *rhs : *lhs, &second = swapped ? *lhs : *rhs;
      ArrayRef<unsigned> rows = swapped ? n : m, cols = swapped ? m : n;
      Extent firstK = swapped ? *k1 : *k0, secondK = swapped ? *k0 : *k1;
      auto rowsA = collapse(first, rows, ranges), colsB = collapse(second, cols, ranges);
      auto rowsD = collapse(*out, rows, ranges), colsD = collapse(*out, cols, ranges);
      if (!rowsA || !colsB || !rowsD || !colsD)
        continue;
      auto a = columnMajor(*rowsA, firstK), b = columnMajor(secondK, *colsB),
           dl = columnMajor(*rowsD, *colsD);
      if (!a || !b || !dl || dl->first)
        continue;
      auto &f = result.fields;
      f[KILN_CUDA_MATMUL_ROWS] = rowsD->size;
      f[KILN_CUDA_MATMUL_COLS] = colsD->size;
      f[KILN_CUDA_MATMUL_DEPTH] = firstK.size;
      f[KILN_CUDA_MATMUL_TRANS_A] = a->first;
      f[KILN_CUDA_MATMUL_TRANS_B] = b->first;
      f[KILN_CUDA_MATMUL_LDA] = a->second;
      f[KILN_CUDA_MATMUL_LDB] = b->second;
      f[KILN_CUDA_MATMUL_LDC] = f[KILN_CUDA_MATMUL_LDD] = dl->second;
      f[KILN_CUDA_MATMUL_STRIDE_A] = swapped ? batB->stride : batA->stride;
      f[KILN_CUDA_MATMUL_STRIDE_B] = swapped ? batA->stride : batB->stride;
      f[KILN_CUDA_MATMUL_STRIDE_C] = f[KILN_CUDA_MATMUL_STRIDE_D] = batD->stride;
      if (swapped)
        std::swap(result.a, result.b);
      assigned = true;
      break;
    }
    if (!assigned)
      return std::nullopt;
    result.fields[KILN_CUDA_MATMUL_BATCH] = batD->size;
    result.fields[KILN_CUDA_MATMUL_BETA] = beta;
    // An init added after the call comes before any epilogue: cuBLASLt's would run
    // too early.
    if (!result.addAfter)
      matchEpilogue(op, *out, result);
    return result;
  }

  /// A bias along D's rows, a residual laid out like D and a ReLU, applied by the
  /// elementwise generic right after the contraction, in place or into another buffer:
  /// cuBLASLt's epilogue and C (beta 1, where the zero fill had made it 0), writing that
  /// buffer.
  void matchEpilogue(linalg::GenericOp op, const Access &out, Matmul &result) {
    auto epilogue = dyn_cast_or_null<linalg::GenericOp>(neighbour(op, /*after=*/true));
    std::optional<kiln::Epilogue> parsed = kiln::matchEpilogue(epilogue, out.buffer);
    if (!parsed)
      return;
    Value target = epilogue.getDpsInitOperand(0)->get();
    if (target.getType() != out.buffer.getType() || rootOf(target) == rootOf(result.a) ||
        rootOf(target) == rootOf(result.b))
      return;
    // In place, or from a scratch buffer nothing else reads.
    Value scratch = out.buffer;
    SmallVector<Operation *> users = result.replaced;
    users.append({op, epilogue});
    if (target != scratch && !kiln::isPrivateScratch(scratch, users))
      return;
    OpOperand *bias = nullptr, *residual = nullptr;
    for (OpOperand *addend : parsed->addends) {
      // A residual takes C's place: it must be laid out like D, and there must have
      // been nothing to accumulate onto. cuBLASLt's bias is one vector for the whole
      // batch only with a batch stride set; Kiln takes it for single products.
      if (!residual && addend->get().getType() == out.buffer.getType() &&
          epilogue.getMatchingIndexingMap(addend).isIdentity() && result.fields[KILN_CUDA_MATMUL_BETA] == 0 &&
          rootOf(addend->get()) != rootOf(result.a) && rootOf(addend->get()) != rootOf(result.b) &&
          (addend->get() == target || rootOf(addend->get()) != rootOf(target)))
        residual = addend;
      else if (!bias && result.fields[KILN_CUDA_MATMUL_BATCH] == 1 && isRowVector(epilogue, addend, out, result) &&
               rootOf(addend->get()) != rootOf(target))
        bias = addend;
      else
        return;
    }
    bool relu = parsed->relu, biased = bias != nullptr;
    result.fields[KILN_CUDA_MATMUL_EPILOGUE] = relu && biased ? KILN_CUDA_EPILOGUE_RELU_BIAS
                                              : biased        ? KILN_CUDA_EPILOGUE_BIAS
                                              : relu          ? KILN_CUDA_EPILOGUE_RELU
                                                              : KILN_CUDA_EPILOGUE_NONE;
    if (biased)
      result.bias = bias->get();
    result.d = target;
    if (residual) {
      result.c = residual->get();
      result.fields[KILN_CUDA_MATMUL_BETA] = 1;
    } else if (result.fields[KILN_CUDA_MATMUL_BETA] == 0) {
      result.c = target;
    }
    result.replaced.push_back(epilogue);
  }

  /// `operand` of the epilogue holds one contiguous value per row of D (cuBLASLt's
  /// bias), broadcast along its columns.
  static bool isRowVector(linalg::GenericOp epilogue, OpOperand *operand, const Access &out,
                          const Matmul &result) {
    auto type = dyn_cast<MemRefType>(operand->get().getType());
    SmallVector<int64_t> strides;
    int64_t offset;
    if (!type || !type.getElementType().isF32() || failed(type.getStridesAndOffset(strides, offset)) ||
        offset != 0 || type.getNumElements() != result.fields[KILN_CUDA_MATMUL_ROWS])
      return false;
    // The epilogue's loops are the output's dimensions: the bias must vary exactly
    // with those of unit stride in D's rows, i.e. be indexed like the output's
    // innermost dimensions that make up ROWS.
    SmallVector<int64_t> ranges = epilogue.getStaticLoopRanges();
    auto access = accessOf(epilogue, *operand, ranges);
    if (!access)
      return false;
    auto outLayout = kiln::staticLayoutOf(cast<MemRefType>(out.buffer.getType()));
    if (!outLayout)
      return false;
    for (unsigned d = 0; d < ranges.size(); ++d) {
      int64_t outStride = outLayout->strides[d];
      bool inRows = ranges[d] != 1 && outStride < result.fields[KILN_CUDA_MATMUL_ROWS];
      if (access->varies[d] != inRows || (inRows && access->strides[d] != outStride))
        return false;
    }
    return true;
  }

  void replace(SymbolTable &symbols, Matmul &matmul, linalg::GenericOp op) {
    kiln::LibraryCall call{"kiln_cublaslt_matmul", "kiln.cublaslt", matmul.fields,
                           {matmul.a, matmul.b, matmul.c, matmul.d}, matmul.replaced};
    static const int alignmentFields[] = {KILN_CUDA_MATMUL_ALIGN_A, KILN_CUDA_MATMUL_ALIGN_B,
                                          KILN_CUDA_MATMUL_ALIGN_C, KILN_CUDA_MATMUL_ALIGN_D};
    for (auto [field, operand] : llvm::zip(alignmentFields, call.operands))
      call.fields[field] = alignment(offsetOf(operand));
    if (matmul.bias)
      call.operands.push_back(matmul.bias);
    if (linalg::GenericOp init = matmul.addAfter) {
      // out = out + init's value, right after the call.
      init->moveAfter(call.replaced.back());
      Block &body = init.getRegion().front();
      Operation *yield = body.getTerminator();
      OpBuilder inner(yield);
      Value sum = inner.create<arith::AddFOp>(init.getLoc(), body.getArgument(init.getNumDpsInputs()),
                                              yield->getOperand(0));
      yield->setOperand(0, sum);
    }
    emitCall(symbols, call, op.getLoc());
  }

  /// Declares the library function with the call's descriptor, calls it after the last
  /// replaced op, erases those, and then the views and allocations only they used.
  void emitCall(SymbolTable &symbols, kiln::LibraryCall &call, Location loc) {
    // A declaration per call: each has its own buffer types and descriptor.
    OpBuilder top = OpBuilder::atBlockEnd(getOperation().getBody());
    auto callee = top.create<func::FuncOp>(loc, call.callee, top.getFunctionType(ValueRange(call.operands).getTypes(), {}));
    callee.setPrivate();
    callee->setAttr(call.attribute, top.getDenseI64ArrayAttr(call.fields));
    symbols.insert(callee);
    OpBuilder b(call.replaced.back()->getNextNode());
    b.create<func::CallOp>(loc, callee, call.operands);
    // The buffers the replaced ops used (the product's scratch output, a padded copy
    // of the input), to erase those and their views left unused.
    SetVector<Value> roots;
    for (Operation *replaced : call.replaced)
      for (Value operand : replaced->getOperands())
        if (isa<MemRefType>(operand.getType()))
          roots.insert(kiln::rootOf(operand));
    for (Operation *replaced : llvm::reverse(call.replaced))
      replaced->erase();
    for (Value root : roots)
      kiln::eraseIfUnused(root);
  }

  static int64_t offsetOf(Value buffer) {
    SmallVector<int64_t> strides;
    int64_t offset = 0;
    (void)cast<MemRefType>(buffer.getType()).getStridesAndOffset(strides, offset);
    return offset;
  }
};

} // namespace
