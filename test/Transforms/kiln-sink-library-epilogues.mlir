// RUN: kiln-opt %s -kiln-sink-library-epilogues --split-input-file | FileCheck %s

// MobileNetV2's expansion: a cuDNN convolution and its ReLU6, read by a generated
// depthwise convolution (9 reads per element). The clip moves into the depthwise
// fusion; the cuDNN fusion yields the convolution itself.
// CHECK-LABEL: func @relu6_into_depthwise
// CHECK: %[[E:.*]] = kiln.fusion
// CHECK: %[[C:.*]] = kiln.conv {{.*}}kiln.gpu_kernel = "cudnn"
// CHECK-NOT: kiln.clip
// CHECK: kiln.yield %[[C]]
// CHECK: kiln.fusion(%{{.*}}, %[[E]]) : (tensor<32x1x3x3xf32>, tensor<1x32x8x8xf32>)
// CHECK-NEXT: ^bb0(%[[DW:.*]]: tensor<32x1x3x3xf32>, %[[IN:.*]]: tensor<1x32x8x8xf32>):
// CHECK-NEXT: %[[R:.*]] = kiln.clip %[[IN]] {max = 6.000000e+00 : f64, min = 0.000000e+00 : f64}
// CHECK-NEXT: kiln.conv %[[R]], %[[DW]] {{.*}}groups = 32
func.func @relu6_into_depthwise(%x: tensor<1x16x8x8xf32>, %w: tensor<32x16x1x1xf32>, %b: tensor<32xf32>,
                                %d: tensor<32x1x3x3xf32>) -> tensor<1x32x8x8xf32> {
  %e = kiln.fusion (%x, %w, %b) : (tensor<1x16x8x8xf32>, tensor<32x16x1x1xf32>, tensor<32xf32>) -> tensor<1x32x8x8xf32> {
  ^bb0(%a: tensor<1x16x8x8xf32>, %f: tensor<32x16x1x1xf32>, %g: tensor<32xf32>):
    %c = kiln.conv %a, %f, %g {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, groups = 1 : i64, kiln.gpu_kernel = "cudnn"}
         : (tensor<1x16x8x8xf32>, tensor<32x16x1x1xf32>, tensor<32xf32>) -> tensor<1x32x8x8xf32>
    %r = kiln.clip %c {min = 0.0 : f64, max = 6.0 : f64} : tensor<1x32x8x8xf32>
    kiln.yield %r : tensor<1x32x8x8xf32>
  }
  %y = kiln.fusion (%e, %d) : (tensor<1x32x8x8xf32>, tensor<32x1x3x3xf32>) -> tensor<1x32x8x8xf32> {
  ^bb0(%in: tensor<1x32x8x8xf32>, %dw: tensor<32x1x3x3xf32>):
    %c = kiln.conv %in, %dw {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, groups = 32 : i64, kiln.gpu_kernel = "thread_per_output"}
         : (tensor<1x32x8x8xf32>, tensor<32x1x3x3xf32>) -> tensor<1x32x8x8xf32>
    %r = kiln.clip %c {min = 0.0 : f64, max = 6.0 : f64} : tensor<1x32x8x8xf32>
    kiln.yield %r : tensor<1x32x8x8xf32>
  }
  return %y : tensor<1x32x8x8xf32>
}

// -----

// After cuBLASLt's own epilogue (bias, residual, ReLU) a clip at 6 and a scale by one
// of the fusion's inputs move; the reader gets that input as a new argument (once,
// though it reads it already) and an elementwise consumer reads the recomputed value.
// CHECK-LABEL: func @after_the_epilogue
// CHECK: %[[M:.*]] = kiln.fusion
// CHECK: kiln.matmul
// CHECK: kiln.add
// CHECK: %[[RELU:.*]] = kiln.relu
// CHECK-NEXT: kiln.yield %[[RELU]]
// CHECK: kiln.fusion(%arg3, %[[M]]) : (tensor<64x64xf32>, tensor<64x64xf32>)
// CHECK-NEXT: ^bb0(%[[S:.*]]: tensor<64x64xf32>, %[[IN:.*]]: tensor<64x64xf32>):
// CHECK-NEXT: %[[C:.*]] = kiln.clip %[[IN]]
// CHECK-NEXT: %[[T:.*]] = kiln.mul %[[C]], %[[S]]
// CHECK-NEXT: kiln.sub %[[T]], %[[S]]
func.func @after_the_epilogue(%x: tensor<64x64xf32>, %w: tensor<64x64xf32>, %res: tensor<64x64xf32>,
                              %s: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %m = kiln.fusion (%x, %w, %res, %s) : (tensor<64x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32> {
  ^bb0(%a: tensor<64x64xf32>, %b: tensor<64x64xf32>, %r: tensor<64x64xf32>, %sc: tensor<64x64xf32>):
    %p = kiln.matmul %a, %b {kiln.gpu_kernel = "cublaslt"} : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>
    %q = kiln.add %p, %r : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>
    %u = kiln.relu %q : tensor<64x64xf32>
    %c = kiln.clip %u {min = 0.0 : f64, max = 6.0 : f64} : tensor<64x64xf32>
    %t = kiln.mul %c, %sc : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>
    kiln.yield %t : tensor<64x64xf32>
  }
  %y = kiln.fusion (%s, %m) : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32> {
  ^bb0(%sc: tensor<64x64xf32>, %in: tensor<64x64xf32>):
    %d = kiln.sub %in, %sc : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>
    kiln.yield %d : tensor<64x64xf32>
  }
  return %y : tensor<64x64xf32>
}

// -----

// Nothing moves when:
// - the library takes the whole end (a residual add and a ReLU);
// - the end is not cheap (SiLU's sigmoid);
// - a reader loads each element too often (a dense 3x3 convolution, 16 filters: 144);
// - a reader is itself a library fusion, which reads memory;
// - the result is also the function's;
// - a reader broadcasts it (a per-channel scale over a whole map).
// CHECK-LABEL: func @stays
// CHECK: kiln.relu
// CHECK-NEXT: kiln.yield
// CHECK: kiln.clip
// CHECK: kiln.sigmoid
// CHECK-NEXT: kiln.mul
// CHECK-NEXT: kiln.yield
// CHECK: kiln.clip
// CHECK: kiln.clip
// CHECK-NEXT: kiln.yield
// CHECK: ^bb0
// CHECK-NEXT: kiln.conv {{.*}}"thread_per_output"
// CHECK: kiln.clip
// CHECK-NEXT: kiln.yield
// CHECK: ^bb0
// CHECK-NEXT: kiln.conv {{.*}}"cudnn"
// CHECK: kiln.clip
// CHECK-NEXT: kiln.yield
// CHECK: ^bb0
// CHECK-NEXT: kiln.neg
// CHECK: kiln.clip
// CHECK-NEXT: kiln.yield
// CHECK: ^bb0
// CHECK-NEXT: kiln.mul
func.func @stays(%x: tensor<1x16x8x8xf32>, %w: tensor<16x16x1x1xf32>, %r: tensor<1x16x8x8xf32>,
                 %w3: tensor<16x16x3x3xf32>, %scale: tensor<1x16x1x1xf32>)
    -> (tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>) {
  // Residual and ReLU: the library's; the clip reading it is a reader's own.
  %0 = kiln.fusion (%x, %w, %r) : (tensor<1x16x8x8xf32>, tensor<16x16x1x1xf32>, tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  ^bb0(%a: tensor<1x16x8x8xf32>, %f: tensor<16x16x1x1xf32>, %z: tensor<1x16x8x8xf32>):
    %c = kiln.conv %a, %f {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, groups = 1 : i64, kiln.gpu_kernel = "cudnn"}
         : (tensor<1x16x8x8xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x8x8xf32>
    %s = kiln.add %c, %z : (tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32>
    %t = kiln.relu %s : tensor<1x16x8x8xf32>
    kiln.yield %t : tensor<1x16x8x8xf32>
  }
  %1 = kiln.fusion (%0) : (tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  ^bb0(%a: tensor<1x16x8x8xf32>):
    %c = kiln.clip %a {min = 0.0 : f64, max = 6.0 : f64} : tensor<1x16x8x8xf32>
    kiln.yield %c : tensor<1x16x8x8xf32>
  }
  // SiLU.
  %2 = kiln.fusion (%1, %w) : (tensor<1x16x8x8xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x8x8xf32> {
  ^bb0(%a: tensor<1x16x8x8xf32>, %f: tensor<16x16x1x1xf32>):
    %c = kiln.conv %a, %f {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, groups = 1 : i64, kiln.gpu_kernel = "cudnn"}
         : (tensor<1x16x8x8xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x8x8xf32>
    %s = kiln.sigmoid %c : tensor<1x16x8x8xf32>
    %m = kiln.mul %c, %s : (tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32>
    kiln.yield %m : tensor<1x16x8x8xf32>
  }
  %3 = kiln.fusion (%2) : (tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  ^bb0(%a: tensor<1x16x8x8xf32>):
    %c = kiln.clip %a {min = 0.0 : f64, max = 6.0 : f64} : tensor<1x16x8x8xf32>
    kiln.yield %c : tensor<1x16x8x8xf32>
  }
  // Read by a dense 3x3 convolution.
  %4 = kiln.fusion (%3, %w) : (tensor<1x16x8x8xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x8x8xf32> {
  ^bb0(%a: tensor<1x16x8x8xf32>, %f: tensor<16x16x1x1xf32>):
    %c = kiln.conv %a, %f {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, groups = 1 : i64, kiln.gpu_kernel = "cudnn"}
         : (tensor<1x16x8x8xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x8x8xf32>
    %r6 = kiln.clip %c {min = 0.0 : f64, max = 6.0 : f64} : tensor<1x16x8x8xf32>
    kiln.yield %r6 : tensor<1x16x8x8xf32>
  }
  %5 = kiln.fusion (%4, %w3) : (tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x8x8xf32> {
  ^bb0(%a: tensor<1x16x8x8xf32>, %f: tensor<16x16x3x3xf32>):
    %c = kiln.conv %a, %f {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, groups = 1 : i64, kiln.gpu_kernel = "thread_per_output"}
         : (tensor<1x16x8x8xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x8x8xf32>
    kiln.yield %c : tensor<1x16x8x8xf32>
  }
  // Read by a library fusion.
  %6 = kiln.fusion (%x, %w) : (tensor<1x16x8x8xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x8x8xf32> {
  ^bb0(%a: tensor<1x16x8x8xf32>, %f: tensor<16x16x1x1xf32>):
    %c = kiln.conv %a, %f {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, groups = 1 : i64, kiln.gpu_kernel = "cudnn"}
         : (tensor<1x16x8x8xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x8x8xf32>
    %r6 = kiln.clip %c {min = 0.0 : f64, max = 6.0 : f64} : tensor<1x16x8x8xf32>
    kiln.yield %r6 : tensor<1x16x8x8xf32>
  }
  %7 = kiln.fusion (%6, %w) : (tensor<1x16x8x8xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x8x8xf32> {
  ^bb0(%a: tensor<1x16x8x8xf32>, %f: tensor<16x16x1x1xf32>):
    %c = kiln.conv %a, %f {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, groups = 1 : i64, kiln.gpu_kernel = "cudnn"}
         : (tensor<1x16x8x8xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x8x8xf32>
    kiln.yield %c : tensor<1x16x8x8xf32>
  }
  // Also returned.
  %8 = kiln.fusion (%x, %w) : (tensor<1x16x8x8xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x8x8xf32> {
  ^bb0(%a: tensor<1x16x8x8xf32>, %f: tensor<16x16x1x1xf32>):
    %c = kiln.conv %a, %f {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, groups = 1 : i64, kiln.gpu_kernel = "cudnn"}
         : (tensor<1x16x8x8xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x8x8xf32>
    %r6 = kiln.clip %c {min = 0.0 : f64, max = 6.0 : f64} : tensor<1x16x8x8xf32>
    kiln.yield %r6 : tensor<1x16x8x8xf32>
  }
  %9 = kiln.fusion (%8) : (tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  ^bb0(%a: tensor<1x16x8x8xf32>):
    %n = kiln.neg %a : tensor<1x16x8x8xf32>
    kiln.yield %n : tensor<1x16x8x8xf32>
  }
  // Broadcast by its reader.
  %10 = kiln.fusion (%scale, %w) : (tensor<1x16x1x1xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x1x1xf32> {
  ^bb0(%a: tensor<1x16x1x1xf32>, %f: tensor<16x16x1x1xf32>):
    %c = kiln.conv %a, %f {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, groups = 1 : i64, kiln.gpu_kernel = "cudnn"}
         : (tensor<1x16x1x1xf32>, tensor<16x16x1x1xf32>) -> tensor<1x16x1x1xf32>
    %r6 = kiln.clip %c {min = 0.0 : f64, max = 6.0 : f64} : tensor<1x16x1x1xf32>
    kiln.yield %r6 : tensor<1x16x1x1xf32>
  }
  %11 = kiln.fusion (%10, %x) : (tensor<1x16x1x1xf32>, tensor<1x16x8x8xf32>) -> tensor<1x16x8x8xf32> {
  ^bb0(%a: tensor<1x16x1x1xf32>, %m: tensor<1x16x8x8xf32>):
    %n = kiln.mul %m, %a : (tensor<1x16x8x8xf32>, tensor<1x16x1x1xf32>) -> tensor<1x16x8x8xf32>
    kiln.yield %n : tensor<1x16x8x8xf32>
  }
  return %5, %7, %8, %9, %11 : tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>, tensor<1x16x8x8xf32>
}
