// The kernel image a CUDA artifact carries: a fatbin with the cubin for the target
// architecture and the PTX (so newer GPUs can JIT it) when the CUDA toolkit's ptxas
// and fatbinary are installed, or the PTX alone, which the driver JIT-compiles when
// the module loads.
#include "kiln/Target/CUDA/CUDATarget.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"

using namespace kiln;

/// `name` on PATH or in the CUDA toolkit's usual place.
static std::optional<std::string> findTool(llvm::StringRef name) {
  if (auto path = llvm::sys::findProgramByName(name))
    return *path;
  if (auto path = llvm::sys::findProgramByName(name, {"/usr/local/cuda/bin"}))
    return *path;
  return std::nullopt;
}

namespace {
/// Temporary files removed on every path out.
struct TemporaryFiles {
  std::vector<llvm::SmallString<128>> paths;
  ~TemporaryFiles() {
    for (auto &path : paths)
      llvm::sys::fs::remove(path);
  }
  llvm::Expected<std::string> create(llvm::StringRef suffix) {
    llvm::SmallString<128> path;
    if (auto ec = llvm::sys::fs::createTemporaryFile("kiln-kernels", suffix, path))
      return llvm::createStringError("cannot create a temporary file: " + ec.message());
    paths.push_back(path);
    return path.str().str();
  }
};
} // namespace

static llvm::Error runTool(llvm::StringRef tool, llvm::ArrayRef<llvm::StringRef> args) {
  std::string message;
  std::vector<llvm::StringRef> argv = {tool};
  argv.insert(argv.end(), args.begin(), args.end());
  int rc = llvm::sys::ExecuteAndWait(tool, argv, std::nullopt, {}, 0, 0, &message);
  if (rc != 0)
    return llvm::createStringError(tool + " failed (exit " + std::to_string(rc) + ")" +
                                   (message.empty() ? "" : ": " + message));
  return llvm::Error::success();
}

llvm::Expected<std::string> kiln::buildKernelImage(llvm::StringRef ptx, const CompilerOptions &options) {
  std::string ptxImage = ptx.str();
  ptxImage.push_back('\0'); // the driver reads PTX as a C string
  if (!options.assembleKernels)
    return ptxImage;
  auto ptxas = findTool("ptxas"), fatbinary = findTool("fatbinary");
  if (!ptxas || !fatbinary)
    return ptxImage;

  TemporaryFiles files;
  auto ptxPath = files.create("ptx"), cubinPath = files.create("cubin"),
       fatbinPath = files.create("fatbin");
  if (!ptxPath || !cubinPath || !fatbinPath)
    return llvm::createStringError("cannot create temporary files for ptxas");
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(*ptxPath, ec);
    if (ec)
      return llvm::createStringError("cannot write " + *ptxPath + ": " + ec.message());
    os << ptx;
  }
  std::string arch = options.cudaArch;             // sm_90a
  std::string sm = llvm::StringRef(arch).drop_front(3).str(); // 90a
  if (auto err = runTool(*ptxas, {"-O3", "-arch=" + arch, *ptxPath, "-o", *cubinPath}))
    return std::move(err);
  std::string elf = "--image3=kind=elf,sm=" + sm + ",file=" + *cubinPath;
  std::string ptxEntry = "--image3=kind=ptx,sm=" + sm + ",file=" + *ptxPath;
  if (auto err = runTool(*fatbinary, {"--64", "--create=" + *fatbinPath, elf, ptxEntry}))
    return std::move(err);
  auto fatbin = llvm::MemoryBuffer::getFile(*fatbinPath);
  if (!fatbin)
    return llvm::createStringError("cannot read the fatbin: " + fatbin.getError().message());
  return (*fatbin)->getBuffer().str();
}
