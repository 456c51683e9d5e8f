// RUN: kiln-opt %s -kiln-cpu-pipeline | FileCheck %s
// RUN: kiln-opt %s -kiln-graph-pipeline | FileCheck %s --check-prefix=GRAPH
// RUN: kiln-opt %s -kiln-graph-pipeline -kiln-linalg-pipeline | FileCheck %s --check-prefix=LINALG
// RUN: kiln-opt %s -kiln-graph-pipeline -kiln-linalg-pipeline -kiln-cpu-lowering-pipeline | FileCheck %s
// kiln-opt runs exactly the pipelines kiln-compile runs, stage by stage or whole.

// GRAPH: kiln.fusion
// GRAPH: kiln.matmul
// GRAPH: kiln.add
// GRAPH: kiln.relu

// LINALG: func.func private @main_fusion_0({{.*}}) -> tensor<4x16xf32> attributes {kiln.fusion}
// LINALG: scf.for
// LINALG: func.func @main
// LINALG: call @main_fusion_0

// Everything is in the LLVM dialect, with bare-pointer arguments and the result as an
// out-parameter.
// CHECK-NOT: = kiln.
// CHECK-NOT: linalg.
// CHECK-NOT: memref.
// CHECK: llvm.func @main(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
func.func @main(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>, %b: tensor<16xf32>) -> tensor<4x16xf32> {
  %0 = kiln.matmul %x, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %1 = kiln.add %0, %b : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %2 = kiln.relu %1 : tensor<4x16xf32>
  return %2 : tensor<4x16xf32>
}
