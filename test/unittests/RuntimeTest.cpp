// Unit tests of the runtime C API: statuses, tensors, loading errors, and the checks
// kiln_module_run makes on a real artifact (path in $KILN_TEST_ARTIFACT, an
// Add(x[2,3], y[3]) -> Relu model compiled by the lit test that runs this binary).
#include "kiln/runtime.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace {

struct StatusGuard {
  kiln_status_t s;
  ~StatusGuard() { kiln_status_free(s); }
};

TEST(Status, NullIsOk) {
  EXPECT_EQ(kiln_status_code(nullptr), KILN_STATUS_OK);
  EXPECT_STREQ(kiln_status_message(nullptr), "OK");
  kiln_status_free(nullptr);
}

TEST(Dtype, SizesAndNames) {
  EXPECT_EQ(kiln_dtype_size(KILN_DTYPE_F32), 4u);
  EXPECT_EQ(kiln_dtype_size(KILN_DTYPE_BF16), 2u);
  EXPECT_EQ(kiln_dtype_size(KILN_DTYPE_BOOL), 1u);
  EXPECT_STREQ(kiln_dtype_name(KILN_DTYPE_I64), "i64");
  EXPECT_EQ(kiln_dtype_size((kiln_dtype_t)99), 0u);
}

TEST(Tensor, CreateIsZeroedAndAligned) {
  int64_t dims[] = {3, 5};
  kiln_tensor_t *t = nullptr;
  ASSERT_EQ(kiln_tensor_create(nullptr, KILN_DTYPE_F64, 2, dims, &t), nullptr);
  EXPECT_EQ(kiln_tensor_byte_size(t), 3u * 5u * 8u);
  EXPECT_EQ((uintptr_t)kiln_tensor_data(t) % 64, 0u);
  for (int i = 0; i < 15; ++i)
    EXPECT_EQ(((double *)kiln_tensor_data(t))[i], 0.0);
  EXPECT_EQ(kiln_tensor_dims(t)[1], 5);
  kiln_tensor_release(t);
}

TEST(Tensor, RejectsBadShapes) {
  int64_t negative[] = {2, -1};
  kiln_tensor_t *t = nullptr;
  StatusGuard g{kiln_tensor_create(nullptr, KILN_DTYPE_F32, 2, negative, &t)};
  EXPECT_EQ(kiln_status_code(g.s), KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(t, nullptr);
  int64_t huge[] = {INT64_C(1) << 40, INT64_C(1) << 40};
  StatusGuard g2{kiln_tensor_create(nullptr, KILN_DTYPE_F32, 2, huge, &t)};
  EXPECT_EQ(kiln_status_code(g2.s), KILN_STATUS_INVALID_ARGUMENT);
}

TEST(Module, MissingFileIsNotFound) {
  kiln_module_t *m = nullptr;
  StatusGuard g{kiln_module_load("/nonexistent/model.so", nullptr, &m)};
  EXPECT_EQ(kiln_status_code(g.s), KILN_STATUS_NOT_FOUND);
  EXPECT_NE(std::string(kiln_status_message(g.s)).find("/nonexistent/model.so"), std::string::npos);
  EXPECT_EQ(m, nullptr);
}

TEST(Module, TruncatedArtifactIsRejected) {
  std::string path = testing::TempDir() + "/truncated.so";
  std::ofstream(path) << "\x7f" "ELF garbage";
  kiln_module_t *m = nullptr;
  StatusGuard g{kiln_module_load(path.c_str(), nullptr, &m)};
  EXPECT_NE(g.s, nullptr);
  EXPECT_EQ(m, nullptr);
}

TEST(Module, ForeignLibraryIsIncompatible) {
  kiln_module_t *m = nullptr;
  StatusGuard g{kiln_module_load("libm.so.6", nullptr, &m)};
  // Found through the loader path or not, it is never accepted as a model.
  EXPECT_NE(g.s, nullptr);
  EXPECT_EQ(m, nullptr);
}

class Artifact : public testing::Test {
protected:
  void SetUp() override {
    const char *path = std::getenv("KILN_TEST_ARTIFACT");
    ASSERT_NE(path, nullptr) << "set KILN_TEST_ARTIFACT to the compiled add/relu model";
    StatusGuard g{kiln_module_load(path, nullptr, &module)};
    ASSERT_EQ(g.s, nullptr) << kiln_status_message(g.s);
  }
  void TearDown() override { kiln_module_release(module); }
  kiln_module_t *module = nullptr;
};

TEST_F(Artifact, Signature) {
  ASSERT_EQ(kiln_module_input_count(module), 2u);
  ASSERT_EQ(kiln_module_output_count(module), 1u);
  kiln_tensor_info_t info;
  ASSERT_EQ(kiln_module_input_info(module, 1, &info), nullptr);
  EXPECT_STREQ(info.name, "y");
  EXPECT_EQ(info.dtype, KILN_DTYPE_F32);
  ASSERT_EQ(info.rank, 1u);
  EXPECT_EQ(info.dims[0], 3);
  size_t index = 9;
  ASSERT_EQ(kiln_module_find_input(module, "x", &index), nullptr);
  EXPECT_EQ(index, 0u);
  StatusGuard g{kiln_module_input_info(module, 2, &info)};
  EXPECT_EQ(kiln_status_code(g.s), KILN_STATUS_INVALID_ARGUMENT);
}

TEST_F(Artifact, CPUModulesHaveNoDeviceResidentBuffers) {
  EXPECT_EQ(kiln_module_device(module), KILN_DEVICE_CPU);
  uint64_t address = 1;
  StatusGuard input{kiln_module_device_input(module, 0, &address)};
  EXPECT_EQ(kiln_status_code(input.s), KILN_STATUS_NOT_FOUND);
  EXPECT_EQ(address, 0u);
  StatusGuard output{kiln_module_device_output(module, 0, &address)};
  EXPECT_EQ(kiln_status_code(output.s), KILN_STATUS_NOT_FOUND);
  StatusGuard run{kiln_module_run_on_device(module)};
  EXPECT_EQ(kiln_status_code(run.s), KILN_STATUS_NOT_FOUND);
}

TEST_F(Artifact, RunsOnCallerBuffers) {
  float x[6] = {1, -2, 3, -4, 5, -6}, y[3] = {0.5f, 0.5f, 0.5f}, z[6];
  int64_t xd[] = {2, 3}, yd[] = {3};
  kiln_buffer_view_t in[] = {{KILN_DTYPE_F32, 2, xd, x, sizeof(x)}, {KILN_DTYPE_F32, 1, yd, y, sizeof(y)}};
  kiln_buffer_view_t out[] = {{KILN_DTYPE_F32, 2, xd, z, sizeof(z)}};
  ASSERT_EQ(kiln_module_run(module, in, 2, out, 1), nullptr);
  float expected[6] = {1.5f, 0, 3.5f, 0, 5.5f, 0};
  for (int i = 0; i < 6; ++i)
    EXPECT_FLOAT_EQ(z[i], expected[i]);
}

TEST_F(Artifact, RejectsWrongShapeDtypeSizeAndCount) {
  float x[6] = {}, y[3] = {}, z[6];
  int64_t xd[] = {2, 3}, yd[] = {3}, bad[] = {3, 2};
  kiln_buffer_view_t out[] = {{KILN_DTYPE_F32, 2, xd, z, sizeof(z)}};
  kiln_buffer_view_t wrongShape[] = {{KILN_DTYPE_F32, 2, bad, x, sizeof(x)}, {KILN_DTYPE_F32, 1, yd, y, sizeof(y)}};
  StatusGuard a{kiln_module_run(module, wrongShape, 2, out, 1)};
  EXPECT_EQ(kiln_status_code(a.s), KILN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(kiln_status_message(a.s)).find("shape"), std::string::npos);
  kiln_buffer_view_t wrongType[] = {{KILN_DTYPE_F64, 2, xd, x, sizeof(x)}, {KILN_DTYPE_F32, 1, yd, y, sizeof(y)}};
  StatusGuard b{kiln_module_run(module, wrongType, 2, out, 1)};
  EXPECT_EQ(kiln_status_code(b.s), KILN_STATUS_INVALID_ARGUMENT);
  kiln_buffer_view_t wrongSize[] = {{KILN_DTYPE_F32, 2, xd, x, 8}, {KILN_DTYPE_F32, 1, yd, y, sizeof(y)}};
  StatusGuard c{kiln_module_run(module, wrongSize, 2, out, 1)};
  EXPECT_EQ(kiln_status_code(c.s), KILN_STATUS_INVALID_ARGUMENT);
  StatusGuard d{kiln_module_run(module, wrongSize, 1, out, 1)};
  EXPECT_EQ(kiln_status_code(d.s), KILN_STATUS_INVALID_ARGUMENT);
}

TEST_F(Artifact, RunsOnRuntimeTensors) {
  int64_t xd[] = {2, 3}, yd[] = {3};
  kiln_tensor_t *x, *y, *z = nullptr;
  ASSERT_EQ(kiln_tensor_create(nullptr, KILN_DTYPE_F32, 2, xd, &x), nullptr);
  ASSERT_EQ(kiln_tensor_create(nullptr, KILN_DTYPE_F32, 1, yd, &y), nullptr);
  ((float *)kiln_tensor_data(x))[4] = 2;
  ((float *)kiln_tensor_data(y))[1] = -1;
  kiln_tensor_t *inputs[] = {x, y};
  ASSERT_EQ(kiln_module_run_tensors(module, inputs, 2, &z), nullptr);
  ASSERT_NE(z, nullptr);
  EXPECT_FLOAT_EQ(((float *)kiln_tensor_data(z))[4], 1.0f);
  EXPECT_FLOAT_EQ(((float *)kiln_tensor_data(z))[1], 0.0f);
  kiln_tensor_release(x);
  kiln_tensor_release(y);
  kiln_tensor_release(z);
}

} // namespace
