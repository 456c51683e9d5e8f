/* Tensors owned by the runtime. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define TENSOR_ALIGNMENT 64
#define MAX_RANK 16

struct kiln_tensor_s {
  kiln_allocator_t allocator;
  kiln_dtype_t dtype;
  size_t rank;
  int64_t dims[MAX_RANK];
  size_t byte_size;
  void *data;
};

kiln_status_t kiln_tensor_create(const kiln_allocator_t *allocator, kiln_dtype_t dtype,
                                 size_t rank, const int64_t *dims, kiln_tensor_t **out_tensor) {
  *out_tensor = NULL;
  if (kiln_dtype_size(dtype) == 0)
    return kiln_make_status(KILN_STATUS_INVALID_ARGUMENT, "invalid dtype %d", (int)dtype);
  if (rank > MAX_RANK || (rank && !dims))
    return kiln_make_status(KILN_STATUS_INVALID_ARGUMENT, "rank %zu is not supported", rank);
  size_t elements = 1;
  for (size_t i = 0; i < rank; ++i) {
    if (dims[i] < 0 || (dims[i] && elements > ((size_t)1 << 48) / (size_t)dims[i]))
      return kiln_make_status(KILN_STATUS_INVALID_ARGUMENT, "invalid dimension %lld",
                              (long long)dims[i]);
    elements *= (size_t)dims[i];
  }
  kiln_tensor_t *t = calloc(1, sizeof(*t));
  if (!t)
    return kiln_make_status(KILN_STATUS_OUT_OF_MEMORY, "out of memory");
  t->allocator = allocator ? *allocator : kiln_allocator_system();
  t->dtype = dtype;
  t->rank = rank;
  if (rank)
    memcpy(t->dims, dims, rank * sizeof(int64_t));
  t->byte_size = elements * kiln_dtype_size(dtype);
  t->data = t->allocator.alloc(t->allocator.self, t->byte_size ? t->byte_size : 1, TENSOR_ALIGNMENT);
  if (!t->data) {
    size_t bytes = t->byte_size;
    free(t);
    return kiln_make_status(KILN_STATUS_OUT_OF_MEMORY, "cannot allocate %zu bytes", bytes);
  }
  memset(t->data, 0, t->byte_size);
  *out_tensor = t;
  return NULL;
}

void kiln_tensor_release(kiln_tensor_t *tensor) {
  if (!tensor)
    return;
  tensor->allocator.free(tensor->allocator.self, tensor->data);
  free(tensor);
}

void *kiln_tensor_data(const kiln_tensor_t *t) { return t->data; }
size_t kiln_tensor_byte_size(const kiln_tensor_t *t) { return t->byte_size; }
kiln_dtype_t kiln_tensor_dtype(const kiln_tensor_t *t) { return t->dtype; }
size_t kiln_tensor_rank(const kiln_tensor_t *t) { return t->rank; }
const int64_t *kiln_tensor_dims(const kiln_tensor_t *t) { return t->dims; }
