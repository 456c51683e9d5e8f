// RUN: kiln-opt %s -split-input-file -kiln-fuse | FileCheck %s
// RUN: kiln-opt %s -split-input-file -kiln-fuse=reduction-consumers | FileCheck %s --check-prefix=ROWS
// RUN: kiln-opt %s -split-input-file -kiln-fuse=view-producers | FileCheck %s --check-prefix=VIEWS

// A matmul anchors its elementwise epilogue (bias, activation) in one region.
// CHECK-LABEL: func @matmul_epilogue
// CHECK-SAME: (%[[X:.+]]: tensor<4x8xf32>, %[[W:.+]]: tensor<8x16xf32>, %[[B:.+]]: tensor<16xf32>)
// CHECK: %[[F:.+]] = kiln.fusion(%[[X]], %[[W]], %[[B]])
// CHECK-NEXT: ^bb0(%[[A0:.+]]: tensor<4x8xf32>, %[[A1:.+]]: tensor<8x16xf32>, %[[A2:.+]]: tensor<16xf32>):
// CHECK-NEXT: %[[M:.+]] = kiln.matmul %[[A0]], %[[A1]]
// CHECK-NEXT: %[[S:.+]] = kiln.add %[[M]], %[[A2]]
// CHECK-NEXT: %[[R:.+]] = kiln.relu %[[S]]
// CHECK-NEXT: kiln.yield %[[R]]
// CHECK: return %[[F]]
func.func @matmul_epilogue(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>, %b: tensor<16xf32>) -> tensor<4x16xf32> {
  %0 = kiln.matmul %x, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %1 = kiln.add %0, %b : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %2 = kiln.relu %1 : tensor<4x16xf32>
  return %2 : tensor<4x16xf32>
}

// -----

// A residual add joins the convolution's region; the other conv gets its own.
// CHECK-LABEL: func @conv_residual
// CHECK: %[[F0:.+]] = kiln.fusion
// CHECK: kiln.conv
// CHECK-NOT: kiln.add
// CHECK: kiln.yield
// CHECK: kiln.fusion(%[[F0]], %{{.*}})
// CHECK: kiln.conv
// CHECK-NEXT: kiln.add
// CHECK-NEXT: kiln.relu
// CHECK-NEXT: kiln.yield
func.func @conv_residual(%x: tensor<1x4x8x8xf32>, %w: tensor<4x4x3x3xf32>) -> tensor<1x4x8x8xf32> {
  %0 = kiln.conv %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, groups = 1 : i64}
       : (tensor<1x4x8x8xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x8x8xf32>
  %1 = kiln.conv %0, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, groups = 1 : i64}
       : (tensor<1x4x8x8xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x8x8xf32>
  %2 = kiln.add %1, %0 : (tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %3 = kiln.relu %2 : tensor<1x4x8x8xf32>
  return %3 : tensor<1x4x8x8xf32>
}

// -----

// A value also used outside the chain ends its region (a region has one result);
// small constants are cloned in.
// CHECK-LABEL: func @shared_value
// CHECK: %[[E:.+]] = kiln.fusion(%{{.*}}) : (tensor<8xf32>) -> tensor<8xf32>
// CHECK-NEXT: ^bb0
// CHECK-NEXT: kiln.exp
// CHECK-NEXT: kiln.yield
// CHECK: kiln.fusion(%[[E]]) : (tensor<8xf32>) -> tensor<8xf32>
// CHECK-NEXT: ^bb0
// CHECK-NEXT: kiln.constant dense<2.000000e+00>
// CHECK-NEXT: kiln.mul
// CHECK-NEXT: kiln.add
// CHECK-NEXT: kiln.yield
func.func @shared_value(%x: tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>) {
  %two = kiln.constant dense<2.0> : tensor<f32>
  %e = kiln.exp %x : tensor<8xf32>
  %m = kiln.mul %e, %two : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %a = kiln.add %m, %e : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  return %a, %e : tensor<8xf32>, tensor<8xf32>
}

// -----

// Reductions take an elementwise prologue; reshapes stay outside regions.
// CHECK-LABEL: func @reduce_prologue
// CHECK: kiln.fusion
// CHECK-NEXT: ^bb0
// CHECK-NEXT: kiln.exp
// CHECK-NEXT: kiln.reduce_sum
// CHECK-NEXT: kiln.yield
// CHECK: kiln.reshape
func.func @reduce_prologue(%x: tensor<4x8xf32>) -> tensor<2x2xf32> {
  %e = kiln.exp %x : tensor<4x8xf32>
  %s = kiln.reduce_sum %e {axes = array<i64: 1>, keepdims = false} : (tensor<4x8xf32>) -> tensor<4xf32>
  %r = kiln.reshape %s : tensor<4xf32> -> tensor<2x2xf32>
  return %r : tensor<2x2xf32>
}

// -----

// A layer norm written out (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div) after a
// matmul's residual add: by default each reduction ends a region, and so do the values
// used twice (the sum, the centred input): five regions; with
// reduction-consumers the normalization takes in both reductions, the centring and the
// residual add, and through it the matmul: one region, which kiln-gpu-row-kernels
// makes one kernel after the matmul's library call.
// CHECK-LABEL: func @layer_norm
// CHECK-COUNT-5: kiln.fusion
// CHECK-NOT: kiln.fusion
// ROWS-LABEL: func @layer_norm
// ROWS: kiln.fusion
// ROWS-NEXT: ^bb0
// ROWS-NEXT: kiln.constant dense<2.000000e+00>
// ROWS-NEXT: kiln.constant dense<9.99999996E-13>
// ROWS-NEXT: kiln.matmul
// ROWS-NEXT: kiln.add
// ROWS-NEXT: kiln.reduce_mean
// ROWS-NEXT: kiln.sub
// ROWS-NEXT: kiln.pow
// ROWS-NEXT: kiln.reduce_mean
// ROWS-NEXT: kiln.add
// ROWS-NEXT: kiln.sqrt
// ROWS-NEXT: kiln.div
// ROWS-NEXT: kiln.yield
// ROWS-NOT: kiln.fusion
func.func @layer_norm(%a: tensor<8x16xf32>, %w: tensor<16x32xf32>, %r: tensor<8x32xf32>) -> tensor<8x32xf32> {
  %two = kiln.constant dense<2.0> : tensor<f32>
  %eps = kiln.constant dense<1.0e-12> : tensor<f32>
  %m = kiln.matmul %a, %w : (tensor<8x16xf32>, tensor<16x32xf32>) -> tensor<8x32xf32>
  %x = kiln.add %r, %m : (tensor<8x32xf32>, tensor<8x32xf32>) -> tensor<8x32xf32>
  %mean = kiln.reduce_mean %x {axes = array<i64: 1>, keepdims = true} : (tensor<8x32xf32>) -> tensor<8x1xf32>
  %d = kiln.sub %x, %mean : (tensor<8x32xf32>, tensor<8x1xf32>) -> tensor<8x32xf32>
  %p = kiln.pow %d, %two : (tensor<8x32xf32>, tensor<f32>) -> tensor<8x32xf32>
  %var = kiln.reduce_mean %p {axes = array<i64: 1>, keepdims = true} : (tensor<8x32xf32>) -> tensor<8x1xf32>
  %ve = kiln.add %var, %eps : (tensor<8x1xf32>, tensor<f32>) -> tensor<8x1xf32>
  %s = kiln.sqrt %ve : tensor<8x1xf32>
  %y = kiln.div %d, %s : (tensor<8x32xf32>, tensor<8x1xf32>) -> tensor<8x32xf32>
  return %y : tensor<8x32xf32>
}

// -----

// A fused QKV projection's K heads: slice, reshape into heads, transpose. By default
// the slice is a region of its own and the reshape stays outside; with view-producers
// the transpose takes both in (they are views once bufferized): one copy.
// CHECK-LABEL: func @qkv_heads
// CHECK: kiln.fusion
// CHECK-NEXT: ^bb0
// CHECK-NEXT: kiln.slice
// CHECK-NEXT: kiln.yield
// CHECK: kiln.reshape
// CHECK: kiln.fusion
// CHECK-NEXT: ^bb0
// CHECK-NEXT: kiln.transpose
// ROWS-LABEL: func @qkv_heads
// VIEWS-LABEL: func @qkv_heads
// VIEWS: kiln.fusion
// VIEWS-NEXT: ^bb0
// VIEWS-NEXT: kiln.slice
// VIEWS-NEXT: kiln.reshape
// VIEWS-NEXT: kiln.transpose
// VIEWS-NEXT: kiln.yield
// VIEWS-NOT: kiln.fusion
func.func @qkv_heads(%qkv: tensor<1x16x96xf32>) -> tensor<1x4x8x16xf32> {
  %k = kiln.slice %qkv {sizes = array<i64: 1, 16, 32>, starts = array<i64: 0, 0, 32>, steps = array<i64: 1, 1, 1>} : (tensor<1x16x96xf32>) -> tensor<1x16x32xf32>
  %h = kiln.reshape %k : tensor<1x16x32xf32> -> tensor<1x16x4x8xf32>
  %t = kiln.transpose %h {perm = array<i64: 0, 2, 3, 1>} : (tensor<1x16x4x8xf32>) -> tensor<1x4x8x16xf32>
  return %t : tensor<1x4x8x16xf32>
}

// -----

// With view-producers a matmul also takes in the transposes it reads (and through them
// their slices and reshapes), so kiln-gpu-library-calls can read the heads in place;
// a reshape right before the matmul stays outside (linalg would fold it into the
// product's loops).
// VIEWS-LABEL: func @heads_product
// VIEWS: kiln.fusion
// VIEWS-NEXT: ^bb0
// VIEWS-NEXT: kiln.slice
// VIEWS-NEXT: kiln.reshape
// VIEWS-NEXT: kiln.transpose
// VIEWS-NEXT: kiln.slice
// VIEWS-NEXT: kiln.reshape
// VIEWS-NEXT: kiln.transpose
// VIEWS-NEXT: kiln.matmul
// VIEWS-NEXT: kiln.yield
// VIEWS-NOT: kiln.fusion
func.func @heads_product(%qkv: tensor<1x16x96xf32>) -> tensor<1x4x16x16xf32> {
  %q = kiln.slice %qkv {sizes = array<i64: 1, 16, 32>, starts = array<i64: 0, 0, 0>, steps = array<i64: 1, 1, 1>} : (tensor<1x16x96xf32>) -> tensor<1x16x32xf32>
  %qh = kiln.reshape %q : tensor<1x16x32xf32> -> tensor<1x16x4x8xf32>
  %qt = kiln.transpose %qh {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x16x4x8xf32>) -> tensor<1x4x16x8xf32>
  %k = kiln.slice %qkv {sizes = array<i64: 1, 16, 32>, starts = array<i64: 0, 0, 32>, steps = array<i64: 1, 1, 1>} : (tensor<1x16x96xf32>) -> tensor<1x16x32xf32>
  %kh = kiln.reshape %k : tensor<1x16x32xf32> -> tensor<1x16x4x8xf32>
  %kt = kiln.transpose %kh {perm = array<i64: 0, 2, 3, 1>} : (tensor<1x16x4x8xf32>) -> tensor<1x4x8x16xf32>
  %s = kiln.matmul %qt, %kt : (tensor<1x4x16x8xf32>, tensor<1x4x8x16xf32>) -> tensor<1x4x16x16xf32>
  return %s : tensor<1x4x16x16xf32>
}

// -----

// With views, a transpose takes in the matmul it permutes (the heads put back side by
// side), so kiln-gpu-library-calls can have cuBLASLt write through its strides; the
// reshape after it stays outside. Without, they are regions of their own.
// CHECK-LABEL: func @heads_put_back
// CHECK: kiln.fusion
// CHECK-NEXT: ^bb0
// CHECK-NEXT: kiln.matmul
// CHECK-NEXT: kiln.yield
// CHECK: kiln.fusion
// CHECK-NEXT: ^bb0
// CHECK-NEXT: kiln.transpose
// CHECK-NEXT: kiln.yield
// VIEWS-LABEL: func @heads_put_back
// VIEWS: kiln.fusion
// VIEWS-NEXT: ^bb0
// VIEWS-NEXT: kiln.matmul
// VIEWS-NEXT: kiln.transpose
// VIEWS-NEXT: kiln.yield
// VIEWS-NOT: kiln.fusion
// VIEWS: kiln.reshape
func.func @heads_put_back(%p: tensor<1x4x16x16xf32>, %v: tensor<1x4x16x8xf32>) -> tensor<1x16x32xf32> {
  %o = kiln.matmul %p, %v : (tensor<1x4x16x16xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32>
  %t = kiln.transpose %o {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x4x16x8xf32>) -> tensor<1x16x4x8xf32>
  %c = kiln.reshape %t : tensor<1x16x4x8xf32> -> tensor<1x16x32xf32>
  return %c : tensor<1x16x32xf32>
}

// -----

// A matmul whose result is also used elsewhere stays a region of its own.
// VIEWS-LABEL: func @product_used_twice
// VIEWS: kiln.fusion
// VIEWS-NEXT: ^bb0
// VIEWS-NEXT: kiln.matmul
// VIEWS-NEXT: kiln.yield
// VIEWS: kiln.fusion
// VIEWS-NEXT: ^bb0
// VIEWS-NEXT: kiln.transpose
// VIEWS-NEXT: kiln.yield
func.func @product_used_twice(%p: tensor<1x4x16x16xf32>, %v: tensor<1x4x16x8xf32>) -> (tensor<1x16x4x8xf32>, tensor<1x4x16x8xf32>) {
  %o = kiln.matmul %p, %v : (tensor<1x4x16x16xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32>
  %t = kiln.transpose %o {perm = array<i64: 0, 2, 1, 3>} : (tensor<1x4x16x8xf32>) -> tensor<1x16x4x8xf32>
  return %t, %o : tensor<1x16x4x8xf32>, tensor<1x4x16x8xf32>
}
