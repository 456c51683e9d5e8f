// The compiler driver: model file in, artifact or stage text out.
#ifndef KILN_COMPILER_COMPILER_H
#define KILN_COMPILER_COMPILER_H

#include "kiln/Compiler/CompilerOptions.h"
#include "kiln/Frontend/ONNX/Importer.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/Error.h"

namespace kiln {

enum class EmitKind {
  SharedLibrary, ///< OUT: a shared library loadable by the runtime
  Object,        ///< OUT.o and OUT.h: embeddable without the runtime
  Import,        ///< kiln dialect as imported, before any pass
  Kiln,          ///< kiln dialect after graph passes (fusion regions formed)
  Linalg,        ///< linalg on tensors
  LLVMDialect,   ///< the LLVM dialect, entry point added
  LLVMIR,        ///< optimized LLVM IR
  Assembly,      ///< target assembly
  GPU,           ///< CUDA: host code launching kernels outlined into a gpu.module
  NVVM,          ///< CUDA: kernels in the NVVM dialect, target attached
  PTX,           ///< CUDA: the kernels' PTX
};

/// Parses "so", "obj", "import", "kiln", "linalg", "llvm-dialect", "llvm", "asm",
/// "gpu", "nvvm", "ptx".
std::optional<EmitKind> parseEmitKind(llvm::StringRef name);

/// Applies a --target value ("cpu", "cuda" or "cuda:sm_XX") to `options`; the error
/// says what is wrong and what is accepted.
llvm::Error applyTargetOption(llvm::StringRef spec, CompilerOptions &options);

/// Applies --cuda-gemm ("auto", "cublaslt" or "kernels") and --cuda-conv ("auto",
/// "cudnn", "cublaslt" or "kernels") values to `options`; an error names a bad one.
llvm::Error applyCudaLibraryOptions(llvm::StringRef gemm, llvm::StringRef conv, CompilerOptions &options);
/// The help texts of --cuda-gemm and --cuda-conv, for every tool that takes them.
extern const char *const kCudaGemmHelp, *const kCudaConvHelp;

/// Creates a context with every dialect and interface the compiler needs.
std::unique_ptr<mlir::MLIRContext> createCompilerContext();

/// Compiles `inputPath` (.onnx, .onnxtxt, or .mlir in the kiln dialect) and writes
/// `outputPath` ("-" is stdout for text). Errors were already reported as diagnostics
/// on `context` when the returned error says so; its message is then a summary.
llvm::Error compileModel(mlir::MLIRContext &context, llvm::StringRef inputPath,
                         llvm::StringRef outputPath, EmitKind emit,
                         const ImportOptions &importOptions, const CompilerOptions &options);

/// As compileModel, for a module already loaded or imported from `inputPath` (named
/// in object headers); the module is transformed in place.
llvm::Error compileModule(mlir::ModuleOp module, llvm::StringRef inputPath,
                          llvm::StringRef outputPath, EmitKind emit,
                          const CompilerOptions &options);

} // namespace kiln

#endif
