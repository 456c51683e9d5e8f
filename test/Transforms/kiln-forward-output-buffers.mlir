// RUN: kiln-opt %s --kiln-forward-output-buffers --split-input-file | FileCheck %s

func.func private @producer(%x: memref<4xf32>, %out: memref<4xf32>)

// The callee writes the output parameter directly: no buffer, no copy.
// CHECK-LABEL: func.func @forwarded
// CHECK-NOT: memref.alloc
// CHECK: call @producer(%arg0, %arg1)
// CHECK-NOT: memref.copy
// CHECK-NOT: memref.dealloc
func.func @forwarded(%x: memref<4xf32>, %out: memref<4xf32>) {
  %a = memref.alloc() : memref<4xf32>
  call @producer(%x, %a) : (memref<4xf32>, memref<4xf32>) -> ()
  memref.copy %a, %out : memref<4xf32> to memref<4xf32>
  memref.dealloc %a : memref<4xf32>
  return
}

// -----

func.func private @producer(%x: memref<4xf32>, %out: memref<4xf32>)

// A result that is two outputs: the later copy's output becomes the buffer, and the
// earlier output is copied from it.
// CHECK-LABEL: func.func @two_outputs
// CHECK-NOT: memref.alloc
// CHECK: call @producer(%arg0, %arg2)
// CHECK-NEXT: memref.copy %arg2, %arg1
// CHECK-NEXT: return
func.func @two_outputs(%x: memref<4xf32>, %out: memref<4xf32>, %out2: memref<4xf32>) {
  %a = memref.alloc() : memref<4xf32>
  call @producer(%x, %a) : (memref<4xf32>, memref<4xf32>) -> ()
  memref.copy %a, %out : memref<4xf32> to memref<4xf32>
  memref.copy %a, %out2 : memref<4xf32> to memref<4xf32>
  memref.dealloc %a : memref<4xf32>
  return
}

// -----

// Copying an input to an output is not a buffer to forward.
// CHECK-LABEL: func.func @input_to_output
// CHECK: memref.copy %arg0, %arg1
func.func @input_to_output(%x: memref<4xf32>, %out: memref<4xf32>) {
  memref.copy %x, %out : memref<4xf32> to memref<4xf32>
  return
}
