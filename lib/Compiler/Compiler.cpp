// The compiler driver: import, run the pipelines, and write an artifact or a stage.
#include "kiln/Compiler/Compiler.h"
#include "kiln/Compiler/Pipeline.h"
#include "kiln/Compiler/Signature.h"
#include "kiln/Dialect/Kiln/KilnDialect.h"
#include "kiln/Target/CPU/CPUTarget.h"
#include "kiln/Target/CUDA/CUDATarget.h"
#include "kiln/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;
using namespace kiln;

std::optional<EmitKind> kiln::parseEmitKind(StringRef name) {
  return llvm::StringSwitch<std::optional<EmitKind>>(name)
      .Case("so", EmitKind::SharedLibrary)
      .Case("obj", EmitKind::Object)
      .Case("import", EmitKind::Import)
      .Case("kiln", EmitKind::Kiln)
      .Case("linalg", EmitKind::Linalg)
      .Case("llvm-dialect", EmitKind::LLVMDialect)
      .Case("llvm", EmitKind::LLVMIR)
      .Case("asm", EmitKind::Assembly)
      .Case("gpu", EmitKind::GPU)
      .Case("nvvm", EmitKind::NVVM)
      .Case("ptx", EmitKind::PTX)
      .Default(std::nullopt);
}

llvm::Error kiln::applyTargetOption(StringRef spec, CompilerOptions &options) {
  auto [targetName, arch] = spec.split(':');
  if (targetName == "cpu" && arch.empty()) {
    options.target = Target::CPU;
    return llvm::Error::success();
  }
  if (targetName != "cuda")
    return llvm::createStringError("unknown --target=" + spec.str() + " (want cpu or cuda[:sm_XX])");
  options.target = Target::CUDA;
  if (!arch.empty())
    options.cudaArch = arch.str();
  if (!isSupportedCUDAArch(options.cudaArch))
    return llvm::createStringError("unsupported CUDA architecture '" + options.cudaArch +
                                   "' (supported: " + supportedCUDAArchs().str() + ")");
  return llvm::Error::success();
}

const char *const kiln::kCudaGemmHelp =
    "CUDA: matmuls through cuBLASLt where it fits and pays, else generated (auto, default), "
    "wherever it fits (cublaslt), as generated kernels only (kernels), or all through the "
    "generated tensor-core kernel (tensor-cores, sm_80 and later)";
const char *const kiln::kCudaConvHelp =
    "CUDA: convolutions through cuDNN, with their bias, ReLU and residual add, where it fits "
    "and pays (auto, default), wherever it fits (cudnn), 1x1 ones through cuBLASLt (cublaslt), "
    "as generated kernels only (kernels), or all through the generated tensor-core kernel "
    "(tensor-cores, sm_80 and later)";

llvm::Error kiln::applyCudaLibraryOptions(StringRef gemm, StringRef conv, CompilerOptions &options) {
  if (!isGPUGemmPolicy(gemm))
    return llvm::createStringError("--cuda-gemm takes auto, cublaslt, kernels or tensor-cores, not '" + gemm.str() + "'");
  if (!isGPUConvPolicy(conv))
    return llvm::createStringError("--cuda-conv takes auto, cudnn, cublaslt, kernels or tensor-cores, not '" + conv.str() + "'");
  if ((gemm == "tensor-cores" || conv == "tensor-cores") && options.target == Target::CUDA &&
      !hasTF32TensorCores(options.cudaArch))
    return llvm::createStringError("--cuda-" + std::string(gemm == "tensor-cores" ? "gemm" : "conv") +
                                   "=tensor-cores needs TF32 tensor cores: sm_80 or later, not " +
                                   options.cudaArch);
  options.cudaGemm = gemm.str();
  options.cudaConv = conv.str();
  return llvm::Error::success();
}

std::unique_ptr<MLIRContext> kiln::createCompilerContext() {
  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  // The CUDA target serializes kernels through LLVM IR in process.
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  registerAllToLLVMIRTranslations(registry);
  registry.insert<KilnDialect>();
  auto context = std::make_unique<MLIRContext>(registry, MLIRContext::Threading::DISABLED);
  context->loadDialect<KilnDialect, func::FuncDialect>();
  return context;
}

static llvm::Error reported(const Twine &what) {
  return llvm::createStringError(what.str());
}

static llvm::Error writeFile(StringRef path, StringRef contents) {
  std::string error;
  auto file = mlir::openOutputFile(path, &error);
  if (!file)
    return llvm::createStringError("cannot write " + path.str() + ": " + error);
  file->os() << contents;
  file->keep();
  return llvm::Error::success();
}

static std::string printModule(ModuleOp module) {
  std::string text;
  llvm::raw_string_ostream os(text);
  module.print(os); // Never elided: every stage can be read back by kiln-opt.
  return text;
}

static OwningOpRef<ModuleOp> load(MLIRContext &context, StringRef path,
                                  const ImportOptions &importOptions) {
  if (llvm::sys::path::extension(path) == ".mlir")
    return parseSourceFile<ModuleOp>(path, &context);
  return importONNXFile(&context, path, importOptions);
}

static LogicalResult runPipeline(ModuleOp module,
                                 function_ref<void(OpPassManager &)> build) {
  PassManager pm(module.getContext());
  build(pm);
  return pm.run(module);
}

llvm::Error kiln::compileModel(MLIRContext &context, StringRef inputPath, StringRef outputPath,
                               EmitKind emit, const ImportOptions &importOptions,
                               const CompilerOptions &options) {
  OwningOpRef<ModuleOp> module = load(context, inputPath, importOptions);
  if (!module)
    return reported("could not load " + inputPath);
  return compileModule(*module, inputPath, outputPath, emit, options);
}

/// Empty inputs and outputs carry no data, and the signature already records their
/// shapes: as 1-D tensors of 0 elements they lower with a plain row-major layout (the
/// bare-pointer calling convention refuses e.g. 3x0x5, whose strides are degenerate).
static void flattenEmptyBoundaries(func::FuncOp main) {
  auto flat = [](Type t) -> Type {
    auto type = cast<RankedTensorType>(t);
    return type.getNumElements() == 0 ? RankedTensorType::get({0}, type.getElementType()) : type;
  };
  OpBuilder b(main.getBody());
  for (BlockArgument arg : main.getArguments()) {
    if (flat(arg.getType()) == arg.getType())
      continue;
    auto type = cast<RankedTensorType>(arg.getType());
    arg.replaceAllUsesWith(b.create<ConstantOp>(arg.getLoc(), DenseElementsAttr::get(type, ArrayRef<Attribute>{})));
    arg.setType(flat(type));
  }
  main.walk([&](func::ReturnOp ret) {
    b.setInsertionPoint(ret);
    for (OpOperand &operand : ret->getOpOperands())
      if (Type t = flat(operand.get().getType()); t != operand.get().getType())
        operand.set(b.create<ConstantOp>(ret.getLoc(), DenseElementsAttr::get(cast<RankedTensorType>(t), ArrayRef<Attribute>{})));
  });
  SmallVector<Type> inputs(llvm::map_range(main.getArgumentTypes(), flat));
  SmallVector<Type> results(llvm::map_range(main.getResultTypes(), flat));
  main.setType(FunctionType::get(main.getContext(), inputs, results));
}

/// Writes an LLVM-dialect host module as the requested stage or artifact: LLVM IR,
/// assembly, object (with its C header) or shared library.
static llvm::Error emitHostStages(ModuleOp module, StringRef inputPath, StringRef outputPath,
                                  EmitKind emit, const ModelSignature &signature,
                                  const CompilerOptions &options) {
  if (emit == EmitKind::LLVMDialect)
    return writeFile(outputPath, printModule(module));
  llvm::LLVMContext llvmContext;
  auto llvmModule = translateAndOptimize(module, llvmContext, options);
  if (!llvmModule)
    return llvmModule.takeError();
  if (emit == EmitKind::LLVMIR) {
    std::string text;
    llvm::raw_string_ostream os(text);
    (*llvmModule)->print(os, nullptr);
    return writeFile(outputPath, text);
  }
  bool assembly = emit == EmitKind::Assembly;
  auto code = emitMachineCode(**llvmModule, options,
                              assembly ? CodeGenFileKind::Assembly : CodeGenFileKind::Object);
  if (!code)
    return code.takeError();
  if (assembly)
    return writeFile(outputPath, *code);
  if (emit == EmitKind::Object) {
    std::string base = outputPath.str();
    if (StringRef(base).ends_with(".o"))
      base.resize(base.size() - 2);
    if (auto err = writeFile(base + ".o", *code))
      return err;
    return writeFile(base + ".h", signature.cHeader(options.symbolPrefix, inputPath));
  }
  // Shared library: the object goes to a temporary file that lld links.
  SmallString<128> objectPath;
  int fd;
  if (auto ec = llvm::sys::fs::createTemporaryFile("kiln", "o", fd, objectPath))
    return llvm::createStringError("cannot create a temporary file: " + ec.message());
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << *code;
  }
  llvm::Error linked = linkSharedLibrary(objectPath, outputPath, options.targetTriple.empty());
  llvm::sys::fs::remove(objectPath);
  return linked;
}

/// The CUDA half of compileModule, from linalg on: kernels, NVVM, PTX, then the host
/// module that launches them (see docs/gpu.md).
static llvm::Error compileForCUDA(ModuleOp module, StringRef outputPath, EmitKind emit,
                                  const ModelSignature &signature,
                                  const CompilerOptions &options) {
  if (failed(runPipeline(module, [&](OpPassManager &pm) { buildGPUMappingPipeline(pm, options); })))
    return reported("mapping to the GPU failed");
  if (emit == EmitKind::GPU)
    return writeFile(outputPath, printModule(module));
  if (emit == EmitKind::Object)
    return reported("--emit=obj is for use without the runtime, which CUDA artifacts need; "
                    "use --emit=so");
  // Resolve the host side before lowering, so that host code Kiln cannot run is
  // reported in terms of the mapped module.
  auto program = extractHostProgram(module, signature.inputs.size());
  if (!program)
    return program.takeError();
  if (failed(runPipeline(module, [&](OpPassManager &pm) { buildNVVMPipeline(pm, options); })))
    return reported("lowering the kernels to NVVM failed");
  if (emit == EmitKind::NVVM)
    return writeFile(outputPath, printModule(module));
  auto ptx = emitKernelPTX(module, options);
  if (!ptx)
    return ptx.takeError();
  if (emit == EmitKind::PTX)
    return writeFile(outputPath, *ptx);
  auto image = buildKernelImage(*ptx, options);
  if (!image)
    return image.takeError();
  if (!options.weightsFile.empty()) {
    if (emit != EmitKind::SharedLibrary || outputPath == "-")
      return reported("--weights-file goes with an artifact written to a file (--emit=so, -o FILE)");
    SmallString<256> weightsPath(llvm::sys::path::parent_path(outputPath));
    llvm::sys::path::append(weightsPath, options.weightsFile);
    if (auto err = writeFile(weightsPath, StringRef(program->constants.data(), program->constants.size())))
      return err;
  }
  OwningOpRef<ModuleOp> host = buildCUDAHostModule(module.getContext(), *program, *image,
                                                   signature.serialize(), options);
  // The host code runs on this machine's CPU.
  CompilerOptions hostOptions = options;
  hostOptions.target = Target::CPU;
  hostOptions.targetTriple = hostOptions.targetCPU = hostOptions.targetFeatures = "";
  return emitHostStages(*host, "", outputPath, emit, signature, hostOptions);
}

llvm::Error kiln::compileModule(ModuleOp module, StringRef inputPath, StringRef outputPath,
                                EmitKind emit, const CompilerOptions &options) {
  MLIRContext &context = *module.getContext();
  auto main = module.lookupSymbol<func::FuncOp>("main");
  if (!main)
    return reported(inputPath + " has no @main function");
  if (emit == EmitKind::Import)
    return writeFile(outputPath, printModule(module));
  auto signature = ModelSignature::fromFunction(main);
  if (failed(signature))
    return reported("unsupported model signature");

  flattenEmptyBoundaries(main);
  // The signature now holds the I/O names; the lowered code needs no attributes.
  for (unsigned i = 0; i < main.getNumArguments(); ++i)
    main.removeArgAttr(i, "kiln.name");
  for (unsigned i = 0; i < main.getNumResults(); ++i)
    main.removeResultAttr(i, StringAttr::get(&context, "kiln.name"));

  if (failed(runPipeline(module, [&](OpPassManager &pm) { buildGraphPipeline(pm, options); })))
    return reported("graph passes failed");
  if (emit == EmitKind::Kiln)
    return writeFile(outputPath, printModule(module));
  if (failed(runPipeline(module, [&](OpPassManager &pm) { buildLinalgPipeline(pm, options); })))
    return reported("lowering to linalg failed");
  if (emit == EmitKind::Linalg)
    return writeFile(outputPath, printModule(module));
  // Inputs belong to the caller: an op that updates in place (a scatter) must write a
  // copy, never the caller's buffer. (Set for bufferization, which both targets run next.)
  main = module.lookupSymbol<func::FuncOp>("main");
  for (unsigned i = 0; i < main.getNumArguments(); ++i)
    main.setArgAttr(i, "bufferization.writable", BoolAttr::get(&context, false));
  if (options.target == Target::CUDA)
    return compileForCUDA(module, outputPath, emit, *signature, options);
  if (emit == EmitKind::GPU || emit == EmitKind::NVVM || emit == EmitKind::PTX)
    return reported("--emit=gpu, nvvm and ptx need --target=cuda");
  if (failed(runPipeline(module, [&](OpPassManager &pm) { buildCPULoweringPipeline(pm, options); })))
    return reported("lowering to the LLVM dialect failed");
  if (auto err = addEntryPoint(module, signature->serialize(), options))
    return err;
  return emitHostStages(module, inputPath, outputPath, emit, *signature, options);
}
