// The ONNX coverage report (docs/onnx-coverage.md): per ONNX operator, whether Kiln
// imports it, and the node tests that exercise it, with their outcomes.
#ifndef KILN_TOOLS_COVERAGEREPORT_H
#define KILN_TOOLS_COVERAGEREPORT_H

#include <map>
#include <set>
#include <string>

namespace kiln::tools {

struct TestCoverage {
  std::set<std::string> ops;          // op types in the test's model
  std::set<std::string> elementTypes; // graph input element types
  int64_t opset = 0;
  std::string outcome; // PASS, FAIL, UNSUPPORTED or CRASH
};

/// Reads the op types, input types and opset of the model in `dir`.
TestCoverage describeTest(const std::string &dir);

/// Writes the report in Markdown to `path`; false if it cannot be written.
bool writeCoverageReport(const std::string &path, const std::map<std::string, TestCoverage> &tests,
                         const std::string &command);

} // namespace kiln::tools

#endif
