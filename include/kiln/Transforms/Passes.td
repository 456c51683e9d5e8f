// Kiln's graph-level passes on the kiln dialect.
#ifndef KILN_TRANSFORMS_PASSES_TD
#define KILN_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def KilnDecompose : Pass<"kiln-decompose", "mlir::func::FuncOp"> {
  let summary = "Rewrite composite kiln ops into core elementwise ops";
  let description = [{
    Rewrites `kiln.batch_norm` into a per-channel multiply and add. With constant
    statistics the per-channel factors fold to constants:

    ```mlir
    %y = kiln.batch_norm %x, %s, %b, %m, %v {epsilon = 1.0e-05 : f64} : (...) -> tensor<1x4x8x8xf32>
    // becomes
    %k = ... (s / sqrt(v + eps), reshaped to [4, 1, 1])
    %y0 = kiln.mul %x, %k
    %y = kiln.add %y0, %c   // c = b - m * k
    ```
  }];
  let dependentDialects = ["::kiln::KilnDialect"];
}

def KilnFuse : Pass<"kiln-fuse", "mlir::func::FuncOp"> {
  let summary = "Group kiln ops into kiln.fusion regions";
  let description = [{
    Forms the units of code generation, as XLA does: every compute op lands in exactly
    one `kiln.fusion`. A region grows from a root (the last op of a chain) up through
    producers that are elementwise and used only inside the region, and through one
    matmul or convolution producer whose elementwise epilogue (bias, activation,
    residual add) it then holds. Constants and reshapes stay outside.

    ```mlir
    %0 = kiln.matmul %a, %b
    %1 = kiln.add %0, %bias
    %2 = kiln.relu %1
    // becomes
    %2 = kiln.fusion (%a, %b, %bias) { matmul; add; relu; kiln.yield }
    ```

    With `reduction-consumers`, an elementwise op also takes in a reduction it
    consumes (used only inside the region) and that reduction's producers: a layer
    norm written out as ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div is one region,
    which kiln-gpu-row-kernels makes one kernel.

    With `view-producers`, a transpose takes in the slices and reshapes it reads
    through (views once bufferized) and the matmul it permutes, and a matmul the
    transposes it reads: a fused QKV projection's Q, K and V heads are one copy each
    from the projection's output, not a slice copy and a transpose, and
    kiln-gpu-library-calls can turn those copies and the one putting the context's
    heads back side by side into cuBLASLt strides.
  }];
  let options = [
    Option<"reductionConsumers", "reduction-consumers", "bool", /*default=*/"false",
           "Elementwise ops take in the reductions they consume">,
    Option<"viewProducers", "view-producers", "bool", /*default=*/"false",
           "Transposes take in the slices and reshapes they read through and the matmul "
           "they permute; matmuls the transposes they read">
  ];
  let dependentDialects = ["::kiln::KilnDialect"];
}

def KilnOutlineFusions : Pass<"kiln-outline-fusions", "mlir::ModuleOp"> {
  let summary = "Turn each kiln.fusion into a private function and a call";
  let description = [{
    Each region becomes `func.func private @<parent>_fusion_<N>` and the op becomes a
    `func.call`, so every fusion is compiled as one function.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def KilnFuseEpilogues : Pass<"kiln-fuse-epilogues", "mlir::func::FuncOp"> {
  let summary = "Tile each fusion's epilogue and compute its matmul/conv producer per tile";
  let description = [{
    Runs on linalg in the functions outlined from `kiln.fusion` regions. When the op
    producing a fusion's result is elementwise and fed (directly or through other linalg
    ops) by a contraction, the result is tiled by rows (every dimension but the last
    tiled by 1) and all linalg producers are computed inside the tile loop. The
    contraction's full output is then never stored: only one row lives at a time, as
    XLA's and IREE's fused epilogues do.

    ```mlir
    %mm = linalg.generic {matmul} ...          // [4, 16]
    %y = linalg.generic {add bias; relu} ins(%mm, %b) ...
    // becomes
    %y = scf.for %i = 0 to 4 iter_args(%out = ...) {
      %row = linalg.generic {matmul} ... -> tensor<1x16xf32>
      %r = linalg.generic {add bias; relu} ins(%row, %b) ...
      scf.yield (tensor.insert_slice %r into %out)
    }
    ```
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect"];
}

def KilnReorderContractionLoops : Pass<"kiln-reorder-contraction-loops", "mlir::func::FuncOp"> {
  let summary = "Make the output's contiguous dimension the innermost loop of contractions";
  let description = [{
    Matmuls, convolutions and pooling windows come out of the kiln lowering with their
    reduction loops innermost, a short scalar dot product. This pass moves the loop that
    walks the output's last (contiguous) dimension innermost, after the reductions, so
    each innermost iteration updates a contiguous row that LLVM vectorizes:

    ```mlir
    // matmul loops (m, n, k)             becomes (m, k, n)
    // conv loops (n, f, oh, ow, c, kh, kw)  becomes (n, f, oh, c, kh, kw, ow)
    ```
    Generics with one input (plain reductions) keep their order.
  }];
  let options = [
    Option<"parallelOuter", "parallel-first", "bool", /*default=*/"false",
           "Instead, order every generic's parallel loops before its reductions (the GPU "
           "maps the parallel nest onto threads; reductions stay loops in each thread)">
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def KilnLowerStridedCopies : Pass<"kiln-lower-strided-copies", "mlir::func::FuncOp"> {
  let summary = "Turn memref.copy between strided buffers into linalg.copy loops";
  let description = [{
    Bufferization copies into and out of subviews (padding, concatenation). The LLVM
    lowering of a non-contiguous `memref.copy` calls a runtime library function; Kiln's
    artifacts must not depend on one, so such copies become `linalg.copy`, which lowers
    to plain loops. Contiguous copies stay `memref.copy` (a memcpy).

    ```mlir
    memref.copy %a, %b : memref<4xf32> to memref<4xf32, strided<[1], offset: 2>>
    // becomes
    linalg.copy ins(%a : memref<4xf32>) outs(%b : memref<4xf32, strided<[1], offset: 2>>)
    ```
  }];
  let options = [
    Option<"allCopies", "all-copies", "bool", /*default=*/"false",
           "Rewrite contiguous copies too (on the GPU every copy is a kernel)">
  ];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def KilnTileForGPU : Pass<"kiln-tile-for-gpu", "mlir::func::FuncOp"> {
  let summary = "Shape each outermost scf.parallel into blocks of threads";
  let description = [{
    Every outermost `scf.parallel` (from `convert-linalg-to-parallel-loops`) is collapsed
    into one dimension, then tiled by `threads-per-block`; the tile loop is mapped to
    block x and the inner loop to thread x (the mapping attribute that
    `convert-parallel-loops-to-gpu` reads). Because the collapsed
    index runs over the loop nest row-major, consecutive threads touch consecutive
    elements of the innermost dimension: loads and stores of row-major buffers are
    coalesced, and no dimension is left unmapped when a loop has more than three.
    A loop left outside any `scf.parallel` (a reduction of a whole tensor has no
    parallel dimension) first becomes a single-iteration one: a one-thread kernel.

    ```mlir
    scf.parallel (%i, %j) = (%c0, %c0) to (%c64, %c300) step (%c1, %c1) { ... }
    // becomes: for 19200 points, 75 blocks of 256 threads
    scf.parallel (%b) = (%c0) to (%c19200) step (%c256) {
      scf.parallel (%t) = (%c0) to (%c256) step (%c1) { ... %i = (%b + %t) / 300 ... }
    }
    ```
  }];
  let options = [
    Option<"threadsPerBlock", "threads-per-block", "int64_t", /*default=*/"256",
           "Threads of each block">
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::arith::ArithDialect",
                           "::mlir::affine::AffineDialect", "::mlir::gpu::GPUDialect"];
}

def KilnChooseGPUKernels : Pass<"kiln-choose-gpu-kernels", "mlir::func::FuncOp"> {
  let summary = "Record how the CUDA target computes each matmul and convolution";
  let options = [
    Option<"gemm", "gemm", "std::string", /*default=*/"\"auto\"",
           "Matmuls: auto (cuBLASLt from 65536 multiply-adds and 32 per output, else generated), cublaslt (every one that fits), kernels (generated only), tensor-cores (every one through the generated tensor-core kernel)">,
    Option<"tensorCores", "tensor-cores", "bool", /*default=*/"true",
           "Whether the architecture has TF32 tensor cores (sm_80 and later)">,
    Option<"conv", "conv", "std::string", /*default=*/"\"auto\"",
           "Convolutions: auto (cuDNN from 65536 multiply-adds and 32 per output, else generated), cudnn (every one that fits), cublaslt (every 1x1 stride-1 unpadded one through cuBLASLt), kernels (generated only), tensor-cores (every one through the generated tensor-core kernel)">,
  ];
  let description = [{
    Sets `kiln.gpu_kernel` on every `kiln.matmul` and `kiln.conv` (inside fusion
    regions too), so `kiln-compile --target=cuda --emit=kiln` shows the choice:

    - `"thread_per_output"`: one thread per output element sums its products in a
      register; the fusion's bias and activation run on that register (one kernel).
    - `"cublaslt"` (matmuls): the library, for f32 matmuls whose operands come
      into the fusion as they are (no prologue folded into the product), with no
      batch broadcasting, and of at least 65536 multiply-adds (every such matmul with
      `gemm=cublaslt`); see kiln-gpu-library-calls.
    - `"cudnn"` (convolutions): cuDNN's fused convolution, bias, ReLU and residual
      add, for 2-D f32 convolutions (grouped and depthwise too) whose input and weight
      come into the fusion as they are, of at least 65536 multiply-adds (every such one
      with `conv=cudnn`); see kiln-gpu-library-calls.

    By default a library also needs at least 32 products per output: below that (a
    depthwise 3x3 filter sums 9) the op is bound by memory, a library's tiling has
    nothing to reuse, and a generated kernel moves the same bytes with the fusion's
    whole epilogue in registers.
    - `"cublaslt"` (convolutions, only with `conv=cublaslt`): a 1x1 stride-1 unpadded
      convolution as a strided batch of GEMMs.
    - `"block_per_output"`: fewer than 32768 outputs (under one 256-thread block per SM
      of a large GPU) each reducing at least 256 products, as in a classifier at batch
      1: a block per output, its threads splitting the reduction, `gpu.all_reduce`
      combining them, thread 0 applying the epilogue.
    - `"tensor_core"` (with `tensor-cores`): the generated mma.sync kernel
      (kiln-gpu-tensor-core-matmuls) for f32 matmuls and convolutions the libraries do
      not take (batch broadcasting, a 1-D convolution, `gemm=kernels`,
      `conv=kernels`) whose GEMM has at least 16 rows and 16 columns (a convolution's:
      images x pixels by filters per group), 65536 multiply-adds and 32 per output,
      whichever per-output kernel would be the choice (the kernel splits a long
      reduction over few tiles across blocks); every f32 one with
      `gemm=tensor-cores` or `conv=tensor-cores`. Operands computed in the fusion
      fold into the product, which neither the libraries nor this kernel take.
      By default it also takes, from the library, a product whose fusion is
      elementwise after it with an op that neither the library's epilogue (adds, a
      ReLU) nor the readers (cheap arithmetic, kiln-sink-library-epilogues) take in:
      GELU's Erf after a matmul, SiLU's Sigmoid after a convolution would otherwise
      be a second kernel over the library's output, where this kernel runs them on
      its accumulators. A reduction reading the product (a softmax, a layer norm)
      keeps the library: its kernel reads the product once either way.

    ```mlir
    %y = kiln.matmul %x, %w {kiln.gpu_kernel = "block_per_output"}
         : (tensor<1x2048xf32>, tensor<2048x1000xf32>) -> tensor<1x1000xf32>
    ```
  }];
}

def KilnSinkLibraryEpilogues : Pass<"kiln-sink-library-epilogues", "mlir::func::FuncOp"> {
  let summary = "Move what a library call cannot take into the fusions that read its result";
  let description = [{
    Runs after kiln-choose-gpu-kernels. A fusion whose matmul or convolution goes to
    cuBLASLt or cuDNN keeps in it what the library takes (a bias and residual add, a
    final ReLU); anything after that (a ReLU6's clip, which cuDNN's fused call lacks)
    would be a kernel of its own, reading and writing the library's whole output once
    more. When those ops are cheap elementwise arithmetic (clip, relu, max, min, add,
    sub, mul, neg, abs) and every reader of the fusion's result is a fusion without
    library calls that uses it in elementwise ops or as the input of a convolution
    reading each element at most 32 times (a depthwise 3x3 filter: 9), the ops move
    into each reader, which recomputes them as it loads (kiln-fuse-pad-producers and
    kiln-inline-padding put them in a padded convolution's loads). The library's
    fusion then yields the library's own result.

    ```mlir
    %e = kiln.fusion (%x, %w, %b) {
      %c = kiln.conv %x, %w, %b {kiln.gpu_kernel = "cudnn", ...}
      %r = kiln.clip %c {min = 0.0, max = 6.0}
      kiln.yield %r
    }
    %d = kiln.fusion (%e, %dw) { %y = kiln.conv %in, %dw {groups = 32, ...} ... }
    // becomes
    %e = kiln.fusion (%x, %w, %b) { %c = kiln.conv ... kiln.yield %c }
    %d = kiln.fusion (%dw, %e) { %r = kiln.clip %in ... %y = kiln.conv %r, %dw ... }
    ```
  }];
}

def KilnGPULibraryCalls : Pass<"kiln-gpu-library-calls", "mlir::ModuleOp"> {
  let summary = "Hand the contractions chosen for cuBLASLt to it";
  let description = [{
    Every contraction generic on buffers marked `kiln.gpu_kernel = "cublaslt"` (by
    kiln-choose-gpu-kernels, through the linalg lowering) whose body is
    `acc + lhs * rhs`, whose operands are indexed by one loop per dimension and whose
    loop groups (batch, rows, columns, reduction) each collapse into one strided
    dimension of every operand becomes a call to a private declaration
    `@kiln_cublaslt_matmul*` carrying its cuBLASLt descriptor (`kiln.cublaslt`, the
    fields of runtime/include/kiln/cuda_library.h): the row-major problem in
    cuBLASLt's column-major terms, transposes and leading dimensions from the buffers'
    strides. A fill of zeros right before becomes beta = 0; another elementwise init
    (a convolution's bias broadcast) moves after the call as an add, beta = 0, to
    merge with the fusion's epilogue; otherwise the output is accumulated onto
    (beta = 1). Without such a moved init, an elementwise bias along the output's
    rows and a ReLU right after, in place or into another buffer, become cuBLASLt's
    epilogue writing that buffer. An input that a copy only permuting elements wrote,
    and an output that such a copy alone reads, are tried as strided views
    (`memref.reinterpret_cast`) of the copy's source or target: where cuBLASLt's layout
    takes them, the copy and its buffer go (attention heads read out of a fused QKV
    projection and written back side by side at batch 1); views that do not fit are
    undone, the last tried first. Convolutions marked `"cudnn"` become
    `@kiln_cudnn_conv*` calls (`kiln.cudnn`) with the padding, bias, ReLU and residual
    add taken in; a grouped one's split group and channel dimensions
    (`[N, G, C/G, H, W]`) read as one where they run on into each other, and a
    depthwise one (x's channel `k floordiv m`, the filter's 0) has a group per input
    channel. A contraction that does not fit is marked `"thread_per_output"` and
    generated as usual. The CUDA host program turns each call into a library step.

    ```mlir
    call @kiln_cublaslt_matmul(%w, %x, %y, %y, %bias)
        : (memref<2048x1000xf32>, memref<1x2048xf32>, memref<1x1000xf32>, memref<1x1000xf32>, memref<1000xf32>) -> ()
    func.func private @kiln_cublaslt_matmul(...) attributes {kiln.cublaslt = array<i64: 1000, 1, 2048, ...>}
    ```
  }];
  let dependentDialects = ["::mlir::func::FuncDialect", "::mlir::memref::MemRefDialect"];
}

def KilnFusePadProducers : Pass<"kiln-fuse-pad-producers", "mlir::func::FuncOp"> {
  let summary = "Compute an elementwise op straight into the interior of its padded result";
  let description = [{
    For the GPU: a `tensor.pad` of an all-parallel generic's result (a ReLU6 moved in
    front of a depthwise convolution by kiln-sink-library-epilogues) becomes a fill
    of the padded tensor with the generic computing into its interior slice. After
    bufferization the generic's nest stores into the padded buffer's interior, where
    kiln-inline-padding recomputes it in the reader's loads; otherwise bufferization may
    place the generic's result in a buffer written again before the convolution reads
    the padded copy, which then has to be built. (MLIR's FuseTensorPadWithProducer
    patterns.)

    ```mlir
    %r = linalg.generic ... ins(%e) outs(%empty) { clip }
    %p = tensor.pad %r low[0, 0, 1, 1] high[0, 0, 1, 1] { tensor.yield %zero }
    // becomes
    %f = linalg.fill ins(%zero) outs(%empty_padded)
    %s = tensor.extract_slice %f[0, 0, 1, 1] ...
    %r = linalg.generic ... ins(%e) outs(%s) { clip }
    %p = tensor.insert_slice %r into %f[0, 0, 1, 1] ...
    ```
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect", "::mlir::tensor::TensorDialect"];
}

def KilnInlinePadding : Pass<"kiln-inline-padding", "mlir::func::FuncOp"> {
  let summary = "Read padded buffers through their source instead of building them";
  let description = [{
    A padded convolution or pooling input is built by two nests: one fills a larger
    buffer with the padding value, one copies the input into its interior (or computes
    it there point by point from other buffers: a clip moved in front of a depthwise
    convolution). On the GPU those are two kernels and a buffer written and read once.
    When nothing else writes that buffer, and nothing writes the interior's inputs
    before the last read, each load from it becomes a bounds test instead: inside the
    interior it computes the interior's point (indices shifted by the padding: a load
    of the input, or the clip of one), outside it yields the padding value. The two
    nests and the buffer disappear, so the consumer's nest is the only one left.

    ```mlir
    %p = memref.alloc() : memref<1x3x10x10xf32>
    scf.parallel (...) = ... to (%c1, %c3, %c10, %c10) { memref.store %zero, %p[...] }
    %interior = memref.subview %p[0, 0, 1, 1] [1, 3, 8, 8] [1, 1, 1, 1]
    scf.parallel (...) = ... to (%c1, %c3, %c8, %c8) { copy %x[...] to %interior[...] }
    ... %v = memref.load %p[%n, %c, %h, %w]
    // becomes
    ... %inside = (1 <= %h < 9) and (1 <= %w < 9)
        %v = scf.if %inside -> f32 { memref.load %x[%n, %c, %h - 1, %w - 1] } else { %zero }
    ```
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::arith::ArithDialect"];
}

def KilnFuseParallelLoops : Pass<"kiln-fuse-parallel-loops", "mlir::func::FuncOp"> {
  let summary = "Fuse a fusion's loop nests into one and keep per-thread values in registers";
  let description = [{
    A fusion region lowers to several `scf.parallel` nests over the same points (the
    fill of a matmul's output, the matmul, its bias and activation). Adjacent nests with
    equal constant bounds are merged when every buffer one writes and the other touches
    is accessed, in both, at exactly the loop's point (an index tuple naming every loop
    variable once), so each iteration reads only what the same iteration wrote: the
    region becomes one kernel. Then, inside each nest:

    - an element loaded and stored at loop-invariant indices in every iteration of an
      `scf.for` (a matmul's accumulator) becomes a loop-carried value;
    - a load after a store to the same element takes the stored value, and a store
      overwritten before any read is dropped;
    - buffers left only written are deleted.

    Buffers with different roots (distinct allocations or function arguments) are
    taken not to alias: bufferization never passes one buffer twice where either is
    written.

    ```mlir
    scf.parallel (%i, %j) ... { memref.store %zero, %c[%i, %j] }
    scf.parallel (%i, %j) ... { scf.for %k ... { %acc = memref.load %c[%i, %j] ... memref.store %s, %c[%i, %j] } }
    scf.parallel (%i, %j) ... { %v = memref.load %c[%i, %j] ... memref.store %r, %c[%i, %j] }
    // becomes
    scf.parallel (%i, %j) ... {
      %acc = scf.for %k ... iter_args(%a = %zero) { ... scf.yield %s }
      ... memref.store %r, %c[%i, %j]
    }
    ```
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::memref::MemRefDialect"];
}

def KilnForwardOutputBuffers : Pass<"kiln-forward-output-buffers", "mlir::func::FuncOp"> {
  let summary = "Compute results straight into the caller's output buffers";
  let description = [{
    After `buffer-results-to-out-params`, a function whose result came from a call
    still allocates a buffer, fills it and copies it into the output parameter at the
    end. When the buffer has the output's type, is used only before the copy and the
    output parameter is used by nothing else, the buffer is replaced by the output
    parameter and the copy disappears: one full pass over each output less per run
    (a kernel launch on the GPU, a memcpy on the CPU). A buffer copied through one
    reshape (a model output that is a Reshape of a computed tensor) becomes the output
    parameter reshaped the other way.

    ```mlir
    %a = memref.alloc() : memref<8x256xf32>
    call @main_fusion_0(%x, %a) : (...) -> ()
    memref.copy %a, %out : memref<8x256xf32> to memref<8x256xf32>
    memref.dealloc %a : memref<8x256xf32>
    // becomes
    call @main_fusion_0(%x, %out) : (...) -> ()
    ```
  }];
}

def KilnApproximateMath : Pass<"kiln-approximate-math"> {
  let summary = "Expand math functions into arithmetic and polynomial approximations";
  let description = [{
    Kernels must not call libdevice (which only the CUDA toolkit ships), so that PTX
    can be generated on any machine: hyperbolic, power and similar functions are
    expanded into exp and log, and exp, log, tanh, erf, sin, cos, atan and friends
    become MLIR's polynomial approximations (f16 and bf16 computed in f32); f64 exp and
    log, which MLIR does not approximate, are range-reduced series (about one ulp). What is
    left (sqrt, fma, abs, floor) lowers to NVVM intrinsics.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

def KilnGPUTensorCoreMatmuls : Pass<"kiln-gpu-tensor-core-matmuls", "mlir::func::FuncOp"> {
  let summary = "Generate tensor-core kernels for matmuls and convolutions (mma.sync, 3xTF32)";
  let description = [{
    Every contraction generic on buffers marked `kiln.gpu_kernel = "tensor_core"` (by
    kiln-choose-gpu-kernels, through the linalg lowering) whose body is
    `acc + lhs * rhs` on f32 is read as a batch of GEMMs: the loops indexing the
    output and only the left operand are its rows (a matmul's rows; a convolution's
    images and pixels), those indexing the output and only the right operand its
    columns (filters), the reductions its depth (channels and window: an implicit
    GEMM) and loops both operands index its batch (groups, heads); a group of loops
    runs row-major. It becomes a `gpu.launch`: a block of 2x2 warps per 64x64 output
    tile and batch element, each warp 2x4 `mma.sync.m16n8k8` tiles on TF32. The block
    steps through the reduction 16 at a time: its threads copy a 64x16 slice of each
    operand into shared memory with `cp.async` (`nvgpu.device_async_copy`),
    neighbouring threads reading neighbouring elements (along the reduction where the
    operand's last dimension follows it, else along its rows or columns), and the
    warps read their fragments from there. Both operands take the slice's 16 depths
    in an order where each lane's four are neighbours, so a k-minor slice gives them
    in one 16-byte read; a k-major slice's rows have their groups of 8 columns XORed
    with 8 * ((k / 4) % 4), which keeps a warp's reads on 32 banks. The slices have
    three stages: the copies for the next two steps
    are in flight while the warps multiply, and one barrier a step publishes the
    step's slices and ends the reads of the stage the next copies overwrite. An
    operand whose last dimension is strided, or padded with a value other than zero,
    is loaded and stored instead of copied. A copy moves 4 floats (16 bytes) where
    the copy's loop indexes the buffer's last dimension alone with an extent a
    multiple of 4 and the buffer's offset and outer strides are multiples of 4, else
    one. Each operand is split into a TF32 high part (truncated) and the TF32 of the
    rest, and the three products that matter (lo*hi, hi*lo, hi*hi) accumulate in f32,
    so the result keeps f32's accuracy (3xTF32) where plain TF32 would keep 10 bits.
    A thread with a NaN sum (an infinite operand's rest is NaN, and 0 * inf is too)
    computes its outputs again in plain f32, a product at a time, so infinities and
    NaN come out as in f32.
    An elementwise init right before (a zero fill, a bias broadcast) gives each
    accumulator its starting value and an elementwise epilogue right after (bias,
    activation, residual add) runs on the finished accumulators, each thread storing
    its own outputs: one kernel per fusion, as with the per-output kernels. Ragged
    edges clamp their loads and guard their stores; a reduction not a multiple of 16
    reads zeros past its end. Fewer than 64 blocks over a reduction of at least 1024
    would leave the GPU idle: the reduction is split into up to 16 parts of at least
    256 (about 128 blocks), block z taking part z % parts; each block stores its sums
    in a workspace, and a second kernel, a thread per output, adds the parts in order
    and runs the init and epilogue. Generics that do not match keep
    `"thread_per_output"`. `--gpu-loops-on-cpu` runs the same kernel, its mma.syncs
    computed warp by warp (kiln-gpu-launches-on-cpu).

    ```mlir
    linalg.generic {iterator_types = ["parallel", "parallel", "reduction"], kiln.gpu_kernel = "tensor_core"}
        ins(%x, %w : memref<128x768xf32>, memref<768x768xf32>) outs(%y : memref<128x768xf32>)
    // becomes
    gpu.launch blocks(12, 2, 1) threads(128, 1, 1)
               workgroup(%xs : memref<3x64x16xf32, #gpu.address_space<workgroup>>,
                         %ws : memref<3x16x64xf32, #gpu.address_space<workgroup>>) {
      nvgpu.device_async_copy ... // this thread's 8 elements of each slice at depth 0
      nvvm.cp.async.commit.group
      nvgpu.device_async_copy ... // and at depth 16, into stage 1
      nvvm.cp.async.commit.group
      nvvm.cp.async.wait.group 1  // the first group has landed
      %acc:32 = scf.for %k = %c0 to %c768 step %c16 iter_args(...) {
        gpu.barrier
        scf.if (%k + 32 < 768) { nvgpu.device_async_copy ... into stage (%k / 16 + 2) % 3 }
        nvvm.cp.async.commit.group
        %x = vector.load %xs[%stage, %row, %t4] {alignment = 16 : i64} ... // depths 4t .. 4t + 3
        ... nvvm.mma.sync A[...] B[...] C[...] {multiplicandAPtxType = #nvvm.mma_type<tf32>, ...}
        nvvm.cp.async.wait.group 1
      }
      memref.store ... // the epilogue on each accumulator
    }
    ```
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect", "::mlir::LLVM::LLVMDialect",
                           "::mlir::NVVM::NVVMDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::affine::AffineDialect", "::mlir::nvgpu::NVGPUDialect",
                           "::mlir::vector::VectorDialect"];
}

def KilnGPUBlockReductions : Pass<"kiln-gpu-block-reductions", "mlir::func::FuncOp"> {
  let summary = "Reduce with whole thread blocks: shared memory and warp shuffles";
  let description = [{
    A reduction generic on buffers (softmax's max and sum, layer norm's mean, global
    pooling; not contractions, whose operands vary along the reduction through
    different maps)
    whose reduced extent is at least `min-reduction` becomes a `gpu.launch` with one
    block per output element. Each of the block's threads folds every
    `blockDim`-th element into a partial result, starting from the combiner's
    identity; `gpu.all_reduce` combines the partials (the NVVM lowering uses warp
    shuffles and shared memory), and thread 0 folds the total into the output, which
    holds the generic's initial value.

    ```mlir
    linalg.generic {iterator_types = ["parallel", "reduction"]} ins(%x : memref<4x1000xf32>) outs(%y : memref<4xf32>)
    // becomes
    gpu.launch blocks(4, 1, 1) threads(256, 1, 1) {
      %p = scf.for %r = %tid to %c1000 step %c256 iter_args(%acc = %zero) ... // partial
      %t = gpu.all_reduce add %p uniform
      scf.if %tid == 0 { %y[%b] = %y[%b] + %t }
    }
    ```
  }];
  let options = [
    Option<"minReduction", "min-reduction", "int64_t", /*default=*/"32",
           "Smallest reduced extent worth a block (smaller ones stay one thread each)">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect",
                           "::mlir::affine::AffineDialect", "::mlir::memref::MemRefDialect"];
}

def KilnGPURowKernels : Pass<"kiln-gpu-row-kernels", "mlir::func::FuncOp"> {
  let summary = "One kernel per run of row-wise generics (softmax, layer norm): a block per row";
  let description = [{
    A run of generics on buffers that all work row by row, each touching row r of the
    buffers it writes only at row r, with at least one reduction over the row
    (softmax's scale, max, exponentials, sum and division; layer norm's mean,
    centring, variance and normalization), becomes one `gpu.launch` with one block per
    row instead of a kernel per generic. The generics run one after another in the
    block: elementwise ones with the block's threads striding over the row, reductions
    as in kiln-gpu-block-reductions (strided partial results, `gpu.all_reduce`).
    A reduction's result, and any per-row value computed from it, is every thread's
    register: later generics read the register instead of memory, and a scratch
    buffer read only that way is never stored at all. Other per-row results are
    stored by thread 0; `gpu.barrier` separates generics that touch memory.

    The rows are the leading parallel loops of the run's first long reduction (at
    least `min-reduction` elements); every generic of the run must start with the same
    loops, access each buffer the run writes through one value, with an identity
    layout and those loops as its leading indices.

    `--gpu-loops-on-cpu` runs these kernels on the CPU, threads included
    (kiln-gpu-launches-on-cpu), to check them without a GPU.

    ```mlir
    // softmax over rows of 128: max, exponentials, sum, division
    gpu.launch blocks(1536, 1, 1) threads(128, 1, 1) {
      %p = scf.for %c = %tid to %c128 step %c128 iter_args(%m = %ninf) ... // max
      %max = gpu.all_reduce maximumf %p uniform
      scf.for %c = %tid to %c128 step %c128 { %x[%row, %c] = exp(%x[%row, %c] - %max) }
      gpu.barrier
      %q = scf.for ...                                                       // sum
      %sum = gpu.all_reduce add %q uniform
      scf.for %c = %tid to %c128 step %c128 { %x[%row, %c] = %x[%row, %c] / %sum }
    }
    ```
  }];
  let options = [
    Option<"minReduction", "min-reduction", "int64_t", /*default=*/"32",
           "Smallest reduced extent worth a block per row">
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect",
                           "::mlir::affine::AffineDialect", "::mlir::memref::MemRefDialect"];
}

def KilnGPULaunchesOnCPU : Pass<"kiln-gpu-launches-on-cpu", "mlir::func::FuncOp"> {
  let summary = "Run gpu.launch kernels on the CPU, keeping what a block's threads share";
  let description = [{
    For `--gpu-loops-on-cpu`: the CUDA target's kernels as they are after the GPU
    mapping (block per row, threads striding over it, `gpu.barrier`, `gpu.all_reduce`)
    run on the CPU, so their thread cooperation is checked without a GPU. Each
    `gpu.launch` becomes loops over its blocks; the body is cut into phases at its
    top-level barriers and all_reduces, and for each block every thread runs one phase
    (a loop over the threads) before any starts the next. A top-level `scf.for` with
    barriers in its body (a loop over shared-memory tiles) runs once for the whole
    block, its body cut into phases too; its carried values are kept per thread, and
    its bounds must be the same for all threads. No barrier separates an iteration's
    end from the next one's start, so those share a phase. Shared memory (workgroup
    attributions) is one buffer the blocks use in turn. An `nvvm.mma.sync` (m16n8k8
    on TF32, the tensor-core kernel's) ends a phase too: each lane leaves its A, B and
    C fragment registers in arrays, and after the phase each warp's product is
    computed from them, as PTX lays the fragments out over the lanes, into the
    per-thread arrays its `llvm.extractvalue`s read. An mma.sync brings only its
    warp together: steps joined by mma.syncs alone, and loops whose only meetings are
    mma.syncs, run warp by warp (a one-dimensional block of whole warps), one warp
    through all of them before the next, so a barrier missing between warps shows.
    A `cp.async` copy
    (`nvgpu.device_async_copy`, zero-filled past its source count) reads its source
    where it is issued into per-thread arrays and leaves a poison value (1e10) in its
    destination; the `nvvm.cp.async.wait.group N` that retires its group (all but
    the newest N the thread committed) stores the values. So a read before the
    thread's own wait, a wait that retires too little, and a copy into shared memory
    that other threads still read without a barrier between all show. Its
    destination must be the launch's shared memory. An all_reduce's operand goes
    into a per-thread array, combined in thread order after its phase; the result is
    the same for all threads of the block. A value a later phase reads is computed
    again there when its op has no memory effects, else kept per thread in an array.

    Threads run one after another within a phase, in order in even blocks and last
    first in odd ones, so a thread reading another's write without a barrier between
    sees the stale value in some blocks, whichever of the two comes first, as a race
    on the GPU could see it. Barriers or all_reduces inside other control flow,
    all_reduces with a body, private memory, clusters and async launches are errors.

    ```mlir
    gpu.launch blocks(%b, ...) in (%gx = %c128, ...) threads(%t, ...) in (%bx = %c256, ...) {
      %p = scf.for %i = %t to %c768 step %c256 iter_args(...) { ... }   // partial sums
      %s = gpu.all_reduce add %p uniform {} : (f32) -> f32
      scf.for %i = %t to %c768 step %c256 { ... %s ... }              // normalize
    }
    // becomes
    scf.for %b = 0 to 128 {
      scf.for %t = 0 to 256 { %p = ...; memref.store %p, %partials[%t] }
      %s = scf.for %t = 1 to 256 iter_args(%a = %partials[0]) { %a + %partials[%t] }
      scf.for %t = 0 to 256 { ... %s ... }
    }
    ```
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect"];
}

def KilnGatherGPUKernels : Pass<"kiln-gather-gpu-kernels", "mlir::ModuleOp"> {
  let summary = "Check that all computation is in kernels; put the kernels in one module";
  let description = [{
    After `gpu-kernel-outlining`, host functions may only allocate, call and launch:
    an element access left outside a kernel (a loop the GPU mapping did not cover)
    would read device memory on the host, so it is an error naming the op. The
    outlined `gpu.module`s, one per kernel, are merged into one, `@kiln_kernels`,
    which becomes one PTX file and one module load at run time. Kernels' shared
    memory (workgroup attributions) is aligned to 16 bytes, as 16-byte `cp.async`
    copies need.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::LLVM::LLVMDialect"];
}

#endif
