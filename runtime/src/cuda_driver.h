/* The slice of the CUDA driver API the runtime uses, declared here so the runtime
 * builds without the CUDA toolkit; libcuda.so.1 is opened with dlopen at module load.
 * Types and values are those of cuda.h (driver API 12 and later). */
#ifndef KILN_RUNTIME_CUDA_DRIVER_H_
#define KILN_RUNTIME_CUDA_DRIVER_H_

#include <stddef.h>

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;
typedef struct CUgraph_st *CUgraph;
typedef struct CUgraphExec_st *CUgraphExec;

#define CUDA_SUCCESS 0
#define CUDA_ERROR_NO_DEVICE 100
#define CU_STREAM_NON_BLOCKING 1
#define CU_STREAM_CAPTURE_MODE_THREAD_LOCAL 1
#define CU_JIT_ERROR_LOG_BUFFER 5
#define CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES 6

/* X(member, symbol, return and parameter types): every function the runtime loads. */
#define KILN_CUDA_DRIVER_FUNCTIONS(X)                                                        \
  X(init, "cuInit", CUresult, (unsigned flags))                                              \
  X(getErrorName, "cuGetErrorName", CUresult, (CUresult error, const char **name))          \
  X(getErrorString, "cuGetErrorString", CUresult, (CUresult error, const char **text))      \
  X(deviceGetCount, "cuDeviceGetCount", CUresult, (int *count))                              \
  X(deviceGet, "cuDeviceGet", CUresult, (CUdevice * device, int ordinal))                    \
  X(deviceGetName, "cuDeviceGetName", CUresult, (char *name, int length, CUdevice device))   \
  X(primaryCtxRetain, "cuDevicePrimaryCtxRetain", CUresult, (CUcontext * ctx, CUdevice dev)) \
  X(primaryCtxRelease, "cuDevicePrimaryCtxRelease_v2", CUresult, (CUdevice dev))             \
  X(ctxSetCurrent, "cuCtxSetCurrent", CUresult, (CUcontext ctx))                             \
  X(moduleLoadDataEx, "cuModuleLoadDataEx", CUresult,                                        \
    (CUmodule * module, const void *image, unsigned count, int *options, void **values))     \
  X(moduleUnload, "cuModuleUnload", CUresult, (CUmodule module))                             \
  X(moduleGetFunction, "cuModuleGetFunction", CUresult,                                      \
    (CUfunction * function, CUmodule module, const char *name))                              \
  X(memAlloc, "cuMemAlloc_v2", CUresult, (CUdeviceptr * pointer, size_t bytes))              \
  X(memFree, "cuMemFree_v2", CUresult, (CUdeviceptr pointer))                                \
  X(memcpyHtoD, "cuMemcpyHtoD_v2", CUresult, (CUdeviceptr dst, const void *src, size_t bytes)) \
  X(memcpyHtoDAsync, "cuMemcpyHtoDAsync_v2", CUresult,                                       \
    (CUdeviceptr dst, const void *src, size_t bytes, CUstream stream))                       \
  X(memcpyDtoHAsync, "cuMemcpyDtoHAsync_v2", CUresult,                                       \
    (void *dst, CUdeviceptr src, size_t bytes, CUstream stream))                             \
  X(streamCreate, "cuStreamCreate", CUresult, (CUstream * stream, unsigned flags))           \
  X(streamDestroy, "cuStreamDestroy_v2", CUresult, (CUstream stream))                        \
  X(streamSynchronize, "cuStreamSynchronize", CUresult, (CUstream stream))                   \
  X(streamBeginCapture, "cuStreamBeginCapture_v2", CUresult, (CUstream stream, int mode))    \
  X(streamEndCapture, "cuStreamEndCapture", CUresult, (CUstream stream, CUgraph * graph))    \
  X(graphInstantiate, "cuGraphInstantiateWithFlags", CUresult,                               \
    (CUgraphExec * exec, CUgraph graph, unsigned long long flags))                           \
  X(graphLaunch, "cuGraphLaunch", CUresult, (CUgraphExec exec, CUstream stream))             \
  X(graphExecDestroy, "cuGraphExecDestroy", CUresult, (CUgraphExec exec))                    \
  X(graphDestroy, "cuGraphDestroy", CUresult, (CUgraph graph))                               \
  X(eventCreate, "cuEventCreate", CUresult, (CUevent * event, unsigned flags))               \
  X(eventRecord, "cuEventRecord", CUresult, (CUevent event, CUstream stream))                \
  X(eventElapsedTime, "cuEventElapsedTime", CUresult, (float *ms, CUevent start, CUevent end)) \
  X(eventDestroy, "cuEventDestroy_v2", CUresult, (CUevent event))                            \
  X(launchKernel, "cuLaunchKernel", CUresult,                                                \
    (CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,          \
     unsigned bz, unsigned shared, CUstream stream, void **params, void **extra))

typedef struct kiln_cuda_driver_t {
  void *library;
#define KILN_CUDA_MEMBER(member, symbol, result, params) result(*member) params;
  KILN_CUDA_DRIVER_FUNCTIONS(KILN_CUDA_MEMBER)
#undef KILN_CUDA_MEMBER
} kiln_cuda_driver_t;

#endif
