// cp.async (nvgpu.device_async_copy, nvvm.cp.async.commit.group and wait.group) as
// plain loads and stores that land at the wait, for kiln-gpu-launches-on-cpu.
#ifndef KILN_LIB_TRANSFORMS_ASYNCCOPIESONCPU_H
#define KILN_LIB_TRANSFORMS_ASYNCCOPIESONCPU_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

namespace kiln {

/// Rewrites the cp.async copies, commits and waits in `launch`'s body: each copy reads
/// its source where it is issued into per-thread arrays and poisons its destination;
/// the wait that retires its group stores the values there. Fails, with an error on
/// the op, for what this cannot run (groups through nvgpu tokens, sources of dynamic
/// layout, destinations other than shared memory of one float type, copies never
/// waited for).
mlir::LogicalResult landAsyncCopiesAtWaits(mlir::gpu::LaunchOp launch);

} // namespace kiln

#endif // KILN_LIB_TRANSFORMS_ASYNCCOPIESONCPU_H
