// Kiln's pass pipelines, built from CompilerOptions and registered for kiln-opt.
#ifndef KILN_COMPILER_PIPELINE_H
#define KILN_COMPILER_PIPELINE_H

#include "kiln/Compiler/CompilerOptions.h"
#include "mlir/Pass/PassManager.h"

namespace kiln {

/// Graph level, on kiln: decompose, fold, CSE, form fusion regions.
void buildGraphPipeline(mlir::OpPassManager &pm, const CompilerOptions &options);
/// Outline fusions and lower kiln to linalg on tensors, fusing elementwise generics.
void buildLinalgPipeline(mlir::OpPassManager &pm, const CompilerOptions &options);
/// Bufferize and lower linalg on tensors to the LLVM dialect (CPU).
void buildCPULoweringPipeline(mlir::OpPassManager &pm, const CompilerOptions &options);
/// All three: what kiln-compile runs before translating to LLVM IR.
void buildCPUPipeline(mlir::OpPassManager &pm, const CompilerOptions &options);

/// CUDA: bufferize, map every parallel loop nest onto blocks and threads, outline the
/// kernels into one gpu.module (the host code only allocates and launches).
void buildGPUMappingPipeline(mlir::OpPassManager &pm, const CompilerOptions &options);
/// CUDA: lower the kernels to the NVVM dialect (math expanded, so no libdevice) and
/// attach the NVPTX target. kiln::emitKernelPTX then writes their PTX.
void buildNVVMPipeline(mlir::OpPassManager &pm, const CompilerOptions &options);

/// Registers kiln-graph-pipeline, kiln-linalg-pipeline, kiln-cpu-lowering-pipeline
/// kiln-cpu-pipeline, kiln-gpu-mapping-pipeline and kiln-nvvm-pipeline with the pass
/// registry.
void registerPipelines();

/// Whether the CUDA architecture `arch` (sm_XX) has mma.sync on TF32: sm_80 and later.
bool hasTF32TensorCores(llvm::StringRef arch);

} // namespace kiln

#endif
