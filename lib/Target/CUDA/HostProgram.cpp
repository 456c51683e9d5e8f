// Resolving a GPU-mapped module's host functions into a straight-line launch program
// over planned device buffers. Shapes are static and every launch configuration is a
// constant, so the host side of a model needs no code of its own beyond the launches:
// views only reinterpret their base buffer (kernels take bare pointers and apply a
// view's static offset themselves), and allocations become places in one arena.
#include "kiln/Target/CUDA/HostProgram.h"

#include "kiln/cuda_library.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/StringMap.h"

#include <algorithm>
#include <climits>

using namespace mlir;
using namespace kiln;

namespace {

uint64_t alignTo(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

/// Bytes of a statically shaped memref; i1 takes a byte per element, as in LLVM memory.
uint64_t byteSize(MemRefType type) {
  uint64_t elementBytes = std::max<uint64_t>(1, (type.getElementTypeBitWidth() + 7) / 8);
  return type.getNumElements() * elementBytes;
}

/// The bytes a constant global holds, laid out as the kernels read them.
FailureOr<std::vector<char>> globalBytes(memref::GlobalOp global) {
  MemRefType type = global.getType();
  std::vector<char> bytes(byteSize(type), 0);
  auto elements = dyn_cast_or_null<ElementsAttr>(global.getInitialValue().value_or(Attribute()));
  if (!elements)
    return bytes; // uninitialized: zeros
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(elements)) {
    AsmResourceBlob *blob = resource.getRawHandle().getBlob();
    if (!blob || blob->getData().size() != bytes.size())
      return failure();
    llvm::copy(blob->getData(), bytes.begin());
    return bytes;
  }
  auto dense = dyn_cast<DenseElementsAttr>(elements);
  if (!dense)
    return failure();
  if (dense.getElementType().isInteger(1)) {
    size_t i = 0;
    for (bool value : dense.getValues<bool>())
      bytes[i++] = value;
    return bytes;
  }
  ArrayRef<char> raw = dense.getRawData();
  if (dense.isSplat()) {
    for (size_t at = 0; raw.size() && at + raw.size() <= bytes.size(); at += raw.size())
      std::copy(raw.begin(), raw.end(), bytes.begin() + at);
    return bytes;
  }
  if (raw.size() != bytes.size())
    return failure();
  llvm::copy(raw, bytes.begin());
  return bytes;
}

class Extractor {
public:
  Extractor(ModuleOp module, HostProgram &program) : module(module), program(program) {}

  /// Follows `func` with its arguments bound to `arguments` (buffer indices).
  LogicalResult follow(func::FuncOp func, ArrayRef<unsigned> arguments) {
    DenseMap<Value, unsigned> buffers;
    for (auto [argument, buffer] : llvm::zip(func.getArguments(), arguments))
      buffers[argument] = buffer;
    auto bufferOf = [&](Operation *op, Value value) -> std::optional<unsigned> {
      auto it = buffers.find(value);
      if (it != buffers.end())
        return it->second;
      op->emitError("CUDA host code: this operand is not a device buffer");
      return std::nullopt;
    };
    for (Operation &op : func.getBody().front()) {
      if (isa<arith::ConstantOp, func::ReturnOp>(op))
        continue;
      if (isa<memref::AllocOp, memref::AllocaOp>(op)) {
        auto type = cast<MemRefType>(op.getResult(0).getType());
        if (!type.hasStaticShape())
          return op.emitError("CUDA host code: allocation of a dynamic shape");
        unsigned next = program.launches.size();
        program.buffers.push_back({DeviceBuffer::Kind::Scratch, byteSize(type), next, next});
        buffers[op.getResult(0)] = program.buffers.size() - 1;
      } else if (isa<memref::DeallocOp>(op)) {
        // Lifetimes end after the last launch that uses the buffer, which may be
        // well before the deallocation.
      } else if (auto getGlobal = dyn_cast<memref::GetGlobalOp>(op)) {
        auto buffer = constant(getGlobal);
        if (failed(buffer))
          return failure();
        buffers[getGlobal.getResult()] = *buffer;
      } else if (isa<memref::SubViewOp, memref::ExpandShapeOp, memref::CollapseShapeOp,
                     memref::CastOp, memref::ReinterpretCastOp>(op)) {
        // The view's pointer is its base's; its static offset and strides are in the
        // type the kernel was generated for.
        auto base = bufferOf(&op, op.getOperand(0));
        if (!base)
          return failure();
        buffers[op.getResult(0)] = *base;
      } else if (auto launch = dyn_cast<gpu::LaunchFuncOp>(op)) {
        if (failed(record(launch, bufferOf)))
          return failure();
      } else if (auto call = dyn_cast<func::CallOp>(op)) {
        auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
        if (callee && (callee->hasAttr("kiln.cublaslt") || callee->hasAttr("kiln.cudnn"))) {
          if (failed(recordLibraryCall(call, callee, bufferOf)))
            return failure();
          continue;
        }
        if (!callee || callee.isExternal())
          return op.emitError("CUDA host code: call to an undefined function");
        SmallVector<unsigned> operands;
        for (Value operand : call.getOperands()) {
          auto buffer = bufferOf(&op, operand);
          if (!buffer)
            return failure();
          operands.push_back(*buffer);
        }
        if (call.getNumResults() || failed(follow(callee, operands)))
          return failure();
      } else {
        return op.emitError("CUDA host code may only allocate, view and launch kernels; '")
               << op.getName() << "' is left on the host";
      }
    }
    return success();
  }

private:
  FailureOr<unsigned> constant(memref::GetGlobalOp getGlobal) {
    auto it = globalBuffers.find(getGlobal.getName());
    if (it != globalBuffers.end())
      return it->second;
    auto global = module.lookupSymbol<memref::GlobalOp>(getGlobal.getNameAttr());
    if (!global)
      return getGlobal.emitError("CUDA host code: unknown global");
    auto bytes = globalBytes(global);
    if (failed(bytes))
      return global.emitError("CUDA host code: cannot read this constant's bytes");
    uint64_t offset = alignTo(program.constants.size(), kDeviceAlignment);
    program.constants.resize(offset);
    program.constants.insert(program.constants.end(), bytes->begin(), bytes->end());
    program.buffers.push_back({DeviceBuffer::Kind::Constant, bytes->size(), 0, 0, offset});
    return globalBuffers[getGlobal.getName()] = program.buffers.size() - 1;
  }

  template <typename BufferOf>
  LogicalResult record(gpu::LaunchFuncOp launch, BufferOf &bufferOf) {
    KernelLaunch record;
    StringRef name = launch.getKernelName().getValue();
    auto [it, inserted] = kernelIndex.try_emplace(name, program.kernelNames.size());
    if (inserted)
      program.kernelNames.push_back(name.str());
    record.kernel = it->second;
    gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
    gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
    Value dims[6] = {grid.x, grid.y, grid.z, block.x, block.y, block.z};
    for (int i = 0; i < 6; ++i) {
      std::optional<int64_t> size = getConstantIntValue(dims[i]);
      if (!size || *size <= 0 || *size > INT_MAX)
        return launch.emitError("CUDA host code: launch sizes must be positive constants");
      (i < 3 ? record.grid[i] : record.block[i - 3]) = *size;
    }
    if (Value shared = launch.getDynamicSharedMemorySize()) {
      std::optional<int64_t> bytes = getConstantIntValue(shared);
      if (!bytes || *bytes < 0 || *bytes > INT_MAX)
        return launch.emitError("CUDA host code: dynamic shared memory must be a constant");
      record.sharedMemoryBytes = *bytes;
    }
    for (Value operand : launch.getKernelOperands()) {
      if (!isa<MemRefType>(operand.getType()))
        return launch.emitError("CUDA host code: kernels take buffers only, not ")
               << operand.getType();
      auto buffer = bufferOf(launch, operand);
      if (!buffer)
        return failure();
      record.arguments.push_back(*buffer);
      DeviceBuffer &used = program.buffers[*buffer];
      used.endLaunch = std::max<unsigned>(used.endLaunch, program.launches.size() + 1);
    }
    program.launches.push_back(std::move(record));
    return success();
  }

  /// A call of kiln-gpu-library-calls: a cuBLASLt matmul on A, B, C, D and the bias, or
  /// a cuDNN convolution on x, w, y, the bias and z.
  template <typename BufferOf>
  LogicalResult recordLibraryCall(func::CallOp call, func::FuncOp callee, BufferOf &bufferOf) {
    bool matmul = callee->hasAttr("kiln.cublaslt");
    auto fields = callee->getAttrOfType<DenseI64ArrayAttr>(matmul ? "kiln.cublaslt" : "kiln.cudnn");
    size_t expected = matmul ? KILN_CUDA_MATMUL_FIELDS : KILN_CUDA_CONV_FIELDS;
    if (!fields || fields.size() != (int64_t)expected || call.getNumOperands() < 3 || call.getNumOperands() > 5)
      return call.emitError("CUDA host code: malformed library call");
    KernelLaunch step;
    std::vector<std::vector<int64_t>> &descriptors = matmul ? program.matmuls : program.convolutions;
    step.library = matmul ? KILN_CUDA_LIBRARY_CUBLASLT_MATMUL : KILN_CUDA_LIBRARY_CUDNN_CONV;
    step.descriptor = descriptors.size();
    descriptors.emplace_back(fields.asArrayRef().begin(), fields.asArrayRef().end());
    for (Value operand : call.getOperands()) {
      auto buffer = bufferOf(call, operand);
      SmallVector<int64_t> strides;
      int64_t offset;
      auto type = cast<MemRefType>(operand.getType());
      if (!buffer || failed(type.getStridesAndOffset(strides, offset)) || ShapedType::isDynamic(offset))
        return call.emitError("CUDA host code: library call operand without a static offset");
      step.arguments.push_back(*buffer);
      step.argumentOffsets.push_back(offset * std::max<uint64_t>(1, type.getElementTypeBitWidth() / 8));
      DeviceBuffer &used = program.buffers[*buffer];
      used.endLaunch = std::max<unsigned>(used.endLaunch, program.launches.size() + 1);
    }
    program.launches.push_back(std::move(step));
    return success();
  }

  ModuleOp module;
  HostProgram &program;
  llvm::StringMap<unsigned> kernelIndex, globalBuffers;
};

} // namespace

llvm::Expected<HostProgram> kiln::extractHostProgram(ModuleOp module, unsigned numInputs) {
  auto main = module.lookupSymbol<func::FuncOp>("main");
  if (!main || main.getNumResults() || main.getBody().getBlocks().size() != 1)
    return llvm::createStringError("CUDA host code: @main must take its outputs as arguments");
  HostProgram program;
  SmallVector<unsigned> arguments;
  for (BlockArgument argument : main.getArguments()) {
    auto type = dyn_cast<MemRefType>(argument.getType());
    if (!type || !type.hasStaticShape())
      return llvm::createStringError("CUDA host code: @main takes a non-static buffer");
    bool input = argument.getArgNumber() < numInputs;
    program.buffers.push_back({input ? DeviceBuffer::Kind::Input : DeviceBuffer::Kind::Output,
                               byteSize(type)});
    (input ? program.inputs : program.outputs).push_back(program.buffers.size() - 1);
    arguments.push_back(program.buffers.size() - 1);
  }
  for (auto func : module.getOps<func::FuncOp>())
    if (!func.isExternal() && func.getBody().getBlocks().size() != 1)
      return llvm::createStringError("CUDA host code: @" + func.getName().str() +
                                     " has control flow");
  if (failed(Extractor(module, program).follow(main, arguments)))
    return llvm::createStringError("building the CUDA host program failed");
  planArena(program);
  return program;
}

void kiln::planArena(HostProgram &program) {
  std::vector<unsigned> order;
  for (unsigned i = 0; i < program.buffers.size(); ++i)
    if (program.buffers[i].kind != DeviceBuffer::Kind::Constant)
      order.push_back(i);
  // Largest first: big buffers settle low and small ones fill the gaps between them.
  std::stable_sort(order.begin(), order.end(), [&](unsigned a, unsigned b) {
    return program.buffers[a].bytes > program.buffers[b].bytes;
  });
  // The launches a buffer must keep its bytes through: [first, end). Inputs and
  // outputs live through the whole run; an unused scratch buffer still takes the
  // launch it was allocated before.
  auto live = [](const DeviceBuffer &b) {
    if (b.kind != DeviceBuffer::Kind::Scratch)
      return std::make_pair(0u, UINT_MAX);
    return std::make_pair(b.firstLaunch, std::max(b.endLaunch, b.firstLaunch + 1));
  };
  std::vector<unsigned> placed;
  program.arenaBytes = 0;
  for (unsigned index : order) {
    DeviceBuffer &buffer = program.buffers[index];
    buffer.offset = 0;
    if (buffer.bytes == 0)
      continue;
    auto [first, end] = live(buffer);
    // Lifetimes overlap when each begins before the other ends. A buffer freed
    // before launch k and one allocated before it may share bytes: the stream runs
    // the launches in order.
    std::vector<std::pair<uint64_t, uint64_t>> taken;
    for (unsigned other : placed) {
      const DeviceBuffer &o = program.buffers[other];
      auto [oFirst, oEnd] = live(o);
      if (first < oEnd && oFirst < end)
        taken.push_back({o.offset, alignTo(o.offset + o.bytes, kDeviceAlignment)});
    }
    std::sort(taken.begin(), taken.end());
    uint64_t offset = 0;
    for (auto [begin, finish] : taken) {
      if (offset + buffer.bytes <= begin)
        break;
      offset = std::max(offset, finish);
    }
    buffer.offset = offset;
    program.arenaBytes = std::max(program.arenaBytes, alignTo(offset + buffer.bytes, kDeviceAlignment));
    placed.push_back(index);
  }
}
