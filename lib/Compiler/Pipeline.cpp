// Kiln's pass pipelines, built from CompilerOptions; kiln-opt registers the same ones,
// so `kiln-opt --kiln-cpu-pipeline` reproduces what kiln-compile runs.
#include "kiln/Compiler/Pipeline.h"
#include "kiln/Conversion/Passes.h"
#include "kiln/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

bool kiln::hasTF32TensorCores(llvm::StringRef arch) {
  unsigned version = 0;
  return arch.consume_front("sm_") && !arch.take_while(llvm::isDigit).getAsInteger(10, version) && version >= 80;
}

/// Whether the fusions are the CUDA target's: compiled for it, or run on the CPU the
/// way its kernels would (--gpu-loops-on-cpu).
static bool gpuFusions(const kiln::CompilerOptions &options) {
  return options.target == kiln::Target::CUDA || options.gpuLoopsOnCPU;
}

void kiln::buildGraphPipeline(OpPassManager &pm, const CompilerOptions &options) {
  pm.addNestedPass<func::FuncOp>(createKilnDecompose());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // On the GPU a layer norm's reductions and elementwise parts become one row kernel,
  // and a transpose copies straight from the buffer its slices and reshapes view; the
  // CPU's row tiling (kiln-fuse-epilogues) would instead recompute the matmul that
  // feeds a layer norm per tile (BERT-base 35% slower), so there they stay apart.
  // (Reading the keepdims reductions without their unit reshape lets that tiling take
  // matmul, residual add and norm into one row loop, computing the matmul once; tried,
  // it was no faster on the CPU, the norm being ~1% of the matmul's work.)
  bool gpu = gpuFusions(options);
  if (options.fuse)
    pm.addNestedPass<func::FuncOp>(createKilnFuse(KilnFuseOptions{gpu, gpu}));
  // --gpu-loops-on-cpu makes the same choices, so its fusions are the GPU's, though
  // it generates every product.
  if (gpu) {
    KilnChooseGPUKernelsOptions choice;
    choice.gemm = options.cudaGemm;
    choice.conv = options.cudaConv;
    choice.tensorCores = hasTF32TensorCores(options.cudaArch);
    pm.addNestedPass<func::FuncOp>(createKilnChooseGPUKernels(choice));
    pm.addNestedPass<func::FuncOp>(createKilnSinkLibraryEpilogues());
  }
}

void kiln::buildLinalgPipeline(OpPassManager &pm, const CompilerOptions &options) {
  pm.addPass(createKilnOutlineFusions());
  pm.addPass(createConvertKilnToLinalg());
  pm.addPass(createCanonicalizerPass());
  // Inside each outlined fusion, chains of elementwise generics become one loop nest,
  // so their intermediates are never stored.
  pm.addNestedPass<func::FuncOp>(createLinalgElementwiseOpFusionPass());
  if (gpuFusions(options)) {
    // An op moved in front of a padded convolution (kiln-sink-library-epilogues)
    // writes the padded tensor's interior, for kiln-inline-padding to fold into the
    // loads.
    pm.addNestedPass<func::FuncOp>(createKilnFusePadProducers());
  } else {
    // Loop order and row tiling for CPU caches and vector units.
    pm.addNestedPass<func::FuncOp>(createKilnReorderContractionLoops());
    pm.addNestedPass<func::FuncOp>(createKilnFuseEpilogues());
  }
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

/// Tensors become buffers; results become caller-provided buffers (the runtime passes
/// output memory in), and buffers are freed where their last use is.
static void addBufferization(OpPassManager &pm) {
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::BufferResultsToOutParamsPassOptions outParams;
  outParams.hoistStaticAllocs = true;
  outParams.modifyPublicFunctions = true;
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
  // Per-tile scratch buffers are allocated once per call, not once per tile.
  pm.addNestedPass<func::FuncOp>(bufferization::createBufferLoopHoistingPass());
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addNestedPass<func::FuncOp>(kiln::createKilnForwardOutputBuffers());
}

/// Every copy and linalg op becomes an scf.parallel nest over its output, reductions
/// loops inside each point; a fusion's nests then merge where they line up. Long
/// reductions instead become gpu.launch ops of their own. `onCPU` (for
/// --gpu-loops-on-cpu): no library calls, and every reduction, however short, gets
/// the GPU's cooperative kernel, so the node tests exercise them.
static void addParallelLoopNests(OpPassManager &pm, bool onCPU) {
  pm.addNestedPass<func::FuncOp>(kiln::createKilnLowerStridedCopies(kiln::KilnLowerStridedCopiesOptions{true}));
  // Named ops (pooling, matmul, conv) become generics, so the passes below see all.
  pm.addNestedPass<func::FuncOp>(createLinalgGeneralizeNamedOpsPass());
  pm.addNestedPass<func::FuncOp>(
      kiln::createKilnReorderContractionLoops(kiln::KilnReorderContractionLoopsOptions{/*parallelOuter=*/true}));
  if (!onCPU)
    pm.addPass(kiln::createKilnGPULibraryCalls());
  // On the CPU too: kiln-gpu-launches-on-cpu computes its mma.syncs warp by warp.
  pm.addNestedPass<func::FuncOp>(kiln::createKilnGPUTensorCoreMatmuls());
  // Softmax, layer norm: one kernel with a block per row.
  pm.addNestedPass<func::FuncOp>(kiln::createKilnGPURowKernels(
      onCPU ? kiln::KilnGPURowKernelsOptions{/*minReduction=*/1} : kiln::KilnGPURowKernelsOptions{}));
  pm.addNestedPass<func::FuncOp>(kiln::createKilnGPUBlockReductions());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  // One nest, so one kernel, per fusion where the nests line up; padding is read
  // through bounds tests instead of built.
  pm.addNestedPass<func::FuncOp>(kiln::createKilnInlinePadding());
  pm.addNestedPass<func::FuncOp>(kiln::createKilnFuseParallelLoops());
}

/// Parallel loop nests become gpu.launch ops: tiled into blocks and threads, mapped.
static void addKernelMapping(OpPassManager &pm) {
  // No canonicalization in between: it would merge the block and thread loops again.
  pm.addNestedPass<func::FuncOp>(kiln::createKilnTileForGPU());
  pm.addNestedPass<func::FuncOp>(createConvertParallelLoopToGpuPass());
}

void kiln::buildCPULoweringPipeline(OpPassManager &pm, const CompilerOptions &options) {
  addBufferization(pm);
  // The GPU's kernels, their blocks and threads run one after another here: checks
  // them on machines without a GPU.
  if (options.gpuLoopsOnCPU) {
    addParallelLoopNests(pm, /*onCPU=*/true);
    addKernelMapping(pm);
    pm.addNestedPass<func::FuncOp>(kiln::createKilnGPULaunchesOnCPU());
  }
  pm.addNestedPass<func::FuncOp>(createKilnLowerStridedCopies());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  if (options.gpuLoopsOnCPU) // the tensor-core kernel's 16-byte shared-memory reads
    pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  // bf16 conversions become integer arithmetic: no compiler-rt helpers are needed.
  arith::ArithExpandOpsPassOptions expand;
  expand.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expand));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertMathToFuncs());
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  ConvertFuncToLLVMPassOptions funcToLLVM;
  funcToLLVM.useBarePtrCallConv = true; // Plain pointers: a C-callable entry point.
  pm.addPass(createConvertFuncToLLVMPass(funcToLLVM));
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void kiln::buildCPUPipeline(OpPassManager &pm, const CompilerOptions &options) {
  buildGraphPipeline(pm, options);
  buildLinalgPipeline(pm, options);
  buildCPULoweringPipeline(pm, options);
}

void kiln::buildGPUMappingPipeline(OpPassManager &pm, const CompilerOptions &) {
  addBufferization(pm);
  addParallelLoopNests(pm, /*onCPU=*/false);
  addKernelMapping(pm);
  // Constants and index arithmetic move into the kernels instead of becoming parameters.
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createGpuLaunchSinkIndexComputationsPass());
  pm.addPass(createGpuKernelOutliningPass());
  pm.addPass(createKilnGatherGPUKernels());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void kiln::buildNVVMPipeline(OpPassManager &pm, const CompilerOptions &options) {
  // Views with offsets known only in the kernel (a scatter's destination row) become
  // explicit address arithmetic the NVVM lowering understands.
  pm.addNestedPass<gpu::GPUModuleOp>(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createKilnApproximateMath());
  pm.addNestedPass<gpu::GPUModuleOp>(createConvertNVGPUToNVVMPass()); // the tensor-core kernel's cp.async
  ConvertGpuOpsToNVVMOpsOptions nvvm;
  nvvm.useBarePtrCallConv = true; // one pointer per buffer: kernels stay within the parameter limit
  pm.addNestedPass<gpu::GPUModuleOp>(createConvertGpuOpsToNVVMOps(nvvm));
  pm.addPass(createReconcileUnrealizedCastsPass());
  // The target attribute records the architecture in --emit=nvvm; PTX itself comes
  // from kiln::emitKernelPTX.
  GpuNVVMAttachTargetOptions target;
  target.chip = options.cudaArch;
  target.features = "+ptx80";
  target.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(target));
}

void kiln::registerPipelines() {
  static CompilerOptions defaults;
  PassPipelineRegistration<>("kiln-graph-pipeline", "Kiln graph passes: decompose, fold, fuse",
                             [](OpPassManager &pm) { buildGraphPipeline(pm, defaults); });
  PassPipelineRegistration<>("kiln-linalg-pipeline",
                             "Outline fusions and lower kiln to linalg on tensors",
                             [](OpPassManager &pm) { buildLinalgPipeline(pm, defaults); });
  PassPipelineRegistration<>("kiln-cpu-lowering-pipeline",
                             "Bufferize and lower linalg to the LLVM dialect",
                             [](OpPassManager &pm) { buildCPULoweringPipeline(pm, defaults); });
  PassPipelineRegistration<>("kiln-gpu-mapping-pipeline",
                             "Bufferize, map loop nests to GPU blocks and threads, outline kernels",
                             [](OpPassManager &pm) { buildGPUMappingPipeline(pm, defaults); });
  PassPipelineRegistration<>("kiln-nvvm-pipeline", "Lower the kernels to NVVM for sm_90",
                             [](OpPassManager &pm) { buildNVVMPipeline(pm, defaults); });
  PassPipelineRegistration<>("kiln-cpu-pipeline",
                             "The whole CPU pipeline, kiln to the LLVM dialect",
                             [](OpPassManager &pm) { buildCPUPipeline(pm, defaults); });
}
