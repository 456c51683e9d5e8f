// RUN: kiln-opt %s -split-input-file -verify-diagnostics
// The verifiers and result-type inference reject malformed ops with clear messages.

func.func @broadcast_mismatch(%a: tensor<2x3xf32>, %b: tensor<4xf32>) -> tensor<2x3xf32> {
  // expected-error@+2 {{shapes are not broadcast-compatible}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.add %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @element_type_mismatch(%a: tensor<3xf32>, %b: tensor<3xi32>) -> tensor<3xf32> {
  // expected-error@+2 {{operand element types differ}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.mul %a, %b : (tensor<3xf32>, tensor<3xi32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @wrong_result_type(%a: tensor<3xf32>) -> tensor<4xf32> {
  // expected-error@+2 {{'kiln.add' op inferred type(s) 'tensor<3xf32>' are incompatible with return type(s) of operation 'tensor<4xf32>'}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.add %a, %a : (tensor<3xf32>, tensor<3xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

func.func @matmul_contraction(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) -> tensor<2x5xf32> {
  // expected-error@+2 {{contracting dimensions differ: 3 vs 4}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.matmul %a, %b : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

func.func @conv_groups(%x: tensor<1x4x8x8xf32>, %w: tensor<8x3x3x3xf32>) -> tensor<1x8x6x6xf32> {
  // expected-error@+2 {{channels do not match groups}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.conv %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>,
         pads = array<i64: 0, 0, 0, 0>, groups = 2 : i64}
       : (tensor<1x4x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x6x6xf32>
  return %0 : tensor<1x8x6x6xf32>
}

// -----

func.func @pool_too_large(%x: tensor<1x1x2x2xf32>) -> tensor<1x1x1x1xf32> {
  // expected-error@+2 {{invalid kernel, strides, dilations or pads}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.max_pool %x {kernel_shape = array<i64: 3, 3>, strides = array<i64: 1, 1>,
         dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, ceil_mode = false}
       : (tensor<1x1x2x2xf32>) -> tensor<1x1x1x1xf32>
  return %0 : tensor<1x1x1x1xf32>
}

// -----

func.func @reshape_count(%x: tensor<2x3xf32>) -> tensor<7xf32> {
  // expected-error@+1 {{element counts differ: 6 vs 7}}
  %0 = kiln.reshape %x : tensor<2x3xf32> -> tensor<7xf32>
  return %0 : tensor<7xf32>
}

// -----

func.func @transpose_perm(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error@+2 {{perm is not a permutation}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.transpose %x {perm = array<i64: 0, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @slice_bounds(%x: tensor<4xf32>) -> tensor<3xf32> {
  // expected-error@+2 {{slice of dimension 0 reads out of bounds}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.slice %x {starts = array<i64: 2>, sizes = array<i64: 3>, steps = array<i64: 1>}
       : (tensor<4xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @reduce_axes(%x: tensor<2x3xf32>) -> tensor<2xf32> {
  // expected-error@+2 {{axes must be sorted, unique and within the input's rank}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.reduce_sum %x {axes = array<i64: 2>, keepdims = false} : (tensor<2x3xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @softmax_axis(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error@+1 {{axis 2 is out of range}}
  %0 = kiln.softmax %x {axis = 2 : i64} : tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @batch_norm_stats(%x: tensor<1x4x2x2xf32>, %s: tensor<3xf32>) -> tensor<1x4x2x2xf32> {
  // expected-error@+1 {{scale, bias, mean and variance must be [C] of the input's type}}
  %0 = kiln.batch_norm %x, %s, %s, %s, %s {epsilon = 1.0e-5 : f64}
       : (tensor<1x4x2x2xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<1x4x2x2xf32>
  return %0 : tensor<1x4x2x2xf32>
}

// -----

func.func @cast_shape(%x: tensor<2xf32>) -> tensor<3xi32> {
  // expected-error@+1 {{input and result shapes differ}}
  %0 = kiln.cast %x : tensor<2xf32> -> tensor<3xi32>
  return %0 : tensor<3xi32>
}

// -----

func.func @fusion_types(%a: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{yielded types must match the results}}
  %r = kiln.fusion (%a) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%x: tensor<4xf32>):
    %c = kiln.constant dense<1.0> : tensor<2xf32>
    kiln.yield %c : tensor<2xf32>
  }
  return %r : tensor<4xf32>
}

// -----

func.func @compare_predicate(%a: tensor<3xf32>) -> tensor<3xi1> {
  // expected-error@+1 {{unknown predicate 'lesser'}}
  %0 = kiln.compare %a, %a {predicate = "lesser"} : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xi1>
  return %0 : tensor<3xi1>
}

// -----

func.func @select_condition(%a: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error@+2 {{condition must be i1}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.select %a, %a, %a : (tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @scatter_updates(%d: tensor<3x4xf32>, %i: tensor<2x1xi64>, %u: tensor<2x3xf32>) -> tensor<3x4xf32> {
  // expected-error@+1 {{updates must be 'tensor<2x4xf32>'}}
  %0 = kiln.scatter_nd %d, %i, %u {reduction = "none"} : (tensor<3x4xf32>, tensor<2x1xi64>, tensor<2x3xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

func.func @scatter_reduction(%d: tensor<3xf32>, %i: tensor<2x1xi64>, %u: tensor<2xf32>) -> tensor<3xf32> {
  // expected-error@+1 {{unknown reduction 'avg'}}
  %0 = kiln.scatter_nd %d, %i, %u {reduction = "avg"} : (tensor<3xf32>, tensor<2x1xi64>, tensor<2xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}
