/* Kiln runtime C API: load a compiled model artifact, inspect its signature and run it
 * on caller buffers or runtime-allocated tensors. Depends on libc and libdl only.
 *
 * Conventions: every fallible call returns a kiln_status_t, NULL meaning success; a
 * non-NULL status is owned by the caller and freed with kiln_status_free. Results are
 * written to out_* parameters. *_create and *_load return owned objects released with
 * the matching *_release; accessors return borrowed pointers valid while their owner
 * lives. Objects are not synchronized, except that kiln_module_run may be called from
 * several threads at once on one module. */
#ifndef KILN_RUNTIME_H_
#define KILN_RUNTIME_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KILN_API __attribute__((visibility("default")))

/* ABI version of the artifacts this runtime loads. */
#define KILN_RUNTIME_ABI_VERSION 3

/*===------------------------------------------------------------------===
 * Status
 *===------------------------------------------------------------------===*/

typedef enum kiln_status_code_e {
  KILN_STATUS_OK = 0,
  KILN_STATUS_INVALID_ARGUMENT = 1, /* wrong shape, dtype, size, count or name */
  KILN_STATUS_NOT_FOUND = 2,        /* file or symbol missing */
  KILN_STATUS_INCOMPATIBLE = 3,     /* artifact of another ABI version or malformed */
  KILN_STATUS_OUT_OF_MEMORY = 4,
  KILN_STATUS_UNAVAILABLE = 5,      /* the artifact's device or its driver is not present */
  KILN_STATUS_DEVICE_ERROR = 6,     /* a device call failed; the message names the call */
} kiln_status_code_t;

typedef struct kiln_status_s *kiln_status_t;

/* The code of `status` (KILN_STATUS_OK for NULL). */
KILN_API kiln_status_code_t kiln_status_code(kiln_status_t status);
/* A human-readable message, borrowed from `status` ("OK" for NULL). */
KILN_API const char *kiln_status_message(kiln_status_t status);
/* Frees a status; NULL is allowed. */
KILN_API void kiln_status_free(kiln_status_t status);

/*===------------------------------------------------------------------===
 * Element types and allocators
 *===------------------------------------------------------------------===*/

typedef enum kiln_dtype_e {
  KILN_DTYPE_F32, KILN_DTYPE_F64, KILN_DTYPE_F16, KILN_DTYPE_BF16,
  KILN_DTYPE_I8, KILN_DTYPE_I16, KILN_DTYPE_I32, KILN_DTYPE_I64, KILN_DTYPE_BOOL,
  KILN_DTYPE_U8, KILN_DTYPE_U16, KILN_DTYPE_U32, KILN_DTYPE_U64,
} kiln_dtype_t;

/* Bytes per element of `dtype`. */
KILN_API size_t kiln_dtype_size(kiln_dtype_t dtype);
/* Short name of `dtype` ("f32", "i64", "bool"...). */
KILN_API const char *kiln_dtype_name(kiln_dtype_t dtype);

/* Memory for tensors. `alloc` returns memory aligned to `alignment` or NULL. */
typedef struct kiln_allocator_t {
  void *self;
  void *(*alloc)(void *self, size_t size, size_t alignment);
  void (*free)(void *self, void *ptr);
} kiln_allocator_t;

/* The libc allocator (aligned_alloc / free). */
KILN_API kiln_allocator_t kiln_allocator_system(void);

/*===------------------------------------------------------------------===
 * Tensors owned by the runtime
 *===------------------------------------------------------------------===*/

typedef struct kiln_tensor_s kiln_tensor_t;

/* Creates a zero-filled, 64-byte aligned tensor; `allocator` may be NULL (system). */
KILN_API kiln_status_t kiln_tensor_create(const kiln_allocator_t *allocator, kiln_dtype_t dtype,
                                 size_t rank, const int64_t *dims, kiln_tensor_t **out_tensor);
/* Releases a tensor and its memory; NULL is allowed. */
KILN_API void kiln_tensor_release(kiln_tensor_t *tensor);
/* Borrowed accessors. */
KILN_API void *kiln_tensor_data(const kiln_tensor_t *tensor);
KILN_API size_t kiln_tensor_byte_size(const kiln_tensor_t *tensor);
KILN_API kiln_dtype_t kiln_tensor_dtype(const kiln_tensor_t *tensor);
KILN_API size_t kiln_tensor_rank(const kiln_tensor_t *tensor);
KILN_API const int64_t *kiln_tensor_dims(const kiln_tensor_t *tensor);

/*===------------------------------------------------------------------===
 * Modules
 *===------------------------------------------------------------------===*/

typedef struct kiln_module_s kiln_module_t;

/* Describes one input or output of a module; strings and dims are borrowed. */
typedef struct kiln_tensor_info_t {
  const char *name;
  kiln_dtype_t dtype;
  size_t rank;
  const int64_t *dims;
  size_t byte_size;
} kiln_tensor_info_t;

/* A caller-owned buffer passed to kiln_module_run, with the shape it claims to hold. */
typedef struct kiln_buffer_view_t {
  kiln_dtype_t dtype;
  size_t rank;
  const int64_t *dims;
  void *data;
  size_t byte_size;
} kiln_buffer_view_t;

/* Loads the shared-library artifact at `path` (from kiln-compile) and checks its ABI
 * version and signature. `allocator` (may be NULL) serves kiln_module_run_tensors.
 * A CUDA artifact also loads the CUDA driver (libcuda.so.1, or the library named by
 * KILN_CUDA_DRIVER), its kernels and constants onto device KILN_CUDA_DEVICE (default
 * 0); without a driver or a device it returns KILN_STATUS_UNAVAILABLE. */
KILN_API kiln_status_t kiln_module_load(const char *path, const kiln_allocator_t *allocator,
                               kiln_module_t **out_module);
/* Unloads a module; NULL is allowed. Tensors it created stay valid. */
KILN_API void kiln_module_release(kiln_module_t *module);

KILN_API size_t kiln_module_input_count(const kiln_module_t *module);
KILN_API size_t kiln_module_output_count(const kiln_module_t *module);
/* Describes input or output `index`. */
KILN_API kiln_status_t kiln_module_input_info(const kiln_module_t *module, size_t index,
                                     kiln_tensor_info_t *out_info);
KILN_API kiln_status_t kiln_module_output_info(const kiln_module_t *module, size_t index,
                                      kiln_tensor_info_t *out_info);
/* Finds the index of the input named `name`. */
KILN_API kiln_status_t kiln_module_find_input(const kiln_module_t *module, const char *name,
                                     size_t *out_index);

/* Where a module's code runs: chosen when it was compiled (kiln-compile --target). */
typedef enum kiln_device_e { KILN_DEVICE_CPU = 0, KILN_DEVICE_CUDA = 1 } kiln_device_t;

KILN_API kiln_device_t kiln_module_device(const kiln_module_t *module);
/* Short name of `device` ("cpu", "cuda"). */
KILN_API const char *kiln_device_name(kiln_device_t device);

/* NULL when artifacts for `device` can run here; else why not (for CUDA: no driver,
 * KILN_STATUS_UNAVAILABLE, or no device). */
KILN_API kiln_status_t kiln_device_probe(kiln_device_t device);

/* CUDA modules: the milliseconds the GPU spent in the last successful
 * kiln_module_run's kernels, between two CUDA events (host-device copies excluded).
 * KILN_STATUS_NOT_FOUND before any run, and for CPU modules. */
KILN_API kiln_status_t kiln_module_device_time(const kiln_module_t *module, double *out_ms);

/* Runs the model on caller buffers, after checking every count, dtype, shape and size.
 * Outputs are written in place; inputs are not modified. */
KILN_API kiln_status_t kiln_module_run(const kiln_module_t *module, const kiln_buffer_view_t *inputs,
                              size_t input_count, const kiln_buffer_view_t *outputs,
                              size_t output_count);

/* CUDA modules keep every input and output at a fixed device address (a CUdeviceptr in
 * the module's context, on device KILN_CUDA_DEVICE) for the module's lifetime. Write
 * the inputs there (cuMemcpy, or kernels of your own, finished before the call), run
 * with kiln_module_run_on_device, and read the outputs at theirs: no host copies, as
 * with TensorRT's bindings. kiln_module_run copies through the same addresses, so
 * mixing the two is allowed. KILN_STATUS_NOT_FOUND for CPU modules. */
KILN_API kiln_status_t kiln_module_device_input(const kiln_module_t *module, size_t index,
                                                uint64_t *out_address);
KILN_API kiln_status_t kiln_module_device_output(const kiln_module_t *module, size_t index,
                                                 uint64_t *out_address);
/* Runs a CUDA module on the inputs already at their device addresses; returns once the
 * outputs are at theirs (the GPU has finished). */
KILN_API kiln_status_t kiln_module_run_on_device(const kiln_module_t *module);

/* Runs the model on tensors, creating the outputs: `out_outputs` must have room for
 * kiln_module_output_count entries, each released by the caller. */
KILN_API kiln_status_t kiln_module_run_tensors(const kiln_module_t *module,
                                      kiln_tensor_t *const *inputs, size_t input_count,
                                      kiln_tensor_t **out_outputs);

#ifdef __cplusplus
}
#endif

#endif
