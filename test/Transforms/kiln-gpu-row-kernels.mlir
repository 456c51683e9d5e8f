// RUN: kiln-opt %s -split-input-file -kiln-gpu-row-kernels | FileCheck %s
// RUN: kiln-opt %s -split-input-file -kiln-gpu-row-kernels -kiln-gpu-launches-on-cpu | FileCheck %s --check-prefix=ONCPU

#row = affine_map<(d0, d1) -> (d0, d1)>
#red = affine_map<(d0, d1) -> (d0)>
#fill = affine_map<(d0) -> ()>
#id1 = affine_map<(d0) -> (d0)>

// Softmax over rows of 1000 in place: max, exponentials, sum, division are one kernel
// with a block of 256 threads per row. The max and the sum are every thread's
// register (all_reduce) and their scratch buffer is gone; the exponentials are stored,
// so a barrier follows them. No barrier after a reduction that stores nothing.
// CHECK-LABEL: func @softmax
// CHECK-NOT: memref.alloc
// CHECK: gpu.launch blocks(%[[B:.+]], %{{.+}}, %{{.+}}) in (%{{.+}} = %c4, %{{.+}} = %c1{{.*}}, %{{.+}} = %c1{{.*}}) threads(%[[T:.+]], %{{.+}}, %{{.+}}) in (%{{.+}} = %c256,
// CHECK: %[[P:.+]] = scf.for %{{.+}} = %[[T]] to %c1000{{.*}} step %c256{{.*}} iter_args
// CHECK: arith.maximumf
// CHECK: %[[MAXP:.+]] = gpu.all_reduce maximumf %[[P]] uniform
// CHECK: %[[MAX:.+]] = arith.maximumf %cst{{.*}}, %[[MAXP]]
// CHECK-NOT: gpu.barrier
// CHECK: scf.for %{{.+}} = %[[T]] to %c1000
// CHECK: %[[X:.+]] = memref.load %arg0
// CHECK: arith.subf %[[X]], %[[MAX]]
// CHECK: math.exp
// CHECK: memref.store
// CHECK: gpu.barrier
// CHECK: %[[Q:.+]] = scf.for
// CHECK: %[[SUMP:.+]] = gpu.all_reduce add %[[Q]] uniform
// CHECK: %[[SUM:.+]] = arith.addf %cst{{.*}}, %[[SUMP]]
// CHECK-NOT: gpu.barrier
// CHECK: scf.for
// CHECK: arith.divf %{{.+}}, %[[SUM]]
// CHECK: memref.store
// CHECK-NEXT: }
// CHECK-NEXT: gpu.terminator
// CHECK-NOT: linalg.generic
// CHECK-NOT: memref.dealloc

// On the CPU (--gpu-loops-on-cpu): a loop over the 4 rows, in it a loop over the
// 256 threads per phase (odd rows count them down), each striding over the row;
// the partial maxima and sums meet in per-thread arrays.
// ONCPU-LABEL: func @softmax
// ONCPU-NOT: gpu.
// ONCPU: memref.alloca(%{{.+}}) : memref<?xf32>
// ONCPU: scf.for %{{.+}} = %c0{{.*}} to %c4{{.*}} step %c1
// ONCPU: scf.for %{{.+}} = %c0{{.*}} to %c256{{.*}} step %c1
// ONCPU: %[[T:.+]] = arith.select
// ONCPU: scf.for %{{.+}} = %[[T]] to %c1000{{.*}} step %c256{{.*}} iter_args
// ONCPU-NOT: gpu.
// ONCPU-NOT: linalg.generic
func.func @softmax(%x: memref<4x1000xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %m = memref.alloc() : memref<4xf32>
  linalg.generic {indexing_maps = [#fill, #id1], iterator_types = ["parallel"]} ins(%ninf : f32) outs(%m : memref<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#row, #red], iterator_types = ["parallel", "reduction"]} ins(%x : memref<4x1000xf32>) outs(%m : memref<4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %0 = arith.maximumf %acc, %in : f32
    linalg.yield %0 : f32
  }
  linalg.generic {indexing_maps = [#row, #red, #row], iterator_types = ["parallel", "parallel"]} ins(%x, %m : memref<4x1000xf32>, memref<4xf32>) outs(%x : memref<4x1000xf32>) {
  ^bb0(%in: f32, %max: f32, %out: f32):
    %0 = arith.subf %in, %max : f32
    %1 = math.exp %0 : f32
    linalg.yield %1 : f32
  }
  linalg.generic {indexing_maps = [#fill, #id1], iterator_types = ["parallel"]} ins(%zero : f32) outs(%m : memref<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  linalg.generic {indexing_maps = [#row, #red], iterator_types = ["parallel", "reduction"]} ins(%x : memref<4x1000xf32>) outs(%m : memref<4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %0 = arith.addf %acc, %in : f32
    linalg.yield %0 : f32
  }
  linalg.generic {indexing_maps = [#row, #red, #row], iterator_types = ["parallel", "parallel"]} ins(%x, %m : memref<4x1000xf32>, memref<4xf32>) outs(%x : memref<4x1000xf32>) {
  ^bb0(%in: f32, %sum: f32, %out: f32):
    %0 = arith.divf %in, %sum : f32
    linalg.yield %0 : f32
  }
  memref.dealloc %m : memref<4xf32>
  return
}

// -----

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#red4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#bcast = affine_map<(d0, d1, d2) -> (d0, d1, 0)>
#fill3 = affine_map<(d0, d1, d2) -> ()>

// Layer norm's mean as ReduceMean with keepdims lowers to a reduction over a reshaped
// view ([1, 8, 1, 64]) into a [1, 8, 1] view of its scratch; the centring reads the
// input through another view. The trailing row of extent 1 counts as a column, the
// views are one root each: one kernel over 8 rows of 64. The mean is also a function
// output, so thread 0 stores it, after a barrier.
// CHECK-LABEL: func @mean_and_centring
// ONCPU-LABEL: func @mean_and_centring
// SERIAL-LABEL: func @mean_and_centring
// SERIAL-NOT: linalg.generic
// CHECK: gpu.launch blocks({{.*}}) in (%{{.+}} = %c8, {{.*}} threads({{.*}}) in (%{{.+}} = %c64,
// CHECK: gpu.all_reduce add
// CHECK: %[[FIRST:.+]] = arith.cmpi eq
// CHECK: scf.if %[[FIRST]]
// CHECK: memref.store %{{.+}}, %arg1
// CHECK: gpu.barrier
// CHECK: scf.for
// CHECK: arith.subf
// CHECK: memref.store %{{.+}}, %arg2
// CHECK-NOT: linalg.generic
func.func @mean_and_centring(%x: memref<1x8x64xf32>, %mean: memref<1x8x1xf32>, %y: memref<1x8x64xf32>) {
  %zero = arith.constant 0.0 : f32
  %n = arith.constant 64.0 : f32
  linalg.generic {indexing_maps = [#fill3, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%zero : f32) outs(%mean : memref<1x8x1xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  %xv = memref.expand_shape %x [[0], [1, 2], [3]] output_shape [1, 8, 1, 64] : memref<1x8x64xf32> into memref<1x8x1x64xf32>
  linalg.generic {indexing_maps = [#id4, #red4], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%xv : memref<1x8x1x64xf32>) outs(%mean : memref<1x8x1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %0 = arith.addf %acc, %in : f32
    linalg.yield %0 : f32
  }
  linalg.generic {indexing_maps = [#id3, #bcast, #id3], iterator_types = ["parallel", "parallel", "parallel"]} ins(%x, %mean : memref<1x8x64xf32>, memref<1x8x1xf32>) outs(%y : memref<1x8x64xf32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %0 = arith.divf %s, %n : f32
    %1 = arith.subf %in, %0 : f32
    linalg.yield %1 : f32
  }
  return
}

// -----

#row = affine_map<(d0, d1) -> (d0, d1)>
#red = affine_map<(d0, d1) -> (d0)>

// A scratch buffer stored over the row stays allocated even when nothing in the run
// reads it back (only per-row values live in registers alone).
// CHECK-LABEL: func @stored_scratch
// CHECK: %[[D:.+]] = memref.alloc() : memref<4x64xf32>
// CHECK: gpu.launch
// CHECK: memref.store %{{.+}}, %[[D]]
// CHECK: memref.store %{{.+}}, %arg1
// SERIAL-LABEL: func @stored_scratch
func.func @stored_scratch(%x: memref<4x64xf32>, %y: memref<4x64xf32>) {
  %m = memref.alloc() : memref<4xf32>
  %d = memref.alloc() : memref<4x64xf32>
  linalg.generic {indexing_maps = [#row, #red], iterator_types = ["parallel", "reduction"]} ins(%x : memref<4x64xf32>) outs(%m : memref<4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %0 = arith.addf %acc, %in : f32
    linalg.yield %0 : f32
  }
  linalg.generic {indexing_maps = [#row, #red, #row], iterator_types = ["parallel", "parallel"]} ins(%x, %m : memref<4x64xf32>, memref<4xf32>) outs(%d : memref<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %0 = arith.subf %in, %s : f32
    linalg.yield %0 : f32
  }
  linalg.generic {indexing_maps = [#row, #red, #row], iterator_types = ["parallel", "parallel"]} ins(%x, %m : memref<4x64xf32>, memref<4xf32>) outs(%y : memref<4x64xf32>) {
  ^bb0(%in: f32, %s: f32, %out: f32):
    %0 = arith.divf %in, %s : f32
    linalg.yield %0 : f32
  }
  memref.dealloc %d : memref<4x64xf32>
  memref.dealloc %m : memref<4xf32>
  return
}

// -----

#row = affine_map<(d0, d1) -> (d0, d1)>
#red = affine_map<(d0, d1) -> (d0)>
#rev = affine_map<(d0, d1) -> (d1, d0)>

// Not row kernels: a lone reduction (kiln-gpu-block-reductions' case), and a run whose
// elementwise generic writes a buffer the reduction reads through a transposed map
// (rows would meet).
// CHECK-LABEL: func @not_rows
// SERIAL-LABEL: func @not_rows
// CHECK-NOT: gpu.launch
// CHECK-COUNT-3: linalg.generic
// CHECK-NOT: gpu.launch
func.func @not_rows(%x: memref<64x64xf32>, %s: memref<64xf32>, %t: memref<64xf32>) {
  linalg.generic {indexing_maps = [#row, #red], iterator_types = ["parallel", "reduction"]} ins(%x : memref<64x64xf32>) outs(%s : memref<64xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %0 = arith.addf %acc, %in : f32
    linalg.yield %0 : f32
  }
  func.call @barrier() : () -> ()
  linalg.generic {indexing_maps = [#row, #row], iterator_types = ["parallel", "parallel"]} ins(%x : memref<64x64xf32>) outs(%x : memref<64x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %0 = math.exp %in : f32
    linalg.yield %0 : f32
  }
  linalg.generic {indexing_maps = [#rev, #red], iterator_types = ["parallel", "reduction"]} ins(%x : memref<64x64xf32>) outs(%t : memref<64xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %0 = arith.addf %acc, %in : f32
    linalg.yield %0 : f32
  }
  return
}
func.func private @barrier()
