// The host half of a CUDA artifact, in the LLVM dialect: one function that makes the
// model's launches in stream order through the runtime's launch callback, and the
// data the runtime needs to set up (kernel image, kernel names, constants, arena size,
// where the inputs and outputs live in the arena). See docs/runtime.md.
#include "kiln/Target/CUDA/CUDATarget.h"
#include "kiln/Target/CPU/CPUTarget.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

#include <algorithm>

using namespace mlir;
using namespace kiln;

namespace {

/// An exported, constant byte array.
/// FNV-1a, 64 bits: the runtime computes the same over an external weights file.
uint64_t weightsHash(ArrayRef<char> bytes) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (char byte : bytes)
    hash = (hash ^ (uint8_t)byte) * 0x100000001b3ull;
  return hash;
}

void addBytes(OpBuilder &b, Location loc, StringRef name, ArrayRef<char> bytes) {
  // An empty array would be a zero-sized global; keep one byte so it has an address.
  static const char zero = 0;
  if (bytes.empty())
    bytes = ArrayRef<char>(&zero, 1);
  auto type = LLVM::LLVMArrayType::get(b.getI8Type(), bytes.size());
  auto tensorType = RankedTensorType::get({(int64_t)bytes.size()}, b.getI8Type());
  b.create<LLVM::GlobalOp>(loc, type, /*isConstant=*/true, LLVM::Linkage::External, name,
                           DenseElementsAttr::getFromRawBuffer(tensorType, bytes),
                           /*alignment=*/kDeviceAlignment);
}

void addU64(OpBuilder &b, Location loc, StringRef name, uint64_t value) {
  b.create<LLVM::GlobalOp>(loc, b.getI64Type(), true, LLVM::Linkage::External, name,
                           b.getI64IntegerAttr(value));
}

/// `<prefix>_cuda_run(ctx, launch, library, arena, constants)`: every step of the
/// model in stream order, each passing the device addresses of its buffers in an i64
/// array: kernel launches through `launch`, cuBLASLt and cuDNN calls through `library`.
void addRunFunction(OpBuilder &b, Location loc, const HostProgram &program, StringRef name) {
  MLIRContext *ctx = b.getContext();
  auto ptr = LLVM::LLVMPointerType::get(ctx);
  Type i32 = b.getI32Type(), i64 = b.getI64Type();
  auto voidType = LLVM::LLVMVoidType::get(ctx);
  // void launch(void *ctx, i32 kernel, i32 grid[3], i32 block[3], i32 shared bytes,
  //             const u64 *arguments, i32 argument count)
  auto launchType = LLVM::LLVMFunctionType::get(
      voidType, {ptr, i32, i32, i32, i32, i32, i32, i32, i32, ptr, i32});
  // void library(void *ctx, i32 library, i32 descriptor, const u64 *addresses,
  //              i32 address count)
  auto libraryType = LLVM::LLVMFunctionType::get(voidType, {ptr, i32, i32, ptr, i32});
  auto run = b.create<LLVM::LLVMFuncOp>(loc, name,
                                        LLVM::LLVMFunctionType::get(voidType, {ptr, ptr, ptr, i64, i64}));
  OpBuilder::InsertionGuard guard(b);
  Block *body = run.addEntryBlock(b);
  b.setInsertionPointToStart(body);
  Value context = body->getArgument(0), launchFn = body->getArgument(1), libraryFn = body->getArgument(2);
  Value arena = body->getArgument(3), constants = body->getArgument(4);

  size_t maxArguments = 1;
  for (const KernelLaunch &launch : program.launches)
    maxArguments = std::max(maxArguments, launch.arguments.size());
  Value count = b.create<LLVM::ConstantOp>(loc, i64, (int64_t)maxArguments);
  Value arguments = b.create<LLVM::AllocaOp>(loc, ptr, i64, count, /*alignment=*/8);

  DenseMap<int64_t, Value> i32s;
  auto constant32 = [&](int64_t value) {
    Value &v = i32s[value];
    if (!v)
      v = b.create<LLVM::ConstantOp>(loc, i32, value);
    return v;
  };
  for (const KernelLaunch &launch : program.launches) {
    for (auto [slot, index] : llvm::enumerate(launch.arguments)) {
      const DeviceBuffer &buffer = program.buffers[index];
      Value base = buffer.kind == DeviceBuffer::Kind::Constant ? constants : arena;
      uint64_t view = slot < launch.argumentOffsets.size() ? launch.argumentOffsets[slot] : 0;
      Value offset = b.create<LLVM::ConstantOp>(loc, i64, (int64_t)(buffer.offset + view));
      Value address = b.create<LLVM::AddOp>(loc, base, offset);
      Value at = b.create<LLVM::GEPOp>(loc, ptr, i64, arguments,
                                       ArrayRef<LLVM::GEPArg>{(int32_t)slot});
      b.create<LLVM::StoreOp>(loc, address, at);
    }
    if (launch.library >= 0) {
      b.create<LLVM::CallOp>(loc, libraryType,
                             ValueRange{libraryFn, context, constant32(launch.library),
                                        constant32(launch.descriptor), arguments,
                                        constant32(launch.arguments.size())});
      continue;
    }
    SmallVector<Value> operands = {launchFn, context, constant32(launch.kernel)};
    for (uint32_t size : launch.grid)
      operands.push_back(constant32(size));
    for (uint32_t size : launch.block)
      operands.push_back(constant32(size));
    operands.push_back(constant32(launch.sharedMemoryBytes));
    operands.push_back(arguments);
    operands.push_back(constant32(launch.arguments.size()));
    b.create<LLVM::CallOp>(loc, launchType, operands);
  }
  b.create<LLVM::ReturnOp>(loc, ValueRange{});
}

/// `<name>_count` (i32) and `<name>s`: the descriptors one after another.
void addDescriptors(OpBuilder &b, Location loc, StringRef name, ArrayRef<std::vector<int64_t>> descriptors) {
  SmallVector<int64_t> values;
  for (const std::vector<int64_t> &fields : descriptors)
    values.append(fields.begin(), fields.end());
  b.create<LLVM::GlobalOp>(loc, b.getI32Type(), true, LLVM::Linkage::External, (name + "_count").str(),
                           b.getI32IntegerAttr(descriptors.size()));
  if (values.empty())
    values.push_back(0); // keeps the global non-empty
  b.create<LLVM::GlobalOp>(
      loc, LLVM::LLVMArrayType::get(b.getI64Type(), values.size()), true, LLVM::Linkage::External,
      (name + "s").str(),
      DenseElementsAttr::get(RankedTensorType::get({(int64_t)values.size()}, b.getI64Type()),
                             ArrayRef<int64_t>(values)));
}

} // namespace

OwningOpRef<ModuleOp> kiln::buildCUDAHostModule(MLIRContext *context, const HostProgram &program,
                                                ArrayRef<char> kernelImage, StringRef signature,
                                                const CompilerOptions &options) {
  Location loc = UnknownLoc::get(context);
  context->getOrLoadDialect<LLVM::LLVMDialect>();
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  OpBuilder b = OpBuilder::atBlockEnd(module->getBody());
  std::string prefix = options.symbolPrefix + "_cuda_";

  addRunFunction(b, loc, program, prefix + "run");
  addBytes(b, loc, prefix + "image", kernelImage);
  addU64(b, loc, prefix + "image_size", kernelImage.size());
  std::string names;
  for (const std::string &name : program.kernelNames)
    names += name + '\0';
  addBytes(b, loc, prefix + "kernel_names", ArrayRef<char>(names.data(), names.size()));
  b.create<LLVM::GlobalOp>(loc, b.getI32Type(), true, LLVM::Linkage::External,
                           prefix + "kernel_count",
                           b.getI32IntegerAttr(program.kernelNames.size()));
  // Weights kept in a file of their own are checked against their size and hash at load.
  bool external = !options.weightsFile.empty();
  addBytes(b, loc, prefix + "constants", external ? ArrayRef<char>() : ArrayRef<char>(program.constants));
  addU64(b, loc, prefix + "constants_size", program.constants.size());
  std::string file = options.weightsFile + '\0';
  addBytes(b, loc, prefix + "constants_file", ArrayRef<char>(file.data(), file.size()));
  addU64(b, loc, prefix + "constants_hash", weightsHash(program.constants));
  addU64(b, loc, prefix + "arena_size", program.arenaBytes);
  // The library calls' descriptors: cuBLASLt matmuls and cuDNN convolutions.
  addDescriptors(b, loc, prefix + "matmul", program.matmuls);
  addDescriptors(b, loc, prefix + "convolution", program.convolutions);
  // Where each input, then each output, lives in the arena.
  SmallVector<int64_t> offsets;
  for (unsigned index : program.inputs)
    offsets.push_back(program.buffers[index].offset);
  for (unsigned index : program.outputs)
    offsets.push_back(program.buffers[index].offset);
  if (offsets.empty())
    offsets.push_back(0); // keeps the global non-empty
  b.create<LLVM::GlobalOp>(
      loc, LLVM::LLVMArrayType::get(b.getI64Type(), offsets.size()), true,
      LLVM::Linkage::External, prefix + "io_offsets",
      DenseElementsAttr::get(RankedTensorType::get({(int64_t)offsets.size()}, b.getI64Type()),
                             ArrayRef<int64_t>(offsets)));
  addArtifactGlobals(*module, signature, options);
  return module;
}
