// RUN: kiln-opt %s --kiln-inline-padding --split-input-file | FileCheck %s

// A zero-padded input (1 on each side of the two last dimensions) read by a
// convolution-like nest: the padded buffer, its fill and its copy are gone; each read
// tests the bounds and loads the input at the shifted indices.
// CHECK-LABEL: func.func @padded
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.subview
// CHECK: scf.parallel
// CHECK-NOT: scf.parallel
// CHECK: %[[H:.*]] = arith.subi %{{.*}}, %c1
// CHECK: arith.cmpi sge, %{{.*}}, %c1
// CHECK: arith.cmpi slt, %{{.*}}, %c9
// CHECK: %[[W:.*]] = arith.subi %{{.*}}, %c1
// CHECK: arith.cmpi sge
// CHECK: arith.cmpi slt
// CHECK: %[[IN:.*]] = arith.andi
// CHECK-NEXT: scf.if %[[IN]] -> (f32) {
// CHECK:   memref.load %arg0[%{{.*}}, %[[H]], %[[W]]] : memref<3x8x8xf32>
// CHECK: } else {
// CHECK:   scf.yield %[[PAD:.*]] : f32
func.func @padded(%x: memref<3x8x8xf32>, %y: memref<3x8x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c8 = arith.constant 8 : index
  %c10 = arith.constant 10 : index
  %zero = arith.constant 0.0 : f32
  %p = memref.alloc() : memref<3x10x10xf32>
  scf.parallel (%c, %h, %w) = (%c0, %c0, %c0) to (%c3, %c10, %c10) step (%c1, %c1, %c1) {
    memref.store %zero, %p[%c, %h, %w] : memref<3x10x10xf32>
    scf.reduce
  }
  %interior = memref.subview %p[0, 1, 1] [3, 8, 8] [1, 1, 1] : memref<3x10x10xf32> to memref<3x8x8xf32, strided<[100, 10, 1], offset: 11>>
  scf.parallel (%c, %h, %w) = (%c0, %c0, %c0) to (%c3, %c8, %c8) step (%c1, %c1, %c1) {
    %v = memref.load %x[%c, %h, %w] : memref<3x8x8xf32>
    memref.store %v, %interior[%c, %h, %w] : memref<3x8x8xf32, strided<[100, 10, 1], offset: 11>>
    scf.reduce
  }
  scf.parallel (%c, %h, %w) = (%c0, %c0, %c0) to (%c3, %c8, %c8) step (%c1, %c1, %c1) {
    %hh = arith.addi %h, %c2 : index
    %ww = arith.addi %w, %c2 : index
    %v = memref.load %p[%c, %hh, %ww] : memref<3x10x10xf32>
    memref.store %v, %y[%c, %h, %w] : memref<3x8x8xf32>
    scf.reduce
  }
  memref.dealloc %p : memref<3x10x10xf32>
  return
}

// -----

// The padded buffer is also written elsewhere: it must be built.
// CHECK-LABEL: func.func @written_again
// CHECK: memref.alloc
// CHECK: memref.subview
func.func @written_again(%x: memref<4xf32>, %y: memref<6xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c6 = arith.constant 6 : index
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %p = memref.alloc() : memref<6xf32>
  scf.parallel (%i) = (%c0) to (%c6) step (%c1) {
    memref.store %zero, %p[%i] : memref<6xf32>
    scf.reduce
  }
  %interior = memref.subview %p[1] [4] [1] : memref<6xf32> to memref<4xf32, strided<[1], offset: 1>>
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    %v = memref.load %x[%i] : memref<4xf32>
    memref.store %v, %interior[%i] : memref<4xf32, strided<[1], offset: 1>>
    scf.reduce
  }
  memref.store %one, %p[%c0] : memref<6xf32>
  memref.copy %p, %y : memref<6xf32> to memref<6xf32>
  memref.dealloc %p : memref<6xf32>
  return
}

// -----

// The interior is computed point by point (a ReLU6 of another buffer): each read in
// the interior recomputes it from that buffer at the shifted indices.
// CHECK-LABEL: func.func @computed_interior
// CHECK-NOT: memref.alloc
// CHECK: scf.if %{{.*}} -> (f32) {
// CHECK-NEXT: %[[E:.*]] = memref.load %arg0[%{{.*}}] : memref<4xf32>
// CHECK-NEXT: %[[LO:.*]] = arith.maximumf %[[E]], %{{.*}} : f32
// CHECK-NEXT: %[[R:.*]] = arith.minimumf %[[LO]], %{{.*}} : f32
// CHECK-NEXT: scf.yield %[[R]] : f32
func.func @computed_interior(%x: memref<4xf32>, %y: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c6 = arith.constant 6 : index
  %zero = arith.constant 0.0 : f32
  %six = arith.constant 6.0 : f32
  %p = memref.alloc() : memref<6xf32>
  scf.parallel (%i) = (%c0) to (%c6) step (%c1) {
    memref.store %zero, %p[%i] : memref<6xf32>
    scf.reduce
  }
  %interior = memref.subview %p[1] [4] [1] : memref<6xf32> to memref<4xf32, strided<[1], offset: 1>>
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    %v = memref.load %x[%i] : memref<4xf32>
    %lo = arith.maximumf %v, %zero : f32
    %r = arith.minimumf %lo, %six : f32
    memref.store %r, %interior[%i] : memref<4xf32, strided<[1], offset: 1>>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    %j = arith.addi %i, %c2 : index
    %v = memref.load %p[%j] : memref<6xf32>
    memref.store %v, %y[%i] : memref<4xf32>
    scf.reduce
  }
  memref.dealloc %p : memref<6xf32>
  return
}

// -----

// The copy's source is written again before the padded buffer is read (bufferization
// reuses a buffer once its value is copied): reading the source then would see the new
// values, so the padded buffer is built.
// CHECK-LABEL: func.func @source_overwritten
// CHECK: memref.alloc
// CHECK: memref.subview
// CHECK: memref.load %[[P:.*]][
func.func @source_overwritten(%x: memref<4xf32>, %y: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c6 = arith.constant 6 : index
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %p = memref.alloc() : memref<6xf32>
  scf.parallel (%i) = (%c0) to (%c6) step (%c1) {
    memref.store %zero, %p[%i] : memref<6xf32>
    scf.reduce
  }
  %interior = memref.subview %p[1] [4] [1] : memref<6xf32> to memref<4xf32, strided<[1], offset: 1>>
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    %v = memref.load %x[%i] : memref<4xf32>
    memref.store %v, %interior[%i] : memref<4xf32, strided<[1], offset: 1>>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    memref.store %one, %x[%i] : memref<4xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    %j = arith.addi %i, %c2 : index
    %v = memref.load %p[%j] : memref<6xf32>
    memref.store %v, %y[%i] : memref<4xf32>
    scf.reduce
  }
  memref.dealloc %p : memref<6xf32>
  return
}
