// RUN: kiln-opt %s --kiln-gpu-launches-on-cpu | mlir-opt --convert-linalg-to-loops --convert-scf-to-cf --convert-to-llvm --reconcile-unrealized-casts | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_utils | FileCheck %s
// kiln-gpu-launches-on-cpu run: thread 0 of each of two blocks stores a flag that
// every thread of its block then reads. Without a barrier between, that is a race:
// the even block (threads in order) happens to see the flag everywhere, the odd block
// (threads last first) shows the stale value to threads 3, 2 and 1, so tests on the
// CPU fail as the GPU might. With the barrier, every thread sees the flag.
// CHECK: sizes = [2, 4]
// CHECK-NEXT: {{\[}}[1, 1, 1, 1],
// CHECK-NEXT: [1, 0, 0, 0]]
// CHECK: sizes = [2, 4]
// CHECK-NEXT: {{\[}}[1, 1, 1, 1],
// CHECK-NEXT: [1, 1, 1, 1]]

func.func private @printMemrefF32(memref<*xf32>)

func.func @flag_then_read(%barrier: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0.0 : f32
  %flag = arith.constant 1.0 : f32
  %shared = memref.alloc() : memref<2xf32>
  %out = memref.alloc() : memref<2x4xf32>
  linalg.fill ins(%zero : f32) outs(%shared : memref<2xf32>)
  scf.if %barrier {
    gpu.launch blocks(%b, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
               threads(%t, %ty, %tz) in (%bx = %c4, %bty = %c1, %btz = %c1) {
      %first = arith.cmpi eq, %t, %c0 : index
      scf.if %first {
        memref.store %flag, %shared[%b] : memref<2xf32>
      }
      gpu.barrier
      %seen = memref.load %shared[%b] : memref<2xf32>
      memref.store %seen, %out[%b, %t] : memref<2x4xf32>
      gpu.terminator
    }
  } else {
    gpu.launch blocks(%b, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
               threads(%t, %ty, %tz) in (%bx = %c4, %bty = %c1, %btz = %c1) {
      %first = arith.cmpi eq, %t, %c0 : index
      scf.if %first {
        memref.store %flag, %shared[%b] : memref<2xf32>
      }
      %seen = memref.load %shared[%b] : memref<2xf32>
      memref.store %seen, %out[%b, %t] : memref<2x4xf32>
      gpu.terminator
    }
  }
  %u = memref.cast %out : memref<2x4xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  memref.dealloc %shared : memref<2xf32>
  memref.dealloc %out : memref<2x4xf32>
  return
}

func.func @main() {
  %false = arith.constant false
  %true = arith.constant true
  call @flag_then_read(%false) : (i1) -> ()
  call @flag_then_read(%true) : (i1) -> ()
  return
}
