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

// -----

func.func private @heads(%x: memref<4xf32>, %out: memref<2x4x8xf32>)

// An output that is a reshape of the result (the heads put back as one row): the
// callee writes the output parameter seen through the opposite reshape.
// CHECK-LABEL: func.func @reshaped
// CHECK-NOT: memref.alloc
// CHECK: %[[V:.+]] = memref.expand_shape %arg1 {{\[\[}}0], [1, 2]] output_shape [2, 4, 8] : memref<2x32xf32> into memref<2x4x8xf32>
// CHECK-NEXT: call @heads(%arg0, %[[V]])
// CHECK-NEXT: return
func.func @reshaped(%x: memref<4xf32>, %out: memref<2x32xf32>) {
  %a = memref.alloc() : memref<2x4x8xf32>
  call @heads(%x, %a) : (memref<4xf32>, memref<2x4x8xf32>) -> ()
  %r = memref.collapse_shape %a [[0], [1, 2]] : memref<2x4x8xf32> into memref<2x32xf32>
  memref.copy %r, %out : memref<2x32xf32> to memref<2x32xf32>
  memref.dealloc %a : memref<2x4x8xf32>
  return
}

// -----

func.func private @rows(%x: memref<4xf32>, %out: memref<64xf32>)

// CHECK-LABEL: func.func @expanded
// CHECK: %[[V:.+]] = memref.collapse_shape %arg1 {{\[\[}}0, 1]] : memref<8x8xf32> into memref<64xf32>
// CHECK-NEXT: call @rows(%arg0, %[[V]])
// CHECK-NEXT: return
func.func @expanded(%x: memref<4xf32>, %out: memref<8x8xf32>) {
  %a = memref.alloc() : memref<64xf32>
  call @rows(%x, %a) : (memref<4xf32>, memref<64xf32>) -> ()
  %r = memref.expand_shape %a [[0, 1]] output_shape [8, 8] : memref<64xf32> into memref<8x8xf32>
  memref.copy %r, %out : memref<8x8xf32> to memref<8x8xf32>
  memref.dealloc %a : memref<64xf32>
  return
}

// -----

func.func private @heads(%x: memref<4xf32>, %out: memref<2x4x8xf32>)

// The reshape is read by something else too: the copy stays.
// CHECK-LABEL: func.func @reshape_used_twice
// CHECK: memref.alloc
// CHECK: memref.copy
func.func @reshape_used_twice(%x: memref<4xf32>, %out: memref<2x32xf32>, %out2: memref<2x32xf32>) {
  %a = memref.alloc() : memref<2x4x8xf32>
  call @heads(%x, %a) : (memref<4xf32>, memref<2x4x8xf32>) -> ()
  %r = memref.collapse_shape %a [[0], [1, 2]] : memref<2x4x8xf32> into memref<2x32xf32>
  memref.copy %r, %out : memref<2x32xf32> to memref<2x32xf32>
  memref.copy %r, %out2 : memref<2x32xf32> to memref<2x32xf32>
  memref.dealloc %a : memref<2x4x8xf32>
  return
}
