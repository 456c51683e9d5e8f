// Reading .npy and ONNX TensorProto (.pb) files and comparing tensors, for kiln-run and
// kiln-onnx-test. Needs neither LLVM nor protobuf: the few wire-format fields of a
// TensorProto are decoded here.
#ifndef KILN_TOOLS_TENSORIO_H
#define KILN_TOOLS_TENSORIO_H

#include "kiln/runtime.h"

#include <string>
#include <vector>

namespace kiln::tools {

struct HostTensor {
  std::string name; // from a TensorProto; empty for .npy
  kiln_dtype_t dtype = KILN_DTYPE_F32;
  std::vector<int64_t> dims;
  std::vector<char> data;

  kiln_buffer_view_t view() {
    return {dtype, dims.size(), dims.data(), data.data(), data.size()};
  }
  size_t elements() const;
  /// Element `i` widened to double.
  double at(size_t i) const;
};

/// A zero-filled tensor shaped like `info` (an output the runtime will write).
HostTensor tensorFor(const kiln_tensor_info_t &info);

/// Reads a .npy (by extension) or a TensorProto .pb file; false with `error` set on
/// malformed or unsupported input.
bool readTensorFile(const std::string &path, HostTensor &out, std::string &error);

/// Writes `t` as a .npy file.
bool writeNpy(const std::string &path, const HostTensor &t, std::string &error);

struct Comparison {
  bool shapeMatches = false;
  bool ok = false;
  double maxAbsError = 0, maxRelError = 0;
  size_t mismatches = 0;
};

/// Elementwise |actual - expected| <= atol + rtol * |expected|, NaN matching NaN;
/// integers and bools must match exactly.
Comparison compareTensors(const HostTensor &actual, const HostTensor &expected, double rtol,
                          double atol);

std::string shapeString(const std::vector<int64_t> &dims);

} // namespace kiln::tools

#endif
