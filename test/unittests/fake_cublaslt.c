/* The stand-in for libcublasLt in libkiln_fake_cuda.so (see fake_cuda_driver.c): the
 * slice of cuBLASLt the runtime uses, computing in host memory what cuBLASLt documents
 * for it, so lit can check the compiler's mapping of kiln matmuls onto cuBLASLt's
 * column-major problem end to end:
 *
 *   D[i + j*ldd] = epilogue(sum_k op(A)(i, k) op(B)(k, j) + beta C[i + j*ldc] + bias[i])
 *   op(A)(i, k) = transa ? A[k + i*lda] : A[i + k*lda], likewise for B; each batch
 *   STRIDED_BATCH_OFFSET elements further on.
 *
 * Shapes are checked when the algorithm is asked for, and operands against device
 * memory when a matmul is enqueued; FAKE_CUBLASLT_NO_ALGO=1 makes the heuristic find
 * nothing. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))
#define MAX_MATMULS 4096

int fake_cuda_is_device_memory(uint64_t pointer, size_t bytes);
void fake_cuda_enqueue(void (*work)(const void *), const void *argument);

enum { OK = 0, NOT_INITIALIZED = 1, INVALID_VALUE = 7, NOT_SUPPORTED = 15 };

typedef struct {
  uint64_t rows, cols;
  int64_t ld, stride;
  int32_t batch;
} layout_t;

typedef struct {
  int32_t trans_a, trans_b;
  uint32_t epilogue;
  const float *bias;
} desc_t;

/* One enqueued matmul, everything copied: graphs replay it later. */
typedef struct {
  desc_t desc;
  layout_t a, b, c, d;
  float alpha, beta;
  const float *pa, *pb, *pc;
  float *pd;
} matmul_t;

static matmul_t matmuls[MAX_MATMULS];
static int matmul_count;
static int handle_token;

EXPORT int cublasLtCreate(void **handle) { *handle = &handle_token; return OK; }
EXPORT int cublasLtDestroy(void *handle) { return handle == &handle_token ? OK : NOT_INITIALIZED; }
EXPORT const char *cublasLtGetStatusName(int status) {
  return status == OK ? "CUBLAS_STATUS_SUCCESS"
         : status == INVALID_VALUE ? "CUBLAS_STATUS_INVALID_VALUE"
         : status == NOT_SUPPORTED ? "CUBLAS_STATUS_NOT_SUPPORTED"
                                   : "CUBLAS_STATUS_NOT_INITIALIZED";
}

EXPORT int cublasLtMatmulDescCreate(desc_t **desc, int compute, int scale) {
  if (compute != 68 /* CUBLAS_COMPUTE_32F */ || scale != 0 /* CUDA_R_32F */)
    return NOT_SUPPORTED;
  *desc = calloc(1, sizeof(desc_t));
  (*desc)->epilogue = 1;
  return OK;
}
EXPORT int cublasLtMatmulDescDestroy(desc_t *desc) { free(desc); return OK; }
EXPORT int cublasLtMatmulDescSetAttribute(desc_t *desc, int attribute, const void *value, size_t size) {
  switch (attribute) {
  case 3: if (size != 4) return INVALID_VALUE; memcpy(&desc->trans_a, value, 4); return OK;
  case 4: if (size != 4) return INVALID_VALUE; memcpy(&desc->trans_b, value, 4); return OK;
  case 7: if (size != 4) return INVALID_VALUE; memcpy(&desc->epilogue, value, 4); return OK;
  case 8: if (size != sizeof(void *)) return INVALID_VALUE; memcpy(&desc->bias, value, size); return OK;
  default: return INVALID_VALUE;
  }
}

EXPORT int cublasLtMatrixLayoutCreate(layout_t **layout, int type, uint64_t rows, uint64_t cols, int64_t ld) {
  if (type != 0 || ld < (int64_t)rows || ld < 1)
    return INVALID_VALUE;
  *layout = calloc(1, sizeof(layout_t));
  **layout = (layout_t){rows, cols, ld, 0, 1};
  return OK;
}
EXPORT int cublasLtMatrixLayoutDestroy(layout_t *layout) { free(layout); return OK; }
EXPORT int cublasLtMatrixLayoutSetAttribute(layout_t *layout, int attribute, const void *value, size_t size) {
  if (attribute == 5 && size == 4)
    memcpy(&layout->batch, value, 4);
  else if (attribute == 6 && size == 8)
    memcpy(&layout->stride, value, 8);
  else
    return INVALID_VALUE;
  return OK;
}

EXPORT int cublasLtMatmulPreferenceCreate(void **preference) { *preference = calloc(1, 1); return OK; }
EXPORT int cublasLtMatmulPreferenceDestroy(void *preference) { free(preference); return OK; }
EXPORT int cublasLtMatmulPreferenceSetAttribute(void *preference, int attribute, const void *value, size_t size) {
  (void)preference, (void)value;
  return (attribute == 1 && size == 8) || (attribute >= 5 && attribute <= 8 && size == 4) ? OK : INVALID_VALUE;
}

static uint64_t op_rows(const layout_t *l, int trans) { return trans ? l->cols : l->rows; }
static uint64_t op_cols(const layout_t *l, int trans) { return trans ? l->rows : l->cols; }

static int shapes_agree(const desc_t *desc, const layout_t *a, const layout_t *b, const layout_t *c,
                        const layout_t *d) {
  return op_cols(a, desc->trans_a) == op_rows(b, desc->trans_b) &&
         op_rows(a, desc->trans_a) == d->rows && op_cols(b, desc->trans_b) == d->cols &&
         c->rows == d->rows && c->cols == d->cols && a->batch == d->batch &&
         b->batch == d->batch && c->batch == d->batch;
}

typedef struct { uint64_t data[8]; size_t workspace; int state; float waves; int reserved[4]; } result_t;

EXPORT int cublasLtMatmulAlgoGetHeuristic(void *handle, desc_t *desc, layout_t *a, layout_t *b,
                                          layout_t *c, layout_t *d, void *preference, int requested,
                                          result_t *results, int *returned) {
  (void)handle, (void)preference;
  *returned = 0;
  if (requested < 1 || !shapes_agree(desc, a, b, c, d))
    return INVALID_VALUE;
  const char *none = getenv("FAKE_CUBLASLT_NO_ALGO");
  if (none && *none == '1')
    return NOT_SUPPORTED;
  memset(results, 0, sizeof(*results));
  *returned = 1;
  return OK;
}

/* Elements a layout spans, for the device-memory check. */
static size_t span(const layout_t *l) {
  return (size_t)(l->batch - 1) * (size_t)l->stride + (size_t)(l->cols - 1) * l->ld + l->rows;
}

static void compute(const void *argument) {
  const matmul_t *m = argument;
  const desc_t *s = &m->desc;
  uint64_t depth = op_cols(&m->a, s->trans_a);
  for (int32_t n = 0; n < m->d.batch; ++n) {
    const float *a = m->pa + n * m->a.stride, *b = m->pb + n * m->b.stride, *c = m->pc + n * m->c.stride;
    float *d = m->pd + n * m->d.stride;
    for (uint64_t j = 0; j < m->d.cols; ++j)
      for (uint64_t i = 0; i < m->d.rows; ++i) {
        double sum = 0;
        for (uint64_t k = 0; k < depth; ++k) {
          float x = s->trans_a ? a[k + i * m->a.ld] : a[i + k * m->a.ld];
          float y = s->trans_b ? b[j + k * m->b.ld] : b[k + j * m->b.ld];
          sum += (double)x * y;
        }
        float value = m->alpha * (float)sum;
        if (m->beta != 0)
          value += m->beta * c[i + j * m->c.ld];
        if (s->epilogue & 4)
          value += s->bias[i];
        if ((s->epilogue & 2) && value < 0)
          value = 0;
        d[i + j * m->d.ld] = value;
      }
  }
}

EXPORT int cublasLtMatmul(void *handle, desc_t *desc, const float *alpha, const float *a, layout_t *la,
                          const float *b, layout_t *lb, const float *beta, const float *c, layout_t *lc,
                          float *d, layout_t *ld, const void *algo, void *workspace, size_t workspace_bytes,
                          void *stream) {
  (void)algo, (void)stream;
  if (handle != &handle_token || !shapes_agree(desc, la, lb, lc, ld) || matmul_count == MAX_MATMULS)
    return INVALID_VALUE;
  if (!fake_cuda_is_device_memory((uintptr_t)a, span(la) * 4) ||
      !fake_cuda_is_device_memory((uintptr_t)b, span(lb) * 4) ||
      !fake_cuda_is_device_memory((uintptr_t)c, span(lc) * 4) ||
      !fake_cuda_is_device_memory((uintptr_t)d, span(ld) * 4) ||
      (workspace_bytes && !fake_cuda_is_device_memory((uintptr_t)workspace, workspace_bytes)) ||
      ((desc->epilogue & 4) && !fake_cuda_is_device_memory((uintptr_t)desc->bias, ld->rows * 4)))
    return INVALID_VALUE;
  matmul_t *m = &matmuls[matmul_count++];
  *m = (matmul_t){*desc, *la, *lb, *lc, *ld, *alpha, *beta, a, b, c, d};
  fake_cuda_enqueue(compute, m);
  return OK;
}
