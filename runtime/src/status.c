/* Status objects, dtypes and the system allocator. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kiln_status_s {
  kiln_status_code_t code;
  char message[];
};

/* Returned when even a status cannot be allocated; never freed. */
static struct {
  kiln_status_code_t code;
  char message[32];
} out_of_memory = {KILN_STATUS_OUT_OF_MEMORY, "out of memory"};

kiln_status_t kiln_make_status(kiln_status_code_t code, const char *format, ...) {
  va_list args;
  va_start(args, format);
  int length = vsnprintf(NULL, 0, format, args);
  va_end(args);
  struct kiln_status_s *status = malloc(sizeof(*status) + (length > 0 ? length : 0) + 1);
  if (!status)
    return (kiln_status_t)&out_of_memory;
  status->code = code;
  va_start(args, format);
  vsnprintf(status->message, length + 1, format, args);
  va_end(args);
  return status;
}

kiln_status_code_t kiln_status_code(kiln_status_t status) {
  return status ? status->code : KILN_STATUS_OK;
}

const char *kiln_status_message(kiln_status_t status) {
  return status ? status->message : "OK";
}

void kiln_status_free(kiln_status_t status) {
  if (status && status != (kiln_status_t)&out_of_memory)
    free(status);
}

static const struct {
  const char *name;
  size_t size;
} dtypes[] = {
    [KILN_DTYPE_F32] = {"f32", 4}, [KILN_DTYPE_F64] = {"f64", 8}, [KILN_DTYPE_F16] = {"f16", 2},
    [KILN_DTYPE_BF16] = {"bf16", 2}, [KILN_DTYPE_I8] = {"i8", 1}, [KILN_DTYPE_I16] = {"i16", 2},
    [KILN_DTYPE_I32] = {"i32", 4}, [KILN_DTYPE_I64] = {"i64", 8}, [KILN_DTYPE_BOOL] = {"bool", 1},
    [KILN_DTYPE_U8] = {"u8", 1}, [KILN_DTYPE_U16] = {"u16", 2}, [KILN_DTYPE_U32] = {"u32", 4},
    [KILN_DTYPE_U64] = {"u64", 8},
};
enum { kLastDtype = KILN_DTYPE_U64 };

size_t kiln_dtype_size(kiln_dtype_t dtype) {
  return (unsigned)dtype <= kLastDtype ? dtypes[dtype].size : 0;
}

const char *kiln_dtype_name(kiln_dtype_t dtype) {
  return (unsigned)dtype <= kLastDtype ? dtypes[dtype].name : "invalid";
}

int kiln_dtype_parse(const char *name, kiln_dtype_t *out_dtype) {
  for (int i = 0; i <= kLastDtype; ++i)
    if (strcmp(name, dtypes[i].name) == 0) {
      *out_dtype = (kiln_dtype_t)i;
      return 0;
    }
  return -1;
}

static void *system_alloc(void *self, size_t size, size_t alignment) {
  (void)self;
  size_t rounded = (size + alignment - 1) / alignment * alignment;
  return aligned_alloc(alignment, rounded ? rounded : alignment);
}

static void system_free(void *self, void *ptr) {
  (void)self;
  free(ptr);
}

kiln_allocator_t kiln_allocator_system(void) {
  kiln_allocator_t allocator = {NULL, system_alloc, system_free};
  return allocator;
}
