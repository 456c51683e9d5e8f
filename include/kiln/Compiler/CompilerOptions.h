// The one options struct every Kiln pipeline is built from.
#ifndef KILN_COMPILER_COMPILEROPTIONS_H
#define KILN_COMPILER_COMPILEROPTIONS_H

#include <string>

namespace kiln {

enum class Target { CPU, CUDA };

struct CompilerOptions {
  Target target = Target::CPU;
  /// CUDA: the GPU architecture the kernels are generated for (sm_70 to sm_90a).
  std::string cudaArch = "sm_90";
  /// CUDA: also assemble the kernels to a cubin in a fatbin, when ptxas is installed.
  bool assembleKernels = true;
  /// CPU: generate the loop nests of the CUDA target (fused, one point per
  /// iteration) and run them serially, to check them where there is no GPU.
  bool gpuLoopsOnCPU = false;
  /// CUDA: how matmuls are computed: "auto" (cuBLASLt for all but small ones),
  /// "cublaslt" (every matmul cuBLASLt can take) or "kernels" (generated only).
  std::string cudaGemm = "auto";
  /// CUDA: how convolutions are computed: "auto" (cuDNN for all but small ones),
  /// "cudnn" (every one cuDNN can take), "cublaslt" (1x1 ones as cuBLASLt GEMMs) or
  /// "kernels" (generated only).
  std::string cudaConv = "auto";
  /// CUDA: write the weights to this file, next to the artifact, instead of into it
  /// (a file name, no folder); the runtime reads and checks it at load.
  std::string weightsFile;
  /// LLVM target triple and CPU; empty means the host.
  std::string targetTriple;
  std::string targetCPU;
  /// LLVM target features; empty means the host's (for the host) or the CPU's default.
  std::string targetFeatures;
  /// LLVM optimization level for the generated code (0-3).
  unsigned optLevel = 3;
  /// Form kiln.fusion regions (off: every op is its own function).
  bool fuse = true;
  /// Prefix of the exported symbols: <prefix>_run, <prefix>_signature.
  std::string symbolPrefix = "kiln_model";
};

} // namespace kiln

#endif
