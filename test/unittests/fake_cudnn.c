/* The stand-in for libcudnn in libkiln_fake_cuda.so (see fake_cuda_driver.c): the slice
 * of cuDNN's legacy API the runtime uses, computing in host memory what cuDNN documents
 * for its fused convolution, so lit can check the compiler's mapping of kiln
 * convolutions onto it end to end:
 *
 *   y[n,k,p,q] = act(alpha1 sum_{c,r,s} x[n, g*C/G + c, p*u - pad_h + r*dil_h, q*v - pad_w + s*dil_w]
 *                    w[k, c, r, s] + alpha2 z[n,k,p,q] + bias[k])
 *
 * with zeros outside x and g the group of filter k, every tensor through its strides.
 * Like cuDNN it takes the identity activation with IMPLICIT_PRECOMP_GEMM only; its
 * heuristic offers a TF32 tensor-core algorithm first and an FMA one second, and FMA
 * math convolutions refuse the former. FAKE_CUDNN_NO_ALGO=1 makes it offer none. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))
#define MAX_CONVS 4096

int fake_cuda_is_device_memory(uint64_t pointer, size_t bytes);
void fake_cuda_enqueue(void (*work)(const void *), const void *argument);

enum { OK = 0, NOT_INITIALIZED = 1001, BAD_PARAM = 2000, NOT_SUPPORTED = 3000 };
enum { ALGO_PRECOMP_GEMM = 1, ALGO_TENSOR_OP = 6, ALGO_FMA = 0, FMA_MATH = 3, TENSOR_OP_MATH = 1 };

typedef struct { int dims[4], strides[4]; } tensor_t;
typedef struct { int k, c, r, s; } filter_t;
typedef struct { int pad[2], stride[2], dilation[2], groups, math; } conv_t;
typedef struct { int mode; } activation_t;
typedef struct { int algo, status; float time; size_t memory; int determinism, math, reserved[3]; } perf_t;

/* One enqueued convolution, everything copied: graphs replay it later. */
typedef struct {
  tensor_t x, y, z;
  filter_t w;
  conv_t conv;
  int relu;
  float alpha1, alpha2;
  const float *px, *pw, *pz, *pbias;
  float *py;
} call_t;

static call_t calls[MAX_CONVS];
static int call_count;
static int handle_token;

EXPORT int cudnnCreate(void **handle) { *handle = &handle_token; return OK; }
EXPORT int cudnnDestroy(void *handle) { return handle == &handle_token ? OK : NOT_INITIALIZED; }
EXPORT int cudnnSetStream(void *handle, void *stream) { (void)stream; return handle == &handle_token ? OK : BAD_PARAM; }
EXPORT const char *cudnnGetErrorString(int status) {
  return status == OK ? "CUDNN_STATUS_SUCCESS"
         : status == BAD_PARAM ? "CUDNN_STATUS_BAD_PARAM"
         : status == NOT_SUPPORTED ? "CUDNN_STATUS_NOT_SUPPORTED"
                                   : "CUDNN_STATUS_NOT_INITIALIZED";
}

EXPORT int cudnnCreateTensorDescriptor(tensor_t **d) { *d = calloc(1, sizeof(tensor_t)); return OK; }
EXPORT int cudnnDestroyTensorDescriptor(tensor_t *d) { free(d); return OK; }
EXPORT int cudnnSetTensor4dDescriptorEx(tensor_t *d, int type, int n, int c, int h, int w, int ns, int cs,
                                        int hs, int ws) {
  if (type != 0 || n < 1 || c < 1 || h < 1 || w < 1 || ns < 1 || cs < 1 || hs < 1 || ws < 1)
    return BAD_PARAM;
  *d = (tensor_t){{n, c, h, w}, {ns, cs, hs, ws}};
  return OK;
}
EXPORT int cudnnCreateFilterDescriptor(filter_t **d) { *d = calloc(1, sizeof(filter_t)); return OK; }
EXPORT int cudnnDestroyFilterDescriptor(filter_t *d) { free(d); return OK; }
EXPORT int cudnnSetFilter4dDescriptor(filter_t *d, int type, int format, int k, int c, int r, int s) {
  if (type != 0 || format != 0 || k < 1 || c < 1 || r < 1 || s < 1)
    return BAD_PARAM;
  *d = (filter_t){k, c, r, s};
  return OK;
}
EXPORT int cudnnCreateConvolutionDescriptor(conv_t **d) {
  *d = calloc(1, sizeof(conv_t));
  (*d)->groups = 1;
  return OK;
}
EXPORT int cudnnDestroyConvolutionDescriptor(conv_t *d) { free(d); return OK; }
EXPORT int cudnnSetConvolution2dDescriptor(conv_t *d, int pad_h, int pad_w, int u, int v, int dil_h, int dil_w,
                                           int mode, int type) {
  if (pad_h < 0 || pad_w < 0 || u < 1 || v < 1 || dil_h < 1 || dil_w < 1 || mode != 1 || type != 0)
    return BAD_PARAM;
  d->pad[0] = pad_h, d->pad[1] = pad_w, d->stride[0] = u, d->stride[1] = v;
  d->dilation[0] = dil_h, d->dilation[1] = dil_w;
  return OK;
}
EXPORT int cudnnSetConvolutionGroupCount(conv_t *d, int groups) { d->groups = groups; return groups < 1 ? BAD_PARAM : OK; }
EXPORT int cudnnSetConvolutionMathType(conv_t *d, int math) { d->math = math; return OK; }
EXPORT int cudnnCreateActivationDescriptor(activation_t **d) { *d = calloc(1, sizeof(activation_t)); return OK; }
EXPORT int cudnnDestroyActivationDescriptor(activation_t *d) { free(d); return OK; }
EXPORT int cudnnSetActivationDescriptor(activation_t *d, int mode, int nan, double coef) {
  (void)coef;
  if ((mode != 1 && mode != 5) || nan != 1)
    return BAD_PARAM;
  d->mode = mode;
  return OK;
}

static int output_extent(int in, int pad, int filter, int stride, int dilation) {
  return (in + 2 * pad - ((filter - 1) * dilation + 1)) / stride + 1;
}

EXPORT int cudnnGetConvolution2dForwardOutputDim(const conv_t *conv, const tensor_t *x, const filter_t *w,
                                                 int *n, int *c, int *h, int *wo) {
  if (x->dims[1] != w->c * conv->groups)
    return BAD_PARAM;
  *n = x->dims[0], *c = w->k;
  *h = output_extent(x->dims[2], conv->pad[0], w->r, conv->stride[0], conv->dilation[0]);
  *wo = output_extent(x->dims[3], conv->pad[1], w->s, conv->stride[1], conv->dilation[1]);
  return OK;
}

static int shapes_agree(const tensor_t *x, const filter_t *w, const conv_t *conv, const tensor_t *y) {
  int n, c, h, wo;
  return cudnnGetConvolution2dForwardOutputDim(conv, x, w, &n, &c, &h, &wo) == OK && y->dims[0] == n &&
         y->dims[1] == c && y->dims[2] == h && y->dims[3] == wo;
}

EXPORT int cudnnGetConvolutionForwardAlgorithm_v7(void *handle, const tensor_t *x, const filter_t *w,
                                                  const conv_t *conv, const tensor_t *y, int requested,
                                                  int *returned, perf_t *results) {
  *returned = 0;
  if (handle != &handle_token || requested < 2 || !shapes_agree(x, w, conv, y))
    return BAD_PARAM;
  const char *none = getenv("FAKE_CUDNN_NO_ALGO");
  if (none && *none == '1')
    return OK;
  results[0] = (perf_t){ALGO_TENSOR_OP, OK, 0.1f, 1024, 0, TENSOR_OP_MATH, {0}};
  results[1] = (perf_t){ALGO_FMA, OK, 0.2f, 0, 0, FMA_MATH, {0}};
  *returned = 2;
  return OK;
}

EXPORT int cudnnGetConvolutionForwardWorkspaceSize(void *handle, const tensor_t *x, const filter_t *w,
                                                   const conv_t *conv, const tensor_t *y, int algo,
                                                   size_t *bytes) {
  if (handle != &handle_token || !shapes_agree(x, w, conv, y))
    return BAD_PARAM;
  *bytes = algo == ALGO_PRECOMP_GEMM ? 4096 : 0;
  return OK;
}

/* Elements a tensor spans, for the device-memory check. */
static size_t span(const tensor_t *t) {
  size_t last = 0;
  for (int i = 0; i < 4; ++i)
    last += (size_t)(t->dims[i] - 1) * t->strides[i];
  return last + 1;
}

static size_t at(const tensor_t *t, int n, int c, int h, int w) {
  return (size_t)n * t->strides[0] + (size_t)c * t->strides[1] + (size_t)h * t->strides[2] +
         (size_t)w * t->strides[3];
}

static void compute(const void *argument) {
  const call_t *m = argument;
  const tensor_t *x = &m->x, *y = &m->y;
  const filter_t *w = &m->w;
  int per_group = w->k / m->conv.groups;
  for (int n = 0; n < y->dims[0]; ++n)
    for (int k = 0; k < y->dims[1]; ++k)
      for (int p = 0; p < y->dims[2]; ++p)
        for (int q = 0; q < y->dims[3]; ++q) {
          double sum = 0;
          for (int c = 0; c < w->c; ++c)
            for (int r = 0; r < w->r; ++r)
              for (int s = 0; s < w->s; ++s) {
                int h = p * m->conv.stride[0] - m->conv.pad[0] + r * m->conv.dilation[0];
                int v = q * m->conv.stride[1] - m->conv.pad[1] + s * m->conv.dilation[1];
                if (h < 0 || h >= x->dims[2] || v < 0 || v >= x->dims[3])
                  continue;
                sum += (double)m->px[at(x, n, k / per_group * w->c + c, h, v)] *
                       m->pw[((size_t)(k * w->c + c) * w->r + r) * w->s + s];
              }
          float value = m->alpha1 * (float)sum + m->pbias[k];
          if (m->alpha2 != 0)
            value += m->alpha2 * m->pz[at(&m->z, n, k, p, q)];
          if (m->relu && value < 0)
            value = 0;
          m->py[at(y, n, k, p, q)] = value;
        }
}

EXPORT int cudnnConvolutionBiasActivationForward(
    void *handle, const float *alpha1, const tensor_t *x_desc, const float *x, const filter_t *w_desc,
    const float *w, const conv_t *conv, int algo, void *workspace, size_t workspace_bytes,
    const float *alpha2, const tensor_t *z_desc, const float *z, const tensor_t *bias_desc, const float *bias,
    const activation_t *activation, const tensor_t *y_desc, float *y) {
  if (handle != &handle_token || !shapes_agree(x_desc, w_desc, conv, y_desc) || call_count == MAX_CONVS ||
      memcmp(z_desc->dims, y_desc->dims, sizeof(z_desc->dims)) || bias_desc->dims[1] != w_desc->k)
    return BAD_PARAM;
  if ((activation->mode == 5 && algo != ALGO_PRECOMP_GEMM) || (conv->math == FMA_MATH && algo == ALGO_TENSOR_OP))
    return NOT_SUPPORTED;
  size_t weights = (size_t)w_desc->k * w_desc->c * w_desc->r * w_desc->s;
  if (!fake_cuda_is_device_memory((uintptr_t)x, span(x_desc) * 4) ||
      !fake_cuda_is_device_memory((uintptr_t)w, weights * 4) ||
      !fake_cuda_is_device_memory((uintptr_t)y, span(y_desc) * 4) ||
      !fake_cuda_is_device_memory((uintptr_t)z, span(z_desc) * 4) ||
      !fake_cuda_is_device_memory((uintptr_t)bias, (size_t)w_desc->k * 4) ||
      (workspace_bytes && !fake_cuda_is_device_memory((uintptr_t)workspace, workspace_bytes)))
    return BAD_PARAM;
  call_t *m = &calls[call_count++];
  *m = (call_t){*x_desc, *y_desc, *z_desc, *w_desc, *conv, activation->mode == 1, *alpha1, *alpha2, x, w, z, bias, y};
  fake_cuda_enqueue(compute, m);
  return OK;
}
