// Unit tests of the convolution/pooling output-shape rule.
#include "kiln/Dialect/Kiln/ShapeRules.h"

#include <gtest/gtest.h>

using namespace kiln;

TEST(ShapeRules, ConvOutput) {
  auto s = convOutputShape({1, 3, 224, 224}, {7, 7}, {2, 2}, {1, 1}, {3, 3, 3, 3}, false);
  ASSERT_TRUE(succeeded(s));
  EXPECT_EQ(*s, (llvm::SmallVector<int64_t>{1, 3, 112, 112}));
}

TEST(ShapeRules, CeilModeDropsWindowsStartingInPadding) {
  // 5 wide, kernel 2, stride 2: floor gives 2 windows, ceil 3.
  auto floorShape = convOutputShape({1, 1, 5}, {2}, {2}, {1}, {0, 0}, false);
  auto ceilShape = convOutputShape({1, 1, 5}, {2}, {2}, {1}, {0, 0}, true);
  EXPECT_EQ((*floorShape)[2], 2);
  EXPECT_EQ((*ceilShape)[2], 3);
  // With end padding 2 a fourth window would start inside the padding: dropped.
  auto padded = convOutputShape({1, 1, 5}, {2}, {2}, {1}, {0, 2}, true);
  EXPECT_EQ((*padded)[2], 3);
}

TEST(ShapeRules, RejectsEmptyOutputsAndBadStrides) {
  EXPECT_TRUE(failed(convOutputShape({1, 1, 2}, {3}, {1}, {1}, {0, 0}, false)));
  EXPECT_TRUE(failed(convOutputShape({1, 1, 8}, {3}, {0}, {1}, {0, 0}, false)));
}

TEST(ShapeRules, Permutations) {
  EXPECT_TRUE(isPermutation({2, 0, 1}, 3));
  EXPECT_FALSE(isPermutation({0, 0, 1}, 3));
  EXPECT_FALSE(isPermutation({0, 1}, 3));
}
