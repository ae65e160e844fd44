// Tensor: float32 data in a contiguous row-major (NCHW) buffer with a shape.
// A Tensor is a cheap handle: copies share the buffer; reshape() returns a view of the same
// buffer; clone() copies the data. It knows nothing of gradients (that is autograd's Variable).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/rng.hpp"
#include "core/shape.hpp"

namespace tinycnn::tensor {

using core::Shape;

class Tensor {
 public:
  Tensor() = default;  // undefined: no buffer, no shape

  static Tensor zeros(const Shape& shape);
  static Tensor full(const Shape& shape, float value);
  // Uninitialised contents: for outputs a kernel overwrites completely.
  static Tensor empty(const Shape& shape);
  static Tensor from_vector(const Shape& shape, const std::vector<float>& values);
  static Tensor randn(const Shape& shape, core::Rng& rng, float stddev = 1.0f);

  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  int64_t dim(int64_t axis) const { return shape_[axis]; }
  int64_t rank() const { return shape_.rank(); }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return static_cast<size_t>(numel_) * sizeof(float); }

  float* data() { return storage_.get(); }
  const float* data() const { return storage_.get(); }
  float& operator[](int64_t i) { return storage_.get()[i]; }
  float operator[](int64_t i) const { return storage_.get()[i]; }

  // A view with the same elements and another shape (same numel); shares the buffer.
  Tensor reshape(const Shape& shape) const;
  Tensor clone() const;
  std::vector<float> to_vector() const;
  void fill(float value);
  // this += other, elementwise; shapes must match.
  void add_(const Tensor& other);

 private:
  Tensor(const Shape& shape, std::shared_ptr<float[]> storage);

  std::shared_ptr<float[]> storage_;
  Shape shape_;
  int64_t numel_ = 0;
};

}  // namespace tinycnn::tensor
