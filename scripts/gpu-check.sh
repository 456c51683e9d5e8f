#!/usr/bin/env bash
# The GPU checks, split the AOT way: compile here, run on a machine with a GPU and no
# compiler.
#
#   scripts/gpu-check.sh prepare [DIR]   here (after scripts/build.sh): exports ResNet-50,
#       MobileNetV2 and the BERT-base encoder at batch 1 (and all but MobileNetV2 at 32)
#       and compiles them: batch 1 once more with generated kernels only
#       (--cuda-gemm=kernels --cuda-conv=kernels: BERT's matmuls and most of ResNet-50's
#       convolutions then run on the generated tensor-core kernel), MobileNetV2 once more
#       with every convolution, depthwise too, through cuDNN. It compiles the CPU
#       expected-pass node tests for CUDA three times (defaults; every matmul through
#       cuBLASLt and every convolution through cuDNN; every one through the tensor-core
#       kernel), the library and tensor-core cases of the lit tests (test/Inputs, with
#       the CPU artifact's outputs), and one large GEMM, one large convolution, one
#       split across blocks and BERT's feed-forward expansion with its GELU through the
#       libraries and the tensor-core kernel, and packs DIR (default gpu-check) with
#       kiln-run and the runtime into DIR.parts/part-* of at most 60 MiB each (one per
#       transfer).
#   scripts/gpu-check.sh run [DIR]       there, with DIR.parts/ copied over: unpacks,
#       runs the node tests and the library cases on the GPU, checks the models against
#       PyTorch's outputs (rtol 1e-3), and times batch 1 and 32 next to PyTorch eager on
#       the same GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-}
dir=${2:-gpu-check}
arch=${KILN_CUDA_ARCH:-sm_90}
models=(resnet50 mobilenet_v2 bert_base)
batched=(resnet50 bert_base) # also at batch 32 (the transfer is what limits this)
# The lit inputs whose library mappings the stand-ins check (test/Runtime/cuda-*.test,
# test/Target/CUDA/library-epilogues.test), each with the flag that sends it to its
# library.
cases=("conv_epilogues --cuda-conv=cudnn" "grouped_convs --cuda-conv=cudnn" "pointwise_conv --cuda-conv=cublaslt"
       "attention_heads --cuda-gemm=cublaslt" "matmul_residual --cuda-gemm=cublaslt"
       "inverted_residual --cuda-conv=auto"
       # and the generated tensor-core matmuls (test/Target/CUDA/tensor-cores.test)
       "dense_relu --cuda-gemm=kernels" "attention_heads --cuda-gemm=tensor-cores"
       "matmul_residual --cuda-gemm=tensor-cores" "conv_epilogues --cuda-conv=tensor-cores"
       "grouped_convs --cuda-conv=tensor-cores" "long_reduction --cuda-gemm=kernels"
       # and a GELU kept on the accumulators by default (a third field: whose inputs)
       "dense_gelu --cuda-gemm=auto dense_relu")

prepare() {
  rm -rf "$dir" "$dir.parts"
  mkdir -p "$dir/models" "$dir/build/bin" "$dir/build/lib" "$dir.parts"
  # Each artifact of a model names the same weights file: compiled apart, they must
  # write the same bytes, so one copy serves all.
  compile() { # MODEL_DIR ARTIFACT WEIGHTS [FLAGS...]
    local model=$1 artifact=$2 weights=$3
    shift 3
    mkdir -p "$dir/tmp"
    build/bin/kiln-compile "$model/model.onnx" --target=cuda:"$arch" "$@" \
      --weights-file="$weights" -o "$dir/tmp/$artifact"
    if [ -e "$dir/$weights" ]; then
      cmp "$dir/tmp/$weights" "$dir/$weights"
      rm "$dir/tmp/$weights"
    fi
    mv "$dir/tmp/"* "$dir/"
  }
  for batch in 1 32; do
    local flag=() suffix="" names=("${models[@]}")
    if [ "$batch" != 1 ]; then flag=(--batch "$batch"); suffix="_b$batch"; names=("${batched[@]}"); fi
    /usr/bin/python3 test/models/make_models.py "$dir/models" "${flag[@]}" "${names[@]}"
    for m in "${names[@]}"; do
      compile "$dir/models/$m$suffix" "$m$suffix.so" "$m.weights"
      if [ "$batch" = 1 ]; then
        compile "$dir/models/$m" "${m}_kernels.so" "$m.weights" --cuda-gemm=kernels --cuda-conv=kernels
      fi
      if [ "$m" = mobilenet_v2 ] && [ "$batch" = 1 ]; then
        compile "$dir/models/$m" "${m}_cudnn.so" "$m.weights" --cuda-conv=cudnn
      fi
      rm -f "$dir/models/$m$suffix/model"*.onnx
    done
  done
  rmdir "$dir/tmp"
  build/bin/kiln-onnx-test /usr/share/libonnx-testdata/data/node --only-listed \
    --expect-pass test/conformance/cpu-expected-pass.txt --target=cuda:"$arch" \
    --compile-to "$dir/suite" --quiet
  build/bin/kiln-onnx-test /usr/share/libonnx-testdata/data/node --only-listed \
    --expect-pass test/conformance/cpu-expected-pass.txt --target=cuda:"$arch" \
    --cuda-gemm=cublaslt --cuda-conv=cudnn --compile-to "$dir/suite-libraries" --quiet
  build/bin/kiln-onnx-test /usr/share/libonnx-testdata/data/node --only-listed \
    --expect-pass test/conformance/cpu-expected-pass.txt --target=cuda:"$arch" \
    --cuda-gemm=tensor-cores --cuda-conv=tensor-cores --compile-to "$dir/suite-tensor-cores" --quiet
  for c in "${cases[@]}"; do
    read -r name flag from <<<"$c"
    from=${from:-$name}
    local out="$dir/cases/$name${flag#--cuda}" inputs=()
    mkdir -p "$out"
    for f in test/Inputs/"$from"_*.npy; do
      local input=${f#test/Inputs/"$from"_}
      cp "$f" "$out/input_$input"
      inputs+=(--input "${input%.npy}=$f")
    done
    build/bin/kiln-compile "test/Inputs/$name.onnxtxt" -o "$out/cpu.so"
    build/bin/kiln-run "$out/cpu.so" "${inputs[@]}" --save "$out" >/dev/null
    rm "$out/cpu.so"
    build/bin/kiln-compile "test/Inputs/$name.onnxtxt" --target=cuda:"$arch" "$flag" -o "$out/cuda.so"
  done
  # One large GEMM and two convolutions, each through its library and through the
  # generated tensor-core kernel (their inputs are made there: too big to carry).
  mkdir -p "$dir/micro"
  printf '%s\n' '<ir_version: 8, opset_import: ["" : 13]>' \
    'g (float[2048,2048] a, float[2048,2048] b) => (float[2048,2048] c) { c = MatMul (a, b) }' \
    >"$dir/micro/gemm.onnxtxt"
  printf '%s\n' '<ir_version: 8, opset_import: ["" : 13]>' \
    'g (float[8,256,56,56] x, float[256,256,3,3] w) => (float[8,256,56,56] y) { y = Conv <pads = [1,1,1,1]> (x, w) }' \
    >"$dir/micro/conv.onnxtxt"
  # BERT-base's feed-forward expansion with its bias and GELU (Erf): cuBLASLt and a GELU
  # kernel after it (the library's GELU is the tanh form), against the tensor-core
  # kernel with the GELU on its accumulators (the default).
  printf '%s\n' '<ir_version: 8, opset_import: ["" : 13]>' \
    'g (float[128,768] x, float[768,3072] w, float[3072] b) => (float[128,3072] y) {' \
    '  r = Constant <value = float {1.41421354}> ()' '  one = Constant <value = float {1.0}> ()' \
    '  half = Constant <value = float {0.5}> ()' '  m = MatMul (x, w)' '  z = Add (m, b)' '  s = Div (z, r)' \
    '  e = Erf (s)' '  p = Add (e, one)' '  g1 = Mul (z, p)' '  y = Mul (g1, half)' '}' \
    >"$dir/micro/ffn.onnxtxt"
  # ResNet-50's last-stage 3x3 convolution at batch 1: 8 tiles over 4608 products, which
  # the tensor-core kernel splits in 16.
  printf '%s\n' '<ir_version: 8, opset_import: ["" : 13]>' \
    'g (float[1,512,7,7] x, float[512,512,3,3] w) => (float[1,512,7,7] y) { y = Conv <pads = [1,1,1,1]> (x, w) }' \
    >"$dir/micro/late.onnxtxt"
  for m in "gemm cublaslt --cuda-gemm=cublaslt" "gemm tensor_cores --cuda-gemm=tensor-cores" \
           "conv cudnn --cuda-conv=cudnn" "conv tensor_cores --cuda-conv=tensor-cores" \
           "late cudnn --cuda-conv=cudnn" "late tensor_cores --cuda-conv=tensor-cores" \
           "ffn cublaslt --cuda-gemm=cublaslt" "ffn tensor_cores --cuda-gemm=auto"; do
    read -r name how flag <<<"$m"
    build/bin/kiln-compile "$dir/micro/$name.onnxtxt" --target=cuda:"$arch" "$flag" -o "$dir/micro/${name}_$how.so"
  done
  cp test/conformance/cpu-expected-pass.txt "$dir/"
  cp build/bin/kiln-run "$dir/build/bin/"
  cp -L build/lib/libkiln_runtime.so* "$dir/build/lib/"
  tar cf - -C "$(dirname "$dir")" "$(basename "$dir")" | split -b 60M - "$dir.parts/part-"
  ls -l "$dir.parts"
}

run() {
  if [ -d "$dir.parts" ]; then
    rm -rf "$dir"
    cat "$dir.parts"/part-* | tar xf - -C "$(dirname "$dir")"
  fi
  local run="$dir/build/bin/kiln-run"
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader || true
  # cuBLASLt and cuDNN from the toolkit, else the copies PyTorch's wheels bring along.
  find_library() { # VARIABLE SONAME WHEEL_DIR
    local variable=$1 soname=$2 wheel=$3 found
    if [ -z "${!variable:-}" ] && ! ldconfig -p 2>/dev/null | grep -q "$soname"; then
      found=$(ls /usr/local/cuda/lib64/"$soname".so.[0-9]* 2>/dev/null | tail -1)
      if [ -z "$found" ]; then
        found=$(python3 -c 'import glob, sys
name, wheel = sys.argv[1], sys.argv[2]
print(next((f for p in sys.path for f in sorted(glob.glob(p + "/nvidia/cu*/lib/" + name + ".so.*") + glob.glob(p + "/nvidia/" + wheel + "/lib/" + name + ".so.*") + glob.glob(p + "/torch/lib/" + name + "*.so*"))), ""))' "$soname" "$wheel" 2>/dev/null || true)
      fi
      export "$variable=$found"
      # cuDNN opens its sublibraries (libcudnn_cnn...) by name, from beside it.
      if [ -n "$found" ]; then export LD_LIBRARY_PATH="$(dirname "$found")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; fi
    fi
    echo "$soname: ${!variable:-from the library path}"
  }
  find_library KILN_CUBLASLT libcublasLt cublas
  find_library KILN_CUDNN libcudnn cudnn
  echo "== node tests on the GPU"
  "$run" --suite "$dir/suite" --expect-pass "$dir/cpu-expected-pass.txt" -j 8 --quiet || true
  echo "== node tests on the GPU, every matmul through cuBLASLt, every convolution through cuDNN"
  "$run" --suite "$dir/suite-libraries" --expect-pass "$dir/cpu-expected-pass.txt" -j 8 --quiet || true
  echo "== node tests on the GPU, every matmul and convolution through the generated tensor-core kernel"
  "$run" --suite "$dir/suite-tensor-cores" --expect-pass "$dir/cpu-expected-pass.txt" -j 8 --quiet || true
  for out in "$dir"/cases/*/; do
    echo "== $(basename "$out") against the CPU artifact"
    local inputs=() expects=()
    for f in "$out"input_*.npy; do
      local input=${f#"$out"input_}
      inputs+=(--input "${input%.npy}=$f")
    done
    for f in "$out"output_*.npy; do expects+=(--expect "$f"); done
    "$run" "$out/cuda.so" "${inputs[@]}" "${expects[@]}" || true
  done
  echo "== mobilenet_v2 batch 1, every convolution through cuDNN"
  "$run" "$dir/mobilenet_v2_cudnn.so" --input "$dir/models/mobilenet_v2/input_0.npy" \
    --expect "$dir/models/mobilenet_v2/output_0.npy" --rtol 1e-3 --atol 1e-4 --bench 100 --warmup 10 || true
  for m in "${models[@]}"; do
    echo "== $m batch 1 against PyTorch (rtol 1e-3)"
    "$run" "$dir/$m.so" --input "$dir/models/$m/input_0.npy" \
      --expect "$dir/models/$m/output_0.npy" --rtol 1e-3 --atol 1e-4 --bench 100 --warmup 10 || true
    echo "== $m batch 1, generated kernels only"
    "$run" "$dir/$m"_kernels.so --input "$dir/models/$m/input_0.npy" \
      --expect "$dir/models/$m/output_0.npy" --rtol 1e-3 --atol 1e-4 --bench 100 --warmup 10 || true
    [ -e "$dir/$m"_b32.so ] || continue
    echo "== $m batch 32"
    "$run" "$dir/$m"_b32.so --input "$dir/models/$m"_b32/input_0.npy \
      --expect "$dir/models/$m"_b32/output_0.npy --rtol 1e-3 --atol 1e-4 --bench 50 --warmup 5 || true
  done
  echo "== a 2048^3 GEMM, a 3x3 convolution (8x256x56x56, 256 filters), a split one"
  echo "   (1x512x7x7, 512 filters) and BERT's 128x768 by 768x3072 with bias and GELU:"
  echo "   library, then tensor cores"
  python3 -c 'import sys, numpy as np
d, rng = sys.argv[1], np.random.default_rng(0)
for name, shape in (("a", (2048, 2048)), ("b", (2048, 2048)), ("x", (8, 256, 56, 56)), ("w", (256, 256, 3, 3)),
                    ("xl", (1, 512, 7, 7)), ("wl", (512, 512, 3, 3)), ("xf", (128, 768)), ("wf", (768, 3072)),
                    ("bf", (3072,))):
    np.save(f"{d}/{name}.npy", rng.standard_normal(shape, dtype=np.float32))' "$dir/micro" || true
  for m in "gemm cublaslt a=a b=b" "conv cudnn x=x w=w" "late cudnn x=xl w=wl" "ffn cublaslt x=xf w=wf b=bf"; do
    read -r name lib bindings <<<"$m"
    local inputs=() binding
    for binding in $bindings; do inputs+=(--input "${binding%=*}=$dir/micro/${binding#*=}.npy"); done
    mkdir -p "$dir/micro/$name"
    "$run" "$dir/micro/${name}_$lib.so" "${inputs[@]}" --save "$dir/micro/$name" --bench 50 --warmup 5 || true
    "$run" "$dir/micro/${name}_tensor_cores.so" "${inputs[@]}" --expect "$dir/micro/$name/output_0.npy" \
      --rtol 1e-3 --atol 1e-3 --bench 50 --warmup 5 || true
  done
  python3 -c 'import torch
torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
a, b = torch.randn(2048, 2048, device="cuda"), torch.randn(2048, 2048, device="cuda")
x, w = torch.randn(8, 256, 56, 56, device="cuda"), torch.randn(256, 256, 3, 3, device="cuda")
xl, wl = torch.randn(1, 512, 7, 7, device="cuda"), torch.randn(512, 512, 3, 3, device="cuda")
xf, wf, bf = torch.randn(128, 768, device="cuda"), torch.randn(768, 3072, device="cuda"), torch.randn(3072, device="cuda")
for name, f in (("torch.mm", lambda: a @ b), ("conv2d", lambda: torch.nn.functional.conv2d(x, w, padding=1)),
                ("conv2d 1x512x7x7", lambda: torch.nn.functional.conv2d(xl, wl, padding=1)),
                ("gelu(x @ w + b) 128x768x3072", lambda: torch.nn.functional.gelu(torch.addmm(bf, xf, wf)))):
    for _ in range(5): f()
    times = []
    for _ in range(50):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record(); f(); e.record(); e.synchronize(); times.append(s.elapsed_time(e))
    times.sort()
    print(f"PyTorch {name} fp32 (no TF32): min {times[0]:.3f} ms, median {times[25]:.3f} ms")' || true
  echo "== PyTorch eager, same GPU"
  python3 scripts/torch_eager_bench.py "${models[@]}" || true
}

case "$mode" in
  prepare) prepare ;;
  run) run ;;
  *) echo "usage: $0 prepare|run [DIR]" >&2; exit 2 ;;
esac
