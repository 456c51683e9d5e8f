// The artifact ABI on the LLVM dialect: a C entry point taking one array of buffer
// pointers, the signature string and the ABI version as exported globals.
#include "kiln/Target/CPU/CPUTarget.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"

using namespace mlir;

llvm::Error kiln::addEntryPoint(ModuleOp module, StringRef signature,
                                const CompilerOptions &options) {
  auto main = module.lookupSymbol<LLVM::LLVMFuncOp>("main");
  if (!main)
    return llvm::createStringError("the lowered module has no @main");
  MLIRContext *ctx = module.getContext();
  OpBuilder b(ctx);
  Location loc = main.getLoc();
  auto ptrType = LLVM::LLVMPointerType::get(ctx);
  for (Type t : main.getFunctionType().getParams())
    if (t != ptrType)
      return llvm::createStringError("@main takes a non-pointer argument after lowering");

  // Only the entry point and the two globals are exported; everything else is internal
  // so that several models can be linked into one program.
  main.setSymName((options.symbolPrefix + "_main").c_str());
  for (auto func : module.getOps<LLVM::LLVMFuncOp>())
    if (!func.isExternal())
      func.setLinkage(LLVM::Linkage::Internal);

  // Weights become flat byte arrays: LLVM IR translation would otherwise build one
  // uniqued constant per innermost row of a nested array (minutes for a large model),
  // and the asm printer would emit them one element at a time. Their users address
  // them through GEPs that carry their own element types, so only the global changes.
  for (auto global : module.getOps<LLVM::GlobalOp>()) {
    auto elements = dyn_cast_or_null<ElementsAttr>(global.getValueOrNull());
    if (!elements || elements.getElementType().isInteger(1))
      continue;
    ArrayRef<char> raw;
    if (auto resource = dyn_cast<DenseResourceElementsAttr>(elements)) {
      if (AsmResourceBlob *blob = resource.getRawHandle().getBlob())
        raw = blob->getData();
    } else if (auto dense = dyn_cast<DenseElementsAttr>(elements); dense && !dense.isSplat()) {
      raw = dense.getRawData();
    }
    if (raw.size() < 4096)
      continue;
    auto bytesType = RankedTensorType::get({(int64_t)raw.size()}, b.getI8Type());
    global.setGlobalType(LLVM::LLVMArrayType::get(b.getI8Type(), raw.size()));
    global.setValueAttr(DenseElementsAttr::getFromRawBuffer(bytesType, raw));
  }

  b.setInsertionPointToEnd(module.getBody());
  auto entryType = LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), {ptrType});
  auto entry = b.create<LLVM::LLVMFuncOp>(loc, options.symbolPrefix + "_run", entryType);
  Block *body = entry.addEntryBlock(b);
  b.setInsertionPointToStart(body);
  SmallVector<Value> buffers;
  for (unsigned i = 0; i < main.getNumArguments(); ++i) {
    Value slot = b.create<LLVM::GEPOp>(loc, ptrType, ptrType, body->getArgument(0),
                                       ArrayRef<LLVM::GEPArg>{(int32_t)i});
    buffers.push_back(b.create<LLVM::LoadOp>(loc, ptrType, slot));
  }
  b.create<LLVM::CallOp>(loc, main, buffers);
  b.create<LLVM::ReturnOp>(loc, ValueRange{});

  addArtifactGlobals(module, signature, options);
  return llvm::Error::success();
}

void kiln::addArtifactGlobals(ModuleOp module, StringRef signature, const CompilerOptions &options) {
  MLIRContext *ctx = module.getContext();
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  Location loc = module.getLoc();
  std::string text = signature.str();
  text.push_back('\0');
  auto textType = LLVM::LLVMArrayType::get(IntegerType::get(ctx, 8), text.size());
  b.create<LLVM::GlobalOp>(loc, textType, /*isConstant=*/true, LLVM::Linkage::External,
                           options.symbolPrefix + "_signature", b.getStringAttr(text));
  b.create<LLVM::GlobalOp>(loc, b.getI32Type(), true, LLVM::Linkage::External,
                           options.symbolPrefix + "_abi_version",
                           b.getI32IntegerAttr(kArtifactABIVersion));
}
