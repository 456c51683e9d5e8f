// LLVM IR translation, optimization and machine-code emission with LLVM's
// TargetMachine, all in process.
#include "kiln/Target/CPU/CPUTarget.h"

#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/IR/LegacyPassManager.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"

#include <mutex>

using namespace mlir;

namespace {

void initializeTargets() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllAsmPrinters();
  });
}

llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(const kiln::CompilerOptions &options) {
  initializeTargets();
  bool host = options.targetTriple.empty();
  llvm::Triple triple(host ? llvm::sys::getDefaultTargetTriple() : options.targetTriple);
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return llvm::createStringError("unknown target triple '" + triple.str() + "': " + error);
  std::string cpu = options.targetCPU;
  std::string features = options.targetFeatures;
  if (cpu.empty() && host) {
    cpu = llvm::sys::getHostCPUName().str();
    llvm::SubtargetFeatures f;
    for (auto &feature : llvm::sys::getHostCPUFeatures())
      f.AddFeature(feature.first(), feature.second);
    features = f.getString();
  }
  llvm::TargetOptions targetOptions;
  auto level = options.optLevel >= 3   ? llvm::CodeGenOptLevel::Aggressive
               : options.optLevel == 2 ? llvm::CodeGenOptLevel::Default
               : options.optLevel == 1 ? llvm::CodeGenOptLevel::Less
                                       : llvm::CodeGenOptLevel::None;
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, cpu, features, targetOptions, llvm::Reloc::PIC_, std::nullopt, level));
  if (!machine)
    return llvm::createStringError("cannot create a target machine for " + triple.str());
  return machine;
}

void optimize(llvm::Module &module, llvm::TargetMachine &machine, unsigned level) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PipelineTuningOptions tuning;
  tuning.LoopVectorization = level > 1;
  tuning.SLPVectorization = level > 1;
  llvm::PassBuilder pb(&machine, tuning);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::OptimizationLevel opt = level >= 3   ? llvm::OptimizationLevel::O3
                                : level == 2 ? llvm::OptimizationLevel::O2
                                : level == 1 ? llvm::OptimizationLevel::O1
                                             : llvm::OptimizationLevel::O0;
  llvm::ModulePassManager mpm = level == 0 ? pb.buildO0DefaultPipeline(opt)
                                           : pb.buildPerModuleDefaultPipeline(opt);
  mpm.run(module, mam);
}

} // namespace

llvm::Expected<std::unique_ptr<llvm::Module>>
kiln::translateAndOptimize(ModuleOp module, llvm::LLVMContext &context,
                           const CompilerOptions &options) {
  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  module.getContext()->appendDialectRegistry(registry);
  std::unique_ptr<llvm::Module> llvmModule = translateModuleToLLVMIR(module, context, "kiln");
  if (!llvmModule)
    return llvm::createStringError("translation to LLVM IR failed");
  auto machine = createTargetMachine(options);
  if (!machine)
    return machine.takeError();
  llvmModule->setTargetTriple((*machine)->getTargetTriple());
  llvmModule->setDataLayout((*machine)->createDataLayout());
  optimize(*llvmModule, **machine, options.optLevel);
  return llvmModule;
}

llvm::Expected<std::string> kiln::emitMachineCode(llvm::Module &module,
                                                  const CompilerOptions &options,
                                                  CodeGenFileKind kind) {
  auto machine = createTargetMachine(options);
  if (!machine)
    return machine.takeError();
  std::string buffer;
  llvm::raw_string_ostream os(buffer);
  llvm::buffer_ostream bos(os);
  llvm::legacy::PassManager pm;
  auto fileType = kind == CodeGenFileKind::Object ? llvm::CodeGenFileType::ObjectFile
                                                  : llvm::CodeGenFileType::AssemblyFile;
  if ((*machine)->addPassesToEmitFile(pm, bos, nullptr, fileType))
    return llvm::createStringError("the target cannot emit this file type");
  pm.run(module);
  return std::string(bos.str());
}
