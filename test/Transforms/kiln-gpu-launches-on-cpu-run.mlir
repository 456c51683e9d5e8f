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

// A loop whose body has a barrier, with shared memory: each of 2 iterations, every
// thread stores its value (1..4, then 11..14) in the block's shared array, and after
// the barrier adds its right neighbour's to its sum. With a barrier at the top of the
// body too, the sums are 2+12, 3+13, 4+14, 1+11 in both blocks. Without it, nothing
// stops a thread from storing its next value while its left neighbour has yet to
// read the last one: the end of one iteration and the start of the next are one
// phase, so in each block some threads read a neighbour's next value: thread 3 its
// 11 in the even block (threads in order), threads 2, 1 and 0 theirs in the odd one.
// CHECK: sizes = [2, 4]
// CHECK-NEXT: {{\[}}[14, 16, 18, 12],
// CHECK-NEXT: [14, 16, 18, 12]]
// CHECK: sizes = [2, 4]
// CHECK-NEXT: {{\[}}[14, 16, 18, 22],
// CHECK-NEXT: [24, 26, 28, 12]]

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

func.func @neighbour_sums(%top_barrier: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %zero = arith.constant 0.0 : f32
  %ten = arith.constant 10.0 : f32
  %out = memref.alloc() : memref<2x4xf32>
  scf.if %top_barrier {
    gpu.launch blocks(%b, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
               threads(%t, %ty, %tz) in (%bx = %c4, %bty = %c1, %btz = %c1)
               workgroup(%shared : memref<4xf32, #gpu.address_space<workgroup>>) {
      %t1 = arith.addi %t, %c1 : index
      %right = arith.remui %t1, %c4 : index
      %ti = arith.index_cast %t1 : index to i32
      %first = arith.sitofp %ti : i32 to f32
      %sum:2 = scf.for %i = %c0 to %c2 step %c1 iter_args(%acc = %zero, %v = %first) -> (f32, f32) {
        gpu.barrier
        memref.store %v, %shared[%t] : memref<4xf32, #gpu.address_space<workgroup>>
        gpu.barrier
        %n = memref.load %shared[%right] : memref<4xf32, #gpu.address_space<workgroup>>
        %a = arith.addf %acc, %n : f32
        %next = arith.addf %v, %ten : f32
        scf.yield %a, %next : f32, f32
      }
      memref.store %sum#0, %out[%b, %t] : memref<2x4xf32>
      gpu.terminator
    }
  } else {
    gpu.launch blocks(%b, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
               threads(%t, %ty, %tz) in (%bx = %c4, %bty = %c1, %btz = %c1)
               workgroup(%shared : memref<4xf32, #gpu.address_space<workgroup>>) {
      %t1 = arith.addi %t, %c1 : index
      %right = arith.remui %t1, %c4 : index
      %ti = arith.index_cast %t1 : index to i32
      %first = arith.sitofp %ti : i32 to f32
      %sum:2 = scf.for %i = %c0 to %c2 step %c1 iter_args(%acc = %zero, %v = %first) -> (f32, f32) {
        memref.store %v, %shared[%t] : memref<4xf32, #gpu.address_space<workgroup>>
        gpu.barrier
        %n = memref.load %shared[%right] : memref<4xf32, #gpu.address_space<workgroup>>
        %a = arith.addf %acc, %n : f32
        %next = arith.addf %v, %ten : f32
        scf.yield %a, %next : f32, f32
      }
      memref.store %sum#0, %out[%b, %t] : memref<2x4xf32>
      gpu.terminator
    }
  }
  %u = memref.cast %out : memref<2x4xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  memref.dealloc %out : memref<2x4xf32>
  return
}

func.func @main() {
  %false = arith.constant false
  %true = arith.constant true
  call @flag_then_read(%false) : (i1) -> ()
  call @flag_then_read(%true) : (i1) -> ()
  call @neighbour_sums(%true) : (i1) -> ()
  call @neighbour_sums(%false) : (i1) -> ()
  return
}
