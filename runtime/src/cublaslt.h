/* The runtime's use of cuBLASLt for the matmuls a CUDA artifact hands to it
 * (runtime/include/kiln/cuda_library.h). libcublasLt is opened with dlopen when such an
 * artifact loads, so the runtime builds and loads everything else without it; the
 * slice of its API used here is declared in cublaslt.c with cublasLt.h's types and values. */
#ifndef KILN_RUNTIME_CUBLASLT_H_
#define KILN_RUNTIME_CUBLASLT_H_

#include "cuda_driver.h"
#include "internal.h"

#include <stdint.h>

typedef struct kiln_cublaslt_s kiln_cublaslt_t;

/* Loads cuBLASLt (KILN_CUBLASLT, else libcublasLt.so.13 or .12) and plans `count`
 * matmuls from their descriptors: layouts, epilogue and the fastest algorithm cuBLASLt's
 * heuristic offers for each, plus one workspace. The context must be current. */
kiln_status_t kiln_cublaslt_create(const kiln_cuda_driver_t *driver, const int64_t *descriptors,
                                   uint32_t count, kiln_cublaslt_t **out);
/* Enqueues matmul `index` on `stream`: addresses are A, B, C, D and the bias. */
kiln_status_t kiln_cublaslt_matmul(kiln_cublaslt_t *lt, int32_t index, const uint64_t *addresses,
                                   int32_t address_count, CUstream stream);
void kiln_cublaslt_release(kiln_cublaslt_t *lt);

#endif
