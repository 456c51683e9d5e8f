// RUN: kiln-opt %s -split-input-file -kiln-gather-gpu-kernels -verify-diagnostics | FileCheck %s

// Two outlined modules whose kernels share a name merge into @kiln_kernels; each kernel
// takes its module's (unique) name and the launches follow.
// CHECK-LABEL: func @launches
// CHECK: gpu.launch_func @kiln_kernels::@f_kernel
// CHECK: gpu.launch_func @kiln_kernels::@f_kernel_0
// CHECK: gpu.module @kiln_kernels
// CHECK: gpu.func @f_kernel(
// CHECK: gpu.func @f_kernel_0(
// CHECK-NOT: gpu.module
module attributes {gpu.container_module} {
  func.func @launches(%m: memref<4xf32>) {
    %c1 = arith.constant 1 : index
    gpu.launch_func @f_kernel::@f_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%m : memref<4xf32>)
    gpu.launch_func @f_kernel_0::@f_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%m : memref<4xf32>)
    return
  }
  gpu.module @f_kernel {
    gpu.func @f_kernel(%m: memref<4xf32>) kernel {
      gpu.return
    }
  }
  gpu.module @f_kernel_0 {
    gpu.func @f_kernel(%m: memref<4xf32>) kernel {
      gpu.return
    }
  }
}

// -----

// An element access left on the host would read device memory there.
module attributes {gpu.container_module} {
  func.func @host_loop(%m: memref<4xf32>) {
    %c0 = arith.constant 0 : index
    // expected-error @below {{this op is not mapped to the GPU (it would run on the host)}}
    %v = memref.load %m[%c0] : memref<4xf32>
    return
  }
}
