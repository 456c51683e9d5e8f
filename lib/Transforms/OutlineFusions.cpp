// kiln-outline-fusions: each kiln.fusion region becomes a private function and a call,
// so that every region is compiled as one function.
#include "kiln/Transforms/Passes.h"

#include "mlir/IR/SymbolTable.h"

namespace kiln {
#define GEN_PASS_DEF_KILNOUTLINEFUSIONS
#include "kiln/Transforms/Passes.h.inc"
} // namespace kiln

using namespace mlir;
using namespace kiln;

namespace {
struct KilnOutlineFusions : kiln::impl::KilnOutlineFusionsBase<KilnOutlineFusions> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    for (auto parent : llvm::to_vector(module.getOps<func::FuncOp>())) {
      SmallVector<FusionOp> fusions;
      parent.walk([&](FusionOp f) { fusions.push_back(f); });
      unsigned index = 0;
      for (FusionOp fusion : fusions) {
        OpBuilder b(parent);
        auto type = b.getFunctionType(fusion.getInputs().getTypes(), fusion.getResultTypes());
        auto callee = b.create<func::FuncOp>(
            fusion.getLoc(), (parent.getName() + "_fusion_" + Twine(index++)).str(), type);
        callee.setPrivate();
        callee->setAttr("kiln.fusion", b.getUnitAttr());
        symbols.insert(callee);
        callee.getBody().takeBody(fusion.getBody());
        Operation *yield = callee.getBody().front().getTerminator();
        OpBuilder(yield).create<func::ReturnOp>(yield->getLoc(), yield->getOperands());
        yield->erase();
        OpBuilder at(fusion);
        auto call = at.create<func::CallOp>(fusion.getLoc(), callee, fusion.getInputs());
        fusion.replaceAllUsesWith(call.getResults());
        fusion.erase();
      }
    }
  }
};
} // namespace
