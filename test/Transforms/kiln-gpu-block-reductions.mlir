// RUN: kiln-opt %s -kiln-gpu-block-reductions | FileCheck %s

#in = affine_map<(d0, d1) -> (d0, d1)>
#out = affine_map<(d0, d1) -> (d0)>

// A row maximum over 1000 elements: one block per row, 256 threads each folding every
// 256th element from -inf, a block-wide all_reduce, and thread 0 folding the total
// into the output.
// CHECK-LABEL: func @row_max
// CHECK: gpu.launch blocks(%[[B:.+]], %{{.+}}, %{{.+}}) in (%{{.+}} = %c4, %{{.+}} = %c1, %{{.+}} = %c1) threads(%[[T:.+]], %{{.+}}, %{{.+}}) in (%{{.+}} = %c256,
// CHECK: %[[P:.+]] = scf.for %{{.+}} = %[[T]] to %c1000 step %c256{{.*}} iter_args(%[[ACC:.+]] = %cst)
// CHECK: memref.load
// CHECK: arith.maximumf %[[ACC]]
// CHECK: %[[TOTAL:.+]] = gpu.all_reduce maximumf %[[P]] uniform
// CHECK: scf.if
// CHECK: %[[OLD:.+]] = memref.load %{{.+}}[%{{.+}}] : memref<4xf32>
// CHECK: %[[NEW:.+]] = arith.maximumf %[[OLD]], %[[TOTAL]]
// CHECK: memref.store %[[NEW]]
// CHECK: gpu.terminator
// CHECK-NOT: linalg.generic
func.func @row_max(%x: memref<4x1000xf32>, %y: memref<4xf32>) {
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x1000xf32>) outs(%y : memref<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %m = arith.maximumf %acc, %a : f32
    linalg.yield %m : f32
  }
  return
}

// Short reductions and contractions are left alone.
// CHECK-LABEL: func @left_alone
// CHECK-COUNT-2: linalg.generic
// CHECK-NOT: gpu.launch
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
func.func @left_alone(%x: memref<4x8xf32>, %y: memref<4xf32>, %p: memref<4x64xf32>, %q: memref<64x4xf32>, %r: memref<4x4xf32>) {
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x8xf32>) outs(%y : memref<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%p, %q : memref<4x64xf32>, memref<64x4xf32>) outs(%r : memref<4x4xf32>) {
  ^bb0(%u: f32, %v: f32, %acc: f32):
    %m = arith.mulf %u, %v : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// Two operands read through the same map are a fused elementwise prologue (a residual
// add before global pooling), not a contraction: the block reduction applies.
// CHECK-LABEL: func @fused_prologue
// CHECK: gpu.launch
// CHECK: arith.addf
// CHECK: gpu.all_reduce add
func.func @fused_prologue(%x: memref<8x49xf32>, %r: memref<8x49xf32>, %y: memref<8xf32>) {
  linalg.generic {indexing_maps = [#in, #in, #out], iterator_types = ["parallel", "reduction"]}
      ins(%x, %r : memref<8x49xf32>, memref<8x49xf32>) outs(%y : memref<8xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %s = arith.addf %a, %b : f32
    %t = arith.addf %acc, %s : f32
    linalg.yield %t : f32
  }
  return
}


// A row mean: the fill of zeros before starts each fold (no load of the output), and
// the division after runs in thread 0 on its element: one launch, nothing left around.
// CHECK-LABEL: func @row_mean
// CHECK-NOT: linalg.generic
// CHECK: gpu.launch
// CHECK: %[[TOTAL:.+]] = gpu.all_reduce add
// CHECK: scf.if
// CHECK-NOT: memref.load
// CHECK: %[[SUM:.+]] = arith.addf %[[TOTAL]], %[[ZERO:.+]] : f32
// CHECK: memref.store %[[SUM]], %{{.+}}[%[[I:.+]]] : memref<4xf32>
// CHECK: %[[MEAN:.+]] = arith.divf %[[SUM]], %{{.+}} : f32
// CHECK: memref.store %[[MEAN]], %{{.+}}[%[[I]]] : memref<4xf32>
// CHECK: gpu.terminator
// CHECK-NOT: linalg.generic
func.func @row_mean(%x: memref<4x1000xf32>, %mean: memref<4xf32>) {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 1000.0 : f32
  %sum = memref.alloc() : memref<4xf32>
  linalg.generic {indexing_maps = [affine_map<(d0) -> ()>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%zero : f32) outs(%sum : memref<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x1000xf32>) outs(%sum : memref<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%sum : memref<4xf32>) outs(%mean : memref<4xf32>) {
  ^bb0(%s: f32, %out: f32):
    %m = arith.divf %s, %n : f32
    linalg.yield %m : f32
  }
  memref.dealloc %sum : memref<4xf32>
  return
}


// The op after writes the rows being reduced, which other blocks may still be
// reading: it stays a separate op.
// CHECK-LABEL: func @writes_reduced_input
// CHECK: gpu.launch
// CHECK: gpu.terminator
// CHECK: linalg.generic
func.func @writes_reduced_input(%x: memref<4x1000xf32>, %sum: memref<4xf32>) {
  linalg.generic {indexing_maps = [#in, #out], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<4x1000xf32>) outs(%sum : memref<4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0)>, affine_map<(d0, d1) -> (d0, d1)>], iterator_types = ["parallel", "parallel"]}
      ins(%sum : memref<4xf32>) outs(%x : memref<4x1000xf32>) {
  ^bb0(%s: f32, %out: f32):
    linalg.yield %s : f32
  }
  return
}

// A classifier at batch 1 (1000 outputs of 2048 products, kiln-choose-gpu-kernels'
// "block_per_output"): a block per output. The broadcast bias written before starts
// the fold in thread 0 and the ReLU after runs there too: one launch, no other op.
// CHECK-LABEL: func @classifier
// CHECK-NOT: linalg.generic
// CHECK: gpu.launch blocks(%{{.+}}, %{{.+}}, %{{.+}}) in (%{{.+}} = %c1000, %{{.+}} = %c1, %{{.+}} = %c1) threads(%[[T:.+]], %{{.+}}, %{{.+}}) in (%{{.+}} = %c256,
// CHECK: scf.for %{{.+}} = %[[T]] to %c2048 step %c256
// CHECK: arith.mulf
// CHECK: %[[TOTAL:.+]] = gpu.all_reduce add
// CHECK: scf.if
// CHECK: %[[BIAS:.+]] = memref.load %{{.+}}[%{{.+}}] : memref<1000xf32>
// CHECK: %[[SUM:.+]] = arith.addf %[[BIAS]], %[[TOTAL]] : f32
// CHECK: memref.store %[[SUM]], %{{.+}}[%{{.+}}, %{{.+}}] : memref<1x1000xf32>
// CHECK: %[[RELU:.+]] = arith.maximumf %[[SUM]]
// CHECK: memref.store %[[RELU]], %{{.+}}[%{{.+}}, %{{.+}}] : memref<1x1000xf32>
// CHECK: gpu.terminator
// CHECK-NOT: linalg.generic
#bias = affine_map<(m, n) -> (n)>
#mn = affine_map<(m, n) -> (m, n)>
func.func @classifier(%x: memref<1x2048xf32>, %w: memref<2048x1000xf32>, %bias: memref<1000xf32>, %y: memref<1x1000xf32>) {
  %zero = arith.constant 0.0 : f32
  %acc = memref.alloc() : memref<1x1000xf32>
  linalg.generic {indexing_maps = [#bias, #mn], iterator_types = ["parallel", "parallel"]}
      ins(%bias : memref<1000xf32>) outs(%acc : memref<1x1000xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<1x2048xf32>, memref<2048x1000xf32>) outs(%acc : memref<1x1000xf32>) {
  ^bb0(%u: f32, %v: f32, %s: f32):
    %m = arith.mulf %u, %v : f32
    %t = arith.addf %s, %m : f32
    linalg.yield %t : f32
  }
  linalg.generic {indexing_maps = [#mn, #mn], iterator_types = ["parallel", "parallel"]}
      ins(%acc : memref<1x1000xf32>) outs(%y : memref<1x1000xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.maximumf %in, %zero : f32
    linalg.yield %r : f32
  }
  memref.dealloc %acc : memref<1x1000xf32>
  return
}
