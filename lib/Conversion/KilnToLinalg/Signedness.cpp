// Unsigned integers in kiln IR become signless before lowering, as arith requires;
// the ops that read or produce them are marked so that the patterns choose unsigned
// division, comparison, extension and conversion.
#include "LinalgBuilders.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"

using namespace mlir;
using namespace kiln;

static bool isUnsigned(Type t) {
  auto tensor = dyn_cast<RankedTensorType>(t);
  auto element = dyn_cast<IntegerType>(tensor ? tensor.getElementType() : t);
  return element && element.isUnsigned();
}

static Type signless(Type t) {
  if (!isUnsigned(t))
    return t;
  MLIRContext *ctx = t.getContext();
  if (auto tensor = dyn_cast<RankedTensorType>(t))
    return tensor.clone(IntegerType::get(ctx, tensor.getElementType().getIntOrFloatBitWidth()));
  return IntegerType::get(ctx, t.getIntOrFloatBitWidth());
}

/// The same constant bits under the signless type.
static Attribute signlessValue(Attribute value) {
  if (auto dense = dyn_cast<DenseElementsAttr>(value))
    return isUnsigned(dense.getType())
               ? dense.bitcast(cast<ShapedType>(signless(dense.getType())).getElementType())
               : value;
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(value))
    return isUnsigned(resource.getType())
               ? DenseResourceElementsAttr::get(cast<ShapedType>(signless(resource.getType())),
                                                resource.getRawHandle())
               : value;
  return value;
}

void kiln::lowering::makeIntegersSignless(Operation *root) {
  root->walk([](Operation *op) {
    if (llvm::any_of(op->getOperandTypes(), isUnsigned))
      op->setAttr(kUnsignedOperands, UnitAttr::get(op->getContext()));
    if (llvm::any_of(op->getResultTypes(), isUnsigned))
      op->setAttr(kUnsignedResult, UnitAttr::get(op->getContext()));
  });
  root->walk([](Operation *op) {
    for (Value result : op->getResults())
      result.setType(signless(result.getType()));
    for (Region &region : op->getRegions())
      for (Block &block : region)
        for (BlockArgument arg : block.getArguments())
          arg.setType(signless(arg.getType()));
    if (auto func = dyn_cast<func::FuncOp>(op)) {
      auto type = func.getFunctionType();
      func.setType(FunctionType::get(op->getContext(),
                                     llvm::map_to_vector(type.getInputs(), signless),
                                     llvm::map_to_vector(type.getResults(), signless)));
    }
    if (auto constant = dyn_cast<ConstantOp>(op))
      constant.setValueAttr(cast<ElementsAttr>(signlessValue(constant.getValue())));
  });
}
