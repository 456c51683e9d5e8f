// RUN: kiln-opt %s --kiln-gpu-launches-on-cpu | mlir-opt --convert-linalg-to-loops --lower-affine --convert-scf-to-cf --convert-to-llvm --reconcile-unrealized-casts | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_utils | FileCheck %s
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
// CHECK: sizes = [16, 8]
// CHECK-NEXT: {{\[}}[1007, 1000, 1001, 1002, 1003, 1004, 1005, 1006],
// CHECK-NEXT: [1015, 1008, 1009, 1010, 1011, 1012, 1013, 1014],
// CHECK-COUNT-13: [{{.+}}],
// CHECK-NEXT: [1127, 1120, 1121, 1122, 1123, 1124, 1125, 1126]]
// cp.async lands at the wait that retires its group: each of 4 threads copies its
// x (1..4) into shared element t (group 0) and its x + 10 into element t + 4 (group
// 1), and reads them along the way: before any wait both hold the poison (1e+10),
// after wait_group 1 the first has landed and the second not yet, after wait_group 0
// both have.
// CHECK: sizes = [4, 4]
// CHECK-NEXT: {{\[}}[1e+10, 1, 1e+10, 11],
// CHECK-NEXT: [1e+10, 2, 1e+10, 12],
// CHECK-NEXT: [1e+10, 3, 1e+10, 13],
// CHECK-NEXT: [1e+10, 4, 1e+10, 14]]

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

// One warp's mma.sync m16n8k8 on TF32, each lane loading its fragments as PTX lays
// them out (g = lane / 4, t = lane % 4; A: (g, t), (g + 8, t), (g, t + 4),
// (g + 8, t + 4); B: (t, g), (t + 4, g); C and D: (g, 2t), (g, 2t + 1), (g + 8, 2t),
// (g + 8, 2t + 1)). A(r, k) = 8r + k, B shifts the columns right by one
// (B(k, n) = 1 where n = k + 1 mod 8) and C = 1000, so row r of D is
// 1000 + (8r + 7, 8r, 8r + 1, ..., 8r + 6).
func.func @warp_mma() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c32 = arith.constant 32 : index
  %one = arith.constant 1.0 : f32
  %zero = arith.constant 0.0 : f32
  %base = arith.constant 1000.0 : f32
  %a = memref.alloc() : memref<16x8xf32>
  %b = memref.alloc() : memref<8x8xf32>
  %d = memref.alloc() : memref<16x8xf32>
  scf.for %r = %c0 to %c16 step %c1 {
    scf.for %k = %c0 to %c8 step %c1 {
      %v = affine.apply affine_map<(r, k) -> (r * 8 + k)>(%r, %k)
      %i = arith.index_cast %v : index to i32
      %f = arith.sitofp %i : i32 to f32
      memref.store %f, %a[%r, %k] : memref<16x8xf32>
    }
  }
  scf.for %k = %c0 to %c8 step %c1 {
    scf.for %n = %c0 to %c8 step %c1 {
      %k1 = affine.apply affine_map<(k) -> ((k + 1) mod 8)>(%k)
      %hit = arith.cmpi eq, %n, %k1 : index
      %v = arith.select %hit, %one, %zero : f32
      memref.store %v, %b[%k, %n] : memref<8x8xf32>
    }
  }
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%lane, %ty, %tz) in (%tx = %c32, %bty = %c1, %btz = %c1) {
    %g = arith.divui %lane, %c4 : index
    %t = arith.remui %lane, %c4 : index
    %g8 = arith.addi %g, %c8 : index
    %t4 = arith.addi %t, %c4 : index
    %a0f = memref.load %a[%g, %t] : memref<16x8xf32>
    %a1f = memref.load %a[%g8, %t] : memref<16x8xf32>
    %a2f = memref.load %a[%g, %t4] : memref<16x8xf32>
    %a3f = memref.load %a[%g8, %t4] : memref<16x8xf32>
    %b0f = memref.load %b[%t, %g] : memref<8x8xf32>
    %b1f = memref.load %b[%t4, %g] : memref<8x8xf32>
    %a0 = arith.bitcast %a0f : f32 to i32
    %a1 = arith.bitcast %a1f : f32 to i32
    %a2 = arith.bitcast %a2f : f32 to i32
    %a3 = arith.bitcast %a3f : f32 to i32
    %b0 = arith.bitcast %b0f : f32 to i32
    %b1 = arith.bitcast %b1f : f32 to i32
    %mma = nvvm.mma.sync A[%a0, %a1, %a2, %a3] B[%b0, %b1] C[%base, %base, %base, %base]
      {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>,
       multiplicandAPtxType = #nvvm.mma_type<tf32>, multiplicandBPtxType = #nvvm.mma_type<tf32>,
       shape = #nvvm.shape<m = 16, n = 8, k = 8>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
    %d0 = llvm.extractvalue %mma[0] : !llvm.struct<(f32, f32, f32, f32)>
    %d1 = llvm.extractvalue %mma[1] : !llvm.struct<(f32, f32, f32, f32)>
    %d2 = llvm.extractvalue %mma[2] : !llvm.struct<(f32, f32, f32, f32)>
    %d3 = llvm.extractvalue %mma[3] : !llvm.struct<(f32, f32, f32, f32)>
    %c = arith.muli %t, %c2 : index
    %c1n = arith.addi %c, %c1 : index
    memref.store %d0, %d[%g, %c] : memref<16x8xf32>
    memref.store %d1, %d[%g, %c1n] : memref<16x8xf32>
    memref.store %d2, %d[%g8, %c] : memref<16x8xf32>
    memref.store %d3, %d[%g8, %c1n] : memref<16x8xf32>
    gpu.terminator
  }
  %u = memref.cast %d : memref<16x8xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  memref.dealloc %a : memref<16x8xf32>
  memref.dealloc %b : memref<8x8xf32>
  memref.dealloc %d : memref<16x8xf32>
  return
}

func.func @async_waits() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %one = arith.constant 1.0 : f32
  %seven = arith.constant 7.0 : f32
  %x = memref.alloc() : memref<8xf32>
  %out = memref.alloc() : memref<4x4xf32>
  scf.for %i = %c0 to %c8 step %c1 {
    %i32 = arith.index_cast %i : index to i32
    %f = arith.sitofp %i32 : i32 to f32
    %low = arith.cmpi ult, %i, %c4 : index
    %add = arith.select %low, %one, %seven : f32
    %v = arith.addf %f, %add : f32
    memref.store %v, %x[%i] : memref<8xf32>
  }
  gpu.launch blocks(%b, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%t, %ty, %tz) in (%bx = %c4, %bty = %c1, %btz = %c1)
             workgroup(%s : memref<8xf32, #gpu.address_space<workgroup>>) {
    %t4 = arith.addi %t, %c4 : index
    %first = nvgpu.device_async_copy %x[%t], %s[%t], 1 : memref<8xf32> to memref<8xf32, #gpu.address_space<workgroup>>
    nvvm.cp.async.commit.group
    %second = nvgpu.device_async_copy %x[%t4], %s[%t4], 1 : memref<8xf32> to memref<8xf32, #gpu.address_space<workgroup>>
    nvvm.cp.async.commit.group
    %early = memref.load %s[%t] : memref<8xf32, #gpu.address_space<workgroup>>
    memref.store %early, %out[%t, %c0] : memref<4x4xf32>
    nvvm.cp.async.wait.group 1
    %landed = memref.load %s[%t] : memref<8xf32, #gpu.address_space<workgroup>>
    memref.store %landed, %out[%t, %c1] : memref<4x4xf32>
    %pending = memref.load %s[%t4] : memref<8xf32, #gpu.address_space<workgroup>>
    memref.store %pending, %out[%t, %c2] : memref<4x4xf32>
    nvvm.cp.async.wait.group 0
    %last = memref.load %s[%t4] : memref<8xf32, #gpu.address_space<workgroup>>
    memref.store %last, %out[%t, %c3] : memref<4x4xf32>
    gpu.terminator
  }
  %u = memref.cast %out : memref<4x4xf32> to memref<*xf32>
  call @printMemrefF32(%u) : (memref<*xf32>) -> ()
  memref.dealloc %x : memref<8xf32>
  memref.dealloc %out : memref<4x4xf32>
  return
}

func.func @main() {
  %false = arith.constant false
  %true = arith.constant true
  call @flag_then_read(%false) : (i1) -> ()
  call @flag_then_read(%true) : (i1) -> ()
  call @neighbour_sums(%true) : (i1) -> ()
  call @neighbour_sums(%false) : (i1) -> ()
  call @warp_mma() : () -> ()
  call @async_waits() : () -> ()
  return
}
