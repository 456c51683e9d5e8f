// kiln-gather-gpu-kernels: host code keeps no element access, and all outlined kernels
// move into one gpu.module.
#include "kiln/Transforms/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

namespace kiln {
#define GEN_PASS_DEF_KILNGATHERGPUKERNELS
#include "kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace {

/// Ops that read or write buffer elements: on the host they would touch device memory.
bool accessesElements(Operation *op) {
  return isa<memref::LoadOp, memref::StoreOp, linalg::LinalgOp, vector::TransferReadOp,
             vector::TransferWriteOp, memref::CopyOp>(op);
}

struct KilnGatherGPUKernels : kiln::impl::KilnGatherGPUKernelsBase<KilnGatherGPUKernels> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    WalkResult unmapped = module.walk([&](Operation *op) {
      if (op->getParentOfType<gpu::GPUModuleOp>() || !accessesElements(op))
        return WalkResult::advance();
      op->emitError("this op is not mapped to the GPU (it would run on the host)");
      return WalkResult::interrupt();
    });
    if (unmapped.wasInterrupted())
      return signalPassFailure();

    SmallVector<gpu::GPUModuleOp> kernels(module.getOps<gpu::GPUModuleOp>());
    if (kernels.empty())
      return;
    OpBuilder b(kernels.front());
    auto merged = b.create<gpu::GPUModuleOp>(module.getLoc(), "kiln_kernels");
    Block &body = merged.getBodyRegion().front();
    // Outlining names each kernel after its function, so two launches in one function
    // give equal kernel names in different modules; the module names are unique, and
    // the kernels take them.
    llvm::DenseMap<Attribute, StringAttr> renamed; // @module::@kernel -> new name
    for (gpu::GPUModuleOp kernel : kernels) {
      for (Operation &op : llvm::make_early_inc_range(kernel.getBodyRegion().front())) {
        if (auto func = dyn_cast<gpu::GPUFuncOp>(op)) {
          // Shared memory 16-byte aligned: the tensor-core kernel's 16-byte cp.async
          // writes there (outlining drops the attributions' attributes).
          for (unsigned i = 0; i < func.getNumWorkgroupAttributions(); ++i)
            func.setWorkgroupAttributionAttr(i, LLVM::LLVMDialect::getAlignAttrName(), b.getI64IntegerAttr(16));
          auto oldRef = SymbolRefAttr::get(kernel.getSymNameAttr(),
                                           {FlatSymbolRefAttr::get(func.getNameAttr())});
          renamed[oldRef] = kernel.getSymNameAttr();
          func.setName(kernel.getSymName());
        }
        op.moveBefore(&body, body.end());
      }
      kernel.erase();
    }
    module.walk([&](gpu::LaunchFuncOp launch) {
      StringAttr name = renamed.lookup(launch.getKernel());
      launch.setKernelAttr(SymbolRefAttr::get(merged.getSymNameAttr(), {FlatSymbolRefAttr::get(name)}));
    });
  }
};

} // namespace
