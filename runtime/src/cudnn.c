/* cuDNN convolutions for CUDA artifacts: see cudnn.h. Each is cuDNN's fused
 * cudnnConvolutionBiasActivationForward, y = act(conv(x, w) + alpha2 z + bias): without
 * a residual z is y with alpha2 = 0, and without a bias a vector of zeros stands in. */
#include "cudnn.h"

#include "kiln/cuda_library.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int cudnnStatus_t;
typedef struct cudnnContext *cudnnHandle_t;
typedef struct cudnnTensorStruct *cudnnTensorDescriptor_t;
typedef struct cudnnFilterStruct *cudnnFilterDescriptor_t;
typedef struct cudnnConvolutionStruct *cudnnConvolutionDescriptor_t;
typedef struct cudnnActivationStruct *cudnnActivationDescriptor_t;
typedef struct {
  int algo;
  cudnnStatus_t status;
  float time;
  size_t memory;
  int determinism;
  int mathType;
  int reserved[3];
} cudnnConvolutionFwdAlgoPerf_t;

enum {
  CUDNN_STATUS_SUCCESS = 0,
  CUDNN_DATA_FLOAT = 0,
  CUDNN_TENSOR_NCHW = 0,
  CUDNN_CROSS_CORRELATION = 1,
  CUDNN_FMA_MATH = 3, /* f32 FMAs only: no TF32 tensor cores, as on the CPU */
  CUDNN_ACTIVATION_RELU = 1,
  CUDNN_ACTIVATION_IDENTITY = 5,
  CUDNN_PROPAGATE_NAN = 1, /* ReLU(NaN) is NaN, as ONNX has it */
  CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM = 1,
  CUDNN_CONVOLUTION_FWD_ALGO_COUNT = 8,
};

/* X(member, symbol, return type, parameters): every function used. */
#define KILN_CUDNN_FUNCTIONS(X)                                                               \
  X(create, "cudnnCreate", cudnnStatus_t, (cudnnHandle_t * handle))                           \
  X(destroy, "cudnnDestroy", cudnnStatus_t, (cudnnHandle_t handle))                           \
  X(setStream, "cudnnSetStream", cudnnStatus_t, (cudnnHandle_t handle, CUstream stream))      \
  X(errorString, "cudnnGetErrorString", const char *, (cudnnStatus_t status))                 \
  X(createTensor, "cudnnCreateTensorDescriptor", cudnnStatus_t, (cudnnTensorDescriptor_t * d)) \
  X(setTensor, "cudnnSetTensor4dDescriptorEx", cudnnStatus_t,                                 \
    (cudnnTensorDescriptor_t d, int type, int n, int c, int h, int w, int ns, int cs, int hs,  \
     int ws))                                                                                  \
  X(destroyTensor, "cudnnDestroyTensorDescriptor", cudnnStatus_t, (cudnnTensorDescriptor_t d)) \
  X(createFilter, "cudnnCreateFilterDescriptor", cudnnStatus_t, (cudnnFilterDescriptor_t * d)) \
  X(setFilter, "cudnnSetFilter4dDescriptor", cudnnStatus_t,                                   \
    (cudnnFilterDescriptor_t d, int type, int format, int k, int c, int h, int w))            \
  X(destroyFilter, "cudnnDestroyFilterDescriptor", cudnnStatus_t, (cudnnFilterDescriptor_t d)) \
  X(createConv, "cudnnCreateConvolutionDescriptor", cudnnStatus_t,                            \
    (cudnnConvolutionDescriptor_t * d))                                                       \
  X(setConv, "cudnnSetConvolution2dDescriptor", cudnnStatus_t,                                \
    (cudnnConvolutionDescriptor_t d, int pad_h, int pad_w, int u, int v, int dilation_h,      \
     int dilation_w, int mode, int type))                                                     \
  X(setGroups, "cudnnSetConvolutionGroupCount", cudnnStatus_t,                                \
    (cudnnConvolutionDescriptor_t d, int groups))                                             \
  X(setMath, "cudnnSetConvolutionMathType", cudnnStatus_t,                                    \
    (cudnnConvolutionDescriptor_t d, int math))                                               \
  X(destroyConv, "cudnnDestroyConvolutionDescriptor", cudnnStatus_t,                          \
    (cudnnConvolutionDescriptor_t d))                                                         \
  X(outputDim, "cudnnGetConvolution2dForwardOutputDim", cudnnStatus_t,                        \
    (cudnnConvolutionDescriptor_t conv, cudnnTensorDescriptor_t x, cudnnFilterDescriptor_t w, \
     int *n, int *c, int *h, int *w_))                                                        \
  X(createActivation, "cudnnCreateActivationDescriptor", cudnnStatus_t,                       \
    (cudnnActivationDescriptor_t * d))                                                        \
  X(setActivation, "cudnnSetActivationDescriptor", cudnnStatus_t,                             \
    (cudnnActivationDescriptor_t d, int mode, int nan, double coef))                          \
  X(destroyActivation, "cudnnDestroyActivationDescriptor", cudnnStatus_t,                     \
    (cudnnActivationDescriptor_t d))                                                          \
  X(heuristic, "cudnnGetConvolutionForwardAlgorithm_v7", cudnnStatus_t,                       \
    (cudnnHandle_t handle, cudnnTensorDescriptor_t x, cudnnFilterDescriptor_t w,              \
     cudnnConvolutionDescriptor_t conv, cudnnTensorDescriptor_t y, int requested,             \
     int *returned, cudnnConvolutionFwdAlgoPerf_t *results))                                  \
  X(workspaceSize, "cudnnGetConvolutionForwardWorkspaceSize", cudnnStatus_t,                  \
    (cudnnHandle_t handle, cudnnTensorDescriptor_t x, cudnnFilterDescriptor_t w,              \
     cudnnConvolutionDescriptor_t conv, cudnnTensorDescriptor_t y, int algo, size_t *bytes))  \
  X(forward, "cudnnConvolutionBiasActivationForward", cudnnStatus_t,                          \
    (cudnnHandle_t handle, const void *alpha1, cudnnTensorDescriptor_t x_desc, const void *x,  \
     cudnnFilterDescriptor_t w_desc, const void *w, cudnnConvolutionDescriptor_t conv,        \
     int algo, void *workspace, size_t workspace_bytes, const void *alpha2,                   \
     cudnnTensorDescriptor_t z_desc, const void *z, cudnnTensorDescriptor_t bias_desc,        \
     const void *bias, cudnnActivationDescriptor_t activation, cudnnTensorDescriptor_t y_desc, \
     void *y))

/* One planned convolution. */
typedef struct {
  cudnnTensorDescriptor_t x, y, z, bias;
  cudnnFilterDescriptor_t w;
  cudnnConvolutionDescriptor_t conv;
  cudnnActivationDescriptor_t activation;
  int algo;
  const int64_t *fields;
} plan_t;

struct kiln_cudnn_s {
  void *library;
#define KILN_CUDNN_MEMBER(member, symbol, result, params) result(*member) params;
  KILN_CUDNN_FUNCTIONS(KILN_CUDNN_MEMBER)
#undef KILN_CUDNN_MEMBER
  const kiln_cuda_driver_t *driver;
  cudnnHandle_t handle;
  CUstream stream; /* the one set on the handle */
  plan_t *plans;
  uint32_t count;
  CUdeviceptr workspace, zeros; /* zeros: the bias of convolutions without one */
  size_t workspace_bytes;
};

/* The most workspace one convolution's algorithm may ask for. */
#define WORKSPACE_LIMIT ((size_t)256 << 20)

static kiln_status_t dnn_error(const kiln_cudnn_t *dnn, cudnnStatus_t status, const char *call,
                               int32_t index) {
  const char *name = dnn->errorString ? dnn->errorString(status) : NULL;
  char subject[200] = "";
  if (index >= 0 && (uint32_t)index < dnn->count) {
    const int64_t *f = dnn->plans[index].fields;
    snprintf(subject, sizeof(subject),
             " (convolution %d: x %lldx%lldx%lldx%lld, w %lldx%lldx%lldx%lld, stride %lldx%lld, pad %lldx%lld)",
             index, (long long)f[KILN_CUDA_CONV_N], (long long)f[KILN_CUDA_CONV_C],
             (long long)f[KILN_CUDA_CONV_H], (long long)f[KILN_CUDA_CONV_W],
             (long long)f[KILN_CUDA_CONV_K], (long long)(f[KILN_CUDA_CONV_C] / f[KILN_CUDA_CONV_GROUPS]),
             (long long)f[KILN_CUDA_CONV_R], (long long)f[KILN_CUDA_CONV_S],
             (long long)f[KILN_CUDA_CONV_STRIDE_H], (long long)f[KILN_CUDA_CONV_STRIDE_W],
             (long long)f[KILN_CUDA_CONV_PAD_H], (long long)f[KILN_CUDA_CONV_PAD_W]);
  }
  return kiln_make_status(KILN_STATUS_DEVICE_ERROR, "cuDNN error %s in %s%s",
                          name ? name : "(unknown status)", call, subject);
}

#define DNN_CHECK(call, name, index)                                                          \
  do {                                                                                        \
    cudnnStatus_t status_ = (call);                                                           \
    if (status_ != CUDNN_STATUS_SUCCESS)                                                      \
      return dnn_error(dnn, status_, name, index);                                            \
  } while (0)

static kiln_status_t load(kiln_cudnn_t *dnn, uint32_t count) {
  static const char *const candidates[] = {"libcudnn.so.9", "libcudnn.so"};
  const char *path = NULL;
  dnn->library = kiln_dlopen_first(getenv("KILN_CUDNN"), candidates, 2, &path);
  if (!dnn->library)
    return kiln_make_status(KILN_STATUS_UNAVAILABLE,
                            "this artifact runs %u convolutions through cuDNN, which cannot be "
                            "loaded (%s; set KILN_CUDNN to its path, or compile with "
                            "--cuda-conv=kernels)", count, dlerror());
#define KILN_CUDNN_LOAD(member, symbol, result, params)                                       \
  *(void **)&dnn->member = dlsym(dnn->library, symbol);                                       \
  if (!dnn->member)                                                                           \
    return kiln_make_status(KILN_STATUS_UNAVAILABLE, "cuDNN (%s) lacks %s", path, symbol);
  KILN_CUDNN_FUNCTIONS(KILN_CUDNN_LOAD)
#undef KILN_CUDNN_LOAD
  return NULL;
}

static kiln_status_t tensor(kiln_cudnn_t *dnn, cudnnTensorDescriptor_t *d, const int64_t *dims,
                            const int64_t *strides, int32_t index) {
  DNN_CHECK(dnn->createTensor(d), "cudnnCreateTensorDescriptor", index);
  DNN_CHECK(dnn->setTensor(*d, CUDNN_DATA_FLOAT, (int)dims[0], (int)dims[1], (int)dims[2], (int)dims[3],
                           (int)strides[0], (int)strides[1], (int)strides[2], (int)strides[3]),
            "cudnnSetTensor4dDescriptorEx", index);
  return NULL;
}

/* Descriptors and algorithm for convolution `index`; the workspace it needs. */
static kiln_status_t plan(kiln_cudnn_t *dnn, int32_t index, size_t *workspace) {
  plan_t *p = &dnn->plans[index];
  const int64_t *f = p->fields;
  int64_t groups = f[KILN_CUDA_CONV_GROUPS];
  if (groups < 1 || f[KILN_CUDA_CONV_C] % groups || f[KILN_CUDA_CONV_RELU] < 0 || f[KILN_CUDA_CONV_RELU] > 1)
    return kiln_make_status(KILN_STATUS_INCOMPATIBLE, "convolution %d has a malformed descriptor", index);
  int64_t x_dims[4] = {f[KILN_CUDA_CONV_N], f[KILN_CUDA_CONV_C], f[KILN_CUDA_CONV_H], f[KILN_CUDA_CONV_W]};
  int64_t y_dims[4] = {f[KILN_CUDA_CONV_N], f[KILN_CUDA_CONV_K], f[KILN_CUDA_CONV_P], f[KILN_CUDA_CONV_Q]};
  int64_t bias_dims[4] = {1, f[KILN_CUDA_CONV_K], 1, 1}, bias_strides[4] = {f[KILN_CUDA_CONV_K], 1, 1, 1};
  kiln_status_t status = tensor(dnn, &p->x, x_dims, f + KILN_CUDA_CONV_X_STRIDES, index);
  if (!status)
    status = tensor(dnn, &p->y, y_dims, f + KILN_CUDA_CONV_Y_STRIDES, index);
  if (!status && f[KILN_CUDA_CONV_RESIDUAL])
    status = tensor(dnn, &p->z, y_dims, f + KILN_CUDA_CONV_Z_STRIDES, index);
  if (!status)
    status = tensor(dnn, &p->bias, bias_dims, bias_strides, index);
  if (status)
    return status;
  DNN_CHECK(dnn->createFilter(&p->w), "cudnnCreateFilterDescriptor", index);
  DNN_CHECK(dnn->setFilter(p->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, (int)f[KILN_CUDA_CONV_K],
                           (int)(f[KILN_CUDA_CONV_C] / groups), (int)f[KILN_CUDA_CONV_R], (int)f[KILN_CUDA_CONV_S]),
            "cudnnSetFilter4dDescriptor", index);
  DNN_CHECK(dnn->createConv(&p->conv), "cudnnCreateConvolutionDescriptor", index);
  DNN_CHECK(dnn->setConv(p->conv, (int)f[KILN_CUDA_CONV_PAD_H], (int)f[KILN_CUDA_CONV_PAD_W],
                         (int)f[KILN_CUDA_CONV_STRIDE_H], (int)f[KILN_CUDA_CONV_STRIDE_W],
                         (int)f[KILN_CUDA_CONV_DILATION_H], (int)f[KILN_CUDA_CONV_DILATION_W],
                         CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT),
            "cudnnSetConvolution2dDescriptor", index);
  DNN_CHECK(dnn->setGroups(p->conv, (int)groups), "cudnnSetConvolutionGroupCount", index);
  DNN_CHECK(dnn->setMath(p->conv, CUDNN_FMA_MATH), "cudnnSetConvolutionMathType", index);
  int n, k, h, w;
  DNN_CHECK(dnn->outputDim(p->conv, p->x, p->w, &n, &k, &h, &w), "cudnnGetConvolution2dForwardOutputDim", index);
  if (n != y_dims[0] || k != y_dims[1] || h != y_dims[2] || w != y_dims[3])
    return kiln_make_status(KILN_STATUS_INCOMPATIBLE,
                            "convolution %d: cuDNN computes a %dx%dx%dx%d output, the artifact expects "
                            "%lldx%lldx%lldx%lld", index, n, k, h, w, (long long)y_dims[0],
                            (long long)y_dims[1], (long long)y_dims[2], (long long)y_dims[3]);
  int relu = (int)f[KILN_CUDA_CONV_RELU];
  DNN_CHECK(dnn->createActivation(&p->activation), "cudnnCreateActivationDescriptor", index);
  DNN_CHECK(dnn->setActivation(p->activation, relu ? CUDNN_ACTIVATION_RELU : CUDNN_ACTIVATION_IDENTITY,
                               CUDNN_PROPAGATE_NAN, 0.0),
            "cudnnSetActivationDescriptor", index);
  /* The fused call takes the identity activation with one algorithm only; with ReLU,
   * the heuristic's first that runs in FMA math within the workspace limit. */
  p->algo = -1;
  if (!relu) {
    p->algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM;
  } else {
    cudnnConvolutionFwdAlgoPerf_t results[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int returned = 0;
    DNN_CHECK(dnn->heuristic(dnn->handle, p->x, p->w, p->conv, p->y, CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                             &returned, results),
              "cudnnGetConvolutionForwardAlgorithm_v7", index);
    for (int i = 0; p->algo < 0 && i < returned; ++i)
      if (results[i].status == CUDNN_STATUS_SUCCESS && results[i].mathType == CUDNN_FMA_MATH &&
          results[i].memory <= WORKSPACE_LIMIT)
        p->algo = results[i].algo;
    for (int i = 0; p->algo < 0 && i < returned; ++i)
      if (results[i].status == CUDNN_STATUS_SUCCESS && results[i].memory <= WORKSPACE_LIMIT)
        p->algo = results[i].algo;
    if (p->algo < 0)
      return kiln_make_status(KILN_STATUS_DEVICE_ERROR,
                              "cuDNN has no algorithm for convolution %d; compile with "
                              "--cuda-conv=kernels", index);
  }
  DNN_CHECK(dnn->workspaceSize(dnn->handle, p->x, p->w, p->conv, p->y, p->algo, workspace),
            "cudnnGetConvolutionForwardWorkspaceSize", index);
  return NULL;
}

kiln_status_t kiln_cudnn_create(const kiln_cuda_driver_t *driver, const int64_t *descriptors,
                                uint32_t count, kiln_cudnn_t **out) {
  *out = NULL;
  kiln_cudnn_t *dnn = calloc(1, sizeof(*dnn));
  if (!dnn)
    return kiln_make_status(KILN_STATUS_OUT_OF_MEMORY, "out of memory");
  dnn->driver = driver;
  dnn->plans = calloc(count ? count : 1, sizeof(plan_t));
  dnn->count = count;
  kiln_status_t status = dnn->plans ? load(dnn, count)
                                    : kiln_make_status(KILN_STATUS_OUT_OF_MEMORY, "out of memory");
  cudnnStatus_t created = status ? CUDNN_STATUS_SUCCESS : dnn->create(&dnn->handle);
  if (created != CUDNN_STATUS_SUCCESS)
    status = dnn_error(dnn, created, "cudnnCreate", -1);
  int64_t channels = 1;
  for (uint32_t i = 0; !status && i < count; ++i) {
    dnn->plans[i].fields = descriptors + (size_t)i * KILN_CUDA_CONV_FIELDS;
    size_t bytes = 0;
    status = plan(dnn, (int32_t)i, &bytes);
    if (bytes > dnn->workspace_bytes)
      dnn->workspace_bytes = bytes;
    if (dnn->plans[i].fields[KILN_CUDA_CONV_K] > channels)
      channels = dnn->plans[i].fields[KILN_CUDA_CONV_K];
  }
  /* One workspace for all (the steps run one after another on one stream), and zeros
   * for the bias of convolutions that have none. */
  CUresult result = CUDA_SUCCESS;
  if (!status && dnn->workspace_bytes)
    result = driver->memAlloc(&dnn->workspace, dnn->workspace_bytes);
  float *zeros = status || result != CUDA_SUCCESS ? NULL : calloc((size_t)channels, sizeof(float));
  if (zeros && (result = driver->memAlloc(&dnn->zeros, (size_t)channels * sizeof(float))) == CUDA_SUCCESS)
    result = driver->memcpyHtoD(dnn->zeros, zeros, (size_t)channels * sizeof(float));
  free(zeros);
  if (!status && (result != CUDA_SUCCESS || !dnn->zeros))
    status = kiln_make_status(KILN_STATUS_DEVICE_ERROR,
                              "cannot allocate cuDNN's %zu MiB workspace (CUDA error %d)",
                              dnn->workspace_bytes >> 20, result);
  if (status) {
    kiln_cudnn_release(dnn);
    return status;
  }
  *out = dnn;
  return NULL;
}

kiln_status_t kiln_cudnn_conv(kiln_cudnn_t *dnn, int32_t index, const uint64_t *addresses,
                              int32_t address_count, CUstream stream) {
  if (index < 0 || (uint32_t)index >= dnn->count)
    return kiln_make_status(KILN_STATUS_INCOMPATIBLE, "the artifact calls convolution %d of %u",
                            index, dnn->count);
  plan_t *p = &dnn->plans[index];
  int has_bias = p->fields[KILN_CUDA_CONV_BIAS] != 0, has_z = p->fields[KILN_CUDA_CONV_RESIDUAL] != 0;
  if (address_count != 3 + has_bias + has_z)
    return kiln_make_status(KILN_STATUS_INCOMPATIBLE, "convolution %d takes %d addresses, not %d",
                            index, 3 + has_bias + has_z, address_count);
  if (stream != dnn->stream) {
    DNN_CHECK(dnn->setStream(dnn->handle, stream), "cudnnSetStream", index);
    dnn->stream = stream;
  }
  void *y = (void *)(uintptr_t)addresses[2];
  const void *bias = has_bias ? (const void *)(uintptr_t)addresses[3] : (const void *)(uintptr_t)dnn->zeros;
  const void *z = has_z ? (const void *)(uintptr_t)addresses[3 + has_bias] : y;
  const float one = 1.0f, alpha2 = has_z ? 1.0f : 0.0f;
  DNN_CHECK(dnn->forward(dnn->handle, &one, p->x, (const void *)(uintptr_t)addresses[0], p->w,
                         (const void *)(uintptr_t)addresses[1], p->conv, p->algo,
                         (void *)(uintptr_t)dnn->workspace, dnn->workspace_bytes, &alpha2,
                         has_z ? p->z : p->y, z, p->bias, bias, p->activation, p->y, y),
            "cudnnConvolutionBiasActivationForward", index);
  return NULL;
}

void kiln_cudnn_release(kiln_cudnn_t *dnn) {
  if (!dnn)
    return;
  for (uint32_t i = 0; dnn->plans && i < dnn->count; ++i) {
    plan_t *p = &dnn->plans[i];
    cudnnTensorDescriptor_t tensors[] = {p->x, p->y, p->z, p->bias};
    for (int j = 0; j < 4; ++j)
      if (tensors[j])
        dnn->destroyTensor(tensors[j]);
    if (p->w)
      dnn->destroyFilter(p->w);
    if (p->conv)
      dnn->destroyConv(p->conv);
    if (p->activation)
      dnn->destroyActivation(p->activation);
  }
  if (dnn->workspace)
    dnn->driver->memFree(dnn->workspace);
  if (dnn->zeros)
    dnn->driver->memFree(dnn->zeros);
  if (dnn->handle)
    dnn->destroy(dnn->handle);
  if (dnn->library)
    dlclose(dnn->library);
  free(dnn->plans);
  free(dnn);
}
