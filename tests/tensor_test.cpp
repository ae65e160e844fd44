// tensor: factories, views share storage, clones do not.
#include "tensor/tensor.hpp"

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace tinycnn::tensor {
namespace {

TEST(Tensor, FactoriesAndSizes) {
  Tensor z = Tensor::zeros({2, 3});
  EXPECT_TRUE(z.defined());
  EXPECT_EQ(z.numel(), 6);
  EXPECT_EQ(z.nbytes(), 24u);
  for (int64_t i = 0; i < z.numel(); ++i) EXPECT_EQ(z[i], 0.0f);
  Tensor f = Tensor::full({4}, 2.5f);
  EXPECT_EQ(f[3], 2.5f);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(f.data()) % 64, 0u);
  EXPECT_FALSE(Tensor().defined());
  EXPECT_THROW(Tensor::from_vector({2, 2}, {1, 2, 3}), core::Error);
}

TEST(Tensor, ReshapeIsAViewCloneIsACopy) {
  Tensor a = Tensor::from_vector({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor view = a.reshape({6});
  Tensor copy = a.clone();
  view[0] = 10.0f;
  EXPECT_EQ(a[0], 10.0f);
  EXPECT_EQ(copy[0], 1.0f);
  EXPECT_EQ(view.shape(), Shape({6}));
  EXPECT_THROW(a.reshape({4}), core::Error);
}

TEST(Tensor, AddInPlaceChecksShape) {
  Tensor a = Tensor::full({3}, 1.0f);
  a.add_(Tensor::from_vector({3}, {1, 2, 3}));
  EXPECT_EQ(a.to_vector(), (std::vector<float>{2, 3, 4}));
  EXPECT_THROW(a.add_(Tensor::zeros({4})), core::Error);
}

TEST(Tensor, RandnIsSeeded) {
  core::Rng r1(3), r2(3);
  EXPECT_EQ(Tensor::randn({10}, r1).to_vector(), Tensor::randn({10}, r2).to_vector());
}

}  // namespace
}  // namespace tinycnn::tensor
