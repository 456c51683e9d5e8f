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

// Integer powers: square-and-multiply over the exponent's bits, no call and no loop.
// CHECK-LABEL: func @ipowi
// CHECK-NOT: math.ipowi
// CHECK: arith.shrui
// CHECK: arith.muli
// CHECK: arith.select
// CHECK: return
func.func @ipowi(%x: i32, %n: i32) -> i32 {
  %p = math.ipowi %x, %n : i32
  return %p : i32
}
