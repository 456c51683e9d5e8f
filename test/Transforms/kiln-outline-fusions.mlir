// RUN: kiln-opt %s -kiln-outline-fusions | FileCheck %s
// Each region becomes a private function marked kiln.fusion, called in its place.

// CHECK-LABEL: func.func private @main_fusion_0
// CHECK-SAME: (%[[A:.+]]: tensor<4xf32>, %[[B:.+]]: tensor<4xf32>) -> tensor<4xf32> attributes {kiln.fusion}
// CHECK-NEXT: %[[S:.+]] = kiln.add %[[A]], %[[B]]
// CHECK-NEXT: return %[[S]]
// CHECK-LABEL: func.func private @main_fusion_1
// CHECK: kiln.relu
// CHECK-LABEL: func.func @main
// CHECK: %[[C0:.+]] = call @main_fusion_0(%{{.*}}, %{{.*}})
// CHECK: %[[C1:.+]] = call @main_fusion_1(%[[C0]])
// CHECK: return %[[C1]]
func.func @main(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  %0 = kiln.fusion (%a, %b) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%x: tensor<4xf32>, %y: tensor<4xf32>):
    %s = kiln.add %x, %y : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    kiln.yield %s : tensor<4xf32>
  }
  %1 = kiln.fusion (%0) : (tensor<4xf32>) -> tensor<4xf32> {
  ^bb0(%x: tensor<4xf32>):
    %r = kiln.relu %x : tensor<4xf32>
    kiln.yield %r : tensor<4xf32>
  }
  return %1 : tensor<4xf32>
}
