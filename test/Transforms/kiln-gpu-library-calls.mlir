// RUN: kiln-opt %s -kiln-gpu-library-calls | FileCheck %s

#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#bt = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>
#bias = affine_map<(m, n) -> (n)>
#mn = affine_map<(m, n) -> (m, n)>

// A dense layer: the zero fill, the product and the bias and ReLU written to %y become
// one cuBLASLt call writing %y (descriptor fields as in kiln/cuda_library.h: the
// row-major 8x256 output is column-major 256x8, so A is the weight and B the input;
// epilogue 3 = ReLU and bias, beta 0); the scratch buffer goes.
// CHECK-LABEL: func @dense
// CHECK-SAME: (%[[X:.+]]: memref<8x64xf32>, %[[W:.+]]: memref<64x256xf32>, %[[BIAS:.+]]: memref<256xf32>, %[[Y:.+]]: memref<8x256xf32>)
// CHECK-NEXT: %{{.+}} = arith.constant
// CHECK-NEXT: call @[[DENSE:kiln_cublaslt_matmul[_0-9]*]](%[[W]], %[[X]], %[[Y]], %[[Y]], %[[BIAS]])
// CHECK-NEXT: return
func.func @dense(%x: memref<8x64xf32>, %w: memref<64x256xf32>, %bias: memref<256xf32>, %y: memref<8x256xf32>) {
  %zero = arith.constant 0.0 : f32
  %acc = memref.alloc() : memref<8x256xf32>
  linalg.generic {indexing_maps = [affine_map<(m, n) -> ()>, #mn], iterator_types = ["parallel", "parallel"]}
      ins(%zero : f32) outs(%acc : memref<8x256xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<8x64xf32>, memref<64x256xf32>) outs(%acc : memref<8x256xf32>) attrs = {kiln.gpu_kernel = "cublaslt"} {
  ^bb0(%u: f32, %v: f32, %s: f32):
    %m = arith.mulf %u, %v : f32
    %t = arith.addf %s, %m : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#mn, #bias, #mn], iterator_types = ["parallel", "parallel"]}
      ins(%acc, %bias : memref<8x256xf32>, memref<256xf32>) outs(%y : memref<8x256xf32>) {
  ^bb0(%in: f32, %b: f32, %out: f32):
    %s = arith.addf %in, %b : f32
    %r = arith.maximumf %s, %zero : f32
    linalg.yield %r : f32
  }
  memref.dealloc %acc : memref<8x256xf32>
  return
}

// A weight stored N x K (a Gemm with transB) is cuBLASLt's A transposed (lda = K); with
// no zero fill before, the product accumulates onto the output (beta 1); the GELU-like
// epilogue is no cuBLASLt epilogue and stays.
// CHECK-LABEL: func @transposed_weight
// CHECK: call @[[TRANSPOSED:kiln_cublaslt_matmul[_0-9]*]](%{{.+}}, %{{.+}}, %[[OUT:.+]], %[[OUT]])
// CHECK-NEXT: linalg.generic
// CHECK: math.tanh
func.func @transposed_weight(%x: memref<8x64xf32>, %w: memref<256x64xf32>, %y: memref<8x256xf32>) {
  linalg.generic {indexing_maps = [#a, #bt, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<8x64xf32>, memref<256x64xf32>) outs(%y : memref<8x256xf32>) attrs = {kiln.gpu_kernel = "cublaslt"} {
  ^bb0(%u: f32, %v: f32, %s: f32):
    %m = arith.mulf %u, %v : f32
    %t = arith.addf %s, %m : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#mn, #mn], iterator_types = ["parallel", "parallel"]}
      ins(%y : memref<8x256xf32>) outs(%y : memref<8x256xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = math.tanh %in : f32
    linalg.yield %r : f32
  }
  return
}

// Attention scores, 12 heads: a strided batch of 128x128x64 products, each operand's
// batch stride its head's size.
// CHECK-LABEL: func @heads
// CHECK: call @[[HEADS:kiln_cublaslt_matmul[_0-9]*]](%{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}) : (memref<12x64x128xf32>, memref<12x128x64xf32>
func.func @heads(%q: memref<12x128x64xf32>, %kt: memref<12x64x128xf32>, %s: memref<12x128x128xf32>) {
  linalg.generic {indexing_maps = [affine_map<(h, m, n, k) -> (h, m, k)>, affine_map<(h, m, n, k) -> (h, k, n)>,
                                   affine_map<(h, m, n, k) -> (h, m, n)>],
                  iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %kt : memref<12x128x64xf32>, memref<12x64x128xf32>) outs(%s : memref<12x128x128xf32>) attrs = {kiln.gpu_kernel = "cublaslt"} {
  ^bb0(%u: f32, %v: f32, %acc: f32):
    %m = arith.mulf %u, %v : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  return
}

// A scaled product is not a plain multiply-add: a generated kernel computes it.
// CHECK-LABEL: func @scaled
// CHECK: linalg.generic
// CHECK-SAME: kiln.gpu_kernel = "thread_per_output"
// CHECK-NOT: call
func.func @scaled(%x: memref<8x64xf32>, %w: memref<64x256xf32>, %y: memref<8x256xf32>) {
  %half = arith.constant 0.5 : f32
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<8x64xf32>, memref<64x256xf32>) outs(%y : memref<8x256xf32>) attrs = {kiln.gpu_kernel = "cublaslt"} {
  ^bb0(%u: f32, %v: f32, %s: f32):
    %m = arith.mulf %u, %v : f32
    %h = arith.mulf %m, %half : f32
    %t = arith.addf %s, %h : f32
    linalg.yield %t : f32
  }
  return
}

// A 1x1 convolution over two images, as the linalg lowering writes it (window loops of
// extent 1 in the input's indices): the pixels are cuBLASLt's rows, the filters its
// columns, the images a batch over which the weight repeats (stride 0). The bias
// broadcast before (along cuBLASLt's columns, which its bias epilogue cannot take)
// moves after the call as an add, beta 0, where it merges with the ReLU into one
// kernel; so the ReLU is no cuBLASLt epilogue.
// CHECK-LABEL: func @pointwise_conv
// CHECK-SAME: (%[[X:.+]]: memref<2x16x5x6xf32>, %[[W:.+]]: memref<8x16x1x1xf32>, %[[B:.+]]: memref<8xf32>, %[[Y:.+]]: memref<2x8x5x6xf32>)
// CHECK: call @[[CONV:kiln_cublaslt_matmul[_0-9]*]](%[[X]], %[[W]], %[[Y]], %[[Y]])
// CHECK-NEXT: linalg.generic {{.+}} ins(%[[B]] : memref<8xf32>) outs(%[[Y]] : memref<2x8x5x6xf32>)
// CHECK-NEXT: ^bb0(%[[BIAS:.+]]: f32, %[[PRODUCT:.+]]: f32):
// CHECK-NEXT: %[[SUM:.+]] = arith.addf %[[PRODUCT]], %[[BIAS]] : f32
// CHECK-NEXT: linalg.yield %[[SUM]]
// CHECK: arith.maximumf
func.func @pointwise_conv(%x: memref<2x16x5x6xf32>, %w: memref<8x16x1x1xf32>, %b: memref<8xf32>, %y: memref<2x8x5x6xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [affine_map<(n, f, h, w) -> (f)>, affine_map<(n, f, h, w) -> (n, f, h, w)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%b : memref<8xf32>) outs(%y : memref<2x8x5x6xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [affine_map<(n, f, h, w, c, kh, kw) -> (n, c, h + kh, w + kw)>,
                                   affine_map<(n, f, h, w, c, kh, kw) -> (f, c, kh, kw)>,
                                   affine_map<(n, f, h, w, c, kh, kw) -> (n, f, h, w)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : memref<2x16x5x6xf32>, memref<8x16x1x1xf32>) outs(%y : memref<2x8x5x6xf32>) attrs = {kiln.gpu_kernel = "cublaslt"} {
  ^bb0(%u: f32, %v: f32, %acc: f32):
    %m = arith.mulf %u, %v : f32
    %t = arith.addf %acc, %m : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [affine_map<(n, f, h, w) -> (n, f, h, w)>, affine_map<(n, f, h, w) -> (n, f, h, w)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%y : memref<2x8x5x6xf32>) outs(%y : memref<2x8x5x6xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %in, %zero : f32
    linalg.yield %r : f32
  }
  return
}

// A convolution chosen for cuDNN: the padded copy of its input (zeros, then the input
// into a window at [1, 1]) is not built, the bias broadcast becomes cuDNN's bias and the
// residual add and ReLU into %y its z and activation; the scratch buffer goes. Fields:
// x 2x4x6x6, w 8x4x3x3, y 2x8x3x3, pads 1x1, stride 2x2, dilation 1x1, 1 group, the
// strides of x, y and z, ReLU, bias, residual.
#ident4 = affine_map<(n, c, h, w) -> (n, c, h, w)>
#channel = affine_map<(n, c, h, w) -> (c)>
#window = affine_map<(n, k, p, q, c, r, s) -> (n, c, p * 2 + r, q * 2 + s)>
#filter = affine_map<(n, k, p, q, c, r, s) -> (k, c, r, s)>
#pixel = affine_map<(n, k, p, q, c, r, s) -> (n, k, p, q)>
// CHECK-LABEL: func @conv_residual
// CHECK-SAME: (%[[X:.+]]: memref<2x4x6x6xf32>, %[[W:.+]]: memref<8x4x3x3xf32>, %[[B:.+]]: memref<8xf32>, %[[Z:.+]]: memref<2x8x3x3xf32>, %[[Y:.+]]: memref<2x8x3x3xf32>)
// CHECK-NEXT: %{{.+}} = arith.constant
// CHECK-NEXT: call @[[CUDNN:kiln_cudnn_conv[_0-9]*]](%[[X]], %[[W]], %[[Y]], %[[B]], %[[Z]])
// CHECK-NEXT: return
func.func @conv_residual(%x: memref<2x4x6x6xf32>, %w: memref<8x4x3x3xf32>, %b: memref<8xf32>,
                         %z: memref<2x8x3x3xf32>, %y: memref<2x8x3x3xf32>) {
  %zero = arith.constant 0.0 : f32
  %padded = memref.alloc() : memref<2x4x8x8xf32>
  linalg.generic {indexing_maps = [#ident4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      outs(%padded : memref<2x4x8x8xf32>) {
  ^bb0(%out: f32):
    linalg.yield %zero : f32
  }
  %inner = memref.subview %padded[0, 0, 1, 1] [2, 4, 6, 6] [1, 1, 1, 1]
      : memref<2x4x8x8xf32> to memref<2x4x6x6xf32, strided<[256, 64, 8, 1], offset: 9>>
  linalg.generic {indexing_maps = [#ident4, #ident4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : memref<2x4x6x6xf32>) outs(%inner : memref<2x4x6x6xf32, strided<[256, 64, 8, 1], offset: 9>>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  %acc = memref.alloc() : memref<2x8x3x3xf32>
  linalg.generic {indexing_maps = [#channel, #ident4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%b : memref<8xf32>) outs(%acc : memref<2x8x3x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#window, #filter, #pixel],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%padded, %w : memref<2x4x8x8xf32>, memref<8x4x3x3xf32>) outs(%acc : memref<2x8x3x3xf32>)
      attrs = {kiln.gpu_kernel = "cudnn"} {
  ^bb0(%u: f32, %v: f32, %s: f32):
    %m = arith.mulf %u, %v : f32
    %a = arith.addf %s, %m : f32
    linalg.yield %a : f32
  }
  linalg.generic {indexing_maps = [#ident4, #ident4, #ident4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%acc, %z : memref<2x8x3x3xf32>, memref<2x8x3x3xf32>) outs(%y : memref<2x8x3x3xf32>) {
  ^bb0(%p: f32, %q: f32, %out: f32):
    %sum = arith.addf %p, %q : f32
    %r = arith.maximumf %sum, %zero : f32
    linalg.yield %r : f32
  }
  memref.dealloc %acc : memref<2x8x3x3xf32>
  memref.dealloc %padded : memref<2x4x8x8xf32>
  return
}

// cuDNN pads both sides alike: a begin pad of 1 with an end pad of 0 gives a
// different output size, so the convolution stays a generated kernel.
// CHECK-LABEL: func @conv_uneven_pads
// CHECK-NOT: call
// CHECK: kiln.gpu_kernel = "thread_per_output"
func.func @conv_uneven_pads(%x: memref<1x4x6x6xf32>, %w: memref<8x4x3x3xf32>, %y: memref<1x8x5x5xf32>) {
  %zero = arith.constant 0.0 : f32
  %padded = memref.alloc() : memref<1x4x7x7xf32>
  linalg.generic {indexing_maps = [#ident4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      outs(%padded : memref<1x4x7x7xf32>) {
  ^bb0(%out: f32):
    linalg.yield %zero : f32
  }
  %inner = memref.subview %padded[0, 0, 1, 1] [1, 4, 6, 6] [1, 1, 1, 1]
      : memref<1x4x7x7xf32> to memref<1x4x6x6xf32, strided<[196, 49, 7, 1], offset: 8>>
  linalg.generic {indexing_maps = [#ident4, #ident4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : memref<1x4x6x6xf32>) outs(%inner : memref<1x4x6x6xf32, strided<[196, 49, 7, 1], offset: 8>>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#ident4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      outs(%y : memref<1x8x5x5xf32>) {
  ^bb0(%out: f32):
    linalg.yield %zero : f32
  }
  linalg.generic {indexing_maps = [affine_map<(n, k, p, q, c, r, s) -> (n, c, p + r, q + s)>, #filter, #pixel],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%padded, %w : memref<1x4x7x7xf32>, memref<8x4x3x3xf32>) outs(%y : memref<1x8x5x5xf32>)
      attrs = {kiln.gpu_kernel = "cudnn"} {
  ^bb0(%u: f32, %v: f32, %s: f32):
    %m = arith.mulf %u, %v : f32
    %a = arith.addf %s, %m : f32
    linalg.yield %a : f32
  }
  memref.dealloc %padded : memref<1x4x7x7xf32>
  return
}

// A grouped convolution's generic splits the groups off the channels (x, y
// [N, G, C/G, H, W], w [G, K/G, C/G, R, S], the bias [G, K/G]); where group and channel
// run on into each other they read as cuDNN's 4-D tensors with a group count of 2. The
// padded copy (5-D here), the bias and the ReLU go into the call.
#ident5 = affine_map<(n, g, c, h, w) -> (n, g, c, h, w)>
#group_channel = affine_map<(n, g, k, p, q) -> (g, k)>
// CHECK-LABEL: func @conv_grouped
// CHECK-SAME: (%[[X:.+]]: memref<2x8x6x6xf32>, %[[W:.+]]: memref<16x4x3x3xf32>, %[[B:.+]]: memref<16xf32>, %[[Y:.+]]: memref<2x16x6x6xf32>)
// CHECK-DAG: %[[XG:.+]] = memref.expand_shape %[[X]]
// CHECK-DAG: %[[WG:.+]] = memref.expand_shape %[[W]]
// CHECK-DAG: %[[BG:.+]] = memref.expand_shape %[[B]]
// CHECK-DAG: %[[YG:.+]] = memref.expand_shape %[[Y]]
// CHECK-NOT: memref.alloc
// CHECK-NOT: linalg.generic
// CHECK: call @[[GROUPED:kiln_cudnn_conv[_0-9]*]](%[[XG]], %[[WG]], %[[YG]], %[[BG]])
// CHECK-NEXT: return
func.func @conv_grouped(%x: memref<2x8x6x6xf32>, %w: memref<16x4x3x3xf32>, %b: memref<16xf32>, %y: memref<2x16x6x6xf32>) {
  %zero = arith.constant 0.0 : f32
  %xg = memref.expand_shape %x [[0], [1, 2], [3], [4]] output_shape [2, 2, 4, 6, 6] : memref<2x8x6x6xf32> into memref<2x2x4x6x6xf32>
  %padded = memref.alloc() : memref<2x2x4x8x8xf32>
  linalg.generic {indexing_maps = [#ident5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      outs(%padded : memref<2x2x4x8x8xf32>) {
  ^bb0(%out: f32):
    linalg.yield %zero : f32
  }
  %inner = memref.subview %padded[0, 0, 0, 1, 1] [2, 2, 4, 6, 6] [1, 1, 1, 1, 1]
      : memref<2x2x4x8x8xf32> to memref<2x2x4x6x6xf32, strided<[512, 256, 64, 8, 1], offset: 9>>
  linalg.generic {indexing_maps = [#ident5, #ident5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%xg : memref<2x2x4x6x6xf32>) outs(%inner : memref<2x2x4x6x6xf32, strided<[512, 256, 64, 8, 1], offset: 9>>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  %wg = memref.expand_shape %w [[0, 1], [2], [3], [4]] output_shape [2, 8, 4, 3, 3] : memref<16x4x3x3xf32> into memref<2x8x4x3x3xf32>
  %bg = memref.expand_shape %b [[0, 1]] output_shape [2, 8] : memref<16xf32> into memref<2x8xf32>
  %yg = memref.expand_shape %y [[0], [1, 2], [3], [4]] output_shape [2, 2, 8, 6, 6] : memref<2x16x6x6xf32> into memref<2x2x8x6x6xf32>
  linalg.generic {indexing_maps = [#group_channel, #ident5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%bg : memref<2x8xf32>) outs(%yg : memref<2x2x8x6x6xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [affine_map<(n, g, k, p, q, c, r, s) -> (n, g, c, p + r, q + s)>,
                                   affine_map<(n, g, k, p, q, c, r, s) -> (g, k, c, r, s)>,
                                   affine_map<(n, g, k, p, q, c, r, s) -> (n, g, k, p, q)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%padded, %wg : memref<2x2x4x8x8xf32>, memref<2x8x4x3x3xf32>) outs(%yg : memref<2x2x8x6x6xf32>)
      attrs = {kiln.gpu_kernel = "cudnn"} {
  ^bb0(%u: f32, %v: f32, %s: f32):
    %m = arith.mulf %u, %v : f32
    %a = arith.addf %s, %m : f32
    linalg.yield %a : f32
  }
  linalg.generic {indexing_maps = [#ident5, #ident5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%yg : memref<2x2x8x6x6xf32>) outs(%yg : memref<2x2x8x6x6xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %in, %zero : f32
    linalg.yield %r : f32
  }
  memref.dealloc %padded : memref<2x2x4x8x8xf32>
  return
}

// A depthwise convolution (one input channel per filter, here two filters per channel:
// x's channel is k floordiv 2, the filter's 0) is cuDNN's with one group per input
// channel, 8, at stride 2 with bias.
// CHECK-LABEL: func @conv_depthwise
// CHECK-SAME: (%[[X:.+]]: memref<2x8x6x6xf32>, %[[W:.+]]: memref<16x1x3x3xf32>, %[[B:.+]]: memref<16xf32>, %[[Y:.+]]: memref<2x16x3x3xf32>)
// CHECK-NOT: linalg.generic
// CHECK: call @[[DEPTHWISE:kiln_cudnn_conv[_0-9]*]](%[[X]], %[[W]], %[[Y]], %[[B]])
// CHECK-NEXT: return
func.func @conv_depthwise(%x: memref<2x8x6x6xf32>, %w: memref<16x1x3x3xf32>, %b: memref<16xf32>, %y: memref<2x16x3x3xf32>) {
  %zero = arith.constant 0.0 : f32
  %padded = memref.alloc() : memref<2x8x8x8xf32>
  linalg.generic {indexing_maps = [#ident4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      outs(%padded : memref<2x8x8x8xf32>) {
  ^bb0(%out: f32):
    linalg.yield %zero : f32
  }
  %inner = memref.subview %padded[0, 0, 1, 1] [2, 8, 6, 6] [1, 1, 1, 1]
      : memref<2x8x8x8xf32> to memref<2x8x6x6xf32, strided<[512, 64, 8, 1], offset: 9>>
  linalg.generic {indexing_maps = [#ident4, #ident4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : memref<2x8x6x6xf32>) outs(%inner : memref<2x8x6x6xf32, strided<[512, 64, 8, 1], offset: 9>>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#channel, #ident4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%b : memref<16xf32>) outs(%y : memref<2x16x3x3xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [affine_map<(n, k, p, q, r, s) -> (n, k floordiv 2, p * 2 + r, q * 2 + s)>,
                                   affine_map<(n, k, p, q, r, s) -> (k, 0, r, s)>,
                                   affine_map<(n, k, p, q, r, s) -> (n, k, p, q)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%padded, %w : memref<2x8x8x8xf32>, memref<16x1x3x3xf32>) outs(%y : memref<2x16x3x3xf32>)
      attrs = {kiln.gpu_kernel = "cudnn"} {
  ^bb0(%u: f32, %v: f32, %s: f32):
    %m = arith.mulf %u, %v : f32
    %a = arith.addf %s, %m : f32
    linalg.yield %a : f32
  }
  memref.dealloc %padded : memref<2x8x8x8xf32>
  return
}

// A depthwise filter that reads another channel than its own group's (k floordiv 4
// with 16 filters over 8 channels is not ONNX's grouping) stays generated.
// CHECK-LABEL: func @conv_depthwise_mismatched
// CHECK-NOT: call
// CHECK: kiln.gpu_kernel = "thread_per_output"
func.func @conv_depthwise_mismatched(%x: memref<2x8x3x3xf32>, %w: memref<16x1x3x3xf32>, %y: memref<2x16x1x1xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [#ident4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      outs(%y : memref<2x16x1x1xf32>) {
  ^bb0(%out: f32):
    linalg.yield %zero : f32
  }
  linalg.generic {indexing_maps = [affine_map<(n, k, p, q, r, s) -> (n, k floordiv 4, p + r, q + s)>,
                                   affine_map<(n, k, p, q, r, s) -> (k, 0, r, s)>,
                                   affine_map<(n, k, p, q, r, s) -> (n, k, p, q)>],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %w : memref<2x8x3x3xf32>, memref<16x1x3x3xf32>) outs(%y : memref<2x16x1x1xf32>)
      attrs = {kiln.gpu_kernel = "cudnn"} {
  ^bb0(%u: f32, %v: f32, %s: f32):
    %m = arith.mulf %u, %v : f32
    %a = arith.addf %s, %m : f32
    linalg.yield %a : f32
  }
  return
}

// Attention heads copied out of a fused QKV buffer by a transpose: at batch 1 the
// product reads the source in place through a strided view (leading dimension 96,
// batch stride 8 per head) and the copy goes; at batch 2 the images and the heads are
// two batch strides, which one cuBLASLt batch cannot take, so the copy stays and the
// product reads it.
#qkv_heads = affine_map<(b, h, s, d) -> (b, s, h, d)>
#heads = affine_map<(b, h, s, d) -> (b, h, s, d)>
#pa = affine_map<(b, h, m, n, k) -> (b, h, m, k)>
#pb = affine_map<(b, h, m, n, k) -> (b, h, k, n)>
#pc = affine_map<(b, h, m, n, k) -> (b, h, m, n)>
// CHECK-LABEL: func @heads_in_place
// CHECK: %[[V:.+]] = memref.reinterpret_cast %{{.+}} to offset: [64], sizes: [1, 4, 8, 8], strides: [768, 8, 96, 1]
// CHECK-NOT: memref.alloc
// CHECK-NOT: linalg.generic
// CHECK: call @kiln_cublaslt_matmul{{[_0-9]*}}(%[[V]], %{{.+}}, %{{.+}}, %{{.+}})
// CHECK-LABEL: func @heads_copied
// CHECK: %[[COPY:.+]] = memref.alloc() : memref<2x4x8x8xf32>
// CHECK: linalg.generic {{.*}} outs(%[[COPY]]
// CHECK-NOT: reinterpret_cast
// CHECK: call @kiln_cublaslt_matmul{{[_0-9]*}}(%[[COPY]], %{{.+}}, %{{.+}}, %{{.+}})
func.func @heads_in_place(%qkv: memref<1x8x96xf32>, %p: memref<1x4x8x8xf32>, %o: memref<1x4x8x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %vs = memref.subview %qkv[0, 0, 64] [1, 8, 32] [1, 1, 1] : memref<1x8x96xf32> to memref<1x8x32xf32, strided<[768, 96, 1], offset: 64>>
  %vh = memref.expand_shape %vs [[0], [1], [2, 3]] output_shape [1, 8, 4, 8] : memref<1x8x32xf32, strided<[768, 96, 1], offset: 64>> into memref<1x8x4x8xf32, strided<[768, 96, 8, 1], offset: 64>>
  %v = memref.alloc() : memref<1x4x8x8xf32>
  linalg.generic {indexing_maps = [#qkv_heads, #heads], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%vh : memref<1x8x4x8xf32, strided<[768, 96, 8, 1], offset: 64>>) outs(%v : memref<1x4x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [affine_map<(b, h, m, n) -> ()>, #heads], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%zero : f32) outs(%o : memref<1x4x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#pa, #pb, #pc], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : memref<1x4x8x8xf32>, memref<1x4x8x8xf32>) outs(%o : memref<1x4x8x8xf32>) attrs = {kiln.gpu_kernel = "cublaslt"} {
  ^bb0(%u: f32, %w: f32, %s: f32):
    %m = arith.mulf %u, %w : f32
    %t = arith.addf %s, %m : f32
    linalg.yield %t : f32
  }
  memref.dealloc %v : memref<1x4x8x8xf32>
  return
}
func.func @heads_copied(%qkv: memref<2x8x96xf32>, %p: memref<2x4x8x8xf32>, %o: memref<2x4x8x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %vs = memref.subview %qkv[0, 0, 64] [2, 8, 32] [1, 1, 1] : memref<2x8x96xf32> to memref<2x8x32xf32, strided<[768, 96, 1], offset: 64>>
  %vh = memref.expand_shape %vs [[0], [1], [2, 3]] output_shape [2, 8, 4, 8] : memref<2x8x32xf32, strided<[768, 96, 1], offset: 64>> into memref<2x8x4x8xf32, strided<[768, 96, 8, 1], offset: 64>>
  %v = memref.alloc() : memref<2x4x8x8xf32>
  linalg.generic {indexing_maps = [#qkv_heads, #heads], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%vh : memref<2x8x4x8xf32, strided<[768, 96, 8, 1], offset: 64>>) outs(%v : memref<2x4x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [affine_map<(b, h, m, n) -> ()>, #heads], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%zero : f32) outs(%o : memref<2x4x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#pa, #pb, #pc], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : memref<2x4x8x8xf32>, memref<2x4x8x8xf32>) outs(%o : memref<2x4x8x8xf32>) attrs = {kiln.gpu_kernel = "cublaslt"} {
  ^bb0(%u: f32, %w: f32, %s: f32):
    %m = arith.mulf %u, %w : f32
    %t = arith.addf %s, %m : f32
    linalg.yield %t : f32
  }
  memref.dealloc %v : memref<2x4x8x8xf32>
  return
}

// The product of attention heads put back side by side by a transpose: at batch 1
// cuBLASLt writes the copy's target in place through a strided view (leading dimension
// 32, batch stride 8 per head), and the zero fill, the scratch buffer and the copy go;
// at batch 2 the copy stays and the product writes the scratch buffer.
// CHECK-LABEL: func @put_back_in_place
// CHECK-SAME: %[[C:[a-z0-9]+]]: memref<1x8x4x8xf32>)
// CHECK-NOT: memref.alloc
// CHECK: %[[V:.+]] = memref.reinterpret_cast %[[C]] to offset: [0], sizes: [1, 4, 8, 8], strides: [256, 8, 32, 1]
// CHECK-NEXT: call @[[PUTBACK:kiln_cublaslt_matmul[_0-9]*]](%{{.+}}, %{{.+}}, %[[V]], %[[V]])
// CHECK-NEXT: return
// CHECK-LABEL: func @put_back_copied
// CHECK: %[[O:.+]] = memref.alloc() : memref<2x4x8x8xf32>
// CHECK-NOT: reinterpret_cast
// CHECK: call @kiln_cublaslt_matmul{{[_0-9]*}}(%{{.+}}, %{{.+}}, %[[O]], %[[O]])
// CHECK-NEXT: linalg.generic {{.*}} ins(%[[O]]
func.func @put_back_in_place(%p: memref<1x4x8x8xf32>, %v: memref<1x4x8x8xf32>, %c: memref<1x8x4x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %o = memref.alloc() : memref<1x4x8x8xf32>
  linalg.generic {indexing_maps = [affine_map<(b, h, m, n) -> ()>, #heads], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%zero : f32) outs(%o : memref<1x4x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#pa, #pb, #pc], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : memref<1x4x8x8xf32>, memref<1x4x8x8xf32>) outs(%o : memref<1x4x8x8xf32>) attrs = {kiln.gpu_kernel = "cublaslt"} {
  ^bb0(%u: f32, %w: f32, %s: f32):
    %m = arith.mulf %u, %w : f32
    %t = arith.addf %s, %m : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#qkv_heads, #heads], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%o : memref<1x4x8x8xf32>) outs(%c : memref<1x8x4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  memref.dealloc %o : memref<1x4x8x8xf32>
  return
}
func.func @put_back_copied(%p: memref<2x4x8x8xf32>, %v: memref<2x4x8x8xf32>, %c: memref<2x8x4x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %o = memref.alloc() : memref<2x4x8x8xf32>
  linalg.generic {indexing_maps = [affine_map<(b, h, m, n) -> ()>, #heads], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%zero : f32) outs(%o : memref<2x4x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#pa, #pb, #pc], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : memref<2x4x8x8xf32>, memref<2x4x8x8xf32>) outs(%o : memref<2x4x8x8xf32>) attrs = {kiln.gpu_kernel = "cublaslt"} {
  ^bb0(%u: f32, %w: f32, %s: f32):
    %m = arith.mulf %u, %w : f32
    %t = arith.addf %s, %m : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#qkv_heads, #heads], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%o : memref<2x4x8x8xf32>) outs(%c : memref<2x8x4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  memref.dealloc %o : memref<2x4x8x8xf32>
  return
}

// The copy's target is read between the product and the copy (its old contents): it
// cannot be written early, so the copy stays.
// CHECK-LABEL: func @put_back_target_read
// CHECK: %[[O:.+]] = memref.alloc() : memref<1x4x8x8xf32>
// CHECK-NOT: reinterpret_cast
// CHECK: call @kiln_cublaslt_matmul{{[_0-9]*}}(%{{.+}}, %{{.+}}, %[[O]], %[[O]])
// CHECK: linalg.generic {{.*}} ins(%[[C:[a-z0-9]+]] : memref<1x8x4x8xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[O]] : memref<1x4x8x8xf32>) outs(%[[C]]
func.func @put_back_target_read(%p: memref<1x4x8x8xf32>, %v: memref<1x4x8x8xf32>, %c: memref<1x8x4x8xf32>, %old: memref<1x8x4x8xf32>) {
  %zero = arith.constant 0.0 : f32
  %o = memref.alloc() : memref<1x4x8x8xf32>
  linalg.generic {indexing_maps = [affine_map<(b, h, m, n) -> ()>, #heads], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%zero : f32) outs(%o : memref<1x4x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#pa, #pb, #pc], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : memref<1x4x8x8xf32>, memref<1x4x8x8xf32>) outs(%o : memref<1x4x8x8xf32>) attrs = {kiln.gpu_kernel = "cublaslt"} {
  ^bb0(%u: f32, %w: f32, %s: f32):
    %m = arith.mulf %u, %w : f32
    %t = arith.addf %s, %m : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#heads, #heads], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%c : memref<1x8x4x8xf32>) outs(%old : memref<1x8x4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#qkv_heads, #heads], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%o : memref<1x4x8x8xf32>) outs(%c : memref<1x8x4x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  memref.dealloc %o : memref<1x4x8x8xf32>
  return
}

//                                              rows cols depth batch tA tB  lda ldb ldc ldd  strides (A B C D)     epi beta align
// CHECK-DAG: func.func private @[[DENSE]]({{.*}}) attributes {kiln.cublaslt = array<i64: 256, 8, 64, 1, 0, 0, 256, 64, 256, 256, 0, 0, 0, 0, 3, 0, 256, 256, 256, 256>}
// CHECK-DAG: func.func private @[[TRANSPOSED]]({{.*}}) attributes {kiln.cublaslt = array<i64: 256, 8, 64, 1, 1, 0, 64, 64, 256, 256, 0, 0, 0, 0, 0, 1, 256, 256, 256, 256>}
// CHECK-DAG: func.func private @[[CONV]]({{.*}}) attributes {kiln.cublaslt = array<i64: 30, 8, 16, 2, 0, 0, 30, 16, 30, 30, 480, 0, 240, 240, 0, 0, 256, 256, 256, 256>}
// CHECK-DAG: func.func private @[[HEADS]]({{.*}}) attributes {kiln.cublaslt = array<i64: 128, 128, 64, 12, 0, 0, 128, 64, 128, 128, 8192, 8192, 16384, 16384, 0, 1, 256, 256, 256, 256>}
// CHECK-DAG: func.func private @[[PUTBACK]]({{.*}}) attributes {kiln.cublaslt = array<i64: 8, 8, 8, 4, 0, 0, 8, 8, 32, 32, 64, 64, 8, 8, 0, 0, 256, 256, 256, 256>}
//                                                  N  C  H  W  K  R  S  P  Q  pad  stride dil  g  x strides      y strides    z strides   relu bias z
// CHECK-DAG: func.func private @[[CUDNN]]({{.*}}) attributes {kiln.cudnn = array<i64: 2, 4, 6, 6, 8, 3, 3, 3, 3, 1, 1, 2, 2, 1, 1, 1, 144, 36, 6, 1, 72, 9, 3, 1, 72, 9, 3, 1, 1, 1, 1>}
// CHECK-DAG: func.func private @[[GROUPED]]({{.*}}) attributes {kiln.cudnn = array<i64: 2, 8, 6, 6, 16, 3, 3, 6, 6, 1, 1, 1, 1, 1, 1, 2, 288, 36, 6, 1, 576, 36, 6, 1, 0, 0, 0, 0, 1, 1, 0>}
// CHECK-DAG: func.func private @[[DEPTHWISE]]({{.*}}) attributes {kiln.cudnn = array<i64: 2, 8, 6, 6, 16, 3, 3, 3, 3, 1, 1, 2, 2, 1, 1, 8, 288, 36, 6, 1, 144, 9, 3, 1, 0, 0, 0, 0, 0, 1, 0>}
