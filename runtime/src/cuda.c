/* The CUDA executor: runs artifacts compiled with --target=cuda on an NVIDIA GPU
 * through the driver API, loaded with dlopen so the runtime needs no CUDA to build or
 * to load CPU artifacts.
 *
 * At load: the driver, the primary context of the device, the kernel image (fatbin or
 * PTX), one allocation for the planned arena and one for the constants, which are
 * uploaded once, and cuBLASLt's and cuDNN's plans when the artifact hands matmuls or
 * convolutions to them. Each run copies the inputs into their arena slots, replays the
 * model's launches (captured once into a CUDA graph) between two events, copies the
 * outputs back and synchronizes. Runs on one module are serialized by a mutex. */
#include "cublaslt.h"
#include "cuda_driver.h"
#include "cudnn.h"
#include "internal.h"
#include "kiln/cuda_library.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYMBOL_PREFIX "kiln_model_cuda_"

/* The artifact's host code: every launch of the model, in stream order. */
typedef void (*kiln_launch_fn)(void *executor, int32_t kernel, int32_t gx, int32_t gy,
                               int32_t gz, int32_t bx, int32_t by, int32_t bz,
                               int32_t shared_bytes, const uint64_t *args, int32_t arg_count);
typedef void (*kiln_library_fn)(void *executor, int32_t library, int32_t descriptor,
                                const uint64_t *addresses, int32_t address_count);
typedef void (*kiln_cuda_run_fn)(void *executor, kiln_launch_fn launch, kiln_library_fn library,
                                 uint64_t arena, uint64_t constants);

struct kiln_cuda_executor_s {
  kiln_cuda_driver_t driver;
  CUdevice device;
  CUcontext context;
  CUmodule module;
  CUfunction *functions;
  const char **kernel_names; /* borrowed from the artifact */
  uint32_t kernel_count;
  CUdeviceptr arena, constants;
  const uint64_t *io_offsets; /* inputs, then outputs */
  kiln_cuda_run_fn run;
  kiln_cublaslt_t *blas; /* NULL when the artifact has no library matmuls */
  kiln_cudnn_t *dnn;     /* NULL when it has no library convolutions */
  CUstream stream;
  CUevent start, stop;
  int use_graph, warmed_up;
  CUgraphExec graph;
  kiln_status_t launch_error; /* the first failed launch of the current run */
  float last_ms;
  int has_time;
  pthread_mutex_t lock;
};

static kiln_status_t cuda_error(const kiln_cuda_driver_t *d, CUresult result, const char *call,
                                const char *subject) {
  const char *name = NULL, *text = NULL;
  if (d->getErrorName)
    d->getErrorName(result, &name);
  if (d->getErrorString)
    d->getErrorString(result, &text);
  char code[32];
  if (!name) {
    snprintf(code, sizeof(code), "%d", result);
    name = code;
  }
  return kiln_make_status(result == CUDA_ERROR_NO_DEVICE ? KILN_STATUS_UNAVAILABLE
                                                         : KILN_STATUS_DEVICE_ERROR,
                          "CUDA error %s in %s%s%s%s%s%s", name, call, subject ? " (" : "",
                          subject ? subject : "", subject ? ")" : "", text ? ": " : "",
                          text ? text : "");
}

/* Returns the status of a failed driver call `name` (about `subject`, may be NULL). */
#define CHECK(call, name, subject)                                                            \
  do {                                                                                        \
    CUresult result_ = (call);                                                                \
    if (result_ != CUDA_SUCCESS)                                                              \
      return cuda_error(&e->driver, result_, name, subject);                                  \
  } while (0)

static kiln_status_t load_driver(kiln_cuda_driver_t *d) {
  const char *path = getenv("KILN_CUDA_DRIVER");
  if (!path || !*path)
    path = "libcuda.so.1";
  d->library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!d->library)
    return kiln_make_status(KILN_STATUS_UNAVAILABLE,
                            "CUDA needs the CUDA driver (%s), which cannot be loaded: %s", path,
                            dlerror());
  /* A driver may export only a newer _v2 entry with the same signature (CUDA 12.8 made
   * cuEventElapsedTime_v2 the default), so that is tried too. */
#define KILN_CUDA_LOAD(member, symbol, result, params)                                        \
  *(void **)&d->member = dlsym(d->library, symbol);                                           \
  if (!d->member)                                                                             \
    *(void **)&d->member = dlsym(d->library, symbol "_v2");                                   \
  if (!d->member)                                                                             \
    return kiln_make_status(KILN_STATUS_UNAVAILABLE,                                          \
                            "the CUDA driver %s lacks %s; Kiln needs driver API 12 or later", \
                            path, symbol);
  KILN_CUDA_DRIVER_FUNCTIONS(KILN_CUDA_LOAD)
#undef KILN_CUDA_LOAD
  return NULL;
}

/* Finds the artifact's `kiln_model_cuda_<name>`. */
static const void *artifact_symbol(void *handle, const char *name) {
  char symbol[128];
  snprintf(symbol, sizeof(symbol), SYMBOL_PREFIX "%s", name);
  return dlsym(handle, symbol);
}

static kiln_status_t load_module(kiln_cuda_executor_t *e, const void *image) {
  char log[8192] = "";
  int options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {log, (void *)(size_t)sizeof(log)};
  CUresult result = e->driver.moduleLoadDataEx(&e->module, image, 2, options, values);
  if (result == CUDA_SUCCESS)
    return NULL;
  kiln_status_t status = cuda_error(&e->driver, result, "cuModuleLoadDataEx", "the kernel image");
  if (!log[0])
    return status;
  kiln_status_t detailed = kiln_make_status(kiln_status_code(status), "%s\n%s",
                                            kiln_status_message(status), log);
  kiln_status_free(status);
  return detailed;
}

/* FNV-1a, 64 bits: the hash kiln-compile records for a weights file. */
static uint64_t weights_hash(const unsigned char *bytes, size_t size) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < size; ++i)
    hash = (hash ^ bytes[i]) * 0x100000001b3ull;
  return hash;
}

/* Reads the weights file `name`, which sits in the artifact's folder, whole, and checks
 * it against the size and hash the artifact records. */
static kiln_status_t read_weights(const char *artifact_path, const char *name, uint64_t size,
                                  uint64_t hash, unsigned char **out_bytes) {
  const char *slash = strrchr(artifact_path, '/');
  int folder = slash ? (int)(slash - artifact_path) : 1;
  char path[4096];
  if (snprintf(path, sizeof(path), "%.*s/%s", folder, slash ? artifact_path : ".", name) >= (int)sizeof(path))
    return kiln_make_status(KILN_STATUS_INVALID_ARGUMENT, "weights file path too long");
  FILE *file = fopen(path, "rb");
  if (!file)
    return kiln_make_status(KILN_STATUS_NOT_FOUND, "cannot open the weights file %s: %s", path,
                            strerror(errno));
  unsigned char *bytes = malloc(size ? size : 1);
  size_t got = bytes ? fread(bytes, 1, size, file) : 0;
  int longer = fgetc(file) != EOF;
  fclose(file);
  kiln_status_t status = NULL;
  if (!bytes)
    status = kiln_make_status(KILN_STATUS_OUT_OF_MEMORY, "out of memory for the weights");
  else if (got != size || longer)
    status = kiln_make_status(KILN_STATUS_INCOMPATIBLE,
                              "the weights file %s is %s than the %llu bytes this artifact was "
                              "compiled with", path, longer ? "longer" : "shorter",
                              (unsigned long long)size);
  else if (weights_hash(bytes, size) != hash)
    status = kiln_make_status(KILN_STATUS_INCOMPATIBLE,
                              "the weights file %s does not hold the weights this artifact was "
                              "compiled with (hash mismatch)", path);
  if (status) {
    free(bytes);
    return status;
  }
  *out_bytes = bytes;
  return NULL;
}

/* Copies the weights to the device: embedded in the artifact, or from their file. */
static kiln_status_t upload_constants(kiln_cuda_executor_t *e, void *handle, const char *path,
                                      const char *embedded, uint64_t size) {
  const char *file = artifact_symbol(handle, "constants_file");
  const uint64_t *hash = artifact_symbol(handle, "constants_hash");
  unsigned char *read = NULL;
  if (file && *file) {
    if (!hash)
      return kiln_make_status(KILN_STATUS_INCOMPATIBLE, "the artifact names a weights file but no hash");
    kiln_status_t status = read_weights(path, file, size, *hash, &read);
    if (status)
      return status;
  }
  CUresult result = e->driver.memcpyHtoD(e->constants, read ? (const void *)read : embedded, size);
  free(read);
  return result == CUDA_SUCCESS ? NULL : cuda_error(&e->driver, result, "cuMemcpyHtoD", "the constants");
}

static kiln_status_t setup(kiln_cuda_executor_t *e, void *handle, const char *path) {
  const kiln_cuda_driver_t *d = &e->driver;
  const uint64_t *image_size = artifact_symbol(handle, "image_size");
  const char *image = artifact_symbol(handle, "image");
  const char *names = artifact_symbol(handle, "kernel_names");
  const uint32_t *kernel_count = artifact_symbol(handle, "kernel_count");
  const char *constants = artifact_symbol(handle, "constants");
  const uint64_t *constants_size = artifact_symbol(handle, "constants_size");
  const uint64_t *arena_size = artifact_symbol(handle, "arena_size");
  const uint32_t *matmul_count = artifact_symbol(handle, "matmul_count");
  const int64_t *matmuls = artifact_symbol(handle, "matmuls");
  const uint32_t *convolution_count = artifact_symbol(handle, "convolution_count");
  const int64_t *convolutions = artifact_symbol(handle, "convolutions");
  e->io_offsets = artifact_symbol(handle, "io_offsets");
  *(void **)&e->run = (void *)artifact_symbol(handle, "run");
  if (!image_size || !image || !names || !kernel_count || !constants || !constants_size ||
      !arena_size || !e->io_offsets || !e->run || !matmul_count || !matmuls || !convolution_count ||
      !convolutions)
    return kiln_make_status(KILN_STATUS_INCOMPATIBLE,
                            "a CUDA artifact must export every " SYMBOL_PREFIX "* symbol");

  CHECK(d->init(0), "cuInit", NULL);
  const char *ordinal = getenv("KILN_CUDA_DEVICE");
  int count = 0;
  CHECK(d->deviceGetCount(&count), "cuDeviceGetCount", NULL);
  int index = ordinal && *ordinal ? atoi(ordinal) : 0;
  if (count == 0)
    return kiln_make_status(KILN_STATUS_UNAVAILABLE, "this artifact runs on CUDA, and no CUDA "
                                                     "device is present");
  if (index < 0 || index >= count)
    return kiln_make_status(KILN_STATUS_INVALID_ARGUMENT,
                            "KILN_CUDA_DEVICE=%s, but there are %d CUDA devices", ordinal, count);
  CHECK(d->deviceGet(&e->device, index), "cuDeviceGet", NULL);
  CHECK(d->primaryCtxRetain(&e->context, e->device), "cuDevicePrimaryCtxRetain", NULL);
  CHECK(d->ctxSetCurrent(e->context), "cuCtxSetCurrent", NULL);

  kiln_status_t status = load_module(e, image);
  if (status)
    return status;
  e->kernel_count = *kernel_count;
  e->functions = calloc(e->kernel_count + 1, sizeof(CUfunction));
  e->kernel_names = calloc(e->kernel_count + 1, sizeof(char *));
  if (!e->functions || !e->kernel_names)
    return kiln_make_status(KILN_STATUS_OUT_OF_MEMORY, "out of memory");
  for (uint32_t i = 0; i < e->kernel_count; ++i) {
    e->kernel_names[i] = names;
    CHECK(d->moduleGetFunction(&e->functions[i], e->module, names), "cuModuleGetFunction", names);
    names += strlen(names) + 1;
  }
  /* One byte at least: a model may need no scratch memory, or no constants. */
  CHECK(d->memAlloc(&e->arena, *arena_size ? *arena_size : 1), "cuMemAlloc", "the arena");
  CHECK(d->memAlloc(&e->constants, *constants_size ? *constants_size : 1), "cuMemAlloc", "the constants");
  if (*constants_size) {
    kiln_status_t uploaded = upload_constants(e, handle, path, constants, *constants_size);
    if (uploaded)
      return uploaded;
  }
  if (*matmul_count) {
    kiln_status_t planned = kiln_cublaslt_create(d, matmuls, *matmul_count, &e->blas);
    if (planned)
      return planned;
  }
  if (*convolution_count) {
    kiln_status_t planned = kiln_cudnn_create(d, convolutions, *convolution_count, &e->dnn);
    if (planned)
      return planned;
  }
  CHECK(d->streamCreate(&e->stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate", NULL);
  CHECK(d->eventCreate(&e->start, 0), "cuEventCreate", NULL);
  CHECK(d->eventCreate(&e->stop, 0), "cuEventCreate", NULL);
  const char *graphs = getenv("KILN_CUDA_GRAPHS");
  e->use_graph = !(graphs && strcmp(graphs, "0") == 0);
  return NULL;
}

kiln_status_t kiln_cuda_probe(void) {
  kiln_cuda_driver_t driver = {0};
  kiln_status_t status = load_driver(&driver);
  int count = 0;
  CUresult result = CUDA_SUCCESS;
  if (!status && (result = driver.init(0)) == CUDA_SUCCESS)
    result = driver.deviceGetCount(&count);
  if (!status && result != CUDA_SUCCESS)
    status = cuda_error(&driver, result, "cuInit", NULL);
  else if (!status && count == 0)
    status = kiln_make_status(KILN_STATUS_UNAVAILABLE, "no CUDA device is present");
  if (driver.library)
    dlclose(driver.library);
  return status;
}

kiln_status_t kiln_cuda_executor_create(void *handle, const char *path,
                                        kiln_cuda_executor_t **out_executor) {
  *out_executor = NULL;
  kiln_cuda_executor_t *e = calloc(1, sizeof(*e));
  if (!e)
    return kiln_make_status(KILN_STATUS_OUT_OF_MEMORY, "out of memory");
  pthread_mutex_init(&e->lock, NULL);
  kiln_status_t status = load_driver(&e->driver);
  if (!status)
    status = setup(e, handle, path);
  if (status) {
    kiln_cuda_executor_release(e);
    return status;
  }
  *out_executor = e;
  return NULL;
}

void kiln_cuda_executor_release(kiln_cuda_executor_t *e) {
  if (!e)
    return;
  const kiln_cuda_driver_t *d = &e->driver;
  if (e->context)
    d->ctxSetCurrent(e->context);
  if (e->graph)
    d->graphExecDestroy(e->graph);
  if (e->start)
    d->eventDestroy(e->start);
  if (e->stop)
    d->eventDestroy(e->stop);
  if (e->stream)
    d->streamDestroy(e->stream);
  kiln_cublaslt_release(e->blas);
  kiln_cudnn_release(e->dnn);
  if (e->arena)
    d->memFree(e->arena);
  if (e->constants)
    d->memFree(e->constants);
  if (e->module)
    d->moduleUnload(e->module);
  if (e->context)
    d->primaryCtxRelease(e->device);
  if (d->library)
    dlclose(d->library);
  kiln_status_free(e->launch_error);
  free(e->functions);
  free(e->kernel_names);
  pthread_mutex_destroy(&e->lock);
  free(e);
}

/* The launch callback the artifact's host code calls for every kernel. */
static void launch(void *executor, int32_t kernel, int32_t gx, int32_t gy, int32_t gz,
                   int32_t bx, int32_t by, int32_t bz, int32_t shared_bytes,
                   const uint64_t *args, int32_t arg_count) {
  kiln_cuda_executor_t *e = executor;
  if (e->launch_error)
    return;
  if (kernel < 0 || (uint32_t)kernel >= e->kernel_count || arg_count < 0) {
    e->launch_error = kiln_make_status(KILN_STATUS_INCOMPATIBLE,
                                       "the artifact launches kernel %d of %u", kernel,
                                       e->kernel_count);
    return;
  }
  void *stack[64];
  void **params = arg_count <= 64 ? stack : malloc(arg_count * sizeof(void *));
  if (!params) {
    e->launch_error = kiln_make_status(KILN_STATUS_OUT_OF_MEMORY, "out of memory");
    return;
  }
  for (int32_t i = 0; i < arg_count; ++i)
    params[i] = (void *)&args[i];
  CUresult result = e->driver.launchKernel(e->functions[kernel], gx, gy, gz, bx, by, bz,
                                           shared_bytes, e->stream, params, NULL);
  if (result != CUDA_SUCCESS)
    e->launch_error = cuda_error(&e->driver, result, "cuLaunchKernel", e->kernel_names[kernel]);
  if (params != stack)
    free(params);
}

/* The callback for the artifact's library calls: cuBLASLt matmuls, cuDNN convolutions. */
static void library(void *executor, int32_t which, int32_t descriptor, const uint64_t *addresses,
                    int32_t address_count) {
  kiln_cuda_executor_t *e = executor;
  if (e->launch_error)
    return;
  if (which == KILN_CUDA_LIBRARY_CUBLASLT_MATMUL && e->blas)
    e->launch_error = kiln_cublaslt_matmul(e->blas, descriptor, addresses, address_count, e->stream);
  else if (which == KILN_CUDA_LIBRARY_CUDNN_CONV && e->dnn)
    e->launch_error = kiln_cudnn_conv(e->dnn, descriptor, addresses, address_count, e->stream);
  else
    e->launch_error = kiln_make_status(KILN_STATUS_INCOMPATIBLE,
                                       "the artifact calls step %d of library %d, which it does not declare",
                                       descriptor, which);
}

/* Makes every launch of the model on the stream: the first time under capture, into
 * the graph that later runs replay. With cuBLASLt or cuDNN, the first run goes directly,
 * so the libraries load their kernels and set their attributes outside the capture. */
static kiln_status_t launch_all(kiln_cuda_executor_t *e) {
  const kiln_cuda_driver_t *d = &e->driver;
  if (!e->use_graph || ((e->blas || e->dnn) && !e->warmed_up)) {
    e->run(e, launch, library, e->arena, e->constants);
    e->warmed_up = 1;
    return NULL;
  }
  if (!e->graph) {
    CUgraph graph = NULL;
    CHECK(d->streamBeginCapture(e->stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL), "cuStreamBeginCapture", NULL);
    e->run(e, launch, library, e->arena, e->constants);
    CUresult ended = d->streamEndCapture(e->stream, &graph);
    if (e->launch_error) {
      if (graph)
        d->graphDestroy(graph);
      return NULL;
    }
    if (ended != CUDA_SUCCESS)
      return cuda_error(d, ended, "cuStreamEndCapture", "capturing the model's launches");
    CUresult made = d->graphInstantiate(&e->graph, graph, 0);
    d->graphDestroy(graph);
    if (made != CUDA_SUCCESS) {
      e->graph = NULL;
      return cuda_error(d, made, "cuGraphInstantiateWithFlags", NULL);
    }
  }
  CHECK(d->graphLaunch(e->graph, e->stream), "cuGraphLaunch", NULL);
  return NULL;
}

static kiln_status_t run_locked(kiln_cuda_executor_t *e, const kiln_buffer_view_t *inputs,
                                size_t input_count, const kiln_buffer_view_t *outputs,
                                size_t output_count) {
  const kiln_cuda_driver_t *d = &e->driver;
  CHECK(d->ctxSetCurrent(e->context), "cuCtxSetCurrent", NULL);
  for (size_t i = 0; i < input_count; ++i)
    if (inputs[i].byte_size)
      CHECK(d->memcpyHtoDAsync(e->arena + e->io_offsets[i], inputs[i].data,
                               inputs[i].byte_size, e->stream), "cuMemcpyHtoDAsync",
            "copying an input to the device");
  e->has_time = 0;
  CHECK(d->eventRecord(e->start, e->stream), "cuEventRecord", NULL);
  kiln_status_t status = launch_all(e);
  if (!status && e->launch_error) {
    status = e->launch_error;
    e->launch_error = NULL;
  }
  if (status) {
    d->streamSynchronize(e->stream);
    return status;
  }
  CHECK(d->eventRecord(e->stop, e->stream), "cuEventRecord", NULL);
  for (size_t i = 0; i < output_count; ++i)
    if (outputs[i].byte_size)
      CHECK(d->memcpyDtoHAsync(outputs[i].data, e->arena + e->io_offsets[input_count + i],
                               outputs[i].byte_size, e->stream), "cuMemcpyDtoHAsync",
            "copying an output from the device");
  CUresult done = d->streamSynchronize(e->stream);
  if (done != CUDA_SUCCESS)
    /* Kernels run asynchronously, so the failing one is not known here; with
     * KILN_CUDA_GRAPHS=0 and CUDA_LAUNCH_BLOCKING=1 the launch itself reports it. */
    return cuda_error(d, done, "cuStreamSynchronize", "running the model's kernels");
  if (d->eventElapsedTime(&e->last_ms, e->start, e->stop) == CUDA_SUCCESS)
    e->has_time = 1;
  return NULL;
}

kiln_status_t kiln_cuda_executor_run(kiln_cuda_executor_t *e, const kiln_buffer_view_t *inputs,
                                     size_t input_count, const kiln_buffer_view_t *outputs,
                                     size_t output_count) {
  pthread_mutex_lock(&e->lock);
  kiln_status_t status = run_locked(e, inputs, input_count, outputs, output_count);
  pthread_mutex_unlock(&e->lock);
  return status;
}

uint64_t kiln_cuda_executor_io_address(const kiln_cuda_executor_t *e, size_t slot) {
  return e->arena + e->io_offsets[slot];
}

kiln_status_t kiln_cuda_executor_device_time(kiln_cuda_executor_t *e, double *out_ms) {
  pthread_mutex_lock(&e->lock);
  int has_time = e->has_time;
  *out_ms = e->last_ms;
  pthread_mutex_unlock(&e->lock);
  return has_time ? NULL
                  : kiln_make_status(KILN_STATUS_NOT_FOUND, "no run of this module has been timed");
}
