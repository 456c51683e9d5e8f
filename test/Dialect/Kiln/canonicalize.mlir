// RUN: kiln-opt %s -split-input-file -canonicalize | FileCheck %s
// Folders evaluate constants and remove identities.

// CHECK-LABEL: func @fold_constants
func.func @fold_constants() -> tensor<2xf32> {
  // CHECK: %[[C:.+]] = kiln.constant dense<[1.200000e+01, 2.000000e+01]> : tensor<2xf32>
  // CHECK-NEXT: return %[[C]]
  %a = kiln.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %b = kiln.constant dense<3.0> : tensor<f32>
  %s = kiln.add %a, %b : (tensor<2xf32>, tensor<f32>) -> tensor<2xf32>
  %m = kiln.mul %s, %s : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %r = kiln.sqrt %m : tensor<2xf32>
  %t = kiln.mul %r, %r : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %q = kiln.sub %t, %s : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %u = kiln.mul %q, %q : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %v = kiln.sqrt %u : tensor<2xf32>
  %w = kiln.add %v, %v : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %x = kiln.sub %w, %v : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %y = kiln.sqrt %x : tensor<2xf32>
  %z = kiln.mul %y, %y : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %z : tensor<2xf32>
}

// -----

// CHECK-LABEL: func @identities
// CHECK-SAME: (%[[X:.+]]: tensor<2x3xf32>)
func.func @identities(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // CHECK-NOT: kiln.
  // CHECK: return %[[X]]
  %zero = kiln.constant dense<0.0> : tensor<2x3xf32>
  %one = kiln.constant dense<1.0> : tensor<3xf32>
  %a = kiln.add %x, %zero : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %m = kiln.mul %a, %one : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %r = kiln.reshape %m : tensor<2x3xf32> -> tensor<2x3xf32>
  %t = kiln.transpose %r {perm = array<i64: 0, 1>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %t : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func @compose
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x4xf32>)
func.func @compose(%x: tensor<2x3x4xf32>) -> (tensor<4x2x3xf32>, tensor<24xf32>) {
  // CHECK: kiln.transpose %[[X]] {perm = array<i64: 2, 0, 1>}
  %a = kiln.transpose %x {perm = array<i64: 1, 0, 2>} : (tensor<2x3x4xf32>) -> tensor<3x2x4xf32>
  %b = kiln.transpose %a {perm = array<i64: 2, 1, 0>} : (tensor<3x2x4xf32>) -> tensor<4x2x3xf32>
  // CHECK: kiln.reshape %[[X]] : tensor<2x3x4xf32> -> tensor<24xf32>
  %r = kiln.reshape %x : tensor<2x3x4xf32> -> tensor<6x4xf32>
  %s = kiln.reshape %r : tensor<6x4xf32> -> tensor<24xf32>
  return %b, %s : tensor<4x2x3xf32>, tensor<24xf32>
}

// -----

// Shape arithmetic on constants folds away, as exported models need.
// CHECK-LABEL: func @shape_math
func.func @shape_math() -> tensor<3xi64> {
  // CHECK: kiln.constant dense<[6, 2, 5]> : tensor<3xi64>
  %shape = kiln.constant dense<[2, 5, 6]> : tensor<3xi64>
  %i = kiln.constant dense<[2, 0, 1]> : tensor<3xi64>
  %g = kiln.gather %shape, %i {axis = 0 : i64} : (tensor<3xi64>, tensor<3xi64>) -> tensor<3xi64>
  %s1 = kiln.slice %g {starts = array<i64: 0>, sizes = array<i64: 2>, steps = array<i64: 1>} : (tensor<3xi64>) -> tensor<2xi64>
  %s2 = kiln.slice %g {starts = array<i64: 2>, sizes = array<i64: 1>, steps = array<i64: 1>} : (tensor<3xi64>) -> tensor<1xi64>
  %c = kiln.concat %s1, %s2 {axis = 0 : i64} : (tensor<2xi64>, tensor<1xi64>) -> tensor<3xi64>
  %f = kiln.cast %c : tensor<3xi64> -> tensor<3xf32>
  %b = kiln.cast %f : tensor<3xf32> -> tensor<3xi64>
  return %b : tensor<3xi64>
}

// -----

// Comparisons and selects on constants fold, as exported shape subgraphs need.
// CHECK-LABEL: func @select_fold
func.func @select_fold() -> tensor<3xi64> {
  // CHECK: kiln.constant dense<[7, 5, 7]> : tensor<3xi64>
  %a = kiln.constant dense<[1, 5, 9]> : tensor<3xi64>
  %b = kiln.constant dense<5> : tensor<i64>
  %c = kiln.compare %a, %b {predicate = "eq"} : (tensor<3xi64>, tensor<i64>) -> tensor<3xi1>
  %n = kiln.not %c : tensor<3xi1>
  %seven = kiln.constant dense<7> : tensor<i64>
  %s = kiln.select %n, %seven, %a : (tensor<3xi1>, tensor<i64>, tensor<3xi64>) -> tensor<3xi64>
  return %s : tensor<3xi64>
}

// -----

// CHECK-LABEL: func @fold_mod
func.func @fold_mod() -> (tensor<4xi32>, tensor<4xi32>) {
  // CHECK-DAG: kiln.constant dense<[1, -2, 2, -1]> : tensor<4xi32>
  // CHECK-DAG: kiln.constant dense<[1, 1, -1, -1]> : tensor<4xi32>
  %a = kiln.constant dense<[7, 7, -7, -7]> : tensor<4xi32>
  %b = kiln.constant dense<[3, -3, 3, -3]> : tensor<4xi32>
  %m = kiln.mod %a, %b : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  %r = kiln.rem %a, %b : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  return %m, %r : tensor<4xi32>, tensor<4xi32>
}
