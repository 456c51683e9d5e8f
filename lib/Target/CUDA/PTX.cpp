// PTX emission for the kernels of a module, and the architectures Kiln supports.
#include "kiln/Target/CUDA/CUDATarget.h"
#include "kiln/Target/CPU/CPUTarget.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;

bool kiln::isSupportedCUDAArch(llvm::StringRef arch) {
  static const llvm::StringSet<> archs = {"sm_70", "sm_72", "sm_75", "sm_80", "sm_86",
                                          "sm_87", "sm_89", "sm_90", "sm_90a"};
  return archs.contains(arch);
}

llvm::StringRef kiln::supportedCUDAArchs() {
  return "sm_70, sm_72, sm_75, sm_80, sm_86, sm_87, sm_89, sm_90, sm_90a";
}

/// Gives the libdevice declarations the NVVM lowering leaves (it turns these LLVM
/// intrinsics into libdevice calls) bodies that use the intrinsics again: NVPTX
/// selects them natively (cvt.rmi, sqrt.rn, abs, ...). Kernel math functions were
/// already expanded by kiln-approximate-math, so nothing else should remain.
static llvm::Error defineLibdeviceSubset(ModuleOp kernels) {
  for (auto func : llvm::make_early_inc_range(kernels.getOps<LLVM::LLVMFuncOp>())) {
    if (!func.isExternal())
      continue;
    StringRef name = func.getName();
    if (!name.consume_front("__nv_"))
      return llvm::createStringError("kernels call the undefined function '" + func.getName() + "'");
    bool isFloat = name.consume_back("f");
    Type type = isFloat ? Type(Float32Type::get(func.getContext())) : Float64Type::get(func.getContext());
    auto fnType = func.getFunctionType();
    if (fnType.getReturnType() != type || fnType.getNumParams() < 1)
      return llvm::createStringError("unexpected signature of '" + func.getName() + "'");
    OpBuilder builder(func.getContext());
    Block *entry = func.addEntryBlock(builder);
    OpBuilder b = OpBuilder::atBlockBegin(entry);
    Location loc = func.getLoc();
    Value x = entry->getArgument(0);
    Value result;
    if (name == "floor")
      result = b.create<LLVM::FFloorOp>(loc, x);
    else if (name == "ceil")
      result = b.create<LLVM::FCeilOp>(loc, x);
    else if (name == "sqrt")
      result = b.create<LLVM::SqrtOp>(loc, x);
    else if (name == "fabs")
      result = b.create<LLVM::FAbsOp>(loc, x);
    else if (name == "trunc")
      result = b.create<LLVM::FTruncOp>(loc, x);
    else if (name == "round")
      result = b.create<LLVM::RoundOp>(loc, x);
    else if (name == "rint")
      result = b.create<LLVM::RoundEvenOp>(loc, x);
    else if (name == "copysign" && fnType.getNumParams() == 2)
      result = b.create<LLVM::CopySignOp>(loc, x, entry->getArgument(1));
    else if (name == "fmod" && fnType.getNumParams() == 2)
      result = b.create<LLVM::FRemOp>(loc, x, entry->getArgument(1));
    else
      return llvm::createStringError("kernels need the libdevice function '" + func.getName() +
                                     "', which Kiln does not provide");
    b.create<LLVM::ReturnOp>(loc, result);
    func.setLinkage(LLVM::Linkage::Internal);
  }
  return llvm::Error::success();
}

llvm::Expected<std::string> kiln::emitKernelPTX(ModuleOp module, const CompilerOptions &options) {
  // The kernels alone, as an LLVM-dialect module (empty when the model computes
  // nothing at run time: its PTX then has no entry).
  auto gpuModules = module.getOps<gpu::GPUModuleOp>();
  OwningOpRef<ModuleOp> kernels = ModuleOp::create(module.getLoc());
  OpBuilder b = OpBuilder::atBlockEnd(kernels->getBody());
  for (gpu::GPUModuleOp gpuModule : gpuModules)
    for (Operation &op : gpuModule.getBodyRegion().front())
      b.clone(op);
  if (auto err = defineLibdeviceSubset(*kernels))
    return std::move(err);

  CompilerOptions ptx = options;
  ptx.targetTriple = "nvptx64-nvidia-cuda";
  ptx.targetCPU = options.cudaArch;
  // PTX ISA 8.0 is the first with sm_90a; CUDA 12 drivers and ptxas accept it.
  ptx.targetFeatures = "+ptx80";
  llvm::LLVMContext context;
  auto llvmModule = translateAndOptimize(*kernels, context, ptx);
  if (!llvmModule)
    return llvmModule.takeError();
  return emitMachineCode(**llvmModule, ptx, CodeGenFileKind::Assembly);
}
