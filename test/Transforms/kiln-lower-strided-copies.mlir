// RUN: kiln-opt %s -kiln-lower-strided-copies | FileCheck %s

// CHECK-LABEL: func @copies
// CHECK-SAME: (%[[A:.+]]: memref<4xf32>, %[[B:.+]]: memref<8xf32>, %[[C:.+]]: memref<4xf32>)
func.func @copies(%a: memref<4xf32>, %b: memref<8xf32>, %c: memref<4xf32>) {
  // CHECK: %[[V:.+]] = memref.subview %[[B]]
  %view = memref.subview %b[2] [4] [1] : memref<8xf32> to memref<4xf32, strided<[1], offset: 2>>
  // CHECK-NEXT: linalg.copy ins(%[[A]] : memref<4xf32>) outs(%[[V]] : memref<4xf32, strided<[1], offset: 2>>)
  memref.copy %a, %view : memref<4xf32> to memref<4xf32, strided<[1], offset: 2>>
  // Contiguous copies stay memcpy-able.
  // CHECK-NEXT: memref.copy %[[A]], %[[C]] : memref<4xf32> to memref<4xf32>
  memref.copy %a, %c : memref<4xf32> to memref<4xf32>
  return
}

// With all-copies (the GPU pipeline), contiguous copies become linalg.copy too.
// RUN: kiln-opt %s -kiln-lower-strided-copies=all-copies | FileCheck %s --check-prefix=ALL
// ALL-LABEL: func @copies
// ALL-COUNT-2: linalg.copy
// ALL-NOT: memref.copy
