// Kiln's graph-level passes: declarations and registration.
#ifndef KILN_TRANSFORMS_PASSES_H
#define KILN_TRANSFORMS_PASSES_H

#include "kiln/Dialect/Kiln/KilnDialect.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Pass/Pass.h"

namespace kiln {

#define GEN_PASS_DECL
#include "kiln/Transforms/Passes.h.inc"

/// Patterns rewriting composite ops (batch_norm) into core kiln ops.
void populateDecomposePatterns(mlir::RewritePatternSet &patterns);

/// Wraps groups of ops of `func` into kiln.fusion regions (see the kiln-fuse pass);
/// with `takeReductions`, elementwise ops also take in the reductions they consume, and
/// with `takeViews` transposes the slices and reshapes they read through.
void formFusionRegions(mlir::func::FuncOp func, bool takeReductions = false, bool takeViews = false);

/// How the CUDA target computes a contraction (matmul, convolution): with one thread
/// per output element (the products summed in a register, the epilogue fused), or with
/// one block per output element (threads split the reduction, gpu.all_reduce combines
/// them) when there are too few outputs to fill the GPU and each reduces many products.
/// kiln-choose-gpu-kernels records the choice on the kiln op; kiln-gpu-block-reductions
/// makes the same one on the linalg op.
enum class GPUContractionKernel { ThreadPerOutput, BlockPerOutput };
/// Whether `gemm` names a matmul policy: "auto", "cublaslt" or "kernels".
bool isGPUGemmPolicy(llvm::StringRef gemm);
/// Whether `conv` names a convolution policy: "auto", "cudnn", "cublaslt" or "kernels".
bool isGPUConvPolicy(llvm::StringRef conv);
GPUContractionKernel chooseGPUContractionKernel(int64_t outputs, int64_t reduced);
llvm::StringRef stringifyGPUContractionKernel(GPUContractionKernel kernel);

/// Whether a reader of a library call's output can recompute `op` on every read
/// instead of it being a kernel after the call (kiln-sink-library-epilogues): a few
/// arithmetic instructions (clip, relu, max, min, add, sub, mul, neg, abs).
bool isCheapEpilogueOp(mlir::Operation *op);

#define GEN_PASS_REGISTRATION
#include "kiln/Transforms/Passes.h.inc"

} // namespace kiln

#endif
