// RUN: kiln-opt %s -kiln-choose-gpu-kernels | FileCheck %s --check-prefix=AUTO
// RUN: kiln-opt %s -kiln-choose-gpu-kernels=gemm=cublaslt | FileCheck %s --check-prefix=LIB
// RUN: kiln-opt %s -kiln-choose-gpu-kernels="gemm=kernels conv=kernels" | FileCheck %s
// RUN: kiln-opt %s -kiln-choose-gpu-kernels=conv=cublaslt | FileCheck %s --check-prefix=POINTWISE
// RUN: kiln-opt %s -kiln-choose-gpu-kernels=conv=cudnn | FileCheck %s --check-prefix=DNN
// RUN: kiln-opt %s -kiln-choose-gpu-kernels=gemm=tensor-cores | FileCheck %s --check-prefix=TC
// RUN: kiln-opt %s -kiln-choose-gpu-kernels="gemm=kernels tensor-cores=false" | FileCheck %s --check-prefix=SIMT
// RUN: not kiln-opt %s -kiln-choose-gpu-kernels="gemm=tensor-cores tensor-cores=false" 2>&1 | FileCheck %s --check-prefix=NOTC
// RUN: kiln-opt %s -kiln-choose-gpu-kernels=conv=tensor-cores | FileCheck %s --check-prefix=TCCONV
// RUN: kiln-opt %s -kiln-choose-gpu-kernels="conv=kernels tensor-cores=false" | FileCheck %s --check-prefix=SIMTCONV

// By default matmuls of at least 65536 multiply-adds go to cuBLASLt, smaller ones stay
// generated; gemm=cublaslt sends every one.
// AUTO-LABEL: func @matmuls
// AUTO: kiln.matmul %{{.+}}, %{{.+}} {kiln.gpu_kernel = "cublaslt"} : (tensor<1x2048xf32>
// AUTO: kiln.matmul %{{.+}}, %{{.+}} {kiln.gpu_kernel = "cublaslt"} : (tensor<128x768xf32>
// AUTO: kiln.matmul %{{.+}}, %{{.+}} {kiln.gpu_kernel = "thread_per_output"} : (tensor<4x64xf32>
// LIB-LABEL: func @matmuls
// LIB-COUNT-3: kiln.gpu_kernel = "cublaslt"

// With generated kernels only: a classifier at batch 1 (1000 outputs, 2048 products
// each) gets a block per output; a projection over 128 tokens (98304 outputs) the
// tensor-core kernel (a thread per output without tensor cores, before sm_80); 4 rows
// would leave a 16-row tensor-core tile mostly idle, so they keep a thread per output.
// gemm=tensor-cores sends all three to tensor cores.
// CHECK-LABEL: func @matmuls
// CHECK: kiln.matmul %{{.+}}, %{{.+}} {kiln.gpu_kernel = "block_per_output"} : (tensor<1x2048xf32>
// CHECK: kiln.matmul %{{.+}}, %{{.+}} {kiln.gpu_kernel = "tensor_core"} : (tensor<128x768xf32>
// CHECK: kiln.matmul %{{.+}}, %{{.+}} {kiln.gpu_kernel = "thread_per_output"} : (tensor<4x64xf32>
// SIMT-LABEL: func @matmuls
// SIMT: kiln.matmul %{{.+}}, %{{.+}} {kiln.gpu_kernel = "block_per_output"} : (tensor<1x2048xf32>
// SIMT: kiln.matmul %{{.+}}, %{{.+}} {kiln.gpu_kernel = "thread_per_output"} : (tensor<128x768xf32>
// SIMT: kiln.matmul %{{.+}}, %{{.+}} {kiln.gpu_kernel = "thread_per_output"} : (tensor<4x64xf32>
// TC-LABEL: func @matmuls
// TC-COUNT-3: kiln.gpu_kernel = "tensor_core"
// NOTC: error: kiln-choose-gpu-kernels: tensor-cores needs TF32 tensor cores (sm_80 or later)
func.func @matmuls(%x: tensor<1x2048xf32>, %w: tensor<2048x1000xf32>, %t: tensor<128x768xf32>,
                   %p: tensor<768x768xf32>, %s: tensor<4x64xf32>, %q: tensor<64x8xf32>)
    -> (tensor<1x1000xf32>, tensor<128x768xf32>, tensor<4x8xf32>) {
  %0 = kiln.matmul %x, %w : (tensor<1x2048xf32>, tensor<2048x1000xf32>) -> tensor<1x1000xf32>
  %1 = kiln.matmul %t, %p : (tensor<128x768xf32>, tensor<768x768xf32>) -> tensor<128x768xf32>
  %2 = kiln.matmul %s, %q : (tensor<4x64xf32>, tensor<64x8xf32>) -> tensor<4x8xf32>
  return %0, %1, %2 : tensor<1x1000xf32>, tensor<128x768xf32>, tensor<4x8xf32>
}

// Convolutions count their products per filter (C / groups x KH x KW), inside fusion
// regions too: 512 x 3 x 3 over a 7 x 7 map is a GEMM of 49 pixels by 512 filters
// over 4608 products, 8 tiles that the tensor-core kernel splits along the
// reduction (a block per output without tensor cores); a 3 x 3 depthwise filter (9
// products) is a thread per output; 32 groups of 16 channels (144 products) are 32
// GEMMs of 49 pixels by 16 filters for the tensor-core kernel (a thread per output
// without tensor cores).
// CHECK-LABEL: func @convs
// CHECK: kiln.fusion
// CHECK: kiln.conv %{{.+}}, %{{.+}} {dilations = {{.+}}, kiln.gpu_kernel = "tensor_core"
// CHECK: kiln.conv %{{.+}}, %{{.+}} {dilations = {{.+}}, kiln.gpu_kernel = "thread_per_output"
// CHECK: kiln.conv %{{.+}}, %{{.+}} {dilations = {{.+}}, kiln.gpu_kernel = "tensor_core"
// SIMT-LABEL: func @convs
// SIMT: kiln.conv %{{.+}}, %{{.+}} {dilations = {{.+}}, kiln.gpu_kernel = "cudnn"
// SIMT: kiln.conv %{{.+}}, %{{.+}} {dilations = {{.+}}, kiln.gpu_kernel = "thread_per_output"
// SIMT: kiln.conv %{{.+}}, %{{.+}} {dilations = {{.+}}, kiln.gpu_kernel = "cudnn"
// SIMTCONV-LABEL: func @convs
// SIMTCONV: kiln.conv %{{.+}}, %{{.+}} {dilations = {{.+}}, kiln.gpu_kernel = "block_per_output"
// SIMTCONV: kiln.conv %{{.+}}, %{{.+}} {dilations = {{.+}}, kiln.gpu_kernel = "thread_per_output"
// SIMTCONV: kiln.conv %{{.+}}, %{{.+}} {dilations = {{.+}}, kiln.gpu_kernel = "thread_per_output"
// TCCONV-LABEL: func @convs
// TCCONV-COUNT-3: kiln.gpu_kernel = "tensor_core"
// By default the 3x3 and the grouped convolutions are cuDNN's. The depthwise one sums
// too few products per output for a library to gain (memory-bound either way), so it
// stays generated with its epilogue, unless conv=cudnn sends it.
// AUTO-LABEL: func @convs
// AUTO: kiln.conv %{{.+}}, %{{.+}} {dilations = {{.+}}, kiln.gpu_kernel = "cudnn"
// AUTO: kiln.conv %{{.+}}, %{{.+}} {dilations = {{.+}}, kiln.gpu_kernel = "thread_per_output"
// AUTO: kiln.conv %{{.+}}, %{{.+}} {dilations = {{.+}}, kiln.gpu_kernel = "cudnn"
// DNN-LABEL: func @convs
// DNN-COUNT-3: kiln.gpu_kernel = "cudnn"
func.func @convs(%x: tensor<1x512x7x7xf32>, %w: tensor<512x512x3x3xf32>, %d: tensor<512x1x3x3xf32>, %g: tensor<512x16x3x3xf32>)
    -> (tensor<1x512x7x7xf32>, tensor<1x512x7x7xf32>) {
  %0 = kiln.fusion (%x, %w) : (tensor<1x512x7x7xf32>, tensor<512x512x3x3xf32>) -> tensor<1x512x7x7xf32> {
  ^bb0(%a: tensor<1x512x7x7xf32>, %b: tensor<512x512x3x3xf32>):
    %c = kiln.conv %a, %b {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, groups = 1 : i64}
         : (tensor<1x512x7x7xf32>, tensor<512x512x3x3xf32>) -> tensor<1x512x7x7xf32>
    kiln.yield %c : tensor<1x512x7x7xf32>
  }
  %1 = kiln.conv %0, %d {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, groups = 512 : i64}
       : (tensor<1x512x7x7xf32>, tensor<512x1x3x3xf32>) -> tensor<1x512x7x7xf32>
  %2 = kiln.conv %0, %g {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, groups = 32 : i64}
       : (tensor<1x512x7x7xf32>, tensor<512x16x3x3xf32>) -> tensor<1x512x7x7xf32>
  return %1, %2 : tensor<1x512x7x7xf32>, tensor<1x512x7x7xf32>
}

// A matmul whose operand is computed inside its fusion would fold that into the
// product, which neither cuBLASLt nor the tensor-core kernel takes; cuBLASLt does not
// broadcast batch dimensions either, the tensor-core kernel does.
// LIB-LABEL: func @not_for_the_library
// LIB: kiln.matmul %{{.+}}, %{{.+}} {kiln.gpu_kernel = "thread_per_output"} : (tensor<64x64xf32>
// LIB: kiln.matmul %{{.+}}, %{{.+}} {kiln.gpu_kernel = "tensor_core"} : (tensor<4x64x64xf32>, tensor<1x64x64xf32>)
func.func @not_for_the_library(%x: tensor<64x64xf32>, %w: tensor<64x64xf32>, %b: tensor<4x64x64xf32>, %c: tensor<1x64x64xf32>)
    -> (tensor<64x64xf32>, tensor<4x64x64xf32>) {
  %0 = kiln.fusion (%x, %w) : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32> {
  ^bb0(%a: tensor<64x64xf32>, %v: tensor<64x64xf32>):
    %r = kiln.relu %a : tensor<64x64xf32>
    %m = kiln.matmul %r, %v : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>
    kiln.yield %m : tensor<64x64xf32>
  }
  %1 = kiln.matmul %b, %c : (tensor<4x64x64xf32>, tensor<1x64x64xf32>) -> tensor<4x64x64xf32>
  return %0, %1 : tensor<64x64xf32>, tensor<4x64x64xf32>
}

// By default every 2-D convolution of enough work is cuDNN's. With conv=cublaslt a 1x1
// convolution at stride 1 without padding is a GEMM per image, cuBLASLt's; a 3x3 one, or
// a strided 1x1 one, is not: both go to the tensor-core kernel (the 3x3 one: 1568
// pixels by 64 filters, 2304 products each; the strided one: 392 pixels by 64 filters,
// 256 products each).
// AUTO-LABEL: func @pointwise_convs
// AUTO-COUNT-3: kiln.gpu_kernel = "cudnn"
// POINTWISE-LABEL: func @pointwise_convs
// POINTWISE: kiln.conv %{{.+}}, %{{.+}} {dilations = {{.+}}, kiln.gpu_kernel = "cublaslt"
// POINTWISE: kiln.conv %{{.+}}, %{{.+}} {dilations = {{.+}}, kiln.gpu_kernel = "tensor_core"
// POINTWISE: kiln.conv %{{.+}}, %{{.+}} {dilations = {{.+}}, kiln.gpu_kernel = "tensor_core"
func.func @pointwise_convs(%x: tensor<2x256x28x28xf32>, %w: tensor<64x256x1x1xf32>, %k: tensor<64x256x3x3xf32>)
    -> (tensor<2x64x28x28xf32>, tensor<2x64x28x28xf32>, tensor<2x64x14x14xf32>) {
  %0 = kiln.conv %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, groups = 1 : i64}
       : (tensor<2x256x28x28xf32>, tensor<64x256x1x1xf32>) -> tensor<2x64x28x28xf32>
  %1 = kiln.conv %x, %k {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, groups = 1 : i64}
       : (tensor<2x256x28x28xf32>, tensor<64x256x3x3xf32>) -> tensor<2x64x28x28xf32>
  %2 = kiln.conv %x, %w {strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, groups = 1 : i64}
       : (tensor<2x256x28x28xf32>, tensor<64x256x1x1xf32>) -> tensor<2x64x14x14xf32>
  return %0, %1, %2 : tensor<2x64x28x28xf32>, tensor<2x64x28x28xf32>, tensor<2x64x14x14xf32>
}

// Below 65536 multiply-adds a convolution stays generated unless conv=cudnn sends every
// one cuDNN can take; a 1-D one it cannot.
// AUTO-LABEL: func @small_convs
// AUTO-COUNT-2: kiln.gpu_kernel = "thread_per_output"
// DNN-LABEL: func @small_convs
// DNN: kiln.conv %{{.+}}, %{{.+}} {dilations = {{.+}}, kiln.gpu_kernel = "cudnn"
// DNN: kiln.conv %{{.+}}, %{{.+}} {dilations = {{.+}}, kiln.gpu_kernel = "thread_per_output"
func.func @small_convs(%x: tensor<1x4x6x6xf32>, %w: tensor<8x4x3x3xf32>, %s: tensor<1x4x6xf32>, %v: tensor<8x4x3xf32>)
    -> (tensor<1x8x6x6xf32>, tensor<1x8x6xf32>) {
  %0 = kiln.conv %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, groups = 1 : i64}
       : (tensor<1x4x6x6xf32>, tensor<8x4x3x3xf32>) -> tensor<1x8x6x6xf32>
  %1 = kiln.conv %s, %v {strides = array<i64: 1>, dilations = array<i64: 1>, pads = array<i64: 1, 1>, groups = 1 : i64}
       : (tensor<1x4x6xf32>, tensor<8x4x3xf32>) -> tensor<1x8x6xf32>
  return %0, %1 : tensor<1x8x6x6xf32>, tensor<1x8x6xf32>
}

// An activation that neither the library's epilogue (bias, ReLU, residual) nor a
// reader can take would be a kernel after the call, one more pass over its output:
// GELU (Erf) after a matmul, SiLU (Sigmoid) after a convolution. By default such a
// product goes to the tensor-core kernel, which runs the activation on its
// accumulators (without tensor cores, and with gemm=cublaslt or conv=cudnn, the
// library keeps it). A ReLU6 (clip, which readers take in), and a softmax reading
// the product (its row kernel reads the product once either way), leave the library.
// AUTO-LABEL: func @activations
// AUTO: kiln.matmul %{{.+}}, %{{.+}} {kiln.gpu_kernel = "tensor_core"}
// AUTO: kiln.conv %{{.+}}, %{{.+}} {dilations = {{.+}}, kiln.gpu_kernel = "tensor_core"
// AUTO: kiln.conv %{{.+}}, %{{.+}} {dilations = {{.+}}, kiln.gpu_kernel = "cudnn"
// AUTO: kiln.matmul %{{.+}}, %{{.+}} {kiln.gpu_kernel = "cublaslt"}
// LIB-LABEL: func @activations
// LIB: kiln.matmul %{{.+}}, %{{.+}} {kiln.gpu_kernel = "cublaslt"}
// LIB: kiln.conv %{{.+}}, %{{.+}} {dilations = {{.+}}, kiln.gpu_kernel = "cudnn"
// DNN-LABEL: func @activations
// DNN: kiln.matmul %{{.+}}, %{{.+}} {kiln.gpu_kernel = "tensor_core"}
// DNN-COUNT-2: kiln.gpu_kernel = "cudnn"
// SIMT-LABEL: func @activations
// SIMT: kiln.matmul %{{.+}}, %{{.+}} {kiln.gpu_kernel = "thread_per_output"}
// SIMT-COUNT-2: kiln.gpu_kernel = "cudnn"
func.func @activations(%x: tensor<128x768xf32>, %w: tensor<768x3072xf32>, %bias: tensor<3072xf32>,
                       %i: tensor<1x32x28x28xf32>, %f: tensor<96x32x1x1xf32>, %q: tensor<128x64xf32>, %k: tensor<64x128xf32>)
    -> (tensor<128x3072xf32>, tensor<1x96x28x28xf32>, tensor<1x96x28x28xf32>, tensor<128x128xf32>) {
  %gelu = kiln.fusion (%x, %w, %bias) : (tensor<128x768xf32>, tensor<768x3072xf32>, tensor<3072xf32>) -> tensor<128x3072xf32> {
  ^bb0(%a: tensor<128x768xf32>, %b: tensor<768x3072xf32>, %c: tensor<3072xf32>):
    %root2 = kiln.constant dense<1.41421354> : tensor<f32>
    %one = kiln.constant dense<1.0> : tensor<f32>
    %half = kiln.constant dense<0.5> : tensor<f32>
    %m = kiln.matmul %a, %b : (tensor<128x768xf32>, tensor<768x3072xf32>) -> tensor<128x3072xf32>
    %y = kiln.add %m, %c : (tensor<128x3072xf32>, tensor<3072xf32>) -> tensor<128x3072xf32>
    %s = kiln.div %y, %root2 : (tensor<128x3072xf32>, tensor<f32>) -> tensor<128x3072xf32>
    %e = kiln.erf %s : tensor<128x3072xf32>
    %p = kiln.add %e, %one : (tensor<128x3072xf32>, tensor<f32>) -> tensor<128x3072xf32>
    %g = kiln.mul %y, %p : (tensor<128x3072xf32>, tensor<128x3072xf32>) -> tensor<128x3072xf32>
    %h = kiln.mul %g, %half : (tensor<128x3072xf32>, tensor<f32>) -> tensor<128x3072xf32>
    kiln.yield %h : tensor<128x3072xf32>
  }
  %silu = kiln.fusion (%i, %f) : (tensor<1x32x28x28xf32>, tensor<96x32x1x1xf32>) -> tensor<1x96x28x28xf32> {
  ^bb0(%a: tensor<1x32x28x28xf32>, %b: tensor<96x32x1x1xf32>):
    %c = kiln.conv %a, %b {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, groups = 1 : i64}
         : (tensor<1x32x28x28xf32>, tensor<96x32x1x1xf32>) -> tensor<1x96x28x28xf32>
    %s = kiln.sigmoid %c : tensor<1x96x28x28xf32>
    %y = kiln.mul %c, %s : (tensor<1x96x28x28xf32>, tensor<1x96x28x28xf32>) -> tensor<1x96x28x28xf32>
    kiln.yield %y : tensor<1x96x28x28xf32>
  }
  %relu6 = kiln.fusion (%i, %f) : (tensor<1x32x28x28xf32>, tensor<96x32x1x1xf32>) -> tensor<1x96x28x28xf32> {
  ^bb0(%a: tensor<1x32x28x28xf32>, %b: tensor<96x32x1x1xf32>):
    %c = kiln.conv %a, %b {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, groups = 1 : i64}
         : (tensor<1x32x28x28xf32>, tensor<96x32x1x1xf32>) -> tensor<1x96x28x28xf32>
    %y = kiln.clip %c {min = 0.0 : f64, max = 6.0 : f64} : tensor<1x96x28x28xf32>
    kiln.yield %y : tensor<1x96x28x28xf32>
  }
  %scores = kiln.fusion (%q, %k) : (tensor<128x64xf32>, tensor<64x128xf32>) -> tensor<128x128xf32> {
  ^bb0(%a: tensor<128x64xf32>, %b: tensor<64x128xf32>):
    %eight = kiln.constant dense<8.0> : tensor<f32>
    %m = kiln.matmul %a, %b : (tensor<128x64xf32>, tensor<64x128xf32>) -> tensor<128x128xf32>
    %s = kiln.div %m, %eight : (tensor<128x128xf32>, tensor<f32>) -> tensor<128x128xf32>
    %p = kiln.softmax %s {axis = 1 : i64} : tensor<128x128xf32>
    kiln.yield %p : tensor<128x128xf32>
  }
  return %gelu, %silu, %relu6, %scores : tensor<128x3072xf32>, tensor<1x96x28x28xf32>, tensor<1x96x28x28xf32>, tensor<128x128xf32>
}
