#!/usr/bin/env bash
# The main job on a bundled example: installs what is missing, builds Kiln, compiles the
# small CNN under test/models to a native shared library and runs it against PyTorch's
# output, then benchmarks it.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh kiln-compile kiln-run
model=test/models/small_cnn
mkdir -p build/demo
echo "== kiln-compile $model/model.onnx -o build/demo/small_cnn.so"
time ./build/bin/kiln-compile "$model/model.onnx" -o build/demo/small_cnn.so
echo "== kiln-run build/demo/small_cnn.so (reference: PyTorch)"
./build/bin/kiln-run build/demo/small_cnn.so --input "$model/input_0.npy" \
  --expect "$model/output_0.npy" --bench 200
