// kiln-compile: compiles an ONNX model (or kiln-dialect MLIR) to a shared library, an
// object file with a C header, or the text of any pipeline stage.
#include "kiln/Compiler/Compiler.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Location.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"

using namespace llvm;

static cl::OptionCategory category("kiln-compile options");
static cl::opt<std::string> input(cl::Positional, cl::Required, cl::desc("<model.onnx|.onnxtxt|.mlir>"),
                                  cl::cat(category));
static cl::opt<std::string> output("o", cl::Required, cl::desc("Output path (for --emit=obj: OUT.o and OUT.h; '-' for text on stdout)"),
                                   cl::value_desc("OUT"), cl::cat(category));
static cl::opt<std::string> emit(
    "emit", cl::init("so"),
    cl::desc("What to write: so (shared library for kiln-run and the runtime, default), obj "
             "(object + C header, no runtime needed), import (kiln dialect as imported), kiln (after "
             "graph passes and fusion), linalg, llvm-dialect, llvm, asm; with --target=cuda: gpu (kernels "
             "outlined), nvvm, ptx; llvm-dialect, llvm and asm are then the host code"),
    cl::cat(category));
static cl::opt<std::string> target("target", cl::init("cpu"),
                                   cl::desc("cpu (default) or cuda[:sm_XX] (sm_70 to sm_90a, default sm_90)"),
                                   cl::cat(category));
static cl::opt<std::string> triple("target-triple", cl::desc("LLVM target triple (default: host)"),
                                   cl::cat(category));
static cl::opt<std::string> cpu("target-cpu", cl::desc("Target CPU, e.g. znver3 (default: host CPU with its features)"),
                                cl::cat(category));
static cl::opt<unsigned> optLevel("O", cl::init(3), cl::Prefix,
                                  cl::desc("LLVM optimization level 0-3 (default 3)"), cl::cat(category));
static cl::opt<std::string> name("name", cl::init("kiln_model"),
                                 cl::desc("Prefix of the exported symbols (<name>_run, <name>_signature)"),
                                 cl::cat(category));
static cl::opt<bool> gpuLoopsOnCPU(
    "gpu-loops-on-cpu",
    cl::desc("CPU: run the CUDA target's kernels, their blocks and threads one after another (checks them without a GPU)"),
    cl::cat(category));
static cl::opt<std::string> weightsFile(
    "weights-file",
    cl::desc("CUDA: write the weights to this file next to the artifact, not into it "
             "(a file name; the runtime reads it from the artifact's folder)"),
    cl::init(""), cl::cat(category));
static cl::opt<std::string> cudaGemm("cuda-gemm", cl::init("auto"), cl::desc(kiln::kCudaGemmHelp),
                                     cl::cat(category));
static cl::opt<std::string> cudaConv("cuda-conv", cl::init("auto"), cl::desc(kiln::kCudaConvHelp),
                                     cl::cat(category));
static cl::opt<bool> noCubin("no-cubin",
                             cl::desc("CUDA: embed the PTX only, even where ptxas is installed"),
                             cl::cat(category));
static cl::opt<bool> noFuse("no-fuse", cl::desc("Do not form fusion regions"), cl::cat(category));
static cl::list<std::string> inputShapes(
    "input-shape", cl::desc("Pin a symbolic input shape: NAME=1x3x224x224 (repeatable)"),
    cl::value_desc("NAME=DIMS"), cl::cat(category));
static cl::list<std::string> boundInputs(
    "bind-input",
    cl::desc("Fix an input's value at compile time: NAME=FILE.pb or NAME=1,2,3 (repeatable); "
             "it becomes a constant and leaves the artifact's signature"),
    cl::value_desc("NAME=VALUE"), cl::cat(category));

static bool parseShape(StringRef spec, kiln::ImportOptions &options) {
  auto [inputName, dims] = spec.rsplit('=');
  if (inputName.empty() || dims.empty())
    return false;
  std::vector<int64_t> shape;
  SmallVector<StringRef> parts;
  dims.split(parts, 'x');
  for (StringRef part : parts) {
    int64_t d;
    if (part.getAsInteger(10, d) || d < 0)
      return false;
    shape.push_back(d);
  }
  options.inputShapes[inputName] = shape;
  return true;
}

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv, "Kiln ahead-of-time compiler for ONNX models\n");

  auto kind = kiln::parseEmitKind(emit);
  if (!kind) {
    errs() << "kiln-compile: error: unknown --emit=" << emit << "\n";
    return 2;
  }
  kiln::ImportOptions importOptions;
  for (auto &spec : inputShapes)
    if (!parseShape(spec, importOptions)) {
      errs() << "kiln-compile: error: bad --input-shape '" << spec << "' (want NAME=1x3x224x224)\n";
      return 2;
    }
  for (auto &spec : boundInputs) {
    auto [inputName, value] = StringRef(spec).split('=');
    if (inputName.empty() || value.empty()) {
      errs() << "kiln-compile: error: bad --bind-input '" << spec << "' (want NAME=FILE.pb or NAME=1,2,3)\n";
      return 2;
    }
    importOptions.boundInputs[inputName] = value.str();
  }
  kiln::CompilerOptions options;
  if (Error err = kiln::applyTargetOption(target, options)) {
    errs() << "kiln-compile: error: " << toString(std::move(err)) << "\n";
    return 2;
  }
  options.targetTriple = triple;
  options.targetCPU = cpu;
  options.optLevel = std::min(optLevel.getValue(), 3u);
  options.symbolPrefix = name;
  options.fuse = !noFuse;
  options.assembleKernels = !noCubin;
  options.gpuLoopsOnCPU = gpuLoopsOnCPU;
  if (Error err = kiln::applyCudaLibraryOptions(cudaGemm, cudaConv, options)) {
    errs() << "kiln-compile: error: " << toString(std::move(err)) << "\n";
    return 2;
  }
  for (auto *option : {&cudaGemm, &cudaConv})
    if (option->getNumOccurrences() && options.target != kiln::Target::CUDA && !options.gpuLoopsOnCPU) {
      errs() << "kiln-compile: error: --" << option->ArgStr << " needs --target=cuda or --gpu-loops-on-cpu\n";
      return 2;
    }
  options.weightsFile = weightsFile;
  if (!weightsFile.empty() && (options.target != kiln::Target::CUDA || weightsFile.find('/') != std::string::npos)) {
    errs() << "kiln-compile: error: --weights-file takes a file name (no folder) and needs --target=cuda\n";
    return 1;
  }

  auto context = kiln::createCompilerContext();
  // Importer messages already name the file and node; MLIR-level ones (from .mlir input
  // or a failing pass) get their source position.
  mlir::ScopedDiagnosticHandler handler(context.get(), [](mlir::Diagnostic &d) {
    const char *kind = d.getSeverity() == mlir::DiagnosticSeverity::Error     ? "error"
                       : d.getSeverity() == mlir::DiagnosticSeverity::Warning ? "warning"
                                                                              : "note";
    std::string where;
    if (auto pos = mlir::dyn_cast<mlir::FileLineColLoc>(d.getLocation()); pos && pos.getLine())
      where = (pos.getFilename().str() + ":" + std::to_string(pos.getLine()) + ":" +
               std::to_string(pos.getColumn()) + ": ");
    errs() << where << kind << ": " << d.str() << "\n";
    return mlir::success();
  });
  if (Error err = kiln::compileModel(*context, input, output, *kind, importOptions, options)) {
    errs() << "kiln-compile: error: " << toString(std::move(err)) << "\n";
    return 1;
  }
  return 0;
}
