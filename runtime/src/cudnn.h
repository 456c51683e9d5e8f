/* The runtime's use of cuDNN for the convolutions a CUDA artifact hands to it
 * (runtime/include/kiln/cuda_library.h). libcudnn is opened with dlopen when such an
 * artifact loads, so the runtime builds and loads everything else without it; the
 * slice of its API used here is declared in cudnn.c with cudnn.h's types and values. */
#ifndef KILN_RUNTIME_CUDNN_H_
#define KILN_RUNTIME_CUDNN_H_

#include "cuda_driver.h"
#include "internal.h"

#include <stdint.h>

typedef struct kiln_cudnn_s kiln_cudnn_t;

/* Loads cuDNN (KILN_CUDNN, else libcudnn.so.9) and plans `count` convolutions from
 * their descriptors: tensor, filter, convolution and activation descriptors, and the
 * algorithm cuDNN's heuristic ranks first, plus one workspace for all. The context
 * must be current. */
kiln_status_t kiln_cudnn_create(const kiln_cuda_driver_t *driver, const int64_t *descriptors,
                                uint32_t count, kiln_cudnn_t **out);
/* Enqueues convolution `index` on `stream`: addresses are x, w, y, then the bias and z
 * where the descriptor has them. */
kiln_status_t kiln_cudnn_conv(kiln_cudnn_t *dnn, int32_t index, const uint64_t *addresses,
                              int32_t address_count, CUstream stream);
void kiln_cudnn_release(kiln_cudnn_t *dnn);

#endif
