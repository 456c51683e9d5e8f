// kiln-onnx-test: runs ONNX backend test directories (model.onnx + test_data_set_*)
// through kiln-compile's pipeline and the runtime, each test in its own process under a
// time limit, and reports PASS, FAIL, UNSUPPORTED or CRASH per test.
#include "CoverageReport.h"
#include "TensorIO.h"
#include "kiln/Compiler/Compiler.h"
#include "kiln/runtime.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

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

namespace {

struct TestCase {
  std::string name, dir;
};

enum class Outcome { Pass, Fail, Unsupported, Crash };

struct Result {
  Outcome outcome;
  std::string detail;
};

const char *outcomeName(Outcome o) {
  switch (o) {
  case Outcome::Pass: return "PASS";
  case Outcome::Fail: return "FAIL";
  case Outcome::Unsupported: return "UNSUPPORTED";
  case Outcome::Crash: return "CRASH";
  }
  return "?";
}

std::vector<std::string> sortedEntries(const std::string &dir, StringRef prefix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (sys::fs::directory_iterator it(dir, ec), end; it != end && !ec; it.increment(ec))
    if (sys::path::filename(it->path()).starts_with(prefix))
      out.push_back(it->path());
  // input_10.pb sorts after input_9.pb.
  std::sort(out.begin(), out.end(), [](const std::string &a, const std::string &b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  });
  return out;
}

void collect(const std::string &path, std::vector<TestCase> &tests) {
  if (sys::fs::exists(path + "/model.onnx")) {
    tests.push_back({sys::path::filename(path).str(), path});
    return;
  }
  std::error_code ec;
  std::vector<std::string> children;
  for (sys::fs::directory_iterator it(path, ec), end; it != end && !ec; it.increment(ec))
    if (sys::fs::is_directory(it->path()))
      children.push_back(it->path());
  std::sort(children.begin(), children.end());
  for (auto &child : children)
    collect(child, tests);
}

struct DataSet {
  std::vector<std::string> inputFiles;
  std::vector<HostTensor> inputs, expected;
};

/// Reads one test_data_set_N folder.
bool readDataSet(const std::string &dir, DataSet &set, std::string &error) {
  auto readAll = [&](const std::vector<std::string> &files, std::vector<HostTensor> &into) {
    into.resize(files.size());
    for (size_t i = 0; i < files.size(); ++i)
      if (!readTensorFile(files[i], into[i], error))
        return false;
    return true;
  };
  set.inputFiles = sortedEntries(dir, "input_");
  return readAll(set.inputFiles, set.inputs) &&
         readAll(sortedEntries(dir, "output_"), set.expected);
}

/// The data set's tensor for each module input: by name, since inputs the compiler
/// bound to constants are gone from the module; by position when the files are unnamed.
bool matchInputs(kiln_module_t *module, DataSet &set, std::vector<kiln_buffer_view_t> &in,
                 std::string &error) {
  size_t count = kiln_module_input_count(module);
  for (size_t i = 0; i < count; ++i) {
    kiln_tensor_info_t info;
    kiln_status_free(kiln_module_input_info(module, i, &info));
    auto named = std::find_if(set.inputs.begin(), set.inputs.end(),
                              [&](const HostTensor &t) { return t.name == info.name; });
    if (named == set.inputs.end() && count == set.inputs.size())
      named = set.inputs.begin() + i;
    if (named == set.inputs.end()) {
      error = std::string("no data for model input '") + info.name + "'";
      return false;
    }
    // numpy has no bfloat16: ONNX's test data holds bf16 bits as uint16.
    if (info.dtype == KILN_DTYPE_BF16 && named->dtype == KILN_DTYPE_U16)
      named->dtype = KILN_DTYPE_BF16;
    // The artifact's input shapes are the model's declared ones.
    std::vector<int64_t> declared(info.dims, info.dims + info.rank);
    if (named->dims != declared) {
      error = std::string("the data for input '") + info.name + "' is " +
              shapeString(named->dims) + ", but the model declares " + shapeString(declared);
      return false;
    }
    in.push_back(named->view());
  }
  return true;
}

/// Runs one data set on a loaded module and compares its outputs.
Result runDataSet(kiln_module_t *module, DataSet &set) {
  std::string error;
  std::vector<kiln_buffer_view_t> in, out;
  size_t outputCount = kiln_module_output_count(module);
  if (set.expected.size() != outputCount)
    return {Outcome::Fail, "data set has " + std::to_string(set.expected.size()) +
                               " outputs; the model has " + std::to_string(outputCount)};
  if (!matchInputs(module, set, in, error))
    return {Outcome::Unsupported, "test data contradicts the model: " + error};
  std::vector<HostTensor> outputs(outputCount);
  for (size_t i = 0; i < outputCount; ++i) {
    kiln_tensor_info_t info;
    kiln_status_free(kiln_module_output_info(module, i, &info));
    outputs[i] = tensorFor(info);
    out.push_back(outputs[i].view());
  }
  if (kiln_status_t s = kiln_module_run(module, in.data(), in.size(), out.data(), out.size())) {
    Result r{Outcome::Fail, kiln_status_message(s)};
    kiln_status_free(s);
    return r;
  }
  for (size_t i = 0; i < outputCount; ++i) {
    if (outputs[i].dtype == KILN_DTYPE_BF16 && set.expected[i].dtype == KILN_DTYPE_U16)
      set.expected[i].dtype = KILN_DTYPE_BF16;
    // Half-precision results cannot be closer than one unit in the last place.
    double rtol = outputs[i].dtype == KILN_DTYPE_BF16   ? std::max<double>(relTol, 1.0 / 128)
                  : outputs[i].dtype == KILN_DTYPE_F16 ? std::max<double>(relTol, 1.0 / 1024)
                                                       : relTol;
    Comparison c = compareTensors(outputs[i], set.expected[i], rtol, absTol);
    if (!c.shapeMatches)
      return {Outcome::Fail, "output " + std::to_string(i) + " is " +
                                 kiln_dtype_name(outputs[i].dtype) + " " + shapeString(outputs[i].dims) +
                                 ", expected " + kiln_dtype_name(set.expected[i].dtype) + " " +
                                 shapeString(set.expected[i].dims)};
    if (!c.ok) {
      char buf[200];
      std::snprintf(buf, sizeof(buf), "output %zu: %zu mismatches, max abs err %.3g, max rel err %.3g",
                    i, c.mismatches, c.maxAbsError, c.maxRelError);
      return {Outcome::Fail, buf};
    }
  }
  return {Outcome::Pass, ""};
}

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
Result compileTest(const TestCase &test, const DataSet &set, const std::string &artifact) {
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
  kiln::CompilerOptions options;
  options.optLevel = 1; // Small graphs: compile time dominates.
  if (Error err = kiln::compileModule(*module, model, artifact, kiln::EmitKind::SharedLibrary,
                                      options)) {
    std::string message = toString(std::move(err));
    return {Outcome::Fail, "compile: " + (error.text.empty() ? message : error.text)};
  }
  return {Outcome::Pass, ""};
}

/// Compiles and runs one test, every data set; called in a child process. A module
/// with bound inputs is specialized to one data set, so each set recompiles it.
Result runTest(const TestCase &test, const std::string &workDir) {
  std::string artifact = workDir + "/" + test.name + ".so";
  kiln_module_t *module = nullptr;
  bool specialized = false;
  auto sets = sortedEntries(test.dir, "test_data_set_");
  if (sets.empty())
    return {Outcome::Unsupported, "the test has no test_data_set_* folder"};
  for (const std::string &dir : sets) {
    DataSet set;
    std::string error;
    if (!readDataSet(dir, set, error)) {
      // A model Kiln cannot import explains more than its unreadable data does.
      Result imported = compileTest(test, DataSet(), /*artifact=*/"");
      return {Outcome::Unsupported, imported.outcome == Outcome::Unsupported ? imported.detail : error};
    }
    if (!module || specialized) {
      kiln_module_release(module);
      module = nullptr;
      Result compiled = compileTest(test, set, artifact);
      if (compiled.outcome != Outcome::Pass)
        return compiled;
      if (kiln_status_t s = kiln_module_load(artifact.c_str(), nullptr, &module)) {
        Result r{Outcome::Fail, kiln_status_message(s)};
        kiln_status_free(s);
        return r;
      }
      specialized = kiln_module_input_count(module) < set.inputs.size();
    }
    Result r = runDataSet(module, set);
    if (r.outcome != Outcome::Pass) {
      kiln_module_release(module);
      return r;
    }
  }
  kiln_module_release(module);
  return {Outcome::Pass, ""};
}

std::string oneLine(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  return s.size() > 300 ? s.substr(0, 300) + "..." : s;
}

struct Running {
  TestCase test;
  pid_t pid;
  int fd;
  std::chrono::steady_clock::time_point start;
  std::string output;
};

} // namespace

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv, "Kiln ONNX backend-test runner\n");

  std::set<std::string> mustPass;
  if (!expectPass.empty()) {
    std::ifstream in(expectPass);
    if (!in) {
      errs() << "kiln-onnx-test: error: cannot read " << expectPass << "\n";
      return 2;
    }
    for (std::string line; std::getline(in, line);)
      if (!line.empty() && line[0] != '#')
        mustPass.insert(line);
  }
  std::vector<TestCase> tests, selected;
  for (auto &dir : dirs)
    collect(dir, tests);
  for (auto &t : tests)
    if ((filter.empty() || t.name.find(filter) != std::string::npos) &&
        (!onlyListed || mustPass.count(t.name)))
      selected.push_back(t);

  SmallString<128> workDir;
  if (sys::fs::createUniqueDirectory("kiln-onnx-test", workDir)) {
    errs() << "kiln-onnx-test: error: cannot create a work directory\n";
    return 2;
  }
  unsigned parallel = jobs ? jobs : std::max(1u, std::thread::hardware_concurrency());
  std::map<std::string, Result> results;
  std::vector<Running> running;
  size_t next = 0;
  auto report = [&](const TestCase &t, Result r) {
    if (!quiet || (r.outcome != Outcome::Pass && r.outcome != Outcome::Unsupported))
      outs() << outcomeName(r.outcome) << " " << t.name << (r.detail.empty() ? "" : ": ")
             << oneLine(r.detail) << "\n";
    outs().flush();
    results[t.name] = r;
  };
  while (next < selected.size() || !running.empty()) {
    while (running.size() < parallel && next < selected.size()) {
      const TestCase &t = selected[next++];
      int pipefd[2];
      if (pipe(pipefd) != 0) {
        report(t, {Outcome::Crash, "pipe failed"});
        continue;
      }
      pid_t pid = fork();
      if (pid == 0) {
        close(pipefd[0]);
        Result r = runTest(t, workDir.str().str());
        std::string line = std::to_string((int)r.outcome) + " " + r.detail;
        (void)!write(pipefd[1], line.data(), line.size());
        _exit(0);
      }
      close(pipefd[1]);
      running.push_back({t, pid, pipefd[0], std::chrono::steady_clock::now(), ""});
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    for (size_t i = 0; i < running.size();) {
      Running &r = running[i];
      char buf[4096];
      ssize_t n;
      int status;
      pid_t done = waitpid(r.pid, &status, WNOHANG);
      bool late = std::chrono::steady_clock::now() - r.start > std::chrono::seconds(timeout);
      if (!done && !late) {
        ++i;
        continue;
      }
      if (!done) {
        kill(r.pid, SIGKILL);
        waitpid(r.pid, &status, 0);
        report(r.test, {Outcome::Crash, "timed out after " + std::to_string(timeout) + " s"});
      } else {
        while ((n = read(r.fd, buf, sizeof(buf))) > 0)
          r.output.append(buf, n);
        if (WIFSIGNALED(status) || r.output.empty())
          report(r.test, {Outcome::Crash, WIFSIGNALED(status)
                                              ? std::string("killed by signal ") + strsignal(WTERMSIG(status))
                                              : "exited without a result"});
        else
          report(r.test, {(Outcome)std::atoi(r.output.c_str()),
                          r.output.substr(std::min(r.output.find(' ') + 1, r.output.size()))});
      }
      close(r.fd);
      running.erase(running.begin() + i);
    }
  }
  sys::fs::remove_directories(workDir);

  size_t passed = 0, failed = 0, skipped = 0;
  std::vector<std::string> regressions;
  for (auto &[name, r] : results) {
    if (r.outcome == Outcome::Pass)
      ++passed;
    else if (r.outcome == Outcome::Unsupported)
      ++skipped;
    else
      ++failed;
    if (mustPass.count(name) && r.outcome != Outcome::Pass)
      regressions.push_back(name);
  }
  for (auto &name : mustPass)
    if (!results.count(name) && (onlyListed || filter.empty()))
      regressions.push_back(name + " (not found)");
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
  for (auto &name : regressions)
    outs() << "EXPECTED TO PASS: " << name << "\n";
  outs() << passed << " passed, " << failed << " failed, " << skipped << " skipped\n";
  return failed || !regressions.empty() ? 1 : 0;
}
