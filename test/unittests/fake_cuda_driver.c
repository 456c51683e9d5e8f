/* A stand-in for libcuda.so.1 that runs nothing on a GPU: it lets the tests drive the
 * runtime's whole CUDA path (driver loading, module and kernel lookup, arena and
 * constant uploads, copies, graph capture and replay, events, error reporting) on a
 * machine without one. Load it with KILN_CUDA_DRIVER=path/to/libkiln_fake_cuda.so.
 *
 * Device memory is host memory. Each launch is checked, not run: the kernel must be an
 * .entry of the loaded PTX, the launch shape must be legal, and each of the entry's
 * parameters must point into a live allocation. When the module unloads it prints
 * one summary line to stderr:
 *   fake-cuda: PTX|fatbin image, K kernels, L launches (C captured, R by graph replays), B bad launches, I input copies, O output copies, M library calls
 * (the copies are those of runs, cuMemcpy*Async; the constants' upload is not one).
 * The same library stands in for libcuBLASLt (fake_cublaslt.c, KILN_CUBLASLT=...) and
 * libcudnn (fake_cudnn.c, KILN_CUDNN=...): their matmuls and convolutions really
 * compute, on the stream's host memory, so a model made only of them gives real
 * outputs here. They count as launches too, and as library calls.
 * Behaviour switches: FAKE_CUDA_NO_DEVICE=1 (cuInit reports no device),
 * FAKE_CUDA_FAIL_LAUNCH=N (the Nth launch, from 1, fails with
 * CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef unsigned long long CUdeviceptr;

enum {
  SUCCESS = 0,
  INVALID_VALUE = 1,
  NO_DEVICE = 100,
  INVALID_IMAGE = 200,
  NOT_FOUND = 500,
  OUT_OF_RESOURCES = 701,
};

#define EXPORT __attribute__((visibility("default")))
#define MAX_ALLOCATIONS 64
#define MAX_FUNCTIONS 4096

typedef struct function_t {
  char name[256];
  int param_count;
} function_t;

typedef struct launch_t {
  function_t *function; /* NULL for host work (a stand-in library call) */
  void (*host)(const void *);
  const void *host_argument;
  unsigned dims[6], shared;
  uint64_t params[256];
} launch_t;

typedef struct graph_t {
  launch_t *launches;
  size_t count, capacity;
} graph_t;

static struct {
  struct { char *base; size_t size; } allocations[MAX_ALLOCATIONS];
  const char *image, *ptx;
  function_t functions[MAX_FUNCTIONS];
  int function_count;
  graph_t *capturing;
  long launches, captured, replayed, bad, attempts, copies_in, copies_out, library_calls;
} fake;

static int context_token, stream_token, event_token;

EXPORT CUresult cuInit(unsigned flags) {
  (void)flags;
  const char *no_device = getenv("FAKE_CUDA_NO_DEVICE");
  return no_device && *no_device == '1' ? NO_DEVICE : SUCCESS;
}

EXPORT CUresult cuGetErrorName(CUresult error, const char **name) {
  switch (error) {
  case SUCCESS: *name = "CUDA_SUCCESS"; return SUCCESS;
  case INVALID_VALUE: *name = "CUDA_ERROR_INVALID_VALUE"; return SUCCESS;
  case NO_DEVICE: *name = "CUDA_ERROR_NO_DEVICE"; return SUCCESS;
  case INVALID_IMAGE: *name = "CUDA_ERROR_INVALID_IMAGE"; return SUCCESS;
  case NOT_FOUND: *name = "CUDA_ERROR_NOT_FOUND"; return SUCCESS;
  case OUT_OF_RESOURCES: *name = "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES"; return SUCCESS;
  default: *name = NULL; return INVALID_VALUE;
  }
}

EXPORT CUresult cuGetErrorString(CUresult error, const char **text) {
  *text = error == OUT_OF_RESOURCES ? "too many resources requested for launch (fake)" : NULL;
  return *text ? SUCCESS : INVALID_VALUE;
}

EXPORT CUresult cuDeviceGetCount(int *count) { *count = 1; return SUCCESS; }
EXPORT CUresult cuDeviceGet(int *device, int ordinal) { *device = ordinal; return SUCCESS; }
EXPORT CUresult cuDeviceGetName(char *name, int length, int device) {
  (void)device;
  snprintf(name, length, "Kiln fake CUDA device");
  return SUCCESS;
}
EXPORT CUresult cuDevicePrimaryCtxRetain(void **ctx, int device) {
  (void)device;
  *ctx = &context_token;
  return SUCCESS;
}
EXPORT CUresult cuDevicePrimaryCtxRelease_v2(int device) { (void)device; return SUCCESS; }
EXPORT CUresult cuCtxSetCurrent(void *ctx) { return ctx == &context_token ? SUCCESS : INVALID_VALUE; }

EXPORT CUresult cuModuleLoadDataEx(void **module, const void *image, unsigned count, int *options,
                                   void **values) {
  (void)count, (void)options, (void)values;
  const char *text = image;
  uint32_t magic;
  memcpy(&magic, image, sizeof(magic));
  /* Entries and their parameters are checked in PTX (kiln-compile --no-cubin); a
   * fatbin's kernels are taken on trust. */
  if (magic == 0xBA55ED50u)
    fake.image = "fatbin";
  else if (strncmp(text, "//", 2) == 0)
    fake.image = "PTX", fake.ptx = text;
  else
    return INVALID_IMAGE;
  *module = &fake;
  return SUCCESS;
}

EXPORT CUresult cuModuleUnload(void *module) {
  (void)module;
  fprintf(stderr, "fake-cuda: %s image, %d kernels, %ld launches (%ld captured, %ld by graph replays), %ld bad launches, %ld input copies, %ld output copies, %ld library calls\n",
          fake.image, fake.function_count, fake.launches, fake.captured, fake.replayed, fake.bad,
          fake.copies_in, fake.copies_out, fake.library_calls);
  return SUCCESS;
}

EXPORT CUresult cuModuleGetFunction(void **function, void *module, const char *name) {
  (void)module;
  char entry[300];
  snprintf(entry, sizeof(entry), ".entry %s(", name);
  const char *at = fake.ptx ? strstr(fake.ptx, entry) : NULL;
  if ((fake.ptx && !at) || fake.function_count == MAX_FUNCTIONS)
    return NOT_FOUND;
  function_t *f = &fake.functions[fake.function_count++];
  snprintf(f->name, sizeof(f->name), "%s", name);
  const char *end = at ? strchr(at, ')') : NULL;
  for (const char *p = at ? strstr(at, ".param") : NULL; p && end && p < end; p = strstr(p + 1, ".param"))
    ++f->param_count;
  *function = f;
  return SUCCESS;
}

static int find_allocation(CUdeviceptr pointer, size_t bytes) {
  for (int i = 0; i < MAX_ALLOCATIONS; ++i) {
    char *base = fake.allocations[i].base, *p = (char *)(uintptr_t)pointer;
    if (base && p >= base && p + bytes <= base + fake.allocations[i].size)
      return i;
  }
  return -1;
}

EXPORT CUresult cuMemAlloc_v2(CUdeviceptr *pointer, size_t bytes) {
  for (int i = 0; i < MAX_ALLOCATIONS; ++i)
    if (!fake.allocations[i].base) {
      fake.allocations[i].base = calloc(1, bytes);
      fake.allocations[i].size = bytes;
      *pointer = (CUdeviceptr)(uintptr_t)fake.allocations[i].base;
      return fake.allocations[i].base ? SUCCESS : INVALID_VALUE;
    }
  return INVALID_VALUE;
}

EXPORT CUresult cuMemFree_v2(CUdeviceptr pointer) {
  int i = find_allocation(pointer, 0);
  if (i < 0 || (uintptr_t)fake.allocations[i].base != pointer)
    return INVALID_VALUE;
  free(fake.allocations[i].base);
  fake.allocations[i].base = NULL;
  return SUCCESS;
}

EXPORT CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t bytes) {
  if (find_allocation(dst, bytes) < 0)
    return INVALID_VALUE;
  memcpy((void *)(uintptr_t)dst, src, bytes);
  return SUCCESS;
}
EXPORT CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t bytes, void *stream) {
  (void)stream;
  ++fake.copies_in;
  return cuMemcpyHtoD_v2(dst, src, bytes);
}
EXPORT CUresult cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t bytes, void *stream) {
  (void)stream;
  ++fake.copies_out;
  if (find_allocation(src, bytes) < 0)
    return INVALID_VALUE;
  memcpy(dst, (const void *)(uintptr_t)src, bytes);
  return SUCCESS;
}

EXPORT CUresult cuStreamCreate(void **stream, unsigned flags) {
  (void)flags;
  *stream = &stream_token;
  return SUCCESS;
}
EXPORT CUresult cuStreamDestroy_v2(void *stream) { (void)stream; return SUCCESS; }
EXPORT CUresult cuStreamSynchronize(void *stream) { (void)stream; return SUCCESS; }

EXPORT CUresult cuStreamBeginCapture_v2(void *stream, int mode) {
  (void)stream, (void)mode;
  if (fake.capturing)
    return INVALID_VALUE;
  fake.capturing = calloc(1, sizeof(graph_t));
  return fake.capturing ? SUCCESS : INVALID_VALUE;
}
EXPORT CUresult cuStreamEndCapture(void *stream, void **graph) {
  (void)stream;
  if (!fake.capturing)
    return INVALID_VALUE;
  *graph = fake.capturing;
  fake.capturing = NULL;
  return SUCCESS;
}
EXPORT CUresult cuGraphInstantiateWithFlags(void **exec, void *graph, unsigned long long flags) {
  (void)flags;
  graph_t *copy = calloc(1, sizeof(graph_t)), *g = graph;
  if (!copy)
    return INVALID_VALUE;
  copy->launches = malloc((g->count + 1) * sizeof(launch_t));
  memcpy(copy->launches, g->launches, g->count * sizeof(launch_t));
  copy->count = g->count;
  *exec = copy;
  return SUCCESS;
}
EXPORT CUresult cuGraphDestroy(void *graph) {
  graph_t *g = graph;
  free(g->launches);
  free(g);
  return SUCCESS;
}
EXPORT CUresult cuGraphExecDestroy(void *exec) { return cuGraphDestroy(exec); }

/* Checks a launch as the GPU would see it; counts it as bad if anything is off. Host
 * work runs instead. */
static void check(const launch_t *l) {
  const function_t *f = l->function;
  if (!f) {
    l->host(l->host_argument);
    ++fake.library_calls;
    return;
  }
  const char *problem = NULL;
  long threads = (long)l->dims[3] * l->dims[4] * l->dims[5];
  if (!l->dims[0] || !l->dims[1] || !l->dims[2] || threads <= 0 || threads > 1024)
    problem = "launch shape";
  for (int i = 0; !problem && i < f->param_count; ++i)
    if (find_allocation(l->params[i], 1) < 0)
      problem = "a parameter points outside device memory";
  if (problem) {
    ++fake.bad;
    fprintf(stderr, "fake-cuda: bad launch of %s: %s\n", f->name, problem);
  }
}

EXPORT CUresult cuGraphLaunch(void *exec, void *stream) {
  (void)stream;
  graph_t *g = exec;
  for (size_t i = 0; i < g->count; ++i) {
    check(&g->launches[i]);
    ++fake.replayed;
    ++fake.launches;
  }
  return SUCCESS;
}

EXPORT CUresult cuEventCreate(void **event, unsigned flags) {
  (void)flags;
  *event = &event_token;
  return SUCCESS;
}
EXPORT CUresult cuEventRecord(void *event, void *stream) { (void)event, (void)stream; return SUCCESS; }
EXPORT CUresult cuEventElapsedTime(float *ms, void *start, void *end) {
  (void)start, (void)end;
  *ms = 0.25f;
  return SUCCESS;
}
EXPORT CUresult cuEventDestroy_v2(void *event) { (void)event; return SUCCESS; }

static void append(graph_t *g, const launch_t *l) {
  if (g->count == g->capacity) {
    g->capacity = g->capacity ? 2 * g->capacity : 64;
    g->launches = realloc(g->launches, g->capacity * sizeof(launch_t));
  }
  g->launches[g->count++] = *l;
  ++fake.captured;
}

int fake_cuda_is_device_memory(uint64_t pointer, size_t bytes) {
  return find_allocation(pointer, bytes) >= 0;
}

void fake_cuda_enqueue(void (*work)(const void *), const void *argument) {
  launch_t l = {NULL, work, argument, {0}, 0, {0}};
  if (fake.capturing) {
    append(fake.capturing, &l);
    return;
  }
  check(&l);
  ++fake.launches;
}

EXPORT CUresult cuLaunchKernel(void *function, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                               unsigned by, unsigned bz, unsigned shared, void *stream,
                               void **params, void **extra) {
  (void)stream, (void)extra;
  const char *fail = getenv("FAKE_CUDA_FAIL_LAUNCH");
  if (fail && atol(fail) == ++fake.attempts)
    return OUT_OF_RESOURCES;
  launch_t l = {function, NULL, NULL, {gx, gy, gz, bx, by, bz}, shared, {0}};
  for (int i = 0; i < l.function->param_count && i < 256; ++i)
    l.params[i] = *(uint64_t *)params[i];
  if (fake.capturing) {
    append(fake.capturing, &l);
    return SUCCESS;
  }
  check(&l);
  ++fake.launches;
  return SUCCESS;
}
