# lit configuration for Kiln's tests.
import os
import lit.formats

config.name = "Kiln"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir", ".onnxtxt", ".test"]
config.excludes = ["lit.cfg.py", "lit.site.cfg.py", "Inputs", "unittests", "make_models.py", "__pycache__"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.kiln_obj_root, "test")

config.environment["PATH"] = os.pathsep.join(
    [config.kiln_tools_dir, config.llvm_tools_dir, config.environment.get("PATH", "/usr/bin:/bin")])
config.substitutions.append(("%kiln_src", config.kiln_src_root))
config.substitutions.append(("%onnx_node_tests", config.onnx_node_tests))
config.substitutions.append(("%python", "/usr/bin/python3"))
# mlir-runner's helpers (printF64), for tests that execute generated code.
config.substitutions.append(("%mlir_runner_utils", os.path.join(
    config.llvm_tools_dir, "..", "lib", "libmlir_runner_utils.so") + "," + os.path.join(
    config.llvm_tools_dir, "..", "lib", "libmlir_c_runner_utils.so")))

# Tests that export models from PyTorch need Debian's python3-torch (installed by
# scripts/install-deps.sh).
import subprocess
if subprocess.call(["/usr/bin/python3", "-c", "import torch, torchvision"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0:
    config.available_features.add("torch")

# PTX is checked by ptxas wherever the CUDA toolkit is installed (DESIGN: never only
# on GPU machines).
import shutil
ptxas = shutil.which("ptxas") or ("/usr/local/cuda/bin/ptxas" if os.access("/usr/local/cuda/bin/ptxas", os.X_OK) else None)
if ptxas:
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))

# The runtime's CUDA path runs against a stand-in driver everywhere; end-to-end GPU
# tests run where a real driver reports a device.
config.substitutions.append(("%fake_cuda", os.path.join(config.kiln_obj_root, "lib", "libkiln_fake_cuda.so")))
gpu_probe = ("import ctypes\n"
             "d = ctypes.CDLL('libcuda.so.1'); n = ctypes.c_int(0)\n"
             "assert d.cuInit(0) == 0 and d.cuDeviceGetCount(ctypes.byref(n)) == 0 and n.value > 0")
if subprocess.call(["/usr/bin/python3", "-c", gpu_probe],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0:
    config.available_features.add("cuda-gpu")
else:
    lit_config.note("no CUDA GPU here: the GPU end-to-end tests (REQUIRES: cuda-gpu) are skipped")
