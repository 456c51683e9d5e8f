// RUN: kiln-opt %s --kiln-fuse-parallel-loops --split-input-file | FileCheck %s

// A matmul's fill, reduction and bias+relu epilogue: one nest, the accumulator a
// loop-carried value, one store of the final value.
// CHECK-LABEL: func.func @matmul_bias_relu
// CHECK-COUNT-1: scf.parallel
// CHECK-NOT: scf.parallel
// CHECK: %[[ACC:.*]] = scf.for {{.*}} iter_args(%[[A:.*]] = %{{.*}}) -> (f32)
// CHECK-NOT: memref.load %arg3
// CHECK-NOT: memref.store
// CHECK: scf.yield
// CHECK: arith.addf %[[ACC]]
// CHECK: arith.maximumf
// CHECK: memref.store
// CHECK-NOT: memref.store
func.func @matmul_bias_relu(%a: memref<8x64xf32>, %b: memref<64x256xf32>, %bias: memref<256xf32>, %c: memref<8x256xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c64 = arith.constant 64 : index
  %c256 = arith.constant 256 : index
  %zero = arith.constant 0.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %c256) step (%c1, %c1) {
    memref.store %zero, %c[%i, %j] : memref<8x256xf32>
    scf.reduce
  }
  scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %c256) step (%c1, %c1) {
    scf.for %k = %c0 to %c64 step %c1 {
      %x = memref.load %a[%i, %k] : memref<8x64xf32>
      %y = memref.load %b[%k, %j] : memref<64x256xf32>
      %acc = memref.load %c[%i, %j] : memref<8x256xf32>
      %p = arith.mulf %x, %y : f32
      %s = arith.addf %acc, %p : f32
      memref.store %s, %c[%i, %j] : memref<8x256xf32>
    }
    scf.reduce
  }
  scf.parallel (%i, %j) = (%c0, %c0) to (%c8, %c256) step (%c1, %c1) {
    %v = memref.load %c[%i, %j] : memref<8x256xf32>
    %w = memref.load %bias[%j] : memref<256xf32>
    %s = arith.addf %v, %w : f32
    %r = arith.maximumf %s, %zero : f32
    memref.store %r, %c[%i, %j] : memref<8x256xf32>
    scf.reduce
  }
  return
}

// -----

// A temporary only passed between two nests disappears once they are one.
// CHECK-LABEL: func.func @temporary
// CHECK-NOT: memref.alloc
// CHECK: scf.parallel
// CHECK-NOT: scf.parallel
// CHECK: math.exp
// CHECK: arith.addf
// CHECK: memref.store %{{.*}}, %arg1
func.func @temporary(%x: memref<16xf32>, %y: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %t = memref.alloc() : memref<16xf32>
  scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
    %v = memref.load %x[%i] : memref<16xf32>
    %e = math.exp %v : f32
    memref.store %e, %t[%i] : memref<16xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
    %v = memref.load %t[%i] : memref<16xf32>
    %s = arith.addf %v, %v : f32
    memref.store %s, %y[%i] : memref<16xf32>
    scf.reduce
  }
  memref.dealloc %t : memref<16xf32>
  return
}

// -----

// The second nest reads a neighbour's element (a shift): iterations would read what
// another thread has not written yet, so the nests stay apart.
// CHECK-LABEL: func.func @shifted_read
// CHECK: scf.parallel
// CHECK: scf.parallel
func.func @shifted_read(%x: memref<17xf32>, %y: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  %t = memref.alloc() : memref<17xf32>
  scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
    %v = memref.load %x[%i] : memref<17xf32>
    memref.store %v, %t[%i] : memref<17xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c16) step (%c1) {
    %n = arith.addi %i, %c1 : index
    %v = memref.load %t[%n] : memref<17xf32>
    memref.store %v, %y[%i] : memref<16xf32>
    scf.reduce
  }
  memref.dealloc %t : memref<17xf32>
  return
}

// -----

// Transposed access to the shared buffer: each iteration touches another element.
// CHECK-LABEL: func.func @transposed
// CHECK: scf.parallel
// CHECK: scf.parallel
func.func @transposed(%x: memref<4x4xf32>, %t: memref<4x4xf32>, %y: memref<4x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c4) step (%c1, %c1) {
    %v = memref.load %x[%i, %j] : memref<4x4xf32>
    memref.store %v, %t[%i, %j] : memref<4x4xf32>
    scf.reduce
  }
  scf.parallel (%i, %j) = (%c0, %c0) to (%c4, %c4) step (%c1, %c1) {
    %v = memref.load %t[%j, %i] : memref<4x4xf32>
    memref.store %v, %y[%i, %j] : memref<4x4xf32>
    scf.reduce
  }
  return
}

// -----

// Different bounds: no fusion. A store overwritten before any read is dropped, and a
// load after a store takes the stored value.
// CHECK-LABEL: func.func @bounds_and_forwarding
// CHECK: scf.parallel
// CHECK-NEXT: %[[S:.*]] = arith.addf %cst, %cst_0
// CHECK-NEXT: memref.store %[[S]], %arg0
// CHECK-NEXT: scf.reduce
// CHECK: scf.parallel
func.func @bounds_and_forwarding(%x: memref<8xf32>, %y: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  scf.parallel (%i) = (%c0) to (%c8) step (%c1) {
    memref.store %zero, %x[%i] : memref<8xf32>
    %v = memref.load %x[%i] : memref<8xf32>
    %s = arith.addf %v, %one : f32
    memref.store %s, %x[%i] : memref<8xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    memref.store %one, %y[%i] : memref<4xf32>
    scf.reduce
  }
  return
}
