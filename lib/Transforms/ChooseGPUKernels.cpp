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

StringRef kiln::stringifyGPUContractionKernel(GPUContractionKernel kernel) {
  return kernel == GPUContractionKernel::BlockPerOutput ? "block_per_output" : "thread_per_output";
}

namespace {

int64_t elementCount(Value value) {
  auto type = dyn_cast<ShapedType>(value.getType());
  return type && type.hasStaticShape() ? type.getNumElements() : -1;
}

struct KilnChooseGPUKernels : kiln::impl::KilnChooseGPUKernelsBase<KilnChooseGPUKernels> {
  using Base::Base;
  void runOnOperation() override {
    getOperation().walk([&](Operation *op) {
      int64_t outputs = -1, reduced = -1;
      if (auto matmul = dyn_cast<kiln::MatMulOp>(op)) {
        outputs = elementCount(matmul.getOutput());
        auto lhs = cast<ShapedType>(matmul.getLhs().getType());
        reduced = lhs.hasStaticShape() ? lhs.getShape().back() : -1;
      } else if (auto conv = dyn_cast<kiln::ConvOp>(op)) {
        outputs = elementCount(conv.getOutput());
        auto weight = cast<ShapedType>(conv.getWeight().getType());
        // Each output sums C / groups x K... products: the weight's size per filter.
        reduced = weight.hasStaticShape() ? weight.getNumElements() / weight.getShape().front() : -1;
      } else {
        return;
      }
      if (outputs < 0 || reduced < 0)
        return;
      auto kernel = kiln::chooseGPUContractionKernel(outputs, reduced);
      op->setAttr("kiln.gpu_kernel", StringAttr::get(op->getContext(), kiln::stringifyGPUContractionKernel(kernel)));
    });
  }
};

} // namespace
