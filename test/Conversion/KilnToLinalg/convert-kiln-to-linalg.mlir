// RUN: kiln-opt %s -split-input-file -convert-kiln-to-linalg | FileCheck %s
// Every kiln op family lowers to linalg/tensor/arith/math on tensors.

// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[BCAST:.+]] = affine_map<(d0, d1) -> (0, d1)>
// CHECK-LABEL: func @elementwise_broadcast
// CHECK-SAME: (%[[A:.+]]: tensor<2x3xf32>, %[[B:.+]]: tensor<3xf32>, %[[C:.+]]: tensor<1x3xf32>)
// CHECK: %[[E:.+]] = tensor.empty() : tensor<2x3xf32>
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[ROW]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%[[A]], %[[B]] : tensor<2x3xf32>, tensor<3xf32>) outs(%[[E]] : tensor<2x3xf32>)
// CHECK: arith.addf
// CHECK: linalg.generic {indexing_maps = [#[[ID]], #[[BCAST]], #[[ID]]]
// CHECK: arith.maximumf
// CHECK: math.tanh
// CHECK: arith.fptosi %{{.*}} : f32 to i32
func.func @elementwise_broadcast(%a: tensor<2x3xf32>, %b: tensor<3xf32>, %c: tensor<1x3xf32>) -> tensor<2x3xi32> {
  %0 = kiln.add %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %1 = kiln.max %0, %c : (tensor<2x3xf32>, tensor<1x3xf32>) -> tensor<2x3xf32>
  %2 = kiln.tanh %1 : tensor<2x3xf32>
  %3 = kiln.cast %2 : tensor<2x3xf32> -> tensor<2x3xi32>
  return %3 : tensor<2x3xi32>
}

// -----

// CHECK-DAG: #[[LHS:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[RHS:.+]] = affine_map<(d0, d1, d2, d3) -> (d3, d2)>
// CHECK-DAG: #[[OUT:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func @batched_matmul
// CHECK: %[[Z:.+]] = linalg.fill
// CHECK: linalg.generic {indexing_maps = [#[[LHS]], #[[RHS]], #[[OUT]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// CHECK-SAME: outs(%[[Z]] : tensor<2x3x5xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
func.func @batched_matmul(%a: tensor<2x3x4xf32>, %b: tensor<4x5xf32>) -> tensor<2x3x5xf32> {
  %0 = kiln.matmul %a, %b : (tensor<2x3x4xf32>, tensor<4x5xf32>) -> tensor<2x3x5xf32>
  return %0 : tensor<2x3x5xf32>
}

// -----

// CHECK-DAG: #[[X:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d4, d2 * 2 + d5, d3 * 2 + d6)>
// CHECK-DAG: #[[W:.+]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d1, d4, d5, d6)>
// CHECK-LABEL: func @conv_bias
// CHECK: tensor.pad %{{.*}} low[0, 0, 1, 1] high[0, 0, 1, 1]
// The bias initializes the accumulator.
// CHECK: %[[INIT:.+]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<8xf32>) outs(%{{.*}} : tensor<1x8x4x4xf32>)
// CHECK: linalg.generic {indexing_maps = [#[[X]], #[[W]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
// CHECK-SAME: outs(%[[INIT]] : tensor<1x8x4x4xf32>)
func.func @conv_bias(%x: tensor<1x3x8x8xf32>, %w: tensor<8x3x3x3xf32>, %b: tensor<8xf32>) -> tensor<1x8x4x4xf32> {
  %0 = kiln.conv %x, %w, %b {strides = array<i64: 2, 2>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, groups = 1 : i64}
       : (tensor<1x3x8x8xf32>, tensor<8x3x3x3xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
  return %0 : tensor<1x8x4x4xf32>
}

// -----

// Depthwise: the input channel is the output channel; no reduction over channels.
// CHECK-DAG: #[[X:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 + d4, d3 + d5)>
// CHECK-DAG: #[[W:.+]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, 0, d4, d5)>
// CHECK-LABEL: func @depthwise
// CHECK: linalg.generic {indexing_maps = [#[[X]], #[[W]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
func.func @depthwise(%x: tensor<1x4x6x6xf32>, %w: tensor<4x1x3x3xf32>) -> tensor<1x4x4x4xf32> {
  %0 = kiln.conv %x, %w {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, groups = 4 : i64}
       : (tensor<1x4x6x6xf32>, tensor<4x1x3x3xf32>) -> tensor<1x4x4x4xf32>
  return %0 : tensor<1x4x4x4xf32>
}

// -----

// CHECK-LABEL: func @pools
// Max pooling pads with -inf and reduces over a window operand.
// CHECK: tensor.pad %{{.*}} low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK: tensor.yield %[[NEG:.+]] : f32
// CHECK: tensor.empty() : tensor<3x3xf32>
// CHECK: arith.maximumf
// Average pooling divides by a constant of per-position window counts.
// CHECK: arith.constant dense<{{.*}}> : tensor<1x1x4x4xf32>
// CHECK: arith.divf
func.func @pools(%x: tensor<1x2x4x4xf32>) -> (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) {
  %0 = kiln.max_pool %x {kernel_shape = array<i64: 3, 3>, strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, ceil_mode = false}
       : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %1 = kiln.avg_pool %x {kernel_shape = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, ceil_mode = false, count_include_pad = false}
       : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  return %0, %1 : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>
}

// -----

// CHECK-LABEL: func @reductions
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction", "parallel"]
// CHECK: arith.addf
// CHECK: arith.divf
// CHECK: tensor.expand_shape %{{.*}} {{\[\[}}0], [1, 2]] output_shape [2, 1, 4] : tensor<2x4xf32> into tensor<2x1x4xf32>
// Softmax: max, exp(x - max), sum, divide.
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: arith.addf
// CHECK: arith.divf
func.func @reductions(%x: tensor<2x3x4xf32>) -> (tensor<2x1x4xf32>, tensor<2x3x4xf32>) {
  %0 = kiln.reduce_mean %x {axes = array<i64: 1>, keepdims = true} : (tensor<2x3x4xf32>) -> tensor<2x1x4xf32>
  %1 = kiln.softmax %x {axis = 2 : i64} : tensor<2x3x4xf32>
  return %0, %1 : tensor<2x1x4xf32>, tensor<2x3x4xf32>
}

// -----

// CHECK-LABEL: func @data_movement
// CHECK: linalg.transpose ins(%{{.*}} : tensor<2x3xf32>) outs(%{{.*}} : tensor<3x2xf32>) permutation = [1, 0]
// CHECK: tensor.collapse_shape
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0] [2, 3] [1, 1]
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 3] [2, 3] [1, 1]
// Negative steps: a strided extract_slice, then a reversing generic.
// CHECK: tensor.extract_slice %{{.*}}[0, 0] [2, 2] [1, 2] : tensor<2x3xf32> to tensor<2x2xf32>
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<2x2xf32>) outs(%{{.*}} : tensor<2x2xf32>)
// CHECK: tensor.pad %{{.*}} low[1, 0] high[0, 2]
// Gather reads with tensor.extract at a wrapped, clamped index.
// CHECK: arith.index_cast
// CHECK: arith.select
// CHECK: tensor.extract
func.func @data_movement(%x: tensor<2x3xf32>, %i: tensor<4xi64>) -> (tensor<3x2xf32>, tensor<6xf32>, tensor<2x6xf32>, tensor<2x2xf32>, tensor<3x5xf32>, tensor<4x3xf32>) {
  %t = kiln.transpose %x {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %r = kiln.reshape %x : tensor<2x3xf32> -> tensor<6xf32>
  %c = kiln.concat %x, %x {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x6xf32>
  %s = kiln.slice %x {starts = array<i64: 0, 2>, sizes = array<i64: 2, 2>, steps = array<i64: 1, -2>} : (tensor<2x3xf32>) -> tensor<2x2xf32>
  %p = kiln.pad %x {pads = array<i64: 1, 0, 0, 2>, value = 0.0 : f64} : (tensor<2x3xf32>) -> tensor<3x5xf32>
  %g = kiln.gather %x, %i {axis = 0 : i64} : (tensor<2x3xf32>, tensor<4xi64>) -> tensor<4x3xf32>
  return %t, %r, %c, %s, %p, %g : tensor<3x2xf32>, tensor<6xf32>, tensor<2x6xf32>, tensor<2x2xf32>, tensor<3x5xf32>, tensor<4x3xf32>
}

// -----

// CHECK-LABEL: func @compare_select
// CHECK: arith.cmpf une
// CHECK: arith.cmpi slt
// CHECK: arith.xori
// CHECK: arith.select
func.func @compare_select(%a: tensor<4xf32>, %b: tensor<4xf32>, %i: tensor<4xi32>) -> tensor<4xf32> {
  %nan = kiln.compare %a, %a {predicate = "ne"} : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  %lt = kiln.compare %i, %i {predicate = "lt"} : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi1>
  %x = kiln.xor %nan, %lt : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  %s = kiln.select %x, %a, %b : (tensor<4xi1>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %s : tensor<4xf32>
}

// -----

// Arg-reductions carry the best value and its index in one generic with two results.
// CHECK-LABEL: func @arg_max
// CHECK: %{{.*}}:2 = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK: arith.cmpf ogt
// CHECK: linalg.index 1
// CHECK: arith.select
// CHECK: linalg.yield %{{.*}}, %{{.*}} : f32, i64
func.func @arg_max(%x: tensor<2x5xf32>) -> tensor<2xi64> {
  %0 = kiln.arg_max %x {axis = 1 : i64, keepdims = false, select_last_index = false} : (tensor<2x5xf32>) -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// -----

// CHECK-LABEL: func @gather_elements_and_prod
// CHECK: linalg.index 0
// CHECK: tensor.extract
// CHECK: arith.constant 1.000000e+00 : f32
// CHECK: arith.mulf
func.func @gather_elements_and_prod(%x: tensor<2x5xf32>, %i: tensor<2x2xi32>) -> (tensor<2x2xf32>, tensor<5xf32>) {
  %0 = kiln.gather_elements %x, %i {axis = 1 : i64} : (tensor<2x5xf32>, tensor<2x2xi32>) -> tensor<2x2xf32>
  %1 = kiln.reduce_prod %x {axes = array<i64: 0>, keepdims = false} : (tensor<2x5xf32>) -> tensor<5xf32>
  return %0, %1 : tensor<2x2xf32>, tensor<5xf32>
}

// -----

// Python-style mod: remainder, shifted by the divisor when signs differ.
// CHECK-LABEL: func @mod_rem
// CHECK: arith.remsi
// CHECK: arith.cmpi slt
// CHECK: arith.xori
// CHECK: arith.select
// CHECK: arith.remf
func.func @mod_rem(%a: tensor<4xi32>, %b: tensor<4xi32>, %x: tensor<4xf32>, %y: tensor<4xf32>) -> (tensor<4xi32>, tensor<4xf32>) {
  %0 = kiln.mod %a, %b : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  %1 = kiln.rem %x, %y : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0, %1 : tensor<4xi32>, tensor<4xf32>
}
