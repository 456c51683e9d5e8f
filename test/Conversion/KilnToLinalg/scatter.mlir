// RUN: kiln-opt %s -split-input-file -convert-kiln-to-linalg | FileCheck %s
// scatter_nd is a loop over the index rows carrying the result tensor.

// CHECK-LABEL: func @scatter_elements
// CHECK: scf.for %[[ROW:.+]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.+]] = %arg0) -> (tensor<3x4xf32>)
// CHECK: tensor.extract %{{.*}}[%[[ROW]], %{{.*}}] : tensor<2x2xi64>
// CHECK: %[[OLD:.+]] = tensor.extract %[[ACC]]
// CHECK: %[[SUM:.+]] = arith.addf %[[OLD]]
// CHECK: %[[NEW:.+]] = tensor.insert %[[SUM]] into %[[ACC]]
// CHECK: scf.yield %[[NEW]]
func.func @scatter_elements(%data: tensor<3x4xf32>, %idx: tensor<2x2xi64>, %upd: tensor<2xf32>) -> tensor<3x4xf32> {
  %0 = kiln.scatter_nd %data, %idx, %upd {reduction = "add"} : (tensor<3x4xf32>, tensor<2x2xi64>, tensor<2xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

// Row slices are inserted whole.
// CHECK-LABEL: func @scatter_rows
// CHECK: scf.for
// CHECK: %[[SLICE:.+]] = tensor.extract_slice %{{.*}}[%{{.*}}, 0] [1, 4] [1, 1] : tensor<2x4xf32> to tensor<4xf32>
// CHECK: tensor.insert_slice %[[SLICE]] into %{{.*}}[%{{.*}}, 0] [1, 4] [1, 1] : tensor<4xf32> into tensor<3x4xf32>
func.func @scatter_rows(%data: tensor<3x4xf32>, %idx: tensor<2x1xi64>, %upd: tensor<2x4xf32>) -> tensor<3x4xf32> {
  %0 = kiln.scatter_nd %data, %idx, %upd {reduction = "none"} : (tensor<3x4xf32>, tensor<2x1xi64>, tensor<2x4xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}
