// The CUDA target: the GPU architectures Kiln generates code for, and PTX emission
// for a module whose kernels are in the NVVM dialect.
#ifndef KILN_TARGET_CUDA_CUDATARGET_H
#define KILN_TARGET_CUDA_CUDATARGET_H

#include "kiln/Compiler/CompilerOptions.h"
#include "kiln/Target/CUDA/HostProgram.h"

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

/// The kernel image a CUDA artifact embeds: a fatbin (cubin for options.cudaArch plus
/// the PTX) when options.assembleKernels and the toolkit's ptxas and fatbinary are
/// found (on PATH or in /usr/local/cuda/bin), else the PTX text, NUL-terminated.
llvm::Expected<std::string> buildKernelImage(llvm::StringRef ptx, const CompilerOptions &options);

/// The host module of a CUDA artifact (LLVM dialect): `<prefix>_cuda_run`, which makes
/// every launch of `program` through the runtime's callback, the kernel image, kernel
/// names, constants, arena size and I/O offsets, plus the signature and ABI version.
mlir::OwningOpRef<mlir::ModuleOp> buildCUDAHostModule(mlir::MLIRContext *context,
                                                      const HostProgram &program,
                                                      llvm::ArrayRef<char> kernelImage,
                                                      llvm::StringRef signature,
                                                      const CompilerOptions &options);

} // namespace kiln

#endif
