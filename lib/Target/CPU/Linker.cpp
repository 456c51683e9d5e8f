// In-process linking of shared libraries with lld's ELF driver.
#include "kiln/Target/CPU/CPUTarget.h"

#include "lld/Common/Driver.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <mutex>

LLD_HAS_DRIVER(elf)

llvm::Error kiln::linkSharedLibrary(llvm::StringRef objectPath, llvm::StringRef outputPath,
                                    bool linkHostLibm) {
  // lld keeps global state per link; links are serialized.
  static std::mutex mutex;
  std::lock_guard<std::mutex> lock(mutex);
  std::string object = objectPath.str(), output = outputPath.str();
  std::vector<const char *> args = {"ld.lld", "-shared", "--eh-frame-hdr", "-o", output.c_str(),
                                    object.c_str()};
  // Math functions the generated code calls (expf, tanhf, erff...) come from libm.
  for (const char *libm : {"/lib/x86_64-linux-gnu/libm.so.6", "/lib64/libm.so.6", "/usr/lib/libm.so.6"})
    if (linkHostLibm && llvm::sys::fs::exists(libm)) {
      args.push_back(libm);
      break;
    }
  std::string diagnostics;
  llvm::raw_string_ostream errs(diagnostics);
  lld::Result result = lld::lldMain(args, llvm::nulls(), errs, {{lld::Gnu, &lld::elf::link}});
  if (result.retCode != 0)
    return llvm::createStringError("linking " + output + " failed: " + diagnostics);
  return llvm::Error::success();
}
