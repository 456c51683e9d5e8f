// Unit tests of constant reading (inline and resource-backed) and shape rules.
#include "kiln/Dialect/Kiln/ConstantTensor.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace kiln;

TEST(ConstantTensor, ReadsInlineAndResourceConstants) {
  MLIRContext ctx;
  ctx.loadDialect<BuiltinDialect>();
  auto type = RankedTensorType::get({2, 2}, Float32Type::get(&ctx));
  float values[] = {1, 2, 3, 4};
  auto dense = DenseElementsAttr::get(type, ArrayRef<float>(values));
  auto fromDense = ConstantTensor::read(dense);
  ASSERT_TRUE(fromDense);
  EXPECT_EQ(fromDense->floats[3], 4.0);

  ArrayRef<char> raw((const char *)values, sizeof(values));
  auto blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(raw, alignof(float));
  auto resource = DenseResourceElementsAttr::get(type, "w", std::move(blob));
  auto fromResource = ConstantTensor::read(resource);
  ASSERT_TRUE(fromResource);
  EXPECT_EQ(fromResource->floats, fromDense->floats);
  EXPECT_EQ(fromResource->toAttr(), dense);
}

TEST(ConstantTensor, RespectsTheSizeLimitAndIntegerTypes) {
  MLIRContext ctx;
  auto type = RankedTensorType::get({3}, IntegerType::get(&ctx, 8));
  int8_t values[] = {-1, 0, 127};
  auto dense = DenseElementsAttr::get(type, ArrayRef<int8_t>(values));
  EXPECT_FALSE(ConstantTensor::read(dense, 2));
  auto t = ConstantTensor::read(dense);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->ints[0], -1);
  EXPECT_EQ(t->toAttr(), dense);
}
