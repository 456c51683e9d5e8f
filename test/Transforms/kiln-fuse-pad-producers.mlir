// RUN: kiln-opt %s --kiln-fuse-pad-producers | FileCheck %s

// A ReLU6 generic whose result is zero-padded: the padded tensor is filled with the
// padding value and the generic computes into its interior slice.
// CHECK-LABEL: func.func @clip_then_pad
// CHECK: %[[FILL:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<1x4x10x10xf32>)
// CHECK: %[[SLICE:.*]] = tensor.extract_slice %[[FILL]][0, 0, 1, 1] [1, 4, 8, 8] [1, 1, 1, 1]
// CHECK: %[[CLIP:.*]] = linalg.generic {{.*}} ins(%arg0 : tensor<1x4x8x8xf32>) outs(%[[SLICE]] : tensor<1x4x8x8xf32>)
// CHECK: arith.minimumf
// CHECK: tensor.insert_slice %[[CLIP]] into %[[FILL]][0, 0, 1, 1] [1, 4, 8, 8] [1, 1, 1, 1]
// CHECK-NOT: tensor.pad
#id = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func @clip_then_pad(%e: tensor<1x4x8x8xf32>) -> tensor<1x4x10x10xf32> {
  %zero = arith.constant 0.0 : f32
  %six = arith.constant 6.0 : f32
  %empty = tensor.empty() : tensor<1x4x8x8xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
       ins(%e : tensor<1x4x8x8xf32>) outs(%empty : tensor<1x4x8x8xf32>) {
  ^bb0(%in: f32, %out: f32):
    %lo = arith.maximumf %in, %zero : f32
    %c = arith.minimumf %lo, %six : f32
    linalg.yield %c : f32
  } -> tensor<1x4x8x8xf32>
  %p = tensor.pad %r low[0, 0, 1, 1] high[0, 0, 1, 1] {
  ^bb0(%a: index, %b: index, %c: index, %d: index):
    tensor.yield %zero : f32
  } : tensor<1x4x8x8xf32> to tensor<1x4x10x10xf32>
  return %p : tensor<1x4x10x10xf32>
}
