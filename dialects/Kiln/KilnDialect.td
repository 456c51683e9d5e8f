// The kiln dialect: value-semantics tensor ops with static shapes.
#ifndef KILN_DIALECT_TD
#define KILN_DIALECT_TD

include "mlir/IR/OpBase.td"

def Kiln_Dialect : Dialect {
  let name = "kiln";
  let cppNamespace = "::kiln";
  let summary = "Kiln's graph-level tensor dialect";
  let description = [{
    A compact set of tensor operations with value semantics and static shapes, in the
    spirit of HLO and TOSA. The ONNX importer decomposes composite ONNX operators into
    these ops; `kiln.fusion` groups them into regions that become one function (CPU) or
    one kernel (GPU) each.
  }];
  let hasConstantMaterializer = 1;
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

#endif
