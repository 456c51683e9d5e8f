// The CUDA target: the GPU architectures Kiln generates code for, and PTX emission
// for a module whose kernels are in the NVVM dialect.
#ifndef KILN_TARGET_CUDA_CUDATARGET_H
#define KILN_TARGET_CUDA_CUDATARGET_H

#include "kiln/Compiler/CompilerOptions.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <string>

namespace kiln {

/// True for the architectures Kiln targets: sm_70 to sm_90a.
bool isSupportedCUDAArch(llvm::StringRef arch);
/// The architectures isSupportedCUDAArch accepts, for messages.
llvm::StringRef supportedCUDAArchs();

/// The PTX of the module's kernels (its gpu.module, lowered to NVVM) for
/// options.cudaArch, from LLVM's NVPTX backend in process. The few libdevice
/// functions the NVVM lowering calls (floor, sqrt, fabs, ...) are defined with LLVM
/// intrinsics, so no CUDA toolkit is needed.
llvm::Expected<std::string> emitKernelPTX(mlir::ModuleOp module, const CompilerOptions &options);

} // namespace kiln

#endif
