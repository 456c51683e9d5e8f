/* cuBLASLt matmuls for CUDA artifacts: see cublaslt.h. */
#include "cublaslt.h"

#include "kiln/cuda_library.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int cublasStatus_t;
typedef struct cublasLtContext *cublasLtHandle_t;
typedef struct cublasLtMatmulDescOpaque *cublasLtMatmulDesc_t;
typedef struct cublasLtMatrixLayoutOpaque *cublasLtMatrixLayout_t;
typedef struct cublasLtMatmulPreferenceOpaque *cublasLtMatmulPreference_t;
typedef struct { uint64_t data[8]; } cublasLtMatmulAlgo_t;
typedef struct {
  cublasLtMatmulAlgo_t algo;
  size_t workspaceSize;
  cublasStatus_t state;
  float wavesCount;
  int reserved[4];
} cublasLtMatmulHeuristicResult_t;

enum {
  CUBLAS_STATUS_SUCCESS = 0,
  CUDA_R_32F = 0,
  CUBLAS_COMPUTE_32F = 68,
  CUBLAS_OP_N = 0,
  CUBLAS_OP_T = 1,
  CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT = 5,
  CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET = 6,
  CUBLASLT_MATMUL_DESC_TRANSA = 3,
  CUBLASLT_MATMUL_DESC_TRANSB = 4,
  CUBLASLT_MATMUL_DESC_EPILOGUE = 7,
  CUBLASLT_MATMUL_DESC_BIAS_POINTER = 8,
  CUBLASLT_EPILOGUE_DEFAULT = 1,
  CUBLASLT_EPILOGUE_RELU = 2,
  CUBLASLT_EPILOGUE_BIAS = 4,
  CUBLASLT_EPILOGUE_RELU_BIAS = 6,
  CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES = 1,
  CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES = 5, /* B, C and D follow */
};

/* X(member, symbol, return type, parameters): every function used. */
#define KILN_CUBLASLT_FUNCTIONS(X)                                                            \
  X(create, "cublasLtCreate", cublasStatus_t, (cublasLtHandle_t * handle))                    \
  X(destroy, "cublasLtDestroy", cublasStatus_t, (cublasLtHandle_t handle))                    \
  X(statusName, "cublasLtGetStatusName", const char *, (cublasStatus_t status))               \
  X(descCreate, "cublasLtMatmulDescCreate", cublasStatus_t,                                   \
    (cublasLtMatmulDesc_t * desc, int compute, int scale))                                    \
  X(descDestroy, "cublasLtMatmulDescDestroy", cublasStatus_t, (cublasLtMatmulDesc_t desc))    \
  X(descSet, "cublasLtMatmulDescSetAttribute", cublasStatus_t,                                \
    (cublasLtMatmulDesc_t desc, int attribute, const void *value, size_t size))               \
  X(layoutCreate, "cublasLtMatrixLayoutCreate", cublasStatus_t,                               \
    (cublasLtMatrixLayout_t * layout, int type, uint64_t rows, uint64_t cols, int64_t ld))    \
  X(layoutDestroy, "cublasLtMatrixLayoutDestroy", cublasStatus_t, (cublasLtMatrixLayout_t l)) \
  X(layoutSet, "cublasLtMatrixLayoutSetAttribute", cublasStatus_t,                            \
    (cublasLtMatrixLayout_t layout, int attribute, const void *value, size_t size))           \
  X(preferenceCreate, "cublasLtMatmulPreferenceCreate", cublasStatus_t,                       \
    (cublasLtMatmulPreference_t * preference))                                                \
  X(preferenceDestroy, "cublasLtMatmulPreferenceDestroy", cublasStatus_t,                     \
    (cublasLtMatmulPreference_t preference))                                                  \
  X(preferenceSet, "cublasLtMatmulPreferenceSetAttribute", cublasStatus_t,                    \
    (cublasLtMatmulPreference_t preference, int attribute, const void *value, size_t size))   \
  X(heuristic, "cublasLtMatmulAlgoGetHeuristic", cublasStatus_t,                              \
    (cublasLtHandle_t handle, cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t a,            \
     cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d,            \
     cublasLtMatmulPreference_t preference, int requested,                                    \
     cublasLtMatmulHeuristicResult_t *results, int *returned))                                \
  X(matmul, "cublasLtMatmul", cublasStatus_t,                                                 \
    (cublasLtHandle_t handle, cublasLtMatmulDesc_t desc, const void *alpha, const void *a,    \
     cublasLtMatrixLayout_t a_layout, const void *b, cublasLtMatrixLayout_t b_layout,         \
     const void *beta, const void *c, cublasLtMatrixLayout_t c_layout, void *d,               \
     cublasLtMatrixLayout_t d_layout, const cublasLtMatmulAlgo_t *algo, void *workspace,      \
     size_t workspace_bytes, CUstream stream))

/* One planned matmul. */
typedef struct {
  cublasLtMatmulDesc_t desc;
  cublasLtMatrixLayout_t layouts[4]; /* A, B, C, D */
  cublasLtMatmulAlgo_t algo;
  float beta;
  int has_bias;
  const int64_t *fields;
} plan_t;

struct kiln_cublaslt_s {
  void *library;
#define KILN_CUBLASLT_MEMBER(member, symbol, result, params) result(*member) params;
  KILN_CUBLASLT_FUNCTIONS(KILN_CUBLASLT_MEMBER)
#undef KILN_CUBLASLT_MEMBER
  const kiln_cuda_driver_t *driver;
  cublasLtHandle_t handle;
  plan_t *plans;
  uint32_t count;
  CUdeviceptr workspace;
  size_t workspace_bytes;
};

/* Room for the fastest Hopper kernels, as cuBLAS itself reserves. */
#define WORKSPACE_BYTES ((size_t)32 << 20)

static kiln_status_t lt_error(const kiln_cublaslt_t *lt, cublasStatus_t status, const char *call,
                              int32_t index) {
  const char *name = lt->statusName ? lt->statusName(status) : NULL;
  char subject[160] = "";
  if (index >= 0 && (uint32_t)index < lt->count) {
    const int64_t *f = lt->plans[index].fields;
    snprintf(subject, sizeof(subject), " (matmul %d: m=%lld n=%lld k=%lld batch=%lld)", index,
             (long long)f[KILN_CUDA_MATMUL_ROWS], (long long)f[KILN_CUDA_MATMUL_COLS],
             (long long)f[KILN_CUDA_MATMUL_DEPTH], (long long)f[KILN_CUDA_MATMUL_BATCH]);
  }
  return kiln_make_status(KILN_STATUS_DEVICE_ERROR, "cuBLASLt error %s in %s%s",
                          name ? name : "(unknown status)", call, subject);
}

#define LT_CHECK(call, name, index)                                                           \
  do {                                                                                        \
    cublasStatus_t status_ = (call);                                                          \
    if (status_ != CUBLAS_STATUS_SUCCESS)                                                     \
      return lt_error(lt, status_, name, index);                                              \
  } while (0)

static kiln_status_t load(kiln_cublaslt_t *lt, uint32_t count) {
  static const char *const candidates[] = {"libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so"};
  const char *path = NULL;
  lt->library = kiln_dlopen_first(getenv("KILN_CUBLASLT"), candidates, 3, &path);
  if (!lt->library)
    return kiln_make_status(KILN_STATUS_UNAVAILABLE,
                            "this artifact runs %u matmuls through cuBLASLt, which cannot be "
                            "loaded (%s; set KILN_CUBLASLT to its path, or compile with "
                            "--cuda-gemm=kernels)", count, dlerror());
#define KILN_CUBLASLT_LOAD(member, symbol, result, params)                                    \
  *(void **)&lt->member = dlsym(lt->library, symbol);                                         \
  if (!lt->member)                                                                            \
    return kiln_make_status(KILN_STATUS_UNAVAILABLE, "cuBLASLt (%s) lacks %s", path, symbol);
  KILN_CUBLASLT_FUNCTIONS(KILN_CUBLASLT_LOAD)
#undef KILN_CUBLASLT_LOAD
  return NULL;
}

static kiln_status_t set_batch(kiln_cublaslt_t *lt, cublasLtMatrixLayout_t layout, int32_t batch,
                               int64_t stride, int32_t index) {
  if (batch == 1)
    return NULL;
  LT_CHECK(lt->layoutSet(layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch, sizeof(batch)),
           "cublasLtMatrixLayoutSetAttribute", index);
  LT_CHECK(lt->layoutSet(layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof(stride)),
           "cublasLtMatrixLayoutSetAttribute", index);
  return NULL;
}

/* Descriptor, layouts and algorithm for matmul `index`. */
static kiln_status_t plan(kiln_cublaslt_t *lt, int32_t index) {
  plan_t *p = &lt->plans[index];
  const int64_t *f = p->fields;
  int64_t rows = f[KILN_CUDA_MATMUL_ROWS], cols = f[KILN_CUDA_MATMUL_COLS],
          depth = f[KILN_CUDA_MATMUL_DEPTH];
  int32_t trans_a = f[KILN_CUDA_MATMUL_TRANS_A] ? CUBLAS_OP_T : CUBLAS_OP_N,
          trans_b = f[KILN_CUDA_MATMUL_TRANS_B] ? CUBLAS_OP_T : CUBLAS_OP_N;
  static const uint32_t epilogues[] = {CUBLASLT_EPILOGUE_DEFAULT, CUBLASLT_EPILOGUE_RELU,
                                       CUBLASLT_EPILOGUE_BIAS, CUBLASLT_EPILOGUE_RELU_BIAS};
  int64_t epilogue = f[KILN_CUDA_MATMUL_EPILOGUE];
  if (epilogue < 0 || epilogue > KILN_CUDA_EPILOGUE_RELU_BIAS)
    return kiln_make_status(KILN_STATUS_INCOMPATIBLE, "matmul %d has an unknown epilogue %lld",
                            index, (long long)epilogue);
  p->has_bias = epilogue == KILN_CUDA_EPILOGUE_BIAS || epilogue == KILN_CUDA_EPILOGUE_RELU_BIAS;
  p->beta = (float)f[KILN_CUDA_MATMUL_BETA];
  /* f32 in and out, f32 accumulation: the CPU's and PyTorch's default precision. */
  LT_CHECK(lt->descCreate(&p->desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), "cublasLtMatmulDescCreate", index);
  LT_CHECK(lt->descSet(p->desc, CUBLASLT_MATMUL_DESC_TRANSA, &trans_a, sizeof(trans_a)),
           "cublasLtMatmulDescSetAttribute", index);
  LT_CHECK(lt->descSet(p->desc, CUBLASLT_MATMUL_DESC_TRANSB, &trans_b, sizeof(trans_b)),
           "cublasLtMatmulDescSetAttribute", index);
  LT_CHECK(lt->descSet(p->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogues[epilogue], sizeof(uint32_t)),
           "cublasLtMatmulDescSetAttribute", index);
  /* Stored shapes: op(A) is rows x depth, op(B) depth x cols. */
  uint64_t stored[4][2] = {{trans_a ? depth : rows, trans_a ? rows : depth},
                           {trans_b ? cols : depth, trans_b ? depth : cols},
                           {rows, cols},
                           {rows, cols}};
  int64_t lds[4] = {f[KILN_CUDA_MATMUL_LDA], f[KILN_CUDA_MATMUL_LDB], f[KILN_CUDA_MATMUL_LDC],
                    f[KILN_CUDA_MATMUL_LDD]};
  int64_t strides[4] = {f[KILN_CUDA_MATMUL_STRIDE_A], f[KILN_CUDA_MATMUL_STRIDE_B],
                        f[KILN_CUDA_MATMUL_STRIDE_C], f[KILN_CUDA_MATMUL_STRIDE_D]};
  for (int i = 0; i < 4; ++i) {
    LT_CHECK(lt->layoutCreate(&p->layouts[i], CUDA_R_32F, stored[i][0], stored[i][1], lds[i]),
             "cublasLtMatrixLayoutCreate", index);
    kiln_status_t status = set_batch(lt, p->layouts[i], (int32_t)f[KILN_CUDA_MATMUL_BATCH], strides[i], index);
    if (status)
      return status;
  }
  cublasLtMatmulPreference_t preference = NULL;
  LT_CHECK(lt->preferenceCreate(&preference), "cublasLtMatmulPreferenceCreate", index);
  uint64_t workspace = lt->workspace_bytes;
  cublasStatus_t set = lt->preferenceSet(preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                         &workspace, sizeof(workspace));
  for (int i = 0; set == CUBLAS_STATUS_SUCCESS && i < 4; ++i) {
    uint32_t alignment = (uint32_t)f[KILN_CUDA_MATMUL_ALIGN_A + i];
    set = lt->preferenceSet(preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES + i, &alignment,
                            sizeof(alignment));
  }
  cublasLtMatmulHeuristicResult_t result;
  int returned = 0;
  if (set == CUBLAS_STATUS_SUCCESS)
    set = lt->heuristic(lt->handle, p->desc, p->layouts[0], p->layouts[1], p->layouts[2],
                        p->layouts[3], preference, 1, &result, &returned);
  lt->preferenceDestroy(preference);
  LT_CHECK(set, "cublasLtMatmulAlgoGetHeuristic", index);
  if (returned < 1)
    return kiln_make_status(KILN_STATUS_DEVICE_ERROR, "cuBLASLt has no algorithm for matmul %d "
                            "(%lld x %lld x %lld); compile with --cuda-gemm=kernels", index,
                            (long long)rows, (long long)cols, (long long)depth);
  p->algo = result.algo;
  return NULL;
}

kiln_status_t kiln_cublaslt_create(const kiln_cuda_driver_t *driver, const int64_t *descriptors,
                                   uint32_t count, kiln_cublaslt_t **out) {
  *out = NULL;
  kiln_cublaslt_t *lt = calloc(1, sizeof(*lt));
  if (!lt)
    return kiln_make_status(KILN_STATUS_OUT_OF_MEMORY, "out of memory");
  lt->driver = driver;
  lt->plans = calloc(count ? count : 1, sizeof(plan_t));
  lt->count = count;
  kiln_status_t status = lt->plans ? load(lt, count)
                                   : kiln_make_status(KILN_STATUS_OUT_OF_MEMORY, "out of memory");
  cublasStatus_t created = status ? CUBLAS_STATUS_SUCCESS : lt->create(&lt->handle);
  if (created != CUBLAS_STATUS_SUCCESS)
    status = lt_error(lt, created, "cublasLtCreate", -1);
  if (!status) {
    lt->workspace_bytes = WORKSPACE_BYTES;
    CUresult result = driver->memAlloc(&lt->workspace, lt->workspace_bytes);
    if (result != CUDA_SUCCESS)
      status = kiln_make_status(KILN_STATUS_DEVICE_ERROR,
                                "cannot allocate cuBLASLt's %zu MiB workspace (CUDA error %d)",
                                lt->workspace_bytes >> 20, result);
  }
  for (uint32_t i = 0; !status && i < count; ++i) {
    lt->plans[i].fields = descriptors + (size_t)i * KILN_CUDA_MATMUL_FIELDS;
    status = plan(lt, (int32_t)i);
  }
  if (status) {
    kiln_cublaslt_release(lt);
    return status;
  }
  *out = lt;
  return NULL;
}

kiln_status_t kiln_cublaslt_matmul(kiln_cublaslt_t *lt, int32_t index, const uint64_t *addresses,
                                   int32_t address_count, CUstream stream) {
  if (index < 0 || (uint32_t)index >= lt->count || address_count < 4)
    return kiln_make_status(KILN_STATUS_INCOMPATIBLE, "the artifact calls matmul %d of %u", index,
                            lt->count);
  plan_t *p = &lt->plans[index];
  if (p->has_bias) {
    if (address_count < 5)
      return kiln_make_status(KILN_STATUS_INCOMPATIBLE, "matmul %d is missing its bias", index);
    void *bias = (void *)(uintptr_t)addresses[4];
    LT_CHECK(lt->descSet(p->desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias)),
             "cublasLtMatmulDescSetAttribute", index);
  }
  const float one = 1.0f;
  /* In place (C is D), cuBLASLt wants the one layout for both. */
  cublasLtMatrixLayout_t c_layout = addresses[2] == addresses[3] ? p->layouts[3] : p->layouts[2];
  LT_CHECK(lt->matmul(lt->handle, p->desc, &one, (const void *)(uintptr_t)addresses[0], p->layouts[0],
                      (const void *)(uintptr_t)addresses[1], p->layouts[1], &p->beta,
                      (const void *)(uintptr_t)addresses[2], c_layout,
                      (void *)(uintptr_t)addresses[3], p->layouts[3], &p->algo,
                      (void *)(uintptr_t)lt->workspace, lt->workspace_bytes, stream),
           "cublasLtMatmul", index);
  return NULL;
}

void kiln_cublaslt_release(kiln_cublaslt_t *lt) {
  if (!lt)
    return;
  for (uint32_t i = 0; lt->plans && i < lt->count; ++i) {
    plan_t *p = &lt->plans[i];
    for (int j = 0; j < 4; ++j)
      if (p->layouts[j])
        lt->layoutDestroy(p->layouts[j]);
    if (p->desc)
      lt->descDestroy(p->desc);
  }
  if (lt->workspace)
    lt->driver->memFree(lt->workspace);
  if (lt->handle)
    lt->destroy(lt->handle);
  if (lt->library)
    dlclose(lt->library);
  free(lt->plans);
  free(lt);
}
