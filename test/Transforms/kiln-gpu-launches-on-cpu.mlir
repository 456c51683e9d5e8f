// RUN: kiln-opt %s -kiln-gpu-launches-on-cpu -canonicalize -split-input-file -verify-diagnostics | FileCheck %s

// A block per row, 16 threads striding over its 64 elements: partial sums, their
// all_reduce, the division by the sum, a barrier, then each thread reads an element
// another thread wrote and adds the value it loaded before the barrier. Per block:
// one loop over the threads per phase (odd blocks count them down, 15 to 0); the
// partial sums meet in an array and are combined in thread order after the first
// phase; the value loaded before the barrier is kept per thread (a load is not
// computed again); the sum is one value for the block.
// CHECK-LABEL: func @row_sum
// CHECK-DAG: %[[PARTIALS:.+]] = memref.alloca() : memref<16xf32>
// CHECK-DAG: %[[KEPT:.+]] = memref.alloca() : memref<16xf32>
// CHECK: scf.for %[[B:.+]] = %c0 to %c4 step %c1 {
// CHECK-NEXT: %[[B64:.+]] = arith.index_cast %[[B]] : index to i64
// CHECK-NEXT: %[[ODD:.+]] = arith.trunci %[[B64]] : i64 to i1
// CHECK-NEXT: scf.for %[[I:.+]] = %c0 to %c16 step %c1 {
// CHECK-NEXT: %[[DOWN:.+]] = arith.subi %c15, %[[I]]
// CHECK-NEXT: %[[T:.+]] = arith.select %[[ODD]], %[[DOWN]], %[[I]]
// CHECK-NEXT: %[[P:.+]] = scf.for %{{.+}} = %[[T]] to %c64 step %c16
// CHECK: memref.store %[[P]], %[[PARTIALS]][%[[T]]]
// CHECK-NEXT: }
// CHECK-NEXT: %[[FIRST:.+]] = memref.load %[[PARTIALS]][%c0]
// CHECK-NEXT: %[[SUM:.+]] = scf.for %[[J:.+]] = %c1 to %c16 step %c1 iter_args(%[[ACC:.+]] = %[[FIRST]])
// CHECK-NEXT: %[[NEXT:.+]] = memref.load %[[PARTIALS]][%[[J]]]
// CHECK-NEXT: %[[ADD:.+]] = arith.addf %[[ACC]], %[[NEXT]]
// CHECK-NEXT: scf.yield %[[ADD]]
// CHECK: scf.for
// CHECK: %[[T2:.+]] = arith.select %[[ODD]]
// CHECK-NEXT: %[[OWN:.+]] = memref.load %{{.+}}[%[[B]], %[[T2]]]
// CHECK-NEXT: memref.store %[[OWN]], %[[KEPT]][%[[T2]]]
// CHECK: arith.divf %{{.+}}, %[[SUM]]
// CHECK: scf.for
// CHECK: %[[T3:.+]] = arith.select %[[ODD]]
// CHECK-NEXT: %[[AGAIN:.+]] = memref.load %{{.+}}[%[[B]], %[[T3]]]
// CHECK-NEXT: %[[SAVED:.+]] = memref.load %[[KEPT]][%[[T3]]]
// CHECK-NEXT: arith.addf %[[AGAIN]], %[[SAVED]]
// CHECK-NOT: gpu.
func.func @row_sum(%x: memref<4x64xf32>, %y: memref<4x64xf32>) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  gpu.launch blocks(%b, %by, %bz) in (%gx = %c4, %gy = %c1, %gz = %c1)
             threads(%t, %ty, %tz) in (%bx = %c16, %bty = %c1, %btz = %c1) {
    %partial = scf.for %i = %t to %c64 step %bx iter_args(%acc = %zero) -> (f32) {
      %v = memref.load %x[%b, %i] : memref<4x64xf32>
      %s = arith.addf %acc, %v : f32
      scf.yield %s : f32
    }
    %sum = gpu.all_reduce add %partial uniform {} : (f32) -> f32
    %first = memref.load %x[%b, %t] : memref<4x64xf32>
    scf.for %i = %t to %c64 step %bx {
      %v = memref.load %x[%b, %i] : memref<4x64xf32>
      %d = arith.divf %v, %sum : f32
      memref.store %d, %y[%b, %i] : memref<4x64xf32>
    }
    gpu.barrier
    %again = memref.load %y[%b, %t] : memref<4x64xf32>
    %w = arith.addf %again, %first : f32
    memref.store %w, %y[%b, %t] : memref<4x64xf32>
    gpu.terminator
  }
  return
}

// -----

// Threads that meet inside control flow cannot be cut into phases.
func.func @barrier_in_branch(%x: memref<16xf32>, %c: i1) {
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  gpu.launch blocks(%b, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%t, %ty, %tz) in (%bx = %c16, %bty = %c1, %btz = %c1) {
    // expected-error @+1 {{kiln-gpu-launches-on-cpu: threads meet inside control flow; cannot run on the CPU}}
    scf.if %c {
      gpu.barrier
    }
    gpu.terminator
  }
  return
}

// -----

// An all_reduce with a body.
func.func @reduce_with_body(%x: memref<16xf32>) {
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  gpu.launch blocks(%b, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%t, %ty, %tz) in (%bx = %c16, %bty = %c1, %btz = %c1) {
    %v = memref.load %x[%t] : memref<16xf32>
    // expected-error @+1 {{kiln-gpu-launches-on-cpu: an all_reduce with a body does not run on the CPU}}
    %s = gpu.all_reduce %v {
    ^bb0(%a: f32, %b2: f32):
      %m = arith.addf %a, %b2 : f32
      gpu.yield %m : f32
    } : (f32) -> f32
    memref.store %s, %x[%t] : memref<16xf32>
    gpu.terminator
  }
  return
}

// -----

// A loop with a barrier in its body, over shared memory: the block runs the loop, its
// phases inside; the carried sum is kept per thread, and the shared array is one
// buffer. The body's head (the store before the barrier) of the first iteration runs
// before the loop; each iteration's tail shares its threads' loop with the next
// iteration's head, if any, as no barrier separates them.
// CHECK-LABEL: func @shared_loop
// CHECK-DAG: %[[CARRIED:.+]] = memref.alloca() : memref<4xf32>
// CHECK-DAG: %[[SHARED:.+]] = memref.alloca() {alignment = 16 : i64} : memref<8xf32>
// CHECK: scf.for %[[B:.+]] = %c0 to %c2 step %c1 {
// CHECK: scf.for
// CHECK: %[[X:.+]] = memref.load %arg0[%[[B]], %[[T:.+]]]
// CHECK-NEXT: memref.store %[[X]], %[[CARRIED]][%[[T]]]
// CHECK: scf.for
// CHECK: %[[V:.+]] = memref.load %[[CARRIED]][%[[T1:.+]]]
// CHECK-NEXT: memref.store %[[V]], %[[SHARED]][%[[T1]]]
// CHECK: scf.for %[[I:.+]] = %c0 to %c3 step %c1 {
// CHECK-NEXT: scf.for
// CHECK: %[[N:.+]] = memref.load %[[SHARED]][%c0]
// CHECK-NEXT: %[[ACC:.+]] = memref.load %[[CARRIED]][%[[T2:.+]]]
// CHECK-NEXT: %[[SUM:.+]] = arith.addf %[[ACC]], %[[N]]
// CHECK-NEXT: memref.store %[[SUM]], %[[CARRIED]][%[[T2]]]
// CHECK-NEXT: %[[NEXT:.+]] = arith.addi %[[I]], %c1
// CHECK-NEXT: %[[MORE:.+]] = arith.cmpi slt, %[[NEXT]], %c3
// CHECK-NEXT: scf.if %[[MORE]] {
// CHECK-NEXT: %[[V2:.+]] = memref.load %[[CARRIED]][%[[T2]]]
// CHECK-NEXT: memref.store %[[V2]], %[[SHARED]][%[[T2]]]
// CHECK: scf.for
// CHECK: %[[R:.+]] = memref.load %[[CARRIED]][%[[T3:.+]]]
// CHECK-NEXT: memref.store %[[R]], %arg1[%[[B]], %[[T3]]]
// CHECK-NOT: gpu.
func.func @shared_loop(%x: memref<2x4xf32>, %y: memref<2x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  gpu.launch blocks(%b, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
             threads(%t, %ty, %tz) in (%bx = %c4, %bty = %c1, %btz = %c1)
             workgroup(%shared : memref<8xf32, #gpu.address_space<workgroup>>) {
    %v = memref.load %x[%b, %t] : memref<2x4xf32>
    %s = scf.for %i = %c0 to %c3 step %c1 iter_args(%acc = %v) -> (f32) {
      memref.store %acc, %shared[%t] : memref<8xf32, #gpu.address_space<workgroup>>
      gpu.barrier
      %n = memref.load %shared[%c0] : memref<8xf32, #gpu.address_space<workgroup>>
      %a = arith.addf %acc, %n : f32
      scf.yield %a : f32
    }
    memref.store %s, %y[%b, %t] : memref<2x4xf32>
    gpu.terminator
  }
  return
}

// -----

// A loop with barriers runs for the whole block at once: its bounds must not depend
// on the thread.
func.func @thread_bounds(%x: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  // expected-error @+1 {{kiln-gpu-launches-on-cpu: a loop with barriers has bounds that may differ between threads; cannot run on the CPU}}
  gpu.launch blocks(%b, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%t, %ty, %tz) in (%bx = %c16, %bty = %c1, %btz = %c1) {
    scf.for %i = %c0 to %t step %c1 {
      gpu.barrier
    }
    gpu.terminator
  }
  return
}

// -----

// Only the tensor-core kernel's mma.sync form (m16n8k8 on TF32) runs on the CPU.
func.func @f16_mma(%a: vector<2xf16>, %c: vector<2xf16>) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  gpu.launch blocks(%b, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%t, %ty, %tz) in (%bx = %c32, %bty = %c1, %btz = %c1) {
    // expected-error @+1 {{kiln-gpu-launches-on-cpu: only mma.sync m16n8k8 on tf32 (row, col) with f32 accumulators read through llvm.extractvalue runs on the CPU}}
    %d = nvvm.mma.sync A[%a, %a, %a, %a] B[%a, %a] C[%c, %c]
      {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, shape = #nvvm.shape<m = 16, n = 8, k = 16>}
      : (vector<2xf16>, vector<2xf16>, vector<2xf16>) -> !llvm.struct<(vector<2xf16>, vector<2xf16>)>
    gpu.terminator
  }
  return
}

// -----

// cp.async: each thread copies one element into shared memory, and nothing past the
// first 5 elements of the row (a zero count); after the barrier each reads its
// neighbour's. A copy reads its source where it is issued (through a flat view; the
// load only for a nonzero count, zero otherwise) into the thread's slot of a
// per-thread array (slot: group % 2, then copy), and leaves a poison (1e10) in its
// destination; the wait that retires its group (wait_group 0: every one) stores the
// value there.
// CHECK-LABEL: func @async_copy
// CHECK-DAG: %[[POISON:.+]] = arith.constant 1.000000e+10 : f32
// CHECK-DAG: %[[COMMITTED:.+]] = memref.alloca() : memref<8xi64>
// CHECK-DAG: %[[GROUPS:.+]] = memref.alloca() : memref<8x2xi64>
// CHECK-DAG: %[[VALUES:.+]] = memref.alloca() : memref<8x2x1xf32>
// CHECK-DAG: %[[SHARED:.+]] = memref.alloca() {alignment = 16 : i64} : memref<8xf32>
// CHECK: %[[T:.+]] = arith.select
// CHECK-NEXT: memref.store %c0_i64, %[[COMMITTED]][%[[T]]]
// CHECK: memref.store %c-1_i64, %[[GROUPS]][%[[T]],
// CHECK: %[[IN:.+]] = arith.cmpi ult, %[[T]], %c5
// CHECK-NEXT: %[[COUNT:.+]] = arith.select %[[IN]], %c1, %c0
// CHECK-NEXT: %[[GROUP:.+]] = memref.load %[[COMMITTED]][%[[T]]]
// CHECK: %[[FLAT:.+]] = memref.reinterpret_cast %arg0 to offset: [0], sizes: [16], strides: [1]
// CHECK: %[[READ:.+]] = arith.cmpi ugt, %[[COUNT]], %c0
// CHECK-NEXT: %[[V:.+]] = scf.if %[[READ]] -> (f32) {
// CHECK-NEXT: %[[L:.+]] = memref.load %[[FLAT]][%{{.+}}]
// CHECK-NEXT: scf.yield %[[L]]
// CHECK-NEXT: } else {
// CHECK-NEXT: scf.yield %cst
// CHECK: memref.store %[[V]], %[[VALUES]][%[[T]], %[[SLOT:.+]], %c0]
// CHECK-NEXT: memref.store %[[POISON]], %[[SHARED]][%[[T]]]
// CHECK: memref.store %[[GROUP]], %[[GROUPS]][%[[T]], %[[SLOT]]]
// CHECK: %[[BEFORE:.+]] = memref.load %[[COMMITTED]][%[[T]]]
// CHECK-NEXT: %[[AFTER:.+]] = arith.addi %[[BEFORE]], %c1_i64
// CHECK-NEXT: memref.store %[[AFTER]], %[[COMMITTED]][%[[T]]]
// CHECK-NEXT: %[[LIMIT:.+]] = memref.load %[[COMMITTED]][%[[T]]]
// CHECK-NEXT: scf.for %[[S:.+]] = %c0 to %c2 step %c1 {
// CHECK-NEXT: %[[G:.+]] = memref.load %[[GROUPS]][%[[T]], %[[S]]]
// CHECK-NEXT: %[[OLDER:.+]] = arith.cmpi slt, %[[G]], %[[LIMIT]]
// CHECK: scf.index_switch
// CHECK: %[[KEPT:.+]] = memref.load %[[VALUES]][%[[T]], %[[S]], %c0]
// CHECK-NEXT: memref.store %[[KEPT]], %[[SHARED]][
// CHECK-NOT: nvgpu.
// CHECK-NOT: nvvm.
// CHECK: scf.for
// CHECK: memref.load %[[SHARED]]
func.func @async_copy(%x: memref<2x8xf32>, %y: memref<2x8xf32>) {
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c5 = arith.constant 5 : index
  %c8 = arith.constant 8 : index
  %c0 = arith.constant 0 : index
  gpu.launch blocks(%b, %by, %bz) in (%gx = %c2, %gy = %c1, %gz = %c1)
             threads(%t, %ty, %tz) in (%bx = %c8, %tyy = %c1, %tzz = %c1)
             workgroup(%s : memref<8xf32, #gpu.address_space<workgroup>>) {
    %in = arith.cmpi ult, %t, %c5 : index
    %count = arith.select %in, %c1, %c0 : index
    %token = nvgpu.device_async_copy %x[%b, %t], %s[%t], 1, %count : memref<2x8xf32> to memref<8xf32, #gpu.address_space<workgroup>>
    nvvm.cp.async.commit.group
    nvvm.cp.async.wait.group 0
    gpu.barrier
    %n = arith.addi %t, %c1 : index
    %wrapped = arith.remui %n, %c8 : index
    %v = memref.load %s[%wrapped] : memref<8xf32, #gpu.address_space<workgroup>>
    memref.store %v, %y[%b, %t] : memref<2x8xf32>
    gpu.terminator
  }
  return
}

// -----

// A 16-byte copy whose run crosses the source's inner dimensions (4 floats from
// w[t, 0, 0] of a 4x2x2 buffer, nesting exactly): 4 loads from a flat view, at the
// run's offset (t * 4) and on, kept; the poison stored at the destination's last
// index and on.
// CHECK-LABEL: func @async_copy_run
// CHECK-DAG: %[[POISON:.+]] = arith.constant 1.000000e+10 : f32
// CHECK-DAG: %[[VALUES:.+]] = memref.alloca() : memref<4x2x4xf32>
// CHECK-DAG: %[[SHARED:.+]] = memref.alloca() {alignment = 16 : i64} : memref<16xf32>
// CHECK: scf.for %[[T:.+]] = %c0 to %c4
// CHECK: %[[AT:.+]] = arith.muli %[[T]], %c4
// CHECK: %[[FLAT:.+]] = memref.reinterpret_cast %arg0 to offset: [0], sizes: [16], strides: [1] : memref<4x2x2xf32>
// CHECK-NEXT: %[[FIRST:.+]] = arith.muli %[[T]], %c4
// CHECK-NEXT: %[[A:.+]] = memref.load %[[FLAT]][%[[FIRST]]]
// CHECK-NEXT: memref.store %[[A]], %[[VALUES]][%[[T]], %[[SLOT:.+]], %c0]
// CHECK-NEXT: memref.store %[[POISON]], %[[SHARED]][%[[AT]]]
// CHECK-NEXT: %[[SECOND:.+]] = arith.addi %[[FIRST]], %c1
// CHECK-NEXT: %[[B:.+]] = memref.load %[[FLAT]][%[[SECOND]]]
// CHECK-NEXT: memref.store %[[B]], %[[VALUES]][%[[T]], %[[SLOT]], %c1]
// CHECK-NEXT: %[[TO:.+]] = arith.addi %[[AT]], %c1
// CHECK-NEXT: memref.store %[[POISON]], %[[SHARED]][%[[TO]]]
// CHECK-COUNT-2: memref.load %[[FLAT]]
// CHECK-NOT: memref.load %[[FLAT]]
// CHECK-NOT: nvgpu.
func.func @async_copy_run(%w: memref<4x2x2xf32>, %y: memref<16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  gpu.launch blocks(%b, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%t, %ty, %tz) in (%bx = %c4, %tyy = %c1, %tzz = %c1)
             workgroup(%s : memref<16xf32, #gpu.address_space<workgroup>>) {
    %at = arith.muli %t, %c4 : index
    %token = nvgpu.device_async_copy %w[%t, %c0, %c0], %s[%at], 4 : memref<4x2x2xf32> to memref<16xf32, #gpu.address_space<workgroup>>
    nvvm.cp.async.commit.group
    nvvm.cp.async.wait.group 0
    gpu.barrier
    %v = memref.load %s[%t] : memref<16xf32, #gpu.address_space<workgroup>>
    memref.store %v, %y[%t] : memref<16xf32>
    gpu.terminator
  }
  return
}

// -----

// An mma.sync brings its own warp together, not the block: steps joined only by
// mma.syncs run warp by warp (each warp's lanes, then its products), so with 2 warps
// warp 0 reads the other warp's shared element before warp 1 has written it, as it
// may on the GPU: the missing barrier shows. With the barrier, every thread stores
// before either warp goes on.
// CHECK-LABEL: func @warps_meet
// CHECK: %[[SHARED:.+]] = memref.alloca() {alignment = 16 : i64} : memref<64xf32>
// CHECK-NEXT: scf.for %[[W:.+]] = %c0 to %c2 step %c1 {
// CHECK-NEXT: %[[FIRST:.+]] = arith.muli %[[W]], %c32
// CHECK-NEXT: scf.for %[[L:.+]] = %c0 to %c32 step %c1 {
// CHECK-NEXT: %[[T:.+]] = arith.addi %[[FIRST]], %[[L]]
// CHECK: memref.store %{{.+}}, %[[SHARED]][%[[T]]]
// CHECK: scf.for %{{.+}} = %c0 to %c32 step %c1 {
// CHECK: scf.for %{{.+}} = %c0 to %c32 step %c1 {
// CHECK: memref.load %[[SHARED]]
// CHECK-LABEL: func @warps_meet_barrier
// CHECK: %[[SHARED2:.+]] = memref.alloca() {alignment = 16 : i64} : memref<64xf32>
// CHECK-NEXT: scf.for %[[T2:.+]] = %c0 to %c64 step %c1 {
// CHECK: memref.store %{{.+}}, %[[SHARED2]][%[[T2]]]
// CHECK: scf.for %{{.+}} = %c0 to %c2 step %c1 {
func.func @warps_meet(%y: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %i0 = arith.constant 0 : i32
  %zero = arith.constant 0.0 : f32
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%t, %ty, %tz) in (%tx = %c64, %bty = %c1, %btz = %c1)
             workgroup(%s : memref<64xf32, #gpu.address_space<workgroup>>) {
    %ti = arith.index_cast %t : index to i32
    %tf = arith.sitofp %ti : i32 to f32
    memref.store %tf, %s[%t] : memref<64xf32, #gpu.address_space<workgroup>>
    %mma = nvvm.mma.sync A[%i0, %i0, %i0, %i0] B[%i0, %i0] C[%zero, %zero, %zero, %zero]
      {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>,
       multiplicandAPtxType = #nvvm.mma_type<tf32>, multiplicandBPtxType = #nvvm.mma_type<tf32>,
       shape = #nvvm.shape<m = 16, n = 8, k = 8>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
    %d0 = llvm.extractvalue %mma[0] : !llvm.struct<(f32, f32, f32, f32)>
    %n = arith.addi %t, %c32 : index
    %o = arith.remui %n, %c64 : index
    %r = memref.load %s[%o] : memref<64xf32, #gpu.address_space<workgroup>>
    %sum = arith.addf %r, %d0 : f32
    memref.store %sum, %y[%t] : memref<64xf32>
    gpu.terminator
  }
  return
}

func.func @warps_meet_barrier(%y: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %i0 = arith.constant 0 : i32
  %zero = arith.constant 0.0 : f32
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%t, %ty, %tz) in (%tx = %c64, %bty = %c1, %btz = %c1)
             workgroup(%s : memref<64xf32, #gpu.address_space<workgroup>>) {
    %ti = arith.index_cast %t : index to i32
    %tf = arith.sitofp %ti : i32 to f32
    memref.store %tf, %s[%t] : memref<64xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    %mma = nvvm.mma.sync A[%i0, %i0, %i0, %i0] B[%i0, %i0] C[%zero, %zero, %zero, %zero]
      {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>,
       multiplicandAPtxType = #nvvm.mma_type<tf32>, multiplicandBPtxType = #nvvm.mma_type<tf32>,
       shape = #nvvm.shape<m = 16, n = 8, k = 8>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
    %d0 = llvm.extractvalue %mma[0] : !llvm.struct<(f32, f32, f32, f32)>
    %n = arith.addi %t, %c32 : index
    %o = arith.remui %n, %c64 : index
    %r = memref.load %s[%o] : memref<64xf32, #gpu.address_space<workgroup>>
    %sum = arith.addf %r, %d0 : f32
    memref.store %sum, %y[%t] : memref<64xf32>
    gpu.terminator
  }
  return
}

// -----

// Groups through nvgpu tokens are not emulated: the kernels commit and wait with the
// NVVM ops, which say what PTX does.
func.func @async_token(%x: memref<8xf32>) {
  %c1 = arith.constant 1 : index
  gpu.launch blocks(%b, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%t, %ty, %tz) in (%bx = %c1, %tyy = %c1, %tzz = %c1)
             workgroup(%s : memref<8xf32, #gpu.address_space<workgroup>>) {
    // expected-error @+1 {{kiln-gpu-launches-on-cpu: a cp.async whose token is used (nvgpu groups) does not run on the CPU; commit and wait with nvvm.cp.async ops}}
    %token = nvgpu.device_async_copy %x[%t], %s[%t], 1 : memref<8xf32> to memref<8xf32, #gpu.address_space<workgroup>>
    %group = nvgpu.device_async_create_group %token
    nvgpu.device_async_wait %group
    gpu.terminator
  }
  return
}

// -----

// cvt.rna.tf32.f32 (the tensor-core kernel's rounding of an operand's rest): half a
// unit of the 10th mantissa bit added to the bits, the 13 below it cleared.
// CHECK-LABEL: func @tf32_round
// CHECK: %[[BITS:.+]] = arith.bitcast %{{.+}} : f32 to i32
// CHECK-NEXT: %[[HALF:.+]] = arith.addi %[[BITS]], %c4096_i32
// CHECK-NEXT: %[[ROUNDED:.+]] = arith.andi %[[HALF]], %c-8192_i32
// CHECK-NEXT: memref.store %[[ROUNDED]]
// CHECK-NOT: nvvm.
func.func @tf32_round(%x: memref<4xf32>, %y: memref<4xi32>) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  gpu.launch blocks(%b, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%t, %ty, %tz) in (%bx = %c4, %tyy = %c1, %tzz = %c1) {
    %v = memref.load %x[%t] : memref<4xf32>
    %r = nvvm.convert.float.to.tf32 %v {rnd = #nvvm.fp_rnd_mode<rna>}
    memref.store %r, %y[%t] : memref<4xi32>
    gpu.terminator
  }
  return
}

// -----

// Other roundings to TF32 are not emulated.
func.func @tf32_round_rn(%x: memref<4xf32>, %y: memref<4xi32>) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  gpu.launch blocks(%b, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%t, %ty, %tz) in (%bx = %c4, %tyy = %c1, %tzz = %c1) {
    %v = memref.load %x[%t] : memref<4xf32>
    // expected-error @+1 {{kiln-gpu-launches-on-cpu: only cvt.rna.tf32.f32 runs on the CPU}}
    %r = nvvm.convert.float.to.tf32 %v {rnd = #nvvm.fp_rnd_mode<rn>}
    memref.store %r, %y[%t] : memref<4xi32>
    gpu.terminator
  }
  return
}
