// kiln-run: loads a compiled model with the Kiln runtime, runs it on .npy or .pb inputs,
// compares the outputs with expected files and benchmarks it. Links no LLVM or MLIR.
#include "TensorIO.h"
#include "TestSuite.h"
#include "kiln/runtime.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

using namespace kiln::tools;

static const char *kUsage =
    "usage: kiln-run ARTIFACT [--input [NAME=]FILE]... [--expect FILE]... [--rtol R] [--atol A]\n"
    "                [--bench N] [--warmup W] [--save DIR] [--device cpu|cuda]\n"
    "       kiln-run --suite DIR [--expect-pass FILE] [-j N] [--timeout S] [--quiet]\n"
    "                [--rtol R] [--atol A] [--device cpu|cuda]\n"
    "\n"
    "Runs a model compiled by kiln-compile (a shared library) on its inputs.\n"
    "  --input [NAME=]FILE  an input as .npy or ONNX TensorProto .pb; without NAME, inputs\n"
    "                       bind in order. Every model input needs one.\n"
    "  --expect FILE        expected value of the next output, in order (.npy or .pb)\n"
    "  --rtol R, --atol A   tolerances: |out - expected| <= A + R * |expected| (1e-3, 1e-5)\n"
    "  --bench N            after the checked run, time N more runs and print min, median\n"
    "                       and p90 latency in ms; on CUDA also the GPU time of the\n"
    "                       kernels alone, from CUDA events, and of runs on device-resident\n"
    "                       inputs and outputs (kiln_module_run_on_device, no copies)\n"
    "  --warmup W           untimed runs before benchmarking (default 3)\n"
    "  --save DIR           write each output to DIR/output_K.npy\n"
    "  --device D           require an artifact compiled for D (the artifact decides where\n"
    "                       it runs: kiln-compile --target); CUDA runs need libcuda.so.1\n"
    "Exits 0 only when every output matches its expected file.\n"
    "\n"
    "  --suite DIR          run a test suite compiled by kiln-onnx-test --compile-to DIR\n"
    "                       (e.g. here for CUDA, run on a GPU machine): each test in its\n"
    "                       own process, one line per test, then 'N passed, N failed, N\n"
    "                       skipped'. Tolerances default to kiln-onnx-test's (1e-3, 1e-7).\n"
    "  --expect-pass FILE   tests that must pass; any that does not fails the run\n"
    "  -j N, --timeout S    parallel tests (default 1) and per-test limit (default 60 s)\n"
    "  --quiet              print only failures and the summary\n";

static int fail(const std::string &message) {
  std::fprintf(stderr, "kiln-run: error: %s\n", message.c_str());
  return 1;
}

static int failStatus(kiln_status_t status) {
  int rc = fail(kiln_status_message(status));
  kiln_status_free(status);
  return rc;
}

int main(int argc, char **argv) {
  std::string artifact, saveDir;
  std::vector<std::string> inputSpecs, expectFiles;
  double rtol = 1e-3, atol = 1e-5;
  bool atolGiven = false;
  std::string suiteDir, expectPass;
  SuiteOptions suite;
  int bench = 0, warmup = 3;
  std::string device;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    // --flag=value is the same as --flag value.
    std::string inlineValue;
    bool hasInlineValue = false;
    if (size_t eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      inlineValue = arg.substr(eq + 1);
      arg.resize(eq);
      hasInlineValue = true;
    }
    auto value = [&](const char *flag) -> const char * {
      if (hasInlineValue)
        return inlineValue.c_str();
      if (i + 1 >= argc) {
        std::fprintf(stderr, "kiln-run: error: %s needs a value\n", flag);
        std::exit(2);
      }
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--input") {
      inputSpecs.push_back(value("--input"));
    } else if (arg == "--expect") {
      expectFiles.push_back(value("--expect"));
    } else if (arg == "--rtol") {
      rtol = std::atof(value("--rtol"));
    } else if (arg == "--atol") {
      atol = std::atof(value("--atol"));
      atolGiven = true;
    } else if (arg == "--suite") {
      suiteDir = value("--suite");
    } else if (arg == "--expect-pass") {
      expectPass = value("--expect-pass");
    } else if (arg == "-j") {
      suite.jobs = std::max(1, std::atoi(value("-j")));
    } else if (arg == "--timeout") {
      suite.timeoutSeconds = std::max(1, std::atoi(value("--timeout")));
    } else if (arg == "--quiet") {
      suite.quiet = true;
    } else if (arg == "--bench") {
      bench = std::atoi(value("--bench"));
    } else if (arg == "--warmup") {
      warmup = std::atoi(value("--warmup"));
    } else if (arg == "--device") {
      device = value("--device");
      if (device != "cpu" && device != "cuda") {
        fail("--device takes cpu or cuda, not '" + device + "'");
        return 2;
      }
    } else if (arg == "--save") {
      saveDir = value("--save");
    } else if (!arg.empty() && arg[0] == '-') {
      std::fprintf(stderr, "kiln-run: error: unknown option %s\n%s", arg.c_str(), kUsage);
      return 2;
    } else if (artifact.empty()) {
      artifact = arg;
    } else {
      std::fprintf(stderr, "kiln-run: error: more than one artifact given\n");
      return 2;
    }
  }
  if (!suiteDir.empty()) {
    if (!artifact.empty())
      return fail("--suite runs a folder, not an artifact");
    if (!expectPass.empty() && !readTestList(expectPass, suite.mustPass))
      return fail("cannot read " + expectPass);
    suite.requireListed = true;
    std::vector<TestCase> tests;
    collectTests(suiteDir, kSuiteVerdictFile, tests);
    int exitCode = 0;
    runSuite(tests, suite, [&](const TestCase &t) {
      return runCompiledTest(t, device, rtol, atolGiven ? atol : 1e-7);
    }, exitCode);
    return exitCode;
  }
  if (artifact.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }

  kiln_module_t *module = nullptr;
  if (kiln_status_t s = kiln_module_load(artifact.c_str(), nullptr, &module))
    return failStatus(s);
  if (std::string mismatch = deviceMismatch(module, device, artifact); !mismatch.empty())
    return fail(mismatch);
  size_t inputCount = kiln_module_input_count(module), outputCount = kiln_module_output_count(module);

  std::vector<HostTensor> inputs(inputCount);
  std::vector<bool> bound(inputCount, false);
  size_t nextPositional = 0;
  for (const std::string &spec : inputSpecs) {
    size_t eq = spec.find('=');
    std::string file = spec, error;
    size_t index = nextPositional++;
    if (eq != std::string::npos) {
      file = spec.substr(eq + 1);
      if (kiln_status_t s = kiln_module_find_input(module, spec.substr(0, eq).c_str(), &index))
        return failStatus(s);
    }
    if (index >= inputCount)
      return fail("more inputs given than the model takes (" + std::to_string(inputCount) + ")");
    if (!readTensorFile(file, inputs[index], error))
      return fail(error);
    bound[index] = true;
  }
  for (size_t i = 0; i < inputCount; ++i)
    if (!bound[i]) {
      kiln_tensor_info_t info;
      kiln_status_free(kiln_module_input_info(module, i, &info));
      return fail("no value given for input " + std::to_string(i) + " ('" + info.name + "')");
    }
  if (expectFiles.size() > outputCount)
    return fail("more --expect files than the model has outputs");

  std::vector<HostTensor> outputs(outputCount);
  std::vector<kiln_buffer_view_t> inViews, outViews;
  for (auto &t : inputs)
    inViews.push_back(t.view());
  for (size_t i = 0; i < outputCount; ++i) {
    kiln_tensor_info_t info;
    if (kiln_status_t s = kiln_module_output_info(module, i, &info))
      return failStatus(s);
    outputs[i] = tensorFor(info);
    outViews.push_back(outputs[i].view());
  }
  auto run = [&] {
    return kiln_module_run(module, inViews.data(), inViews.size(), outViews.data(), outViews.size());
  };
  if (kiln_status_t s = run())
    return failStatus(s);

  bool allMatch = true;
  for (size_t i = 0; i < outputCount; ++i) {
    std::printf("output %zu '%s': %s %s", i, outputs[i].name.c_str(),
                kiln_dtype_name(outputs[i].dtype), shapeString(outputs[i].dims).c_str());
    if (i < expectFiles.size()) {
      HostTensor expected;
      std::string error;
      if (!readTensorFile(expectFiles[i], expected, error))
        return fail(error);
      Comparison c = compareTensors(outputs[i], expected, rtol, atol);
      if (!c.shapeMatches)
        std::printf("  MISMATCH: expected %s %s", kiln_dtype_name(expected.dtype),
                    shapeString(expected.dims).c_str());
      else
        std::printf("  max_abs_err=%.3g max_rel_err=%.3g %s", c.maxAbsError, c.maxRelError,
                    c.ok ? "OK" : "MISMATCH");
      allMatch &= c.ok;
    }
    std::printf("\n");
    if (!saveDir.empty()) {
      std::string error;
      if (!writeNpy(saveDir + "/output_" + std::to_string(i) + ".npy", outputs[i], error))
        return fail(error);
    }
  }

  if (bench > 0) {
    for (int i = 0; i < warmup; ++i)
      kiln_status_free(run());
    std::vector<double> ms, deviceMs;
    for (int i = 0; i < bench; ++i) {
      auto start = std::chrono::steady_clock::now();
      if (kiln_status_t s = run())
        return failStatus(s);
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
      if (kiln_module_device(module) == KILN_DEVICE_CUDA) {
        double gpu;
        if (kiln_status_t s = kiln_module_device_time(module, &gpu))
          return failStatus(s);
        deviceMs.push_back(gpu);
      }
    }
    auto report = [&](const char *what, std::vector<double> &times) {
      std::sort(times.begin(), times.end());
      std::printf("%s: %d runs, min %.3f ms, median %.3f ms, p90 %.3f ms\n", what, bench,
                  times.front(), times[times.size() / 2],
                  times[std::min(times.size() - 1, (size_t)(times.size() * 0.9))]);
    };
    report("bench", ms);
    if (!deviceMs.empty()) {
      report("bench (GPU kernels, CUDA events)", deviceMs);
      // Inputs and outputs left on the device (kiln_module_run_on_device): what a caller
      // whose data is already on the GPU sees.
      std::vector<double> resident;
      for (int i = 0; i < bench; ++i) {
        auto start = std::chrono::steady_clock::now();
        if (kiln_status_t s = kiln_module_run_on_device(module))
          return failStatus(s);
        resident.push_back(
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
      }
      report("bench (device-resident I/O, no copies)", resident);
    }
  }
  kiln_module_release(module);
  return allMatch ? 0 : 1;
}
