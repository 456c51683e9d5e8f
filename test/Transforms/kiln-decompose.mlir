// RUN: kiln-opt %s -split-input-file -kiln-decompose | FileCheck %s

// With constant statistics, batch normalization folds to one multiply and one add by
// per-channel constants shaped to broadcast over the spatial dimensions.
// CHECK-LABEL: func @constant_stats
// CHECK-SAME: (%[[X:.+]]: tensor<1x2x4x4xf32>)
// CHECK-DAG: %[[K:.+]] = kiln.constant dense<{{\[\[\[}}2.000000e+00]], {{\[\[}}5.000000e-01]]]> : tensor<2x1x1xf32>
// CHECK-DAG: %[[C:.+]] = kiln.constant dense<{{\[\[\[}}-1.000000e+00]], {{\[\[}}1.000000e+00]]]> : tensor<2x1x1xf32>
// CHECK: %[[M:.+]] = kiln.mul %[[X]], %[[K]]
// CHECK: kiln.add %[[M]], %[[C]]
// CHECK-NOT: kiln.batch_norm
func.func @constant_stats(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %scale = kiln.constant dense<[2.0, 1.0]> : tensor<2xf32>
  %bias = kiln.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %mean = kiln.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %var = kiln.constant dense<[1.0, 4.0]> : tensor<2xf32>
  %y = kiln.batch_norm %x, %scale, %bias, %mean, %var {epsilon = 0.0 : f64}
       : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}

// -----

// With run-time statistics the same arithmetic stays as ops.
// CHECK-LABEL: func @dynamic_stats
// CHECK: kiln.add %{{.*}}, %{{.*}} : (tensor<3xf32>, tensor<f32>) -> tensor<3xf32>
// CHECK: kiln.sqrt
// CHECK: kiln.div
// CHECK: kiln.reshape %{{.*}} : tensor<3xf32> -> tensor<3x1xf32>
// CHECK: kiln.mul %{{.*}}, %{{.*}} : (tensor<2x3x5xf32>, tensor<3x1xf32>) -> tensor<2x3x5xf32>
func.func @dynamic_stats(%x: tensor<2x3x5xf32>, %s: tensor<3xf32>, %b: tensor<3xf32>, %m: tensor<3xf32>, %v: tensor<3xf32>) -> tensor<2x3x5xf32> {
  %y = kiln.batch_norm %x, %s, %b, %m, %v {epsilon = 1.0e-5 : f64}
       : (tensor<2x3x5xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<2x3x5xf32>
  return %y : tensor<2x3x5xf32>
}
