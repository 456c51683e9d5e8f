// RUN: kiln-opt %s -kiln-tile-for-gpu | FileCheck %s
// RUN: kiln-opt %s -kiln-tile-for-gpu=threads-per-block=64 | FileCheck %s --check-prefix=SMALL

// A 3-D nest of 2*5*300 = 3000 points becomes 12 blocks (the tile loop steps by 256 up
// to 3000) of 256 threads; the innermost index is the collapsed index mod 300, so
// consecutive threads touch consecutive elements.
// CHECK-LABEL: func @nest
// CHECK: scf.parallel (%[[B:.+]]) = (%c0) to (%{{.+}}) step (%c256)
// CHECK: scf.parallel (%[[T:.+]]) = (%c0) to (%c256) step (%c1)
// CHECK: %[[I:.+]] = arith.addi %[[T]], %[[B]]
// CHECK: scf.if
// CHECK: arith.remsi %[[I]], %c300
// CHECK: memref.store
// CHECK: mapping = [#gpu.loop_dim_map<processor = thread_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]
// CHECK: mapping = [#gpu.loop_dim_map<processor = block_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]
// SMALL: step (%c64)
func.func @nest(%out: memref<2x5x300xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c5 = arith.constant 5 : index
  %c300 = arith.constant 300 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i, %j, %k) = (%c0, %c0, %c0) to (%c2, %c5, %c300) step (%c1, %c1, %c1) {
    memref.store %zero, %out[%i, %j, %k] : memref<2x5x300xf32>
  }
  return
}

// A loop smaller than a block gets one block of exactly its size.
// CHECK-LABEL: func @small
// CHECK: scf.parallel (%{{.+}}) = (%c0) to (%c10) step (%c10)
// CHECK: scf.parallel (%{{.+}}) = (%c0) to (%c10) step (%c1)
func.func @small(%out: memref<10xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c10 = arith.constant 10 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%c10) step (%c1) {
    memref.store %zero, %out[%i] : memref<10xf32>
  }
  return
}

// A serial loop outside any parallel loop runs as one thread.
// CHECK-LABEL: func @serial
// CHECK: scf.parallel (%{{.+}}) = (%c0) to (%c1) step (%c1)
// CHECK: scf.parallel (%{{.+}}) = (%c0) to (%c1) step (%c1)
// CHECK: scf.for
func.func @serial(%out: memref<f32>, %in: memref<10xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c10 = arith.constant 10 : index
  scf.for %i = %c0 to %c10 step %c1 {
    %v = memref.load %in[%i] : memref<10xf32>
    %a = memref.load %out[] : memref<f32>
    %s = arith.addf %a, %v : f32
    memref.store %s, %out[] : memref<f32>
  }
  return
}

// Rank-0 elementwise work (loads, arithmetic, math, a store) is one run: a one-thread
// kernel, with the math op inside it rather than left on the host.
// CHECK-LABEL: func @scalar_math
// CHECK: scf.parallel
// CHECK: memref.load
// CHECK: math.roundeven
// CHECK: memref.store
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = thread_x
// CHECK: } {mapping = [#gpu.loop_dim_map<processor = block_x
// CHECK-NEXT: return
func.func @scalar_math(%a: memref<f32>, %b: memref<f32>, %out: memref<f32>) {
  %x = memref.load %a[] : memref<f32>
  %y = memref.load %b[] : memref<f32>
  %q = arith.divf %x, %y : f32
  %r = math.roundeven %q : f32
  memref.store %r, %out[] : memref<f32>
  return
}
