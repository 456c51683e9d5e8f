// kiln-onnx-test: runs ONNX backend test directories (model.onnx + test_data_set_*)
// through kiln-compile's pipeline and the runtime, each test in its own process under a
// time limit, and reports PASS, FAIL, UNSUPPORTED or CRASH per test. With --compile-to
// it only compiles, into a suite folder that `kiln-run --suite` runs elsewhere (a GPU
// machine without LLVM).
#include "CoverageReport.h"
#include "TestSuite.h"
#include "kiln/Compiler/Compiler.h"
#include "kiln/runtime.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <thread>

using namespace llvm;
using namespace kiln::tools;

static cl::OptionCategory category("kiln-onnx-test options");
static cl::list<std::string> dirs(cl::Positional, cl::OneOrMore,
                                  cl::desc("<test dir or folder of test dirs>..."), cl::cat(category));
static cl::opt<std::string> expectPass("expect-pass",
                                       cl::desc("File listing tests that must pass; any that does not fails the run"),
                                       cl::cat(category));
static cl::opt<std::string> writePass("write-pass-list", cl::desc("Write the names of passing tests to this file"),
                                      cl::cat(category));
static cl::opt<std::string> filter("filter", cl::desc("Only run tests whose name contains this"),
                                   cl::cat(category));
static cl::opt<bool> onlyListed("only-listed", cl::desc("Run only the tests named in --expect-pass"),
                                cl::cat(category));
static cl::opt<unsigned> timeout("timeout", cl::init(60), cl::desc("Per-test time limit in seconds"),
                                 cl::cat(category));
static cl::opt<unsigned> jobs("j", cl::init(0), cl::desc("Tests run in parallel (default: cores)"),
                              cl::cat(category));
static cl::opt<double> relTol("rtol", cl::init(1e-3), cl::desc("Relative tolerance"), cl::cat(category));
static cl::opt<double> absTol("atol", cl::init(1e-7), cl::desc("Absolute tolerance"), cl::cat(category));
static cl::opt<std::string> coverageReport(
    "coverage-report", cl::desc("Write the per-operator coverage report (Markdown) to this file"),
    cl::cat(category));
static cl::opt<bool> quiet("quiet", cl::desc("Print only failures and the summary"), cl::cat(category));
static cl::opt<std::string> target("target", cl::init("cpu"),
                                   cl::desc("Compile for cpu (default) or cuda[:sm_XX]"),
                                   cl::cat(category));
static cl::opt<std::string> device("device", cl::init(""),
                                   cl::desc("Run on cpu or cuda (cuda implies --target=cuda); "
                                            "default: the target's device"),
                                   cl::cat(category));
static cl::opt<bool> gpuLoopsOnCPU(
    "gpu-loops-on-cpu",
    cl::desc("CPU: run the CUDA target's kernels, their blocks and threads one after another (checks them without a GPU)"),
    cl::cat(category));
static cl::opt<std::string> cudaGemm("cuda-gemm", cl::init("auto"), cl::desc(kiln::kCudaGemmHelp),
                                     cl::cat(category));
static cl::opt<std::string> cudaConv("cuda-conv", cl::init("auto"), cl::desc(kiln::kCudaConvHelp),
                                     cl::cat(category));
static cl::opt<bool> noCubin("no-cubin", cl::desc("CUDA: embed the PTX only, even where ptxas is installed"),
                             cl::cat(category));
static cl::opt<std::string> compileTo(
    "compile-to",
    cl::desc("Only compile: write each test's artifacts and data sets under this folder, "
             "for kiln-run --suite"),
    cl::cat(category));

namespace {

/// Collects the first error diagnostic of a context.
struct FirstError {
  explicit FirstError(mlir::MLIRContext *context)
      : handler(context, [this](mlir::Diagnostic &d) {
          if (d.getSeverity() == mlir::DiagnosticSeverity::Error && text.empty())
            text = d.str();
          return mlir::success();
        }) {}
  std::string text;
  mlir::ScopedDiagnosticHandler handler;
};

/// Compiles a test's model to `artifact` (none: import only). Inputs an op needs at
/// compile time (a shape, axes, scales) may be bound to the data set's values, as an
/// AOT user would bind them. Importer errors mean an unsupported model; errors later
/// are Kiln's own failures.
Result compileTest(const TestCase &test, const DataSet &set, const std::string &artifact,
                   const kiln::CompilerOptions &options) {
  auto context = kiln::createCompilerContext();
  FirstError error(context.get());
  kiln::ImportOptions importOptions;
  for (auto [file, tensor] : llvm::zip(set.inputFiles, set.inputs))
    if (!tensor.name.empty())
      importOptions.bindableInputs[tensor.name] = file;
  std::string model = test.dir + "/model.onnx";
  auto module = kiln::importONNXFile(context.get(), model, importOptions);
  if (!module)
    return {Outcome::Unsupported, error.text.empty() ? "import failed" : error.text};
  if (artifact.empty())
    return {Outcome::Pass, ""};
  if (Error err = kiln::compileModule(*module, model, artifact, kiln::EmitKind::SharedLibrary,
                                      options)) {
    std::string message = toString(std::move(err));
    return {Outcome::Fail, "compile: " + (error.text.empty() ? message : error.text)};
  }
  return {Outcome::Pass, ""};
}

/// Reads data set `dir`; an unreadable one is reported as the import's verdict when the
/// model cannot be imported either (that explains more).
bool readOrExplain(const TestCase &test, const std::string &dir, DataSet &set, Result &why) {
  std::string error;
  if (readDataSet(dir, set, error))
    return true;
  Result imported = compileTest(test, DataSet(), /*artifact=*/"", kiln::CompilerOptions());
  why = {Outcome::Unsupported, imported.outcome == Outcome::Unsupported ? imported.detail : error};
  return false;
}

/// Compiles and runs one test, every data set; called in a child process. A module
/// with bound inputs is specialized to one data set, so each set recompiles it.
Result runTest(const TestCase &test, const std::string &workDir, const kiln::CompilerOptions &options) {
  std::string artifact = workDir + "/" + test.name + ".so";
  kiln_module_t *module = nullptr;
  bool specialized = false;
  auto sets = sortedEntries(test.dir, "test_data_set_");
  if (sets.empty())
    return {Outcome::Unsupported, "the test has no test_data_set_* folder"};
  for (const std::string &dir : sets) {
    DataSet set;
    Result why;
    if (!readOrExplain(test, dir, set, why))
      return why;
    if (!module || specialized) {
      kiln_module_release(module);
      module = nullptr;
      Result compiled = compileTest(test, set, artifact, options);
      if (compiled.outcome != Outcome::Pass)
        return compiled;
      if (kiln_status_t s = kiln_module_load(artifact.c_str(), nullptr, &module)) {
        Result r{Outcome::Fail, kiln_status_message(s)};
        kiln_status_free(s);
        return r;
      }
      specialized = kiln_module_input_count(module) < set.inputs.size();
    }
    Result r = runDataSet(module, set, relTol, absTol);
    if (r.outcome != Outcome::Pass) {
      kiln_module_release(module);
      return r;
    }
  }
  kiln_module_release(module);
  return {Outcome::Pass, ""};
}

/// Compiles one test into `suiteDir`/NAME for kiln-run --suite (layout: TestSuite.h).
Result compileSuiteTest(const TestCase &test, const std::string &suiteDir,
                        const kiln::CompilerOptions &options) {
  std::string out = suiteDir + "/" + test.name;
  if (sys::fs::create_directories(out))
    return {Outcome::Fail, "cannot create " + out};
  auto verdict = [&](Result r) {
    std::ofstream(out + "/" + kSuiteVerdictFile) << outcomeName(r.outcome) << (r.detail.empty() ? "" : " ")
                                          << r.detail << "\n";
    return r;
  };
  auto sets = sortedEntries(test.dir, "test_data_set_");
  if (sets.empty())
    return verdict({Outcome::Unsupported, "the test has no test_data_set_* folder"});
  for (auto [index, dir] : llvm::enumerate(sets)) {
    DataSet set;
    Result why;
    if (!readOrExplain(test, dir, set, why))
      return verdict(why);
    Result compiled = compileTest(test, set, out + "/" + suiteArtifactName(index), options);
    if (compiled.outcome != Outcome::Pass)
      return verdict(compiled);
    std::string copy = out + "/" + sys::path::filename(dir).str();
    sys::fs::create_directories(copy);
    for (const std::string &file : sortedEntries(dir, ""))
      if (sys::fs::copy_file(file, copy + "/" + sys::path::filename(file).str()))
        return verdict({Outcome::Fail, "cannot copy " + file});
  }
  return verdict({Outcome::Pass, ""});
}

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv, "Kiln ONNX backend-test runner\n");

  kiln::CompilerOptions options;
  options.optLevel = 1; // Small graphs: compile time dominates.
  options.assembleKernels = !noCubin;
  options.gpuLoopsOnCPU = gpuLoopsOnCPU;
  if (Error err = kiln::applyCudaLibraryOptions(cudaGemm, cudaConv, options)) {
    errs() << "kiln-onnx-test: error: " << toString(std::move(err)) << "\n";
    return 2;
  }
  if (device == "cuda" && target == "cpu")
    target = "cuda";
  if (Error err = kiln::applyTargetOption(target, options)) {
    errs() << "kiln-onnx-test: error: " << toString(std::move(err)) << "\n";
    return 2;
  }
  if (!device.empty() && device != (options.target == kiln::Target::CUDA ? "cuda" : "cpu")) {
    errs() << "kiln-onnx-test: error: --device=" << device << " cannot run --target=" << target << "\n";
    return 2;
  }

  if (compileTo.empty() && options.target == kiln::Target::CUDA) {
    // Say once, not per test, that this machine cannot run CUDA artifacts.
    if (kiln_status_t s = kiln_device_probe(KILN_DEVICE_CUDA)) {
      errs() << "kiln-onnx-test: error: cannot run CUDA artifacts here: " << kiln_status_message(s)
             << "\n(to compile here and run on a GPU machine: --compile-to DIR, then kiln-run --suite DIR)\n";
      kiln_status_free(s);
      return 1;
    }
  }
  SuiteOptions suite;
  suite.jobs = jobs ? jobs : std::max(1u, std::thread::hardware_concurrency());
  suite.timeoutSeconds = timeout;
  suite.quiet = quiet;
  if (!expectPass.empty() && !readTestList(expectPass, suite.mustPass)) {
    errs() << "kiln-onnx-test: error: cannot read " << expectPass << "\n";
    return 2;
  }
  std::vector<TestCase> tests, selected;
  for (auto &dir : dirs)
    collectTests(dir, "model.onnx", tests);
  for (auto &t : tests)
    if ((filter.empty() || t.name.find(filter) != std::string::npos) &&
        (!onlyListed || suite.mustPass.count(t.name)))
      selected.push_back(t);
  suite.requireListed = onlyListed || filter.empty();

  int exitCode = 0;
  std::map<std::string, Result> results;
  if (!compileTo.empty()) {
    if (sys::fs::create_directories(compileTo)) {
      errs() << "kiln-onnx-test: error: cannot create " << compileTo << "\n";
      return 2;
    }
    // Passing here means compiled; kiln-run --suite gives the verdict that counts.
    suite.mustPass.clear();
    results = runSuite(selected, suite, [&](const TestCase &t) {
      return compileSuiteTest(t, compileTo, options);
    }, exitCode);
  } else {
    SmallString<128> workDir;
    if (sys::fs::createUniqueDirectory("kiln-onnx-test", workDir)) {
      errs() << "kiln-onnx-test: error: cannot create a work directory\n";
      return 2;
    }
    results = runSuite(selected, suite, [&](const TestCase &t) {
      return runTest(t, workDir.str().str(), options);
    }, exitCode);
    sys::fs::remove_directories(workDir);
  }

  if (!writePass.empty()) {
    std::ofstream out(writePass);
    out << "# ONNX node tests that pass on CPU; regenerate with kiln-onnx-test --write-pass-list\n";
    for (auto &[name, r] : results)
      if (r.outcome == Outcome::Pass)
        out << name << "\n";
  }
  if (!coverageReport.empty()) {
    std::map<std::string, TestCoverage> coverage;
    for (auto &t : selected) {
      coverage[t.name] = describeTest(t.dir);
      coverage[t.name].outcome = outcomeName(results[t.name].outcome);
    }
    std::string command = "build/bin/kiln-onnx-test";
    for (auto &dir : dirs)
      command += " " + dir;
    command += " --coverage-report " + coverageReport;
    if (!writeCoverageReport(coverageReport, coverage, command))
      errs() << "kiln-onnx-test: error: cannot write " << coverageReport << "\n";
  }
  return exitCode;
}
