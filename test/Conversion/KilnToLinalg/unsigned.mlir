// RUN: kiln-opt %s -convert-kiln-to-linalg | FileCheck %s
// Unsigned integers become signless, and the ops that read or produce them lower to
// unsigned division, comparison, extension, conversion, max and shifts.

// CHECK-LABEL: func @unsigned_ops
// CHECK-SAME: (%{{.*}}: tensor<4xi8>, %{{.*}}: tensor<4xi8>) -> (tensor<4xi8>, tensor<4xi1>, tensor<4xf32>, tensor<4xi32>, tensor<4xi8>, tensor<i8>, tensor<4xi8>)
func.func @unsigned_ops(%a: tensor<4xui8>, %b: tensor<4xui8>)
    -> (tensor<4xui8>, tensor<4xi1>, tensor<4xf32>, tensor<4xi32>, tensor<4xui8>, tensor<ui8>, tensor<4xui8>) {
  // CHECK: arith.divui
  %div = kiln.div %a, %b : (tensor<4xui8>, tensor<4xui8>) -> tensor<4xui8>
  // CHECK: arith.cmpi ult
  %lt = kiln.compare %a, %b {predicate = "lt"} : (tensor<4xui8>, tensor<4xui8>) -> tensor<4xi1>
  // CHECK: arith.uitofp
  %f = kiln.cast %a : tensor<4xui8> -> tensor<4xf32>
  // CHECK: arith.extui
  %w = kiln.cast %a : tensor<4xui8> -> tensor<4xi32>
  // CHECK: arith.maxui
  %max = kiln.max %a, %b : (tensor<4xui8>, tensor<4xui8>) -> tensor<4xui8>
  // The identity of an unsigned max reduction is 0, not -128.
  // CHECK: %[[ZERO:.+]] = arith.constant 0 : i8
  // CHECK: linalg.fill ins(%[[ZERO]] : i8)
  // CHECK: arith.maxui
  %rmax = kiln.reduce_max %a {axes = array<i64: 0>, keepdims = false} : (tensor<4xui8>) -> tensor<ui8>
  // CHECK: arith.cmpi ugt
  // CHECK: arith.shrui
  %shr = kiln.shift_right %a, %b : (tensor<4xui8>, tensor<4xui8>) -> tensor<4xui8>
  return %div, %lt, %f, %w, %max, %rmax, %shr : tensor<4xui8>, tensor<4xi1>, tensor<4xf32>, tensor<4xi32>, tensor<4xui8>, tensor<ui8>, tensor<4xui8>
}
