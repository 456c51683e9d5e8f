// kiln-choose-gpu-kernels: how the CUDA target computes each contraction, recorded on
// the kiln op (the GPU mapping makes the same choice through the same function).
#include "kiln/Transforms/Passes.h"


namespace kiln {
#define GEN_PASS_DEF_KILNCHOOSEGPUKERNELS
#include "kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

kiln::GPUContractionKernel kiln::chooseGPUContractionKernel(int64_t outputs, int64_t reduced) {
  // One thread per output leaves most of the GPU idle when there are fewer outputs than
  // about one 256-thread block per SM (132 on an H100), and each thread then walks a
  // long reduction alone. Splitting the reduction across a block pays for its
  // all_reduce only when there is enough to split.
  constexpr int64_t kFewOutputs = 32768, kLongReduction = 256;
  return outputs < kFewOutputs && reduced >= kLongReduction ? GPUContractionKernel::BlockPerOutput
                                                            : GPUContractionKernel::ThreadPerOutput;
}

bool kiln::isGPUGemmPolicy(StringRef gemm) {
  return gemm == "auto" || gemm == "cublaslt" || gemm == "kernels" || gemm == "tensor-cores";
}

bool kiln::isGPUConvPolicy(StringRef conv) {
  return conv == "auto" || conv == "cudnn" || conv == "cublaslt" || conv == "kernels" || conv == "tensor-cores";
}

StringRef kiln::stringifyGPUContractionKernel(GPUContractionKernel kernel) {
  return kernel == GPUContractionKernel::BlockPerOutput ? "block_per_output" : "thread_per_output";
}

namespace {

/// Whether `operand` is a region input, or one seen through slices, reshapes and
/// transposes: views once bufferized, which cuBLASLt reads through its strides where
/// they fit (kiln-gpu-library-calls; a copy otherwise).
bool readsRegionInput(Value operand) {
  while (Operation *def = operand.getDefiningOp()) {
    auto slice = dyn_cast<kiln::SliceOp>(def);
    if (slice && llvm::any_of(slice.getSteps(), [](int64_t step) { return step < 0; }))
      return false;
    if (!isa<kiln::SliceOp, kiln::ReshapeOp, kiln::TransposeOp>(def))
      return false;
    operand = def->getOperand(0);
  }
  return isa<BlockArgument>(operand);
}

/// Whether the generated tensor-core kernel can take `matmul`: f32, static, both
/// operands at least 2-D (rows and columns to tile) and entering its fusion unchanged
/// or through views, so the product stays a plain multiply-add (see
/// kiln-gpu-tensor-core-matmuls). It loads any layout and broadcasts batch dimensions.
bool fitsTensorCores(kiln::MatMulOp matmul) {
  auto lhs = cast<ShapedType>(matmul.getLhs().getType()), rhs = cast<ShapedType>(matmul.getRhs().getType());
  auto out = cast<ShapedType>(matmul.getOutput().getType());
  if (!lhs.hasStaticShape() || !rhs.hasStaticShape() || !out.hasStaticShape() || lhs.getRank() < 2 ||
      rhs.getRank() < 2 || !lhs.getElementType().isF32() || !rhs.getElementType().isF32() ||
      !out.getElementType().isF32())
    return false;
  return !isa<kiln::FusionOp>(matmul->getParentOp()) || llvm::all_of(matmul->getOperands(), readsRegionInput);
}

/// Whether cuBLASLt can take `matmul` as it stands: what the tensor-core kernel takes
/// (see kiln-gpu-library-calls), with batch dims equal or only on the left.
bool fitsLibrary(kiln::MatMulOp matmul) {
  auto lhs = cast<ShapedType>(matmul.getLhs().getType()), rhs = cast<ShapedType>(matmul.getRhs().getType());
  return fitsTensorCores(matmul) &&
         (rhs.getRank() == 2 ||
          (rhs.getRank() == lhs.getRank() && lhs.getShape().drop_back(2) == rhs.getShape().drop_back(2)));
}

/// Whether `conv`'s input and weight enter its fusion unchanged (or it is in none):
/// a convolution generic then reads them as they are.
bool operandsEnterUnchanged(kiln::ConvOp conv) {
  return !isa<kiln::FusionOp>(conv->getParentOp()) ||
         (isa<BlockArgument>(conv.getInput()) && isa<BlockArgument>(conv.getWeight()));
}

/// Whether cuDNN can take `conv` as it stands: 2-D, f32, static, its input and weight
/// entering its fusion unchanged (padding, bias, ReLU and a residual add
/// are cuDNN's own; see kiln-gpu-library-calls).
bool fitsCudnn(kiln::ConvOp conv) {
  auto input = cast<ShapedType>(conv.getInput().getType()), weight = cast<ShapedType>(conv.getWeight().getType());
  auto output = cast<ShapedType>(conv.getOutput().getType());
  return input.hasStaticShape() && weight.hasStaticShape() && output.hasStaticShape() && input.getRank() == 4 &&
         input.getElementType().isF32() && weight.getElementType().isF32() && operandsEnterUnchanged(conv);
}

/// Whether `conv` is a product cuBLASLt can take: a 1x1 filter at stride 1 over an
/// unpadded f32 input, ungrouped, whose input enters its fusion unchanged
/// (y[n, f, p] = sum_c w[f, c] x[n, c, p], a GEMM per image).
bool fitsLibrary(kiln::ConvOp conv) {
  auto input = cast<ShapedType>(conv.getInput().getType()), weight = cast<ShapedType>(conv.getWeight().getType());
  auto isOne = [](int64_t v) { return v == 1; };
  auto isZero = [](int64_t v) { return v == 0; };
  return input.hasStaticShape() && weight.hasStaticShape() && input.getElementType().isF32() &&
         weight.getElementType().isF32() && conv.getGroups() == 1 &&
         llvm::all_of(weight.getShape().drop_front(2), isOne) && llvm::all_of(conv.getStrides(), isOne) &&
         llvm::all_of(conv.getPads(), isZero) && operandsEnterUnchanged(conv);
}

/// Whether the generated tensor-core kernel can take `conv` as a batch of GEMMs (one
/// per group: images x pixels by filters, over channels x window): f32, static, its
/// input and weight entering its fusion unchanged.
bool fitsTensorCores(kiln::ConvOp conv) {
  auto input = cast<ShapedType>(conv.getInput().getType()), weight = cast<ShapedType>(conv.getWeight().getType());
  auto output = cast<ShapedType>(conv.getOutput().getType());
  return input.hasStaticShape() && weight.hasStaticShape() && output.hasStaticShape() &&
         input.getElementType().isF32() && weight.getElementType().isF32() && output.getElementType().isF32() &&
         operandsEnterUnchanged(conv);
}

/// Whether a library call for `op` would leave part of its fusion to a kernel of its
/// own, one more pass over the library's output: the rest of the fusion is
/// elementwise over the product's elements (what the tensor-core kernel runs on its
/// accumulators) and has an op that neither the library's epilogue (adds, a ReLU) nor
/// a reader can take in (GELU's Erf, SiLU's Sigmoid; see isCheapEpilogueOp). Where a
/// reduction or a reshape reads the product (a softmax, a layer norm), that kernel
/// reads it once either way and takes the ops before it.
bool libraryLeavesKernel(Operation *op) {
  if (!isa<kiln::FusionOp>(op->getParentOp()))
    return false;
  Type product = op->getResult(0).getType();
  auto elementwise = [&](Operation *user) {
    return user->getNumResults() == 1 && user->getResult(0).getType() == product &&
           ((user->hasTrait<OpTrait::SameOperandsAndResultType>() && !isa<kiln::SoftmaxOp>(user)) ||
            isa<kiln::AddOp, kiln::SubOp, kiln::MulOp, kiln::DivOp, kiln::PowOp, kiln::MaxOp, kiln::MinOp>(user));
  };
  SmallVector<Operation *> work(op->getUsers().begin(), op->getUsers().end());
  llvm::SmallPtrSet<Operation *, 16> seen;
  bool expensive = false;
  while (!work.empty()) {
    Operation *user = work.pop_back_val();
    if (!seen.insert(user).second || user->hasTrait<OpTrait::IsTerminator>())
      continue;
    if (!elementwise(user))
      return false;
    expensive |= !kiln::isCheapEpilogueOp(user);
    llvm::append_range(work, user->getUsers());
  }
  return expensive;
}

int64_t elementCount(Value value) {
  auto type = dyn_cast<ShapedType>(value.getType());
  return type && type.hasStaticShape() ? type.getNumElements() : -1;
}

struct KilnChooseGPUKernels : kiln::impl::KilnChooseGPUKernelsBase<KilnChooseGPUKernels> {
  using Base::Base;
  void runOnOperation() override {
    if (!kiln::isGPUGemmPolicy(gemm) || !kiln::isGPUConvPolicy(conv)) {
      getOperation().emitError("kiln-choose-gpu-kernels: gemm must be auto, cublaslt, kernels or tensor-cores, not '")
          << gemm << "', and conv auto, cudnn, cublaslt, kernels or tensor-cores, not '" << conv << "'";
      return signalPassFailure();
    }
    if ((gemm == "tensor-cores" || conv == "tensor-cores") && !tensorCores) {
      getOperation().emitError("kiln-choose-gpu-kernels: tensor-cores needs TF32 tensor cores (sm_80 or later)");
      return signalPassFailure();
    }
    // Below this a generated kernel, with the fusion's epilogue in registers, costs
    // about the launch either way.
    constexpr int64_t kLibraryWork = 65536;
    // An output summing fewer products than this (a depthwise 3x3 filter sums 9) is
    // bound by memory, not arithmetic: a library's tiling has nothing to reuse, and a
    // generated kernel moves the same bytes with the fusion's whole epilogue in
    // registers (a depthwise convolution's ReLU6, which cuDNN's fused call lacks).
    constexpr int64_t kShortReduction = 32;
    // An mma tile is 16 rows by 8 columns and a warp takes 32 by 32: a GEMM with fewer
    // than 16 rows or columns leaves most of it idle.
    constexpr int64_t kMinTileSide = 16;
    getOperation().walk([&](Operation *op) {
      bool forced = false, tensorCoresFit = false, tensorCoresForced = false;
      int64_t outputs = -1, reduced = -1, rows = 0, cols = 0; // rows, cols: of one GEMM
      StringRef library;
      if (auto matmul = dyn_cast<kiln::MatMulOp>(op)) {
        outputs = elementCount(matmul.getOutput());
        auto lhs = cast<ShapedType>(matmul.getLhs().getType());
        reduced = lhs.hasStaticShape() ? lhs.getShape().back() : -1;
        if ((gemm == "auto" || gemm == "cublaslt") && fitsLibrary(matmul))
          library = "cublaslt";
        forced = gemm == "cublaslt";
        tensorCoresFit = fitsTensorCores(matmul);
        tensorCoresForced = gemm == "tensor-cores";
        if (tensorCoresFit) {
          rows = lhs.getShape().drop_back().back();
          cols = cast<ShapedType>(matmul.getRhs().getType()).getShape().back();
        }
      } else if (auto conv = dyn_cast<kiln::ConvOp>(op)) {
        outputs = elementCount(conv.getOutput());
        auto weight = cast<ShapedType>(conv.getWeight().getType());
        // Each output sums C / groups x K... products: the weight's size per filter.
        reduced = weight.hasStaticShape() ? weight.getNumElements() / weight.getShape().front() : -1;
        if ((this->conv == "auto" || this->conv == "cudnn") && fitsCudnn(conv))
          library = "cudnn";
        else if (this->conv == "cublaslt" && fitsLibrary(conv))
          library = "cublaslt";
        forced = this->conv == "cudnn" || this->conv == "cublaslt";
        tensorCoresFit = fitsTensorCores(conv);
        tensorCoresForced = this->conv == "tensor-cores";
        if (tensorCoresFit) { // a GEMM per group: images x pixels by its filters
          rows = outputs / weight.getShape().front();
          cols = weight.getShape().front() / conv.getGroups();
        }
      } else {
        return;
      }
      if (outputs < 0 || reduced < 0)
        return;
      StringRef kernel = kiln::stringifyGPUContractionKernel(kiln::chooseGPUContractionKernel(outputs, reduced));
      // The tensor-core kernel where forced, or over enough work where the tiles are
      // not mostly empty (the rows: a matmul's, a convolution's images x pixels). Few
      // outputs over long sums too: the kernel splits the reduction across blocks,
      // where a block per output would read its operands once per output.
      bool tensorCoreKernel =
          tensorCores && tensorCoresFit &&
          (tensorCoresForced || (rows >= kMinTileSide && cols >= kMinTileSide && outputs * reduced >= kLibraryWork &&
                                 reduced >= kShortReduction));
      if (tensorCoreKernel)
        kernel = "tensor_core";
      // The library over enough work, unless it would leave the fusion's activation
      // to a second kernel (GELU, SiLU) that the tensor-core kernel runs on its
      // accumulators: the epilogue stays fused.
      bool fusedEpilogue = tensorCoreKernel && libraryLeavesKernel(op);
      if (!library.empty() &&
          (forced || (outputs * reduced >= kLibraryWork && reduced >= kShortReduction && !fusedEpilogue)))
        kernel = library;
      op->setAttr("kiln.gpu_kernel", StringAttr::get(op->getContext(), kernel));
    });
  }
};

} // namespace
