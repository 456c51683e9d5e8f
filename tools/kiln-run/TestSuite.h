// Running ONNX backend-test data sets (test_data_set_N/input_K.pb, output_K.pb) on
// compiled modules, each test in its own process under a time limit, with the
// PASS/FAIL/UNSUPPORTED/CRASH report and the "N passed, N failed, N skipped" summary.
// Shared by kiln-onnx-test (which compiles) and kiln-run --suite (which runs a suite
// compiled elsewhere, e.g. on a GPU machine without LLVM). Needs no LLVM.
#ifndef KILN_TOOLS_TESTSUITE_H
#define KILN_TOOLS_TESTSUITE_H

#include "TensorIO.h"

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace kiln::tools {

enum class Outcome { Pass, Fail, Unsupported, Crash };
const char *outcomeName(Outcome outcome);
/// Parses "PASS", "FAIL", ...; false for anything else.
bool parseOutcome(const std::string &name, Outcome &outcome);

struct Result {
  Outcome outcome;
  std::string detail;
};

struct TestCase {
  std::string name, dir;
};

/// Entries of `dir` whose names start with `prefix`, in natural order (input_10 after
/// input_9).
std::vector<std::string> sortedEntries(const std::string &dir, const std::string &prefix);

/// Every test folder under `path`: a folder holding `marker` (model.onnx for ONNX's
/// tests), or `path` itself.
void collectTests(const std::string &path, const std::string &marker, std::vector<TestCase> &tests);

struct DataSet {
  std::vector<std::string> inputFiles;
  std::vector<HostTensor> inputs, expected;
};

/// Reads one test_data_set_N folder.
bool readDataSet(const std::string &dir, DataSet &set, std::string &error);

/// Runs one data set on a loaded module and compares its outputs (half-precision
/// outputs get at least one unit in the last place of relative tolerance).
Result runDataSet(kiln_module_t *module, DataSet &set, double rtol, double atol);

struct SuiteOptions {
  unsigned jobs = 1;
  unsigned timeoutSeconds = 60;
  bool quiet = false;
  /// Tests that must pass; any that does not fails the run.
  std::set<std::string> mustPass;
  /// Whether a listed test that was not run counts as a failure.
  bool requireListed = false;
};

/// Runs `run` on every test, each in a forked process (crashes and time-outs become
/// CRASH results), prints each result and the summary, and returns the results. The
/// exit status to use is in `exitCode`: 1 when anything failed or a listed test did
/// not pass.
std::map<std::string, Result> runSuite(const std::vector<TestCase> &tests,
                                       const SuiteOptions &options,
                                       const std::function<Result(const TestCase &)> &run,
                                       int &exitCode);

/// Empty when `device` ("cpu", "cuda"; empty: any) is where `module` runs; else the
/// error to report for `artifact`.
std::string deviceMismatch(const kiln_module_t *module, const std::string &device,
                           const std::string &artifact);

/// A compiled suite (kiln-onnx-test --compile-to DIR) holds, per test, DIR/NAME with
/// this verdict file ("PASS", or the compile outcome and its reason), and per data set
/// K the artifact set_K.so and a copy of test_data_set_K.
constexpr const char *kSuiteVerdictFile = "kiln-test.txt";
std::string suiteArtifactName(size_t dataSet);

/// Runs one test of a compiled suite: the compile verdict when it was not PASS, else
/// every data set on its artifact. `device` ("cpu", "cuda"; empty: any) must be the
/// artifacts' device.
Result runCompiledTest(const TestCase &test, const std::string &device, double rtol, double atol);

/// Reads a pass list (one test name per line, '#' comments); false if unreadable.
bool readTestList(const std::string &path, std::set<std::string> &names);

} // namespace kiln::tools

#endif
