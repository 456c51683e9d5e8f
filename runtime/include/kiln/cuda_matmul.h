/* How a CUDA artifact describes the cuBLASLt matmuls among its steps: one array of
 * KILN_CUDA_MATMUL_FIELDS int64 values per matmul (kiln_model_cuda_matmuls), in
 * cuBLASLt's column-major terms, so the runtime builds its descriptors and layouts
 * without interpretation:
 *
 *   D = epilogue(op(A) op(B) + beta C),  op(A): ROWS x DEPTH, op(B): DEPTH x COLS,
 *   C and D: ROWS x COLS (column-major, leading dimensions LDC and LDD), BATCH of them
 *   STRIDE_* elements apart, all f32 with f32 accumulation.
 *
 * The artifact's run function calls the runtime's matmul callback with the matmul's
 * index and five device addresses: A, B, C, D and the bias (0 when the epilogue has
 * none). The compiler maps row-major kiln matmuls onto this (lib/Transforms/
 * GPULibraryCalls.cpp); the runtime's use is in runtime/src/cublaslt.c. */
#ifndef KILN_CUDA_MATMUL_H
#define KILN_CUDA_MATMUL_H

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

#endif
