/* How a CUDA artifact describes the steps it hands to NVIDIA's libraries, shared by
 * the compiler (lib/Transforms/GPULibraryCalls.cpp writes the descriptors) and the
 * runtime (runtime/src/cublaslt.c and cudnn.c read them).
 *
 * The artifact's run function calls the runtime's library callback with a library
 * (enum kiln_cuda_library), the step's index among that library's descriptors and the
 * device addresses of its operands. Every descriptor is an array of int64 values; the
 * runtime builds the library's descriptors from them without interpretation. */
#ifndef KILN_CUDA_LIBRARY_H
#define KILN_CUDA_LIBRARY_H

enum kiln_cuda_library {
  KILN_CUDA_LIBRARY_CUBLASLT_MATMUL, /* kiln_model_cuda_matmuls */
  KILN_CUDA_LIBRARY_CUDNN_CONV,      /* kiln_model_cuda_convolutions */
};

/* cuBLASLt matmuls, KILN_CUDA_MATMUL_FIELDS values each, in cuBLASLt's column-major
 * terms:
 *
 *   D = epilogue(op(A) op(B) + beta C),  op(A): ROWS x DEPTH, op(B): DEPTH x COLS,
 *   C and D: ROWS x COLS (column-major, leading dimensions LDC and LDD), BATCH of them
 *   STRIDE_* elements apart, all f32 with f32 accumulation.
 *
 * Addresses: A, B, C, D and the bias (0 when the epilogue has none). */
enum kiln_cuda_matmul_field {
  KILN_CUDA_MATMUL_ROWS,
  KILN_CUDA_MATMUL_COLS,
  KILN_CUDA_MATMUL_DEPTH,
  KILN_CUDA_MATMUL_BATCH,
  KILN_CUDA_MATMUL_TRANS_A, /* 1: A is stored DEPTH x ROWS */
  KILN_CUDA_MATMUL_TRANS_B, /* 1: B is stored COLS x DEPTH */
  KILN_CUDA_MATMUL_LDA,
  KILN_CUDA_MATMUL_LDB,
  KILN_CUDA_MATMUL_LDC,
  KILN_CUDA_MATMUL_LDD,
  KILN_CUDA_MATMUL_STRIDE_A,
  KILN_CUDA_MATMUL_STRIDE_B,
  KILN_CUDA_MATMUL_STRIDE_C,
  KILN_CUDA_MATMUL_STRIDE_D,
  KILN_CUDA_MATMUL_EPILOGUE, /* enum kiln_cuda_matmul_epilogue */
  KILN_CUDA_MATMUL_BETA,     /* 0 or 1 */
  KILN_CUDA_MATMUL_ALIGN_A,  /* bytes every address of A is a multiple of (<= 256) */
  KILN_CUDA_MATMUL_ALIGN_B,
  KILN_CUDA_MATMUL_ALIGN_C,
  KILN_CUDA_MATMUL_ALIGN_D,
  KILN_CUDA_MATMUL_FIELDS
};

/* The bias is a vector of ROWS values added to every column. */
enum kiln_cuda_matmul_epilogue {
  KILN_CUDA_EPILOGUE_NONE,
  KILN_CUDA_EPILOGUE_RELU,
  KILN_CUDA_EPILOGUE_BIAS,
  KILN_CUDA_EPILOGUE_RELU_BIAS,
};

/* cuDNN convolutions, KILN_CUDA_CONV_FIELDS values each: 2-D, f32, NCHW, cross-correlation
 * (ONNX's Conv), computed with f32 FMA math (no TF32) as cuDNN's fused
 *
 *   y = activation(conv(x, w) + z + bias)
 *
 * x: N x C x H x W, w: K x C/GROUPS x R x S (contiguous), y and z: N x K x P x Q, each of
 * x, y and z with its own element strides (n, c, h, w); padding PAD_H rows and PAD_W
 * columns of zeros on both sides. Addresses: x, w, y, the bias (K values; 0 when BIAS is
 * 0) and z (0 when RESIDUAL is 0). */
enum kiln_cuda_conv_field {
  KILN_CUDA_CONV_N,
  KILN_CUDA_CONV_C,
  KILN_CUDA_CONV_H,
  KILN_CUDA_CONV_W,
  KILN_CUDA_CONV_K,
  KILN_CUDA_CONV_R,
  KILN_CUDA_CONV_S,
  KILN_CUDA_CONV_P,
  KILN_CUDA_CONV_Q,
  KILN_CUDA_CONV_PAD_H,
  KILN_CUDA_CONV_PAD_W,
  KILN_CUDA_CONV_STRIDE_H,
  KILN_CUDA_CONV_STRIDE_W,
  KILN_CUDA_CONV_DILATION_H,
  KILN_CUDA_CONV_DILATION_W,
  KILN_CUDA_CONV_GROUPS,
  KILN_CUDA_CONV_X_STRIDES, /* four values: n, c, h, w */
  KILN_CUDA_CONV_Y_STRIDES = KILN_CUDA_CONV_X_STRIDES + 4,
  KILN_CUDA_CONV_Z_STRIDES = KILN_CUDA_CONV_Y_STRIDES + 4,
  KILN_CUDA_CONV_RELU = KILN_CUDA_CONV_Z_STRIDES + 4, /* 0: identity, 1: ReLU */
  KILN_CUDA_CONV_BIAS,                                /* 0 or 1 */
  KILN_CUDA_CONV_RESIDUAL,                            /* 0 or 1: z is added */
  KILN_CUDA_CONV_FIELDS
};

#endif
