// Unit tests of the .npy and TensorProto readers and the tolerance comparison.
#include "TensorIO.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

using namespace kiln::tools;

TEST(TensorIO, NpyRoundTrip) {
  HostTensor t;
  t.dtype = KILN_DTYPE_I32;
  t.dims = {2, 2};
  int32_t values[] = {1, -2, 3, 2147483647};
  t.data.assign((char *)values, (char *)values + sizeof(values));
  std::string path = testing::TempDir() + "/t.npy", error;
  ASSERT_TRUE(writeNpy(path, t, error)) << error;
  HostTensor back;
  ASSERT_TRUE(readTensorFile(path, back, error)) << error;
  EXPECT_EQ(back.dtype, KILN_DTYPE_I32);
  EXPECT_EQ(back.dims, t.dims);
  EXPECT_EQ(back.at(3), 2147483647.0);
}

TEST(TensorIO, TensorProtoPackedFloats) {
  // dims: [2] (field 1), data_type: FLOAT (2), float_data packed (4), name "v" (8).
  std::string bytes = {0x08, 0x02, 0x10, 0x01, 0x22, 0x08};
  float values[] = {1.5f, -2.0f};
  bytes.append((char *)values, sizeof(values));
  bytes += std::string{0x42, 0x01, 'v'};
  std::string path = testing::TempDir() + "/t.pb", error;
  std::ofstream(path, std::ios::binary) << bytes;
  HostTensor t;
  ASSERT_TRUE(readTensorFile(path, t, error)) << error;
  EXPECT_EQ(t.name, "v");
  EXPECT_EQ(t.dims, std::vector<int64_t>{2});
  EXPECT_EQ(t.at(1), -2.0);
}

TEST(TensorIO, TruncatedTensorProtoIsAnError) {
  std::string bytes = {0x08, 0x02, 0x10, 0x01, 0x4a, 0x7f}; // raw_data says 127 bytes follow
  std::string path = testing::TempDir() + "/bad.pb", error;
  std::ofstream(path, std::ios::binary) << bytes;
  HostTensor t;
  EXPECT_FALSE(readTensorFile(path, t, error));
  EXPECT_NE(error.find("malformed"), std::string::npos);
}

TEST(TensorIO, CompareUsesOnnxTolerance) {
  HostTensor a, e;
  a.dims = e.dims = {3};
  float av[] = {1.0f, 100.05f, NAN}, ev[] = {1.0f, 100.0f, NAN};
  a.data.assign((char *)av, (char *)av + sizeof(av));
  e.data.assign((char *)ev, (char *)ev + sizeof(ev));
  EXPECT_TRUE(compareTensors(a, e, 1e-3, 1e-7).ok);
  EXPECT_FALSE(compareTensors(a, e, 1e-4, 1e-7).ok);
  e.dims = {1, 3};
  EXPECT_FALSE(compareTensors(a, e, 1e-3, 1e-7).shapeMatches);
}
