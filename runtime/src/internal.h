/* Internal declarations shared by the runtime's source files. */
#ifndef KILN_RUNTIME_INTERNAL_H_
#define KILN_RUNTIME_INTERNAL_H_

#include "kiln/runtime.h"

/* Creates a status with a printf-style message; returns NULL only when out of memory
 * would prevent reporting, in which case a static out-of-memory status is returned. */
kiln_status_t kiln_make_status(kiln_status_code_t code, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

typedef struct kiln_signature_entry_t {
  char *name;
  kiln_dtype_t dtype;
  size_t rank;
  int64_t *dims;
  size_t byte_size;
} kiln_signature_entry_t;

typedef struct kiln_signature_t {
  kiln_signature_entry_t *inputs, *outputs;
  size_t input_count, output_count;
} kiln_signature_t;

/* Parses the text signature an artifact exports. */
kiln_status_t kiln_signature_parse(const char *text, kiln_signature_t *out_signature);
void kiln_signature_free(kiln_signature_t *signature);

/* Parses a dtype name ("f32"...); returns 0 on success. */
int kiln_dtype_parse(const char *name, kiln_dtype_t *out_dtype);

/* dlopens `forced` when it is set and not empty, else the first of `candidates` that
 * loads; NULL when none does (dlerror() says why). `*opened` is the last name tried. */
void *kiln_dlopen_first(const char *forced, const char *const *candidates, size_t count,
                        const char **opened);

/* The CUDA executor behind modules compiled with --target=cuda (cuda.c). */
typedef struct kiln_cuda_executor_s kiln_cuda_executor_t;

/* NULL when the CUDA driver loads and reports a device. */
kiln_status_t kiln_cuda_probe(void);
/* Loads the CUDA driver and sets up the artifact opened as `handle` (from `path`, whose
 * folder holds its weights file if it has one) on the device. */
kiln_status_t kiln_cuda_executor_create(void *handle, const char *path,
                                        kiln_cuda_executor_t **out_executor);
void kiln_cuda_executor_release(kiln_cuda_executor_t *executor);
/* Runs on buffers already checked against the signature. */
kiln_status_t kiln_cuda_executor_run(kiln_cuda_executor_t *executor,
                                     const kiln_buffer_view_t *inputs, size_t input_count,
                                     const kiln_buffer_view_t *outputs, size_t output_count);
/* Device address of I/O slot `slot`: inputs first, then outputs. Runs with no buffers
 * (NULL, 0, NULL, 0) use what is already there and copy nothing. */
uint64_t kiln_cuda_executor_io_address(const kiln_cuda_executor_t *executor, size_t slot);
kiln_status_t kiln_cuda_executor_device_time(kiln_cuda_executor_t *executor, double *out_ms);

#endif
