// RUN: kiln-opt %s -split-input-file | kiln-opt | FileCheck %s
// Every kiln op parses, verifies, prints and parses again.

// CHECK-LABEL: func @elementwise
func.func @elementwise(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> tensor<2x3xf32> {
  // CHECK: kiln.add %{{.*}}, %{{.*}} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %0 = kiln.add %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %1 = kiln.sub %0, %a : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %2 = kiln.mul %1, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %3 = kiln.div %2, %a : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %4 = kiln.pow %3, %a : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %5 = kiln.max %4, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %6 = kiln.min %5, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: kiln.neg
  %7 = kiln.neg %6 : tensor<2x3xf32>
  %8 = kiln.abs %7 : tensor<2x3xf32>
  %9 = kiln.exp %8 : tensor<2x3xf32>
  %10 = kiln.log %9 : tensor<2x3xf32>
  %11 = kiln.sqrt %10 : tensor<2x3xf32>
  %12 = kiln.reciprocal %11 : tensor<2x3xf32>
  %13 = kiln.tanh %12 : tensor<2x3xf32>
  %14 = kiln.sigmoid %13 : tensor<2x3xf32>
  %15 = kiln.relu %14 : tensor<2x3xf32>
  %16 = kiln.erf %15 : tensor<2x3xf32>
  %17 = kiln.floor %16 : tensor<2x3xf32>
  %18 = kiln.ceil %17 : tensor<2x3xf32>
  // CHECK: kiln.clip %{{.*}} {max = 6.000000e+00 : f64, min = 0.000000e+00 : f64}
  %19 = kiln.clip %18 {min = 0.0 : f64, max = 6.0 : f64} : tensor<2x3xf32>
  return %19 : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func @constants_and_casts
func.func @constants_and_casts() -> tensor<2xi32> {
  // CHECK: kiln.constant dense<[1.500000e+00, -2.500000e+00]> : tensor<2xf32>
  %0 = kiln.constant dense<[1.5, -2.5]> : tensor<2xf32>
  // CHECK: kiln.cast %{{.*}} : tensor<2xf32> -> tensor<2xi32>
  %1 = kiln.cast %0 : tensor<2xf32> -> tensor<2xi32>
  return %1 : tensor<2xi32>
}

// -----

// CHECK-LABEL: func @nn
func.func @nn(%x: tensor<1x4x8x8xf32>, %w: tensor<8x2x3x3xf32>, %b: tensor<8xf32>,
              %m: tensor<2x3x4xf32>, %n: tensor<4x5xf32>, %s: tensor<4xf32>) -> tensor<1x8x4x4xf32> {
  // CHECK: kiln.matmul %{{.*}}, %{{.*}} : (tensor<2x3x4xf32>, tensor<4x5xf32>) -> tensor<2x3x5xf32>
  %mm = kiln.matmul %m, %n : (tensor<2x3x4xf32>, tensor<4x5xf32>) -> tensor<2x3x5xf32>
  // CHECK: kiln.conv
  %c = kiln.conv %x, %w, %b {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>,
         pads = array<i64: 1, 1, 1, 1>, groups = 2 : i64}
       : (tensor<1x4x8x8xf32>, tensor<8x2x3x3xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
  %p = kiln.max_pool %c {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>,
         dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, ceil_mode = false}
       : (tensor<1x8x8x8xf32>) -> tensor<1x8x4x4xf32>
  %a = kiln.avg_pool %p {kernel_shape = array<i64: 3, 3>, strides = array<i64: 1, 1>,
         pads = array<i64: 1, 1, 1, 1>, ceil_mode = false, count_include_pad = false}
       : (tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  %g = kiln.global_avg_pool %a : (tensor<1x8x4x4xf32>) -> tensor<1x8x1x1xf32>
  %bn = kiln.batch_norm %x, %s, %s, %s, %s {epsilon = 1.0e-5 : f64}
       : (tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
  %sm = kiln.softmax %m {axis = 2 : i64} : tensor<2x3x4xf32>
  // CHECK: kiln.reduce_sum %{{.*}} {axes = array<i64: 1>, keepdims = true}
  %r = kiln.reduce_sum %m {axes = array<i64: 1>, keepdims = true} : (tensor<2x3x4xf32>) -> tensor<2x1x4xf32>
  %r2 = kiln.reduce_mean %m {axes = array<i64: 0, 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<3xf32>
  %r3 = kiln.reduce_max %m {axes = array<i64: 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<2x3xf32>
  %r4 = kiln.reduce_min %m {axes = array<i64: 2>, keepdims = false} : (tensor<2x3x4xf32>) -> tensor<2x3xf32>
  return %a : tensor<1x8x4x4xf32>
}

// -----

// CHECK-LABEL: func @data_movement
func.func @data_movement(%x: tensor<2x3x4xf32>, %i: tensor<5xi64>) -> tensor<2x5x4xf32> {
  %t = kiln.transpose %x {perm = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
  %r = kiln.reshape %t : tensor<4x2x3xf32> -> tensor<8x3xf32>
  %c = kiln.concat %x, %x {axis = 1 : i64} : (tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x6x4xf32>
  %s = kiln.slice %c {starts = array<i64: 0, 5, 0>, sizes = array<i64: 2, 3, 2>, steps = array<i64: 1, -2, 2>}
       : (tensor<2x6x4xf32>) -> tensor<2x3x2xf32>
  %p = kiln.pad %x {pads = array<i64: 0, 1, 0, 0, 1, 0>, value = 0.0 : f64} : (tensor<2x3x4xf32>) -> tensor<2x5x4xf32>
  // CHECK: kiln.gather %{{.*}}, %{{.*}} {axis = 1 : i64} : (tensor<2x3x4xf32>, tensor<5xi64>) -> tensor<2x5x4xf32>
  %g = kiln.gather %x, %i {axis = 1 : i64} : (tensor<2x3x4xf32>, tensor<5xi64>) -> tensor<2x5x4xf32>
  return %g : tensor<2x5x4xf32>
}

// -----

// CHECK-LABEL: func @fusion
func.func @fusion(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  // CHECK: kiln.fusion(%{{.*}}, %{{.*}}) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  // CHECK: kiln.yield
  %r = kiln.fusion (%a, %b) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%x: tensor<4xf32>, %y: tensor<4xf32>):
    %s = kiln.add %x, %y : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    kiln.yield %s : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}

// -----

// CHECK-LABEL: func @logic
func.func @logic(%a: tensor<4xf32>, %b: tensor<f32>, %p: tensor<4xi1>) -> tensor<4xf32> {
  // CHECK: kiln.compare %{{.*}}, %{{.*}} {predicate = "lt"} : (tensor<4xf32>, tensor<f32>) -> tensor<4xi1>
  %c = kiln.compare %a, %b {predicate = "lt"} : (tensor<4xf32>, tensor<f32>) -> tensor<4xi1>
  %n = kiln.not %c : tensor<4xi1>
  %x = kiln.and %n, %p : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  %y = kiln.or %x, %p : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  %z = kiln.xor %y, %c : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  // CHECK: kiln.select %{{.*}}, %{{.*}}, %{{.*}} : (tensor<4xi1>, tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %s = kiln.select %z, %a, %b : (tensor<4xi1>, tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  return %s : tensor<4xf32>
}

// -----

// CHECK-LABEL: func @more_ops
func.func @more_ops(%a: tensor<2x3xf32>, %i: tensor<2x3xi64>) -> tensor<2x3xf32> {
  %s = kiln.sin %a : tensor<2x3xf32>
  %c = kiln.acosh %s : tensor<2x3xf32>
  %r = kiln.round %c : tensor<2x3xf32>
  // CHECK: kiln.reduce_prod %{{.*}} {axes = array<i64: 0>, keepdims = false}
  %p = kiln.reduce_prod %r {axes = array<i64: 0>, keepdims = false} : (tensor<2x3xf32>) -> tensor<3xf32>
  // CHECK: kiln.arg_max %{{.*}} {axis = 1 : i64, keepdims = true, select_last_index = false} : (tensor<2x3xf32>) -> tensor<2x1xi64>
  %m = kiln.arg_max %r {axis = 1 : i64, keepdims = true, select_last_index = false} : (tensor<2x3xf32>) -> tensor<2x1xi64>
  %n = kiln.arg_min %r {axis = 0 : i64, keepdims = false, select_last_index = true} : (tensor<2x3xf32>) -> tensor<3xi64>
  // CHECK: kiln.gather_elements %{{.*}}, %{{.*}} {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x3xi64>) -> tensor<2x3xf32>
  %g = kiln.gather_elements %r, %i {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x3xi64>) -> tensor<2x3xf32>
  return %g : tensor<2x3xf32>
}
