// Unit tests of the CUDA target's options: which architectures have TF32 tensor cores,
// and the --cuda-gemm / --cuda-conv values each accepts.
#include "kiln/Compiler/Compiler.h"
#include "kiln/Compiler/Pipeline.h"

#include <gtest/gtest.h>

using namespace kiln;

TEST(CudaOptions, TF32TensorCoresFromSm80) {
  EXPECT_FALSE(hasTF32TensorCores("sm_70"));
  EXPECT_FALSE(hasTF32TensorCores("sm_75"));
  EXPECT_TRUE(hasTF32TensorCores("sm_80"));
  EXPECT_TRUE(hasTF32TensorCores("sm_86"));
  EXPECT_TRUE(hasTF32TensorCores("sm_90a"));
  EXPECT_FALSE(hasTF32TensorCores("compute_90"));
  EXPECT_FALSE(hasTF32TensorCores("sm_"));
}

/// The message of `err`, empty for success.
static std::string messageOf(llvm::Error err) { return err ? llvm::toString(std::move(err)) : std::string(); }

TEST(CudaOptions, TensorCoresNeedSm80) {
  CompilerOptions options;
  ASSERT_EQ(messageOf(applyTargetOption("cuda:sm_75", options)), "");
  EXPECT_EQ(messageOf(applyCudaLibraryOptions("tensor-cores", "auto", options)),
            "--cuda-gemm=tensor-cores needs TF32 tensor cores: sm_80 or later, not sm_75");
  EXPECT_EQ(messageOf(applyCudaLibraryOptions("auto", "tensor-cores", options)),
            "--cuda-conv=tensor-cores needs TF32 tensor cores: sm_80 or later, not sm_75");
  EXPECT_EQ(messageOf(applyCudaLibraryOptions("kernels", "kernels", options)), "");

  CompilerOptions hopper;
  ASSERT_EQ(messageOf(applyTargetOption("cuda:sm_90a", hopper)), "");
  EXPECT_EQ(messageOf(applyCudaLibraryOptions("tensor-cores", "tensor-cores", hopper)), "");
  EXPECT_EQ(hopper.cudaGemm, "tensor-cores");
  EXPECT_EQ(hopper.cudaConv, "tensor-cores");
}

TEST(CudaOptions, UnknownValuesAreRefused) {
  CompilerOptions options;
  EXPECT_EQ(messageOf(applyCudaLibraryOptions("cudnn", "auto", options)),
            "--cuda-gemm takes auto, cublaslt, kernels or tensor-cores, not 'cudnn'");
  EXPECT_EQ(messageOf(applyCudaLibraryOptions("auto", "wmma", options)),
            "--cuda-conv takes auto, cudnn, cublaslt, kernels or tensor-cores, not 'wmma'");
}
