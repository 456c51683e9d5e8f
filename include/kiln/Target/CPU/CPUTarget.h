// CPU code generation: entry point and signature, LLVM IR, object code and in-process
// linking of shared libraries with lld.
#ifndef KILN_TARGET_CPU_CPUTARGET_H
#define KILN_TARGET_CPU_CPUTARGET_H

#include "kiln/Compiler/CompilerOptions.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>

namespace kiln {

/// Adds the exported C entry point `<prefix>_run(void **buffers)` (inputs, then
/// outputs) calling the lowered @main, the `<prefix>_signature` string and the ABI
/// version to an LLVM-dialect module; every other definition becomes internal.
llvm::Error addEntryPoint(mlir::ModuleOp module, llvm::StringRef signature,
                          const CompilerOptions &options);

/// Adds the exported `<prefix>_signature` string and `<prefix>_abi_version` that
/// every artifact carries, whatever its target.
void addArtifactGlobals(mlir::ModuleOp module, llvm::StringRef signature,
                        const CompilerOptions &options);

/// Translates an LLVM-dialect module to LLVM IR for the selected target and runs
/// LLVM's optimization pipeline at options.optLevel.
llvm::Expected<std::unique_ptr<llvm::Module>>
translateAndOptimize(mlir::ModuleOp module, llvm::LLVMContext &context,
                     const CompilerOptions &options);

enum class CodeGenFileKind { Object, Assembly };

/// Emits machine code (object or assembly text) for `module`.
llvm::Expected<std::string> emitMachineCode(llvm::Module &module, const CompilerOptions &options,
                                            CodeGenFileKind kind);

/// Links an ELF object into a shared library with lld, in process; with
/// `linkHostLibm` the library records its dependency on this machine's libm.
llvm::Error linkSharedLibrary(llvm::StringRef objectPath, llvm::StringRef outputPath,
                              bool linkHostLibm);

/// Major version of the artifact ABI (entry point and signature format).
constexpr int kArtifactABIVersion = 3;

} // namespace kiln

#endif
