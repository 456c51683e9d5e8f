// RUN: kiln-opt %s --kiln-approximate-math | mlir-opt --convert-scf-to-cf --convert-math-to-llvm --convert-math-to-libm --convert-to-llvm --reconcile-unrealized-casts | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_utils | FileCheck %s
// The f64 exp and log expansions against the C library, run on this machine: the
// largest relative error of exp over 200000 points of [-745, 709.7], of log over
// 200000 points 2^t, t in [-1074, 1023] (subnormals included), then the edge cases.
// CHECK: {{^[0-9.]+e-(1[6-9])$}}
// CHECK-NEXT: {{^[0-9.]+e-(1[6-9])$}}
// exp: 710 overflows, -746 underflows, -740 is subnormal, NaN, -inf, +inf.
// CHECK-NEXT: inf
// CHECK-NEXT: 0
// CHECK-NEXT: 4.19956e-322
// CHECK-NEXT: nan
// CHECK-NEXT: 0
// CHECK-NEXT: inf
// log: 0, -1, +inf, the smallest subnormal, 1.
// CHECK-NEXT: -inf
// CHECK-NEXT: nan
// CHECK-NEXT: inf
// CHECK-NEXT: -744.44
// CHECK-NEXT: 0
func.func private @printF64(f64)
func.func private @printNewline()
func.func private @exp(f64) -> f64
func.func private @log(f64) -> f64
func.func @approx_exp(%x: f64) -> f64 {
  %e = math.exp %x : f64
  return %e : f64
}
func.func @approx_log(%x: f64) -> f64 {
  %e = math.log %x : f64
  return %e : f64
}
func.func @relerr(%a: f64, %b: f64) -> f64 {
  %d = arith.subf %a, %b : f64
  %ad = math.absf %d : f64
  %ab = math.absf %b : f64
  %tiny = arith.constant 1.0e-300 : f64
  %den = arith.maximumf %ab, %tiny : f64
  %r = arith.divf %ad, %den : f64
  return %r : f64
}
func.func @main() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 200000 : index
  %zero = arith.constant 0.0 : f64
  // exp over [-745, 709.7]
  %lo = arith.constant -745.0 : f64
  %step = arith.constant 0.0072735 : f64
  %m1 = scf.for %i = %c0 to %n step %c1 iter_args(%m = %zero) -> f64 {
    %ii = arith.index_cast %i : index to i64
    %fi = arith.sitofp %ii : i64 to f64
    %x0 = arith.mulf %fi, %step : f64
    %x = arith.addf %x0, %lo : f64
    %a = func.call @approx_exp(%x) : (f64) -> f64
    %b = func.call @exp(%x) : (f64) -> f64
    %r = func.call @relerr(%a, %b) : (f64, f64) -> f64
    %nm = arith.maximumf %m, %r : f64
    scf.yield %nm : f64
  }
  func.call @printF64(%m1) : (f64) -> ()
  func.call @printNewline() : () -> ()
  // log over x = 2^t, t in [-1074, 1023], with a wobbling mantissa
  %tlo = arith.constant -1074.0 : f64
  %tstep = arith.constant 0.0104857 : f64
  %m2 = scf.for %i = %c0 to %n step %c1 iter_args(%m = %zero) -> f64 {
    %ii = arith.index_cast %i : index to i64
    %fi = arith.sitofp %ii : i64 to f64
    %t0 = arith.mulf %fi, %tstep : f64
    %t = arith.addf %t0, %tlo : f64
    %x = math.exp2 %t : f64
    %a = func.call @approx_log(%x) : (f64) -> f64
    %b = func.call @log(%x) : (f64) -> f64
    %d = arith.subf %a, %b : f64
    %ad = math.absf %d : f64
    // absolute error relative to max(|log x|, 1): log near 1 is small
    %ab = math.absf %b : f64
    %one = arith.constant 1.0 : f64
    %den = arith.maximumf %ab, %one : f64
    %r = arith.divf %ad, %den : f64
    %nm = arith.maximumf %m, %r : f64
    scf.yield %nm : f64
  }
  func.call @printF64(%m2) : (f64) -> ()
  func.call @printNewline() : () -> ()
  // specials
  %inf = arith.constant 0x7FF0000000000000 : f64
  %ninf = arith.constant 0xFFF0000000000000 : f64
  %nan = arith.constant 0x7FF8000000000000 : f64
  %neg = arith.constant -1.0 : f64
  %big = arith.constant 710.0 : f64
  %small = arith.constant -746.0 : f64
  %sub = arith.constant -740.0 : f64
  %den1 = arith.constant 4.9406564584124654e-324 : f64
  %one1 = arith.constant 1.0 : f64
  %e1 = func.call @approx_exp(%big) : (f64) -> f64
  func.call @printF64(%e1) : (f64) -> ()
  func.call @printNewline() : () -> ()
  %e2 = func.call @approx_exp(%small) : (f64) -> f64
  func.call @printF64(%e2) : (f64) -> ()
  func.call @printNewline() : () -> ()
  %e3 = func.call @approx_exp(%sub) : (f64) -> f64
  func.call @printF64(%e3) : (f64) -> ()
  func.call @printNewline() : () -> ()
  %e4 = func.call @approx_exp(%nan) : (f64) -> f64
  func.call @printF64(%e4) : (f64) -> ()
  func.call @printNewline() : () -> ()
  %e5 = func.call @approx_exp(%ninf) : (f64) -> f64
  func.call @printF64(%e5) : (f64) -> ()
  func.call @printNewline() : () -> ()
  %e6 = func.call @approx_exp(%inf) : (f64) -> f64
  func.call @printF64(%e6) : (f64) -> ()
  func.call @printNewline() : () -> ()
  %l1 = func.call @approx_log(%zero) : (f64) -> f64
  func.call @printF64(%l1) : (f64) -> ()
  func.call @printNewline() : () -> ()
  %l2 = func.call @approx_log(%neg) : (f64) -> f64
  func.call @printF64(%l2) : (f64) -> ()
  func.call @printNewline() : () -> ()
  %l3 = func.call @approx_log(%inf) : (f64) -> f64
  func.call @printF64(%l3) : (f64) -> ()
  func.call @printNewline() : () -> ()
  %l4 = func.call @approx_log(%den1) : (f64) -> f64
  func.call @printF64(%l4) : (f64) -> ()
  func.call @printNewline() : () -> ()
  %l5 = func.call @approx_log(%one1) : (f64) -> f64
  func.call @printF64(%l5) : (f64) -> ()
  func.call @printNewline() : () -> ()
  return
}
