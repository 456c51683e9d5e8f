// The host side of a CUDA model, resolved at compile time: the kernel launches in
// stream order, the device buffers each launch reads and writes, and one device
// arena laid out so that buffers whose lifetimes overlap never share bytes.
#ifndef KILN_TARGET_CUDA_HOSTPROGRAM_H
#define KILN_TARGET_CUDA_HOSTPROGRAM_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

/// Device memory a kernel argument points to.
struct DeviceBuffer {
  enum class Kind {
    Input,    ///< a model input, copied in before the launches
    Output,   ///< a model output, copied out after them
    Scratch,  ///< an intermediate between launches
    Constant, ///< a weight, uploaded once when the module loads
  };
  Kind kind;
  uint64_t bytes;
  /// Scratch: allocated before launch firstLaunch, last used by launch endLaunch - 1.
  /// Inputs and outputs live through the whole run; constants are not in the arena.
  unsigned firstLaunch = 0, endLaunch = 0;
  /// Byte offset in the arena, or in the constant blob for constants.
  uint64_t offset = 0;
};

/// One step of the stream: a kernel launch, or a library call (library >= 0).
struct KernelLaunch {
  unsigned kernel = 0; ///< index into HostProgram::kernelNames
  std::array<uint32_t, 3> grid{}, block{};
  uint32_t sharedMemoryBytes = 0;
  std::vector<unsigned> arguments; ///< indices into HostProgram::buffers
  /// Library calls: the library (enum kiln_cuda_library of kiln/cuda_library.h), the
  /// index of the step's descriptor in HostProgram::matmuls or ::convolutions, and the
  /// byte offset of each argument in its buffer (views; kernels apply theirs themselves).
  int library = -1;
  unsigned descriptor = 0;
  std::vector<uint64_t> argumentOffsets;
};

struct HostProgram {
  std::vector<std::string> kernelNames;
  std::vector<DeviceBuffer> buffers;
  std::vector<KernelLaunch> launches;
  /// Descriptors of the cuBLASLt matmuls and cuDNN convolutions
  /// (runtime/include/kiln/cuda_library.h).
  std::vector<std::vector<int64_t>> matmuls, convolutions;
  /// Buffers of the model's inputs and outputs, in signature order.
  std::vector<unsigned> inputs, outputs;
  /// Every constant's bytes, each at its DeviceBuffer::offset.
  std::vector<char> constants;
  uint64_t arenaBytes = 0;
};

/// Alignment of every buffer in the arena and the constant blob: what cudaMalloc
/// guarantees, so kernels may use vector loads on any buffer.
constexpr uint64_t kDeviceAlignment = 256;

/// Follows @main of a module mapped to the GPU (--emit=gpu and later: host functions of
/// launches and views, kernels in a gpu.module), inlining its calls, and records every
/// launch with the buffers it touches; then plans the arena. @main's first
/// `numInputs` arguments are the model's inputs, the rest its outputs. Host work other
/// than allocation, views, launches and calls of kiln-gpu-library-calls' declarations
/// is an error naming the operation.
llvm::Expected<HostProgram> extractHostProgram(mlir::ModuleOp module, unsigned numInputs);

/// Assigns arena offsets to inputs, outputs and scratch buffers (best fit, largest
/// first, overlapping lifetimes kept apart) and sets program.arenaBytes.
void planArena(HostProgram &program);

} // namespace kiln

#endif
