// The kiln dialect's operations: constants, elementwise math, linear algebra,
// convolution and pooling, reductions, normalization, data movement and fusion regions.
#ifndef KILN_OPS_TD
#define KILN_OPS_TD

include "KilnDialect.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"

class Kiln_Op<string mnemonic, list<Trait> traits = []>
    : Op<Kiln_Dialect, mnemonic, traits>;

// Ops computing one tensor from tensors, free of side effects.
class Kiln_PureOp<string mnemonic, list<Trait> traits = []>
    : Kiln_Op<mnemonic, !listconcat(traits, [Pure])>;

def Kiln_Tensor : RankedTensorOf<[AnyType]>;
def Kiln_IndexTensor : RankedTensorOf<[I32, I64]>;

//===----------------------------------------------------------------------===//
// Constants and casts
//===----------------------------------------------------------------------===//

def Kiln_ConstantOp : Kiln_PureOp<"constant", [ConstantLike, InferTypeOpAdaptor]> {
  let summary = "A constant tensor";
  let description = [{
    Holds an elements attribute: an inline `dense<...>` for small values, or a
    `dense_resource<...>` blob for weights, so large models neither print nor hash
    their data.

    ```mlir
    %0 = kiln.constant dense<[1.0, 2.0]> : tensor<2xf32>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs Kiln_Tensor:$output);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
}

def Kiln_CastOp : Kiln_PureOp<"cast"> {
  let summary = "Element type conversion";
  let description = [{
    Converts every element to the result's element type, with ONNX Cast semantics:
    float to integer truncates toward zero, anything to i1 tests for non-zero.
  }];
  let arguments = (ins Kiln_Tensor:$input);
  let results = (outs Kiln_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

class Kiln_UnaryOp<string mnemonic, string what, list<Trait> traits = []>
    : Kiln_PureOp<mnemonic, !listconcat(traits, [SameOperandsAndResultType])> {
  let summary = "Elementwise " # what;
  let arguments = (ins Kiln_Tensor:$input);
  let results = (outs Kiln_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($output)";
  let hasFolder = 1;
}

def Kiln_NegOp : Kiln_UnaryOp<"neg", "negation">;
def Kiln_AbsOp : Kiln_UnaryOp<"abs", "absolute value">;
def Kiln_ExpOp : Kiln_UnaryOp<"exp", "natural exponential">;
def Kiln_LogOp : Kiln_UnaryOp<"log", "natural logarithm">;
def Kiln_SqrtOp : Kiln_UnaryOp<"sqrt", "square root">;
def Kiln_ReciprocalOp : Kiln_UnaryOp<"reciprocal", "reciprocal (1 / x)">;
def Kiln_TanhOp : Kiln_UnaryOp<"tanh", "hyperbolic tangent">;
def Kiln_SigmoidOp : Kiln_UnaryOp<"sigmoid", "logistic sigmoid 1 / (1 + exp(-x))">;
def Kiln_ReluOp : Kiln_UnaryOp<"relu", "rectifier max(x, 0)">;
def Kiln_ErfOp : Kiln_UnaryOp<"erf", "error function">;
def Kiln_FloorOp : Kiln_UnaryOp<"floor", "round toward negative infinity">;
def Kiln_CeilOp : Kiln_UnaryOp<"ceil", "round toward positive infinity">;
def Kiln_RoundOp : Kiln_UnaryOp<"round", "round to nearest, ties to even">;
def Kiln_SinOp : Kiln_UnaryOp<"sin", "sine">;
def Kiln_CosOp : Kiln_UnaryOp<"cos", "cosine">;
def Kiln_TanOp : Kiln_UnaryOp<"tan", "tangent">;
def Kiln_AsinOp : Kiln_UnaryOp<"asin", "arcsine">;
def Kiln_AcosOp : Kiln_UnaryOp<"acos", "arccosine">;
def Kiln_AtanOp : Kiln_UnaryOp<"atan", "arctangent">;
def Kiln_SinhOp : Kiln_UnaryOp<"sinh", "hyperbolic sine">;
def Kiln_CoshOp : Kiln_UnaryOp<"cosh", "hyperbolic cosine">;
def Kiln_AsinhOp : Kiln_UnaryOp<"asinh", "inverse hyperbolic sine">;
def Kiln_AcoshOp : Kiln_UnaryOp<"acosh", "inverse hyperbolic cosine">;
def Kiln_AtanhOp : Kiln_UnaryOp<"atanh", "inverse hyperbolic tangent">;

def Kiln_ClipOp : Kiln_PureOp<"clip", [SameOperandsAndResultType]> {
  let summary = "Elementwise clamp to [min, max]";
  let description = [{
    `min` and `max` are stored as f64 and converted to the element type; the importer
    uses the type's lowest and highest values where ONNX leaves a bound out.
  }];
  let arguments = (ins Kiln_Tensor:$input, F64Attr:$min, F64Attr:$max);
  let results = (outs Kiln_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($output)";
  let hasFolder = 1;
}

// Binary ops broadcast their operands with numpy rules; the result type is inferred.
class Kiln_BinaryOp<string mnemonic, string what, string kind, list<Trait> traits = []>
    : Kiln_PureOp<mnemonic, !listconcat(traits, [InferTypeOpAdaptor])> {
  let summary = "Elementwise " # what # " with numpy broadcasting";
  let arguments = (ins Kiln_Tensor:$lhs, Kiln_Tensor:$rhs);
  let results = (outs Kiln_Tensor:$output);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
  let extraClassDefinition = !strconcat([{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(::mlir::MLIRContext *,
        std::optional<::mlir::Location> loc, Adaptor adaptor,
        ::llvm::SmallVectorImpl<::mlir::Type> &types) {
      return ::kiln::inferBroadcastType(loc, adaptor.getLhs().getType(),
                                        adaptor.getRhs().getType(), types);
    }
    ::mlir::OpFoldResult $cppClass::fold(FoldAdaptor adaptor) {
      return ::kiln::foldBinary(*this, adaptor.getLhs(), adaptor.getRhs(),
                                ::kiln::BinaryKind::}], kind, [{);
    }
  }]);
}

def Kiln_AddOp : Kiln_BinaryOp<"add", "addition", "Add", [Commutative]>;
def Kiln_SubOp : Kiln_BinaryOp<"sub", "subtraction", "Sub">;
def Kiln_MulOp : Kiln_BinaryOp<"mul", "multiplication", "Mul", [Commutative]>;
def Kiln_DivOp : Kiln_BinaryOp<"div", "division", "Div">;
def Kiln_PowOp : Kiln_BinaryOp<"pow", "power", "Pow">;
def Kiln_MaxOp : Kiln_BinaryOp<"max", "maximum", "Max", [Commutative]>;
def Kiln_MinOp : Kiln_BinaryOp<"min", "minimum", "Min", [Commutative]>;

def Kiln_ModOp : Kiln_BinaryOp<"mod", "remainder with the divisor's sign (Python's %)", "Mod">;
def Kiln_RemOp : Kiln_BinaryOp<"rem", "remainder with the dividend's sign (C's fmod)", "Rem">;
def Kiln_AndOp : Kiln_BinaryOp<"and", "logical and of i1", "And", [Commutative]>;
def Kiln_OrOp : Kiln_BinaryOp<"or", "logical or of i1", "Or", [Commutative]>;
def Kiln_XorOp : Kiln_BinaryOp<"xor", "logical exclusive or of i1", "Xor", [Commutative]>;
def Kiln_ShiftLeftOp : Kiln_BinaryOp<"shift_left", "left shift of integers", "ShiftLeft">;
def Kiln_ShiftRightOp : Kiln_BinaryOp<"shift_right",
    "right shift of integers (logical for unsigned, arithmetic for signed)", "ShiftRight">;
def Kiln_NotOp : Kiln_UnaryOp<"not", "logical negation of i1">;

def Kiln_CompareOp : Kiln_PureOp<"compare", [InferTypeOpAdaptor]> {
  let summary = "Elementwise comparison with numpy broadcasting, giving i1";
  let description = [{
    `predicate` is one of `eq`, `ne`, `lt`, `le`, `gt`, `ge`. On floats every predicate
    but `ne` is false when an operand is NaN, and `ne` is true, as in C.

    ```mlir
    %m = kiln.compare %a, %b {predicate = "lt"} : (tensor<4xf32>, tensor<f32>) -> tensor<4xi1>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$lhs, Kiln_Tensor:$rhs, StrAttr:$predicate);
  let results = (outs Kiln_Tensor:$output);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_SelectOp : Kiln_PureOp<"select", [InferTypeOpAdaptor]> {
  let summary = "Elementwise `condition ? on_true : on_false`, all three broadcast";
  let arguments = (ins Kiln_Tensor:$condition, Kiln_Tensor:$on_true, Kiln_Tensor:$on_false);
  let results = (outs Kiln_Tensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Linear algebra, convolution and pooling
//===----------------------------------------------------------------------===//

def Kiln_MatMulOp : Kiln_PureOp<"matmul", [InferTypeOpAdaptor]> {
  let summary = "Batched matrix product with broadcast batch dimensions";
  let description = [{
    `[..., M, K] x [..., K, N] -> [..., M, N]`; both operands have rank 2 or more and
    their batch dimensions broadcast with numpy rules. The importer turns ONNX's 1-D
    operands into matrices.
  }];
  let arguments = (ins Kiln_Tensor:$lhs, Kiln_Tensor:$rhs);
  let results = (outs Kiln_Tensor:$output);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}

def Kiln_ConvOp : Kiln_PureOp<"conv", [InferTypeOpAdaptor]> {
  let summary = "Grouped N-D convolution, channels first";
  let description = [{
    Input `[N, C, D...]`, weight `[F, C / groups, K...]`, optional bias `[F]`.
    `pads` holds the begin pads of every spatial dimension followed by the end pads.

    ```mlir
    %y = kiln.conv %x, %w, %b {strides = array<i64: 1, 1>, dilations = array<i64: 1, 1>,
           pads = array<i64: 1, 1, 1, 1>, groups = 1 : i64}
         : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, Kiln_Tensor:$weight,
                       Optional<Kiln_Tensor>:$bias,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$dilations,
                       DenseI64ArrayAttr:$pads, I64Attr:$groups);
  let results = (outs Kiln_Tensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
}

class Kiln_PoolOp<string mnemonic, string what> : Kiln_PureOp<mnemonic, [InferTypeOpAdaptor]> {
  let summary = what # " pooling over the spatial dimensions of [N, C, D...]";
  let results = (outs Kiln_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def Kiln_MaxPoolOp : Kiln_PoolOp<"max_pool", "Maximum"> {
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$kernel_shape,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$dilations,
                       DenseI64ArrayAttr:$pads, BoolAttr:$ceil_mode);
}

def Kiln_AvgPoolOp : Kiln_PoolOp<"avg_pool", "Average"> {
  let description = [{
    With `count_include_pad`, padding counts toward the divisor; either way, the part
    of a window that `ceil_mode` lets run past the padded input never does.
  }];
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$kernel_shape,
                       DenseI64ArrayAttr:$strides, DenseI64ArrayAttr:$pads,
                       BoolAttr:$ceil_mode, BoolAttr:$count_include_pad);
}

def Kiln_GlobalAvgPoolOp : Kiln_PoolOp<"global_avg_pool", "Global average"> {
  let arguments = (ins Kiln_Tensor:$input);
}

//===----------------------------------------------------------------------===//
// Reductions and normalization
//===----------------------------------------------------------------------===//

class Kiln_ReduceOp<string mnemonic, string what>
    : Kiln_PureOp<mnemonic, [InferTypeOpAdaptor]> {
  let summary = "Reduction by " # what # " over `axes`";
  let description = [{
    `axes` are sorted, non-negative and unique; an empty list reduces nothing.
    With `keepdims` the reduced dimensions stay as size 1.
  }];
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$axes, BoolAttr:$keepdims);
  let results = (outs Kiln_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(::mlir::MLIRContext *,
        std::optional<::mlir::Location> loc, Adaptor adaptor,
        ::llvm::SmallVectorImpl<::mlir::Type> &types) {
      return ::kiln::inferReduceType(loc, adaptor.getInput().getType(),
                                     adaptor.getAxes(), adaptor.getKeepdims(), types);
    }
  }];
}

def Kiln_ReduceSumOp : Kiln_ReduceOp<"reduce_sum", "sum">;
def Kiln_ReduceMeanOp : Kiln_ReduceOp<"reduce_mean", "arithmetic mean">;
def Kiln_ReduceMaxOp : Kiln_ReduceOp<"reduce_max", "maximum">;
def Kiln_ReduceMinOp : Kiln_ReduceOp<"reduce_min", "minimum">;
def Kiln_ReduceProdOp : Kiln_ReduceOp<"reduce_prod", "product">;

class Kiln_ArgReduceOp<string mnemonic, string what>
    : Kiln_PureOp<mnemonic, [InferTypeOpAdaptor]> {
  let summary = "Index (i64) of the " # what # " along `axis`";
  let description = [{
    Ties pick the first index, or the last with `select_last_index`. With `keepdims` the
    reduced dimension stays as size 1.
  }];
  let arguments = (ins Kiln_Tensor:$input, I64Attr:$axis, BoolAttr:$keepdims,
                       BoolAttr:$select_last_index);
  let results = (outs Kiln_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(::mlir::MLIRContext *ctx,
        std::optional<::mlir::Location> loc, Adaptor adaptor,
        ::llvm::SmallVectorImpl<::mlir::Type> &types) {
      int64_t axis = adaptor.getAxis();
      if (failed(::kiln::inferReduceType(loc, adaptor.getInput().getType(), {axis},
                                         adaptor.getKeepdims(), types)))
        return ::mlir::failure();
      types[0] = ::mlir::cast<::mlir::RankedTensorType>(types[0]).clone(
          ::mlir::IntegerType::get(ctx, 64));
      return ::mlir::success();
    }
  }];
}

def Kiln_ArgMaxOp : Kiln_ArgReduceOp<"arg_max", "maximum">;
def Kiln_ArgMinOp : Kiln_ArgReduceOp<"arg_min", "minimum">;

def Kiln_SoftmaxOp : Kiln_PureOp<"softmax", [SameOperandsAndResultType]> {
  let summary = "Softmax along one axis";
  let description = [{
    `exp(x - max) / sum(exp(x - max))` along `axis`. ONNX's pre-13 semantics (over
    all dimensions from `axis` on) are built by the importer from a reshape.
  }];
  let arguments = (ins Kiln_Tensor:$input, I64Attr:$axis);
  let results = (outs Kiln_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($output)";
  let hasVerifier = 1;
}

def Kiln_BatchNormOp : Kiln_PureOp<"batch_norm"> {
  let summary = "Inference batch normalization over channel dimension 1";
  let description = [{
    `(x - mean) / sqrt(var + epsilon) * scale + bias`, each of `scale`, `bias`, `mean`
    and `var` of shape `[C]`. `kiln-decompose` rewrites it into elementwise ops, which
    fold away when the statistics are constant.
  }];
  let arguments = (ins Kiln_Tensor:$input, Kiln_Tensor:$scale, Kiln_Tensor:$bias,
                       Kiln_Tensor:$mean, Kiln_Tensor:$variance, F64Attr:$epsilon);
  let results = (outs Kiln_Tensor:$output);
  let assemblyFormat = "operands attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

def Kiln_TransposeOp : Kiln_PureOp<"transpose", [InferTypeOpAdaptor]> {
  let summary = "Permutes dimensions: output dim i is input dim perm[i]";
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$perm);
  let results = (outs Kiln_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def Kiln_ReshapeOp : Kiln_PureOp<"reshape"> {
  let summary = "Same elements in row-major order, new static shape";
  let arguments = (ins Kiln_Tensor:$input);
  let results = (outs Kiln_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($output)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_ConcatOp : Kiln_PureOp<"concat", [InferTypeOpAdaptor]> {
  let summary = "Joins tensors along `axis`";
  let arguments = (ins Variadic<Kiln_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs Kiln_Tensor:$output);
  let assemblyFormat = "$inputs attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Kiln_SliceOp : Kiln_PureOp<"slice", [InferTypeOpAdaptor]> {
  let summary = "Strided slice: per dimension a start, a size and a non-zero step";
  let description = [{
    Element `i` of dimension `d` reads input index `starts[d] + i * steps[d]`; steps may
    be negative. Every dimension is listed; the importer resolves ONNX's clamping.
  }];
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$starts,
                       DenseI64ArrayAttr:$sizes, DenseI64ArrayAttr:$steps);
  let results = (outs Kiln_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Kiln_PadOp : Kiln_PureOp<"pad", [InferTypeOpAdaptor]> {
  let summary = "Pads with a constant; `pads` is all begin pads, then all end pads";
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$pads, F64Attr:$value);
  let results = (outs Kiln_Tensor:$output);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Kiln_GatherOp : Kiln_PureOp<"gather", [InferTypeOpAdaptor]> {
  let summary = "Gathers slices of `data` along `axis` at `indices`";
  let description = [{
    Output shape is `data[:axis] + indices + data[axis+1:]`. Negative indices count
    from the end; an index out of range reads an unspecified in-bounds element, as
    ONNX leaves it undefined (it is never an out-of-bounds access).
  }];
  let arguments = (ins Kiln_Tensor:$data, Kiln_IndexTensor:$indices, I64Attr:$axis);
  let results = (outs Kiln_Tensor:$output);
  let assemblyFormat = "$data `,` $indices attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Kiln_GatherElementsOp : Kiln_PureOp<"gather_elements", [InferTypeOpAdaptor]> {
  let summary = "out[i] = data[i with coordinate `axis` replaced by indices[i]]";
  let description = [{
    The result has the shape of `indices`, which has the rank of `data`. Negative
    indices count from the end; out-of-range ones read an unspecified in-bounds element.
  }];
  let arguments = (ins Kiln_Tensor:$data, Kiln_IndexTensor:$indices, I64Attr:$axis);
  let results = (outs Kiln_Tensor:$output);
  let assemblyFormat = "$data `,` $indices attr-dict `:` functional-type(operands, results)";
}

def Kiln_ScatterNDOp : Kiln_PureOp<"scatter_nd", [AllTypesMatch<["data", "output"]>]> {
  let summary = "A copy of `data` with slices addressed by `indices` set or combined";
  let description = [{
    `indices` is `[N..., k]`: each of its N rows addresses the slice `data[i0, ..., ik-1]`,
    and `updates` (`[N..., data.shape[k:]]`) holds the slices. The rows apply in order;
    `reduction` is "none" (the slice is replaced), "add", "mul", "max" or "min".
    Negative indices count from the end; out-of-range ones are clamped into bounds.
  }];
  let arguments = (ins Kiln_Tensor:$data, Kiln_IndexTensor:$indices, Kiln_Tensor:$updates,
                       StrAttr:$reduction);
  let results = (outs Kiln_Tensor:$output);
  let assemblyFormat = "$data `,` $indices `,` $updates attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Fusion regions
//===----------------------------------------------------------------------===//

def Kiln_FusionOp : Kiln_Op<"fusion", [IsolatedFromAbove, RecursiveMemoryEffects,
    SingleBlockImplicitTerminator<"YieldOp">]> {
  let summary = "A group of kiln ops compiled as one function or kernel";
  let description = [{
    The region's block arguments are the fusion's inputs and `kiln.yield` gives its
    results. Values inside the region are never written to memory as whole tensors.
    `kiln-fuse` forms these; each becomes one outlined function.

    ```mlir
    %r = kiln.fusion (%a, %b) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32> {
    ^bb0(%x: tensor<4xf32>, %y: tensor<4xf32>):
      %s = kiln.add %x, %y : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
      %t = kiln.relu %s : tensor<4xf32>
      kiln.yield %t : tensor<4xf32>
    }
    ```
  }];
  let arguments = (ins Variadic<Kiln_Tensor>:$inputs);
  let results = (outs Variadic<Kiln_Tensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "`(` $inputs `)` attr-dict `:` functional-type($inputs, $results) $body";
  let hasVerifier = 1;
}

def Kiln_YieldOp : Kiln_Op<"yield", [Pure, Terminator, HasParent<"FusionOp">]> {
  let summary = "Returns the results of a kiln.fusion region";
  let arguments = (ins Variadic<Kiln_Tensor>:$values);
  let builders = [OpBuilder<(ins), [{ }]>];
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
}

#endif
