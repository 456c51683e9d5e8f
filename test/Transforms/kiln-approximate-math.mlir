// RUN: kiln-opt %s -kiln-approximate-math | FileCheck %s

// exp becomes a polynomial in arith ops; tanh and sinh first expand into exp; nothing
// is left for libdevice.
// CHECK-LABEL: func @math
// CHECK-NOT: math.exp
// CHECK-NOT: math.tanh
// CHECK-NOT: math.sinh
// CHECK: arith.mulf
// CHECK: return
func.func @math(%x: f32) -> (f32, f32, f32) {
  %e = math.exp %x : f32
  %t = math.tanh %x : f32
  %s = math.sinh %x : f32
  return %e, %t, %s : f32, f32, f32
}
