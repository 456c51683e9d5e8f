// Running backend-test data sets in isolated processes; see TestSuite.h.
#include "TestSuite.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace kiln::tools;
namespace fs = std::filesystem;

const char *kiln::tools::outcomeName(Outcome o) {
  switch (o) {
  case Outcome::Pass: return "PASS";
  case Outcome::Fail: return "FAIL";
  case Outcome::Unsupported: return "UNSUPPORTED";
  case Outcome::Crash: return "CRASH";
  }
  return "?";
}

bool kiln::tools::parseOutcome(const std::string &name, Outcome &outcome) {
  for (Outcome o : {Outcome::Pass, Outcome::Fail, Outcome::Unsupported, Outcome::Crash})
    if (name == outcomeName(o)) {
      outcome = o;
      return true;
    }
  return false;
}

std::vector<std::string> kiln::tools::sortedEntries(const std::string &dir, const std::string &prefix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; it != end && !ec; it.increment(ec))
    if (it->path().filename().string().rfind(prefix, 0) == 0)
      out.push_back(it->path().string());
  std::sort(out.begin(), out.end(), [](const std::string &a, const std::string &b) {
    return a.size() != b.size() ? a.size() < b.size() : a < b;
  });
  return out;
}

void kiln::tools::collectTests(const std::string &path, const std::string &marker,
                               std::vector<TestCase> &tests) {
  if (fs::exists(path + "/" + marker)) {
    tests.push_back({fs::path(path).filename().string(), path});
    return;
  }
  std::error_code ec;
  std::vector<std::string> children;
  for (fs::directory_iterator it(path, ec), end; it != end && !ec; it.increment(ec))
    if (it->is_directory())
      children.push_back(it->path().string());
  std::sort(children.begin(), children.end());
  for (auto &child : children)
    collectTests(child, marker, tests);
}

bool kiln::tools::readDataSet(const std::string &dir, DataSet &set, std::string &error) {
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
static bool matchInputs(kiln_module_t *module, DataSet &set, std::vector<kiln_buffer_view_t> &in,
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

Result kiln::tools::runDataSet(kiln_module_t *module, DataSet &set, double relTol, double absTol) {
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

bool kiln::tools::readTestList(const std::string &path, std::set<std::string> &names) {
  std::ifstream in(path);
  if (!in)
    return false;
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line[0] != '#')
      names.insert(line);
  return true;
}

std::string kiln::tools::deviceMismatch(const kiln_module_t *module, const std::string &device,
                                        const std::string &artifact) {
  std::string compiledFor = kiln_device_name(kiln_module_device(module));
  if (device.empty() || device == compiledFor)
    return "";
  return artifact + " was compiled for " + compiledFor + ", not " + device +
         " (kiln-compile --target=" + device + ")";
}

std::string kiln::tools::suiteArtifactName(size_t dataSet) {
  return "set_" + std::to_string(dataSet) + ".so";
}

Result kiln::tools::runCompiledTest(const TestCase &test, const std::string &device, double rtol,
                                    double atol) {
  std::ifstream verdictFile(test.dir + "/" + kSuiteVerdictFile);
  std::string line;
  std::getline(verdictFile, line);
  std::string name = line.substr(0, line.find(' '));
  Outcome compiled;
  if (!parseOutcome(name, compiled))
    return {Outcome::Fail, "malformed " + std::string(kSuiteVerdictFile)};
  if (compiled != Outcome::Pass)
    return {compiled, line.size() > name.size() ? line.substr(name.size() + 1) : ""};
  auto sets = sortedEntries(test.dir, "test_data_set_");
  if (sets.empty())
    return {Outcome::Fail, "the compiled test has no data set"};
  for (size_t index = 0; index < sets.size(); ++index) {
    DataSet set;
    std::string error;
    if (!readDataSet(sets[index], set, error))
      return {Outcome::Fail, error};
    std::string artifact = test.dir + "/" + suiteArtifactName(index);
    kiln_module_t *module = nullptr;
    if (kiln_status_t s = kiln_module_load(artifact.c_str(), nullptr, &module)) {
      Result r{Outcome::Fail, kiln_status_message(s)};
      kiln_status_free(s);
      return r;
    }
    std::string mismatch = deviceMismatch(module, device, artifact);
    Result r = mismatch.empty() ? runDataSet(module, set, rtol, atol) : Result{Outcome::Fail, mismatch};
    kiln_module_release(module);
    if (r.outcome != Outcome::Pass)
      return r;
  }
  return {Outcome::Pass, ""};
}

namespace {

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

std::map<std::string, Result> kiln::tools::runSuite(const std::vector<TestCase> &tests,
                                                    const SuiteOptions &options,
                                                    const std::function<Result(const TestCase &)> &run,
                                                    int &exitCode) {
  std::map<std::string, Result> results;
  std::vector<Running> running;
  size_t next = 0;
  auto report = [&](const TestCase &t, Result r) {
    if (!options.quiet || (r.outcome != Outcome::Pass && r.outcome != Outcome::Unsupported))
      std::printf("%s %s%s%s\n", outcomeName(r.outcome), t.name.c_str(), r.detail.empty() ? "" : ": ",
                  oneLine(r.detail).c_str());
    std::fflush(stdout);
    results[t.name] = r;
  };
  unsigned parallel = std::max(1u, options.jobs);
  while (next < tests.size() || !running.empty()) {
    while (running.size() < parallel && next < tests.size()) {
      const TestCase &t = tests[next++];
      int pipefd[2];
      if (pipe(pipefd) != 0) {
        report(t, {Outcome::Crash, "pipe failed"});
        continue;
      }
      pid_t pid = fork();
      if (pid == 0) {
        close(pipefd[0]);
        Result r = run(t);
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
      bool late = std::chrono::steady_clock::now() - r.start >
                  std::chrono::seconds(options.timeoutSeconds);
      if (!done && !late) {
        ++i;
        continue;
      }
      if (!done) {
        kill(r.pid, SIGKILL);
        waitpid(r.pid, &status, 0);
        report(r.test, {Outcome::Crash, "timed out after " + std::to_string(options.timeoutSeconds) + " s"});
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

  size_t passed = 0, failed = 0, skipped = 0;
  std::vector<std::string> regressions;
  for (auto &[name, r] : results) {
    if (r.outcome == Outcome::Pass)
      ++passed;
    else if (r.outcome == Outcome::Unsupported)
      ++skipped;
    else
      ++failed;
    if (options.mustPass.count(name) && r.outcome != Outcome::Pass)
      regressions.push_back(name);
  }
  if (options.requireListed)
    for (auto &name : options.mustPass)
      if (!results.count(name))
        regressions.push_back(name + " (not found)");
  for (auto &name : regressions)
    std::printf("EXPECTED TO PASS: %s\n", name.c_str());
  std::printf("%zu passed, %zu failed, %zu skipped\n", passed, failed, skipped);
  std::fflush(stdout);
  exitCode = failed || !regressions.empty() ? 1 : 0;
  return results;
}
