// RUN: kiln-opt %s -kiln-gpu-tensor-core-matmuls -cse -split-input-file | FileCheck %s
// RUN: kiln-opt %s -kiln-gpu-tensor-core-matmuls -kiln-gpu-launches-on-cpu -canonicalize -split-input-file \
// RUN:   | FileCheck %s --check-prefix=EMU

#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
#bias = affine_map<(m, n) -> (n)>
#id = affine_map<(m, n) -> (m, n)>

// A 100x72 projection over 36 inputs with a bias broadcast before and a ReLU after:
// 2x2 blocks of 128 threads for the 64x64 tiles; 32 accumulators per thread. The
// block steps through the 36 inputs 16 at a time: x's 64x16 slice goes to shared
// memory k-minor (x's rows are contiguous along k), w's k-major (16 rows of 64, each
// row's groups of 8 columns XORed with 8 * ((k / 4) % 4)), each thread copying 8
// elements of each with cp.async,
// 4 at a time (x's rows of 36 and w's of 72 keep runs of 4 contiguous and aligned; 16
// bytes bypassing L1), in three stages: the first two before the loop (each a group,
// then a wait for the first), and each step, after its one barrier, the slices two
// steps ahead (if any) into the stage step - 1 used, then a wait for the next step's.
// 36 is not a multiple of 16: a copy past it reads nothing and leaves zeros; runs
// past the 100 rows or 72 columns start at most at 99 and 68. Each step is two of
// 8, each of the warp's 2x4 tiles taking three TF32 mma.sync (lo*hi, hi*lo, hi*hi)
// on fragments read from the step's stage, all before the first: lane t takes depths
// 4t to 4t + 3 (its two depths in each mma), a 16-byte load from each of x's 4 rows
// (g, g + 8, g + 16, g + 24), and from w's swizzled rows a 16-byte load at each of
// those depths: columns 4g to 4g + 3 (the mma tiles' column g each), each split
// into a truncated TF32 high part and the rest rounded (cvt.rna.tf32.f32). A thread with a NaN sum
// computes its outputs again in plain f32 (a loop over them, a product at a time):
// an infinite operand makes the tensor cores' sum NaN where f32's is ±inf. The bias starts each output, the ReLU
// finishes it, and outputs past the 100x72 edge are not stored. The product's
// buffer, which only the three generics touched, is never written.
// CHECK-LABEL: func @dense_relu
// CHECK: gpu.launch blocks(%{{.+}}, %{{.+}}, %{{.+}}) in (%{{.+}} = %c2, %{{.+}} = %c2, %{{.+}} = %c1) threads(%[[T:.+]], %{{.+}}, %{{.+}}) in (%{{.+}} = %c128, %{{.+}}, %{{.+}}) workgroup(%[[XS:.+]] : memref<3x64x16xf32, #gpu.address_space<workgroup>>, %[[WS:.+]] : memref<3x16x64xf32, #gpu.address_space<workgroup>>)
// CHECK: arith.minui %{{.+}}, %c99
// CHECK: %[[IN:.+]] = arith.cmpi ult, %[[KX:.+]], %c36
// CHECK-NEXT: arith.minui %[[KX]], %c32
// CHECK: %[[COUNT:.+]] = arith.select %[[IN]], %c4, %c0
// CHECK-NEXT: nvgpu.device_async_copy %arg0[%{{.+}}, %{{.+}}], %[[XS]][%c0, %{{.+}}, %{{.+}}], 4, %[[COUNT]] {bypassL1}
// CHECK: nvgpu.device_async_copy %arg0[%{{.+}}, %{{.+}}], %[[XS]][%c0,
// CHECK: arith.minui %{{.+}}, %c68
// CHECK-COUNT-2: nvgpu.device_async_copy %arg1[%{{.+}}, %{{.+}}], %[[WS]][%c0, %{{.+}}, %{{.+}}], 4, %{{.+}} {bypassL1}
// CHECK-NEXT: nvvm.cp.async.commit.group
// CHECK: scf.if
// CHECK-COUNT-2: nvgpu.device_async_copy %arg0[%{{.+}}, %{{.+}}], %[[XS]][%c1,
// CHECK-COUNT-2: nvgpu.device_async_copy %arg1[%{{.+}}, %{{.+}}], %[[WS]][%c1,
// CHECK: {{^ *}}}{{$}}
// CHECK-NEXT: nvvm.cp.async.commit.group
// CHECK-NEXT: nvvm.cp.async.wait.group 1
// CHECK-NEXT: %[[ACC:.+]]:32 = scf.for %[[K:.+]] = %c0 to %c36 step %c16 iter_args(
// CHECK-NEXT: %[[FROM:.+]] = arith.subi %[[K]], %c0
// CHECK-NEXT: %[[STEP:.+]] = arith.divui %[[FROM]], %c16
// CHECK: %[[STAGE:.+]] = arith.remui %[[STEP]], %c3
// CHECK: %[[TWO:.+]] = arith.addi %[[STEP]], %c2
// CHECK: %[[AHEAD:.+]] = arith.remui %[[TWO]], %c3
// CHECK-NEXT: gpu.barrier
// CHECK-NEXT: %[[AHEADK:.+]] = arith.addi %[[K]], %c32
// CHECK-NEXT: %[[MORE:.+]] = arith.cmpi ult, %[[AHEADK]], %c36
// CHECK-NEXT: scf.if %[[MORE]]
// CHECK-COUNT-2: nvgpu.device_async_copy %arg0[%{{.+}}, %{{.+}}], %[[XS]][%[[AHEAD]],
// CHECK-COUNT-2: nvgpu.device_async_copy %arg1[%{{.+}}, %{{.+}}], %[[WS]][%[[AHEAD]],
// CHECK: {{^ *}}}{{$}}
// CHECK-NEXT: nvvm.cp.async.commit.group
// CHECK-NOT: gpu.barrier
// CHECK: %[[T4:.+]] = arith.muli %{{.+}}, %c4 : index
// CHECK-NEXT: %[[ROW0:.+]] = arith.addi
// CHECK-NEXT: %[[X0:.+]] = vector.load %[[XS]][%[[STAGE]], %[[ROW0]], %[[T4]]] {alignment = 16 : i64} : memref<3x64x16xf32, #gpu.address_space<workgroup>>, vector<4xf32>
// CHECK-NEXT: %[[E0:.+]] = vector.extract %[[X0]][0]
// CHECK: %[[BITS:.+]] = arith.bitcast %[[E0]] : f32 to i32
// CHECK-NEXT: %[[HI:.+]] = arith.andi %[[BITS]], %c-8192_i32
// CHECK-NEXT: %[[HIF:.+]] = arith.bitcast %[[HI]] : i32 to f32
// CHECK-NEXT: %[[REST:.+]] = arith.subf %[[E0]], %[[HIF]]
// CHECK-NEXT: nvvm.convert.float.to.tf32 %[[REST]] {rnd = #nvvm.fp_rnd_mode<rna>}
// CHECK-COUNT-3: vector.load %[[XS]][%[[STAGE]], %{{.+}}, %[[T4]]] {alignment = 16 : i64}
// CHECK: %[[G4:.+]] = arith.muli %{{.+}}, %c4 : index
// CHECK-NEXT: %[[COL0:.+]] = arith.addi %{{.+}}, %[[G4]]
// CHECK-NEXT: %[[Q:.+]] = arith.divui %[[T4]], %c4
// CHECK-NEXT: %[[R:.+]] = arith.remui %[[Q]], %c4
// CHECK-NEXT: %[[SW:.+]] = arith.muli %[[R]], %c8
// CHECK-NEXT: %[[COL:.+]] = arith.xori %[[COL0]], %[[SW]]
// CHECK-NEXT: vector.load %[[WS]][%[[STAGE]], %[[T4]], %[[COL]]] {alignment = 16 : i64}
// CHECK-COUNT-3: vector.load %[[WS]][%[[STAGE]],
// CHECK-NOT: memref.load
// CHECK-NOT: vector.load
// CHECK-COUNT-24: nvvm.mma.sync A[{{.+}}] B[{{.+}}] C[{{.+}}] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<tf32>, multiplicandBPtxType = #nvvm.mma_type<tf32>, shape = #nvvm.shape<m = 16, n = 8, k = 8>}
// CHECK-NOT: memref.load
// CHECK-COUNT-24: nvvm.mma.sync
// CHECK: nvvm.cp.async.wait.group 1
// CHECK-NEXT: scf.yield
// CHECK-NOT: nvvm.mma.sync
// CHECK: arith.cmpf uno, %[[ACC]]#0, %[[ACC]]#0
// CHECK-COUNT-31: arith.ori
// CHECK-NEXT: scf.if %{{.+}} {
// CHECK-NEXT: scf.for %{{.+}} = %c0 to %c32 step %c1 {
// CHECK: scf.if
// CHECK-NEXT: %[[EXACT:.+]] = scf.for %{{.+}} = %c0 to %c36 step %c1 iter_args(%[[PARTIAL:.+]] = %cst) -> (f32) {
// CHECK: %[[WK:.+]] = memref.load %arg1
// CHECK: %[[XK:.+]] = memref.load %arg0
// CHECK: %[[PRODUCT:.+]] = arith.mulf
// CHECK-NEXT: %[[MORE:.+]] = arith.addf %[[PARTIAL]], %[[PRODUCT]]
// CHECK-NEXT: scf.yield %[[MORE]]
// CHECK: arith.addf %{{.+}}, %[[EXACT]]
// CHECK: memref.store %{{.+}}, %arg3
// CHECK-NOT: memref.store
// CHECK: } else {
// CHECK: scf.if
// CHECK: %[[B:.+]] = memref.load %arg2[%{{.+}}] : memref<72xf32>
// CHECK: %[[S:.+]] = arith.addf %[[B]], %[[ACC]]#0
// CHECK: %[[R:.+]] = arith.maximumf %[[S]], %{{.+}}
// CHECK: memref.store %[[R]], %arg3
// CHECK-COUNT-31: memref.store %{{.+}}, %arg3
// CHECK-NOT: memref.store
// CHECK: gpu.terminator
// CHECK-NOT: linalg.generic
func.func @dense_relu(%x: memref<100x36xf32>, %w: memref<36x72xf32>, %bias: memref<72xf32>, %y: memref<100x72xf32>) {
  %zero = arith.constant 0.0 : f32
  %t = memref.alloc() : memref<100x72xf32>
  linalg.generic {indexing_maps = [#bias, #id], iterator_types = ["parallel", "parallel"]}
      ins(%bias : memref<72xf32>) outs(%t : memref<100x72xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<100x36xf32>, memref<36x72xf32>) outs(%t : memref<100x72xf32>) attrs = {kiln.gpu_kernel = "tensor_core"} {
  ^bb0(%u: f32, %v: f32, %acc: f32):
    %m = arith.mulf %u, %v : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%t : memref<100x72xf32>) outs(%y : memref<100x72xf32>) {
  ^bb0(%v: f32, %o: f32):
    %r = arith.maximumf %v, %zero : f32
    linalg.yield %r : f32
  }
  memref.dealloc %t : memref<100x72xf32>
  return
}

// On the CPU (kiln-gpu-launches-on-cpu) the same kernel runs, its mma.syncs computed
// warp by warp from the fragments every lane leaves in per-thread arrays (A's 4 and
// B's 2 registers as i32, C's 4), 8 at a time: a pass over the warp's 8 tiles.
// EMU-LABEL: func @dense_relu
// EMU-DAG: memref.alloca() : memref<128x8x4xi32>
// EMU-DAG: memref.alloca() : memref<128x8x2xi32>
// EMU-DAG: memref.alloca() : memref<128x8x4xf32>
// EMU-DAG: memref.alloca() {alignment = 16 : i64} : memref<3x64x16xf32>
// EMU-DAG: memref.alloca() {alignment = 16 : i64} : memref<3x16x64xf32>
// EMU-NOT: nvvm.
// EMU-NOT: gpu.
// EMU: return

// -----

// Batched attention scores, K read transposed: the batch (heads) is the grid's z, the
// tiles fit exactly (no guards, no clamps), and with no init the output's own value
// starts each sum. Q and K both have their rows contiguous along the reduction: both
// slices are k-minor.
#qa = affine_map<(h, i, j, d) -> (h, i, d)>
#ka = affine_map<(h, i, j, d) -> (h, j, d)>
#sa = affine_map<(h, i, j, d) -> (h, i, j)>
// CHECK-LABEL: func @scores
// CHECK: gpu.launch blocks(%{{.+}}, %{{.+}}, %{{.+}}) in (%{{.+}} = %c2, %{{.+}} = %c2, %{{.+}} = %c12)
// CHECK-SAME: workgroup(%{{.+}} : memref<3x64x16xf32, #gpu.address_space<workgroup>>, %{{.+}} : memref<3x64x16xf32, #gpu.address_space<workgroup>>)
// CHECK-NOT: arith.minui
// CHECK: nvgpu.device_async_copy %arg1[{{.+}}], %{{.+}}[{{.+}}], 4 {bypassL1} : memref<12x128x64xf32>
// CHECK: scf.for %{{.+}} = %c0 to %c64 step %c16
// CHECK: nvvm.mma.sync
// CHECK: scf.yield
// CHECK: } else {
// CHECK-NOT: scf.if
// CHECK: %[[OLD:.+]] = memref.load %arg2[{{.+}}] : memref<12x128x128xf32>
// CHECK: arith.addf %[[OLD]]
// CHECK: memref.store
func.func @scores(%q: memref<12x128x64xf32>, %k: memref<12x128x64xf32>, %s: memref<12x128x128xf32>) {
  linalg.generic {indexing_maps = [#qa, #ka, #sa], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : memref<12x128x64xf32>, memref<12x128x64xf32>) outs(%s : memref<12x128x128xf32>) attrs = {kiln.gpu_kernel = "tensor_core"} {
  ^bb0(%u: f32, %v: f32, %acc: f32):
    %m = arith.mulf %u, %v : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// A product with a prologue folded into its body is not a plain matmul: it keeps a
// per-output kernel.
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func @prologue
// CHECK: linalg.generic
// CHECK-SAME: kiln.gpu_kernel = "thread_per_output"
// CHECK-NOT: gpu.launch
func.func @prologue(%x: memref<64x64xf32>, %w: memref<64x64xf32>, %y: memref<64x64xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<64x64xf32>, memref<64x64xf32>) outs(%y : memref<64x64xf32>) attrs = {kiln.gpu_kernel = "tensor_core"} {
  ^bb0(%u: f32, %v: f32, %acc: f32):
    %r = arith.maximumf %u, %zero : f32
    %m = arith.mulf %r, %v : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// An operand that is a view of the output's buffer could be overwritten by one thread
// while another still reads it: a per-output kernel.
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func @aliased
// CHECK: linalg.generic
// CHECK-SAME: kiln.gpu_kernel = "thread_per_output"
// CHECK-NOT: gpu.launch
func.func @aliased(%buf: memref<128x64xf32>, %w: memref<64x64xf32>) {
  %x = memref.subview %buf[0, 0] [64, 64] [1, 1] : memref<128x64xf32> to memref<64x64xf32, strided<[64, 1]>>
  %y = memref.subview %buf[64, 0] [64, 64] [1, 1] : memref<128x64xf32> to memref<64x64xf32, strided<[64, 1], offset: 4096>>
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<64x64xf32, strided<[64, 1]>>, memref<64x64xf32>) outs(%y : memref<64x64xf32, strided<[64, 1], offset: 4096>>)
      attrs = {kiln.gpu_kernel = "tensor_core"} {
  ^bb0(%u: f32, %v: f32, %acc: f32):
    %m = arith.mulf %u, %v : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// More than 65535 row tiles would overrun the grid's y limit: a per-output kernel.
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func @too_many_rows
// CHECK: kiln.gpu_kernel = "thread_per_output"
// CHECK-NOT: gpu.launch
func.func @too_many_rows(%x: memref<4194305x16xf32>, %w: memref<16x16xf32>, %y: memref<4194305x16xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<4194305x16xf32>, memref<16x16xf32>) outs(%y : memref<4194305x16xf32>)
      attrs = {kiln.gpu_kernel = "tensor_core"} {
  ^bb0(%u: f32, %v: f32, %acc: f32):
    %m = arith.mulf %u, %v : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A padded 3x3 convolution, an implicit GEMM: rows are the image's 7x7 pixels, columns
// its 16 filters, the depth its 8 channels x 3 x 3 window. Its input was padded by a
// fill and a copy into a window of a scratch buffer; the kernel reads the input itself,
// through a bounds test: around it, the copy reads nothing and leaves the fill's zero.
// The scratch buffer, its fill and copy are gone. The filters' channels and window
// nest exactly (72 contiguous floats per filter): copied 4 at a time. The input's slice is staged along the pixels (its last
// dimension moves with them), k-major; the filters' along the depth, k-minor.
#x = affine_map<(n, f, p, q, c, r, s) -> (n, c, p + r, q + s)>
#w = affine_map<(n, f, p, q, c, r, s) -> (f, c, r, s)>
#y = affine_map<(n, f, p, q, c, r, s) -> (n, f, p, q)>
#all = affine_map<(n, c, h, w) -> (n, c, h, w)>
// CHECK-LABEL: func @padded_conv
// CHECK-NOT: memref.alloc
// CHECK: gpu.launch blocks(%{{.+}}, %{{.+}}, %{{.+}}) in (%{{.+}} = %c1, %{{.+}} = %c1, %{{.+}} = %c1)
// CHECK-SAME: workgroup(%{{.+}} : memref<3x16x64xf32, #gpu.address_space<workgroup>>, %{{.+}} : memref<3x64x16xf32, #gpu.address_space<workgroup>>)
// CHECK: %[[H:.+]] = arith.subi %{{.+}}, %c1 : index
// CHECK: arith.cmpi ult, %[[H]], %c7 : index
// CHECK: %[[IN:.+]] = arith.select %{{.+}}, %c1, %c0 : index
// CHECK: nvgpu.device_async_copy %arg0[{{.+}}], %{{.+}}[{{.+}}], 1, %[[IN]] : memref<1x8x7x7xf32>
// CHECK: nvgpu.device_async_copy %arg1[{{.+}}], %{{.+}}[{{.+}}], 4, %{{.+}} {bypassL1} : memref<16x8x3x3xf32>
// CHECK: scf.for %{{.+}} = %c0 to %c72 step %c16
// CHECK: nvvm.mma.sync
// CHECK: gpu.terminator
// CHECK-NOT: linalg.generic
// CHECK-NOT: memref.dealloc
func.func @padded_conv(%x: memref<1x8x7x7xf32>, %w: memref<16x8x3x3xf32>, %y: memref<1x16x7x7xf32>) {
  %zero = arith.constant 0.0 : f32
  %pad = memref.alloc() : memref<1x8x9x9xf32>
  linalg.generic {indexing_maps = [#all], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      outs(%pad : memref<1x8x9x9xf32>) {
  ^bb0(%o: f32):
    linalg.yield %zero : f32
  }
  %window = memref.subview %pad[0, 0, 1, 1] [1, 8, 7, 7] [1, 1, 1, 1]
      : memref<1x8x9x9xf32> to memref<1x8x7x7xf32, strided<[648, 81, 9, 1], offset: 10>>
  linalg.generic {indexing_maps = [#all, #all], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x : memref<1x8x7x7xf32>) outs(%window : memref<1x8x7x7xf32, strided<[648, 81, 9, 1], offset: 10>>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  }
  linalg.generic {indexing_maps = [#x, #w, #y],
                  iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%pad, %w : memref<1x8x9x9xf32>, memref<16x8x3x3xf32>) outs(%y : memref<1x16x7x7xf32>) attrs = {kiln.gpu_kernel = "tensor_core"} {
  ^bb0(%u: f32, %v: f32, %acc: f32):
    %m = arith.mulf %u, %v : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  memref.dealloc %pad : memref<1x8x9x9xf32>
  return
}

// -----

// A long reduction over few outputs: 16x40 outputs of 1024 products, one tile, would
// leave a GPU idle. The reduction is split into 4 parts of 256, one block each on the
// grid's z, and each block stores its sums in a workspace; then a second kernel, a
// thread per output (3 blocks of 256 for the 640), adds the 4 sums in order, and the
// bias and ReLU finish each output.
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
#bias = affine_map<(m, n) -> (n)>
#id = affine_map<(m, n) -> (m, n)>
// CHECK-LABEL: func @long_reduction
// CHECK: %[[WS:.+]] = memref.alloc() : memref<4x1x16x40xf32>
// CHECK: gpu.launch blocks(%{{.+}}, %{{.+}}, %[[Z:.+]]) in (%{{.+}} = %c1, %{{.+}} = %c1, %{{.+}} = %c4)
// CHECK: %[[PART:.+]] = arith.remui %[[Z]], %c4
// CHECK: %[[START:.+]] = arith.muli %[[PART]], %c256
// CHECK: %[[NEXT:.+]] = arith.addi %[[START]], %c256
// CHECK: %[[END:.+]] = arith.minui %[[NEXT]], %c1024
// CHECK: scf.for %{{.+}} = %[[START]] to %[[END]] step %c16
// CHECK-COUNT-48: nvvm.mma.sync
// CHECK: scf.yield
// CHECK-NOT: %arg3
// CHECK: memref.store %{{.+}}, %[[WS]][%[[PART]], %{{.+}}, %{{.+}}, %{{.+}}]
// CHECK-NOT: %arg3
// CHECK: gpu.terminator
// CHECK: gpu.launch blocks(%{{.+}}, %{{.+}}, %{{.+}}) in (%{{.+}} = %c3, %{{.+}} = %c1, %{{.+}} = %c1) threads(%{{.+}}, %{{.+}}, %{{.+}}) in (%{{.+}} = %c256,
// CHECK: arith.cmpi ult, %{{.+}}, %c640
// CHECK-COUNT-4: memref.load %[[WS]][
// CHECK-NOT: memref.load %[[WS]]
// CHECK: memref.load %arg2
// CHECK: arith.maximumf
// CHECK: memref.store %{{.+}}, %arg3
// CHECK: gpu.terminator
// CHECK: memref.dealloc %[[WS]]
// CHECK-NOT: linalg.generic
func.func @long_reduction(%x: memref<16x1024xf32>, %w: memref<1024x40xf32>, %bias: memref<40xf32>, %y: memref<16x40xf32>) {
  %zero = arith.constant 0.0 : f32
  %t = memref.alloc() : memref<16x40xf32>
  linalg.generic {indexing_maps = [#bias, #id], iterator_types = ["parallel", "parallel"]}
      ins(%bias : memref<40xf32>) outs(%t : memref<16x40xf32>) {
  ^bb0(%v: f32, %o: f32):
    linalg.yield %v : f32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<16x1024xf32>, memref<1024x40xf32>) outs(%t : memref<16x40xf32>) attrs = {kiln.gpu_kernel = "tensor_core"} {
  ^bb0(%u: f32, %v: f32, %acc: f32):
    %m = arith.mulf %u, %v : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%t : memref<16x40xf32>) outs(%y : memref<16x40xf32>) {
  ^bb0(%v: f32, %o: f32):
    %r = arith.maximumf %v, %zero : f32
    linalg.yield %r : f32
  }
  memref.dealloc %t : memref<16x40xf32>
  return
}

// -----

// cp.async needs the source's last dimension contiguous: a left operand stored
// column-major (a transposed view) is loaded and stored into its stage instead, at
// the same place in the pipeline; the right operand is still copied with cp.async.
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (k, n)>
#c = affine_map<(m, n, k) -> (m, n)>
// CHECK-LABEL: func @strided_lhs
// CHECK: gpu.launch
// CHECK-COUNT-8: memref.store %{{.+}}, %{{.+}}[%c0, %{{.+}}, %{{.+}}] : memref<3x64x16xf32, #gpu.address_space<workgroup>>
// CHECK-COUNT-2: nvgpu.device_async_copy %arg1[{{.+}}], %{{.+}}[%c0, {{.+}}], 4 {bypassL1} : memref<64x64xf32>
// CHECK: nvvm.cp.async.commit.group
// CHECK: scf.for
// CHECK: gpu.barrier
// CHECK: scf.if
// CHECK: memref.load %arg0[{{.+}}] : memref<64x64xf32, strided<[1, 64]>>
// CHECK-COUNT-2: nvgpu.device_async_copy %arg1
// CHECK: nvvm.cp.async.commit.group
func.func @strided_lhs(%x: memref<64x64xf32, strided<[1, 64]>>, %w: memref<64x64xf32>, %y: memref<64x64xf32>) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<64x64xf32, strided<[1, 64]>>, memref<64x64xf32>) outs(%y : memref<64x64xf32>) attrs = {kiln.gpu_kernel = "tensor_core"} {
  ^bb0(%u: f32, %v: f32, %acc: f32):
    %m = arith.mulf %u, %v : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  }
  return
}
