// Tensor storage: 64-byte aligned so kernels can use full-width vector loads.
#include "tensor/tensor.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "core/error.hpp"

namespace tinycnn::tensor {

namespace {
constexpr size_t kAlignment = 64;

std::shared_ptr<float[]> allocate(int64_t numel) {
  size_t bytes = static_cast<size_t>(std::max<int64_t>(numel, 1)) * sizeof(float);
  bytes = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  void* raw = std::aligned_alloc(kAlignment, bytes);
  TCNN_CHECK_RUNTIME(raw != nullptr, "out of memory allocating ", bytes, " bytes for a tensor");
  return std::shared_ptr<float[]>(static_cast<float*>(raw), [](float* p) { std::free(p); });
}
}  // namespace

Tensor::Tensor(const Shape& shape, std::shared_ptr<float[]> storage)
    : storage_(std::move(storage)), shape_(shape), numel_(shape.numel()) {}

Tensor Tensor::empty(const Shape& shape) { return Tensor(shape, allocate(shape.numel())); }

Tensor Tensor::zeros(const Shape& shape) { return full(shape, 0.0f); }

Tensor Tensor::full(const Shape& shape, float value) {
  Tensor t = empty(shape);
  t.fill(value);
  return t;
}

Tensor Tensor::from_vector(const Shape& shape, const std::vector<float>& values) {
  TCNN_CHECK(static_cast<int64_t>(values.size()) == shape.numel(), "tensor of shape ",
             shape.to_string(), ": expected ", shape.numel(), " values, got ", values.size());
  Tensor t = empty(shape);
  std::copy(values.begin(), values.end(), t.data());
  return t;
}

Tensor Tensor::randn(const Shape& shape, core::Rng& rng, float stddev) {
  Tensor t = empty(shape);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(rng.normal(0.0, stddev));
  return t;
}

Tensor Tensor::reshape(const Shape& shape) const {
  TCNN_CHECK(defined(), "reshape of an undefined tensor");
  TCNN_CHECK(shape.numel() == numel_, "reshape ", shape_.to_string(), " -> ", shape.to_string(),
             ": expected ", numel_, " elements, got ", shape.numel());
  return Tensor(shape, storage_);
}

Tensor Tensor::clone() const {
  if (!defined()) return {};
  Tensor t = empty(shape_);
  std::memcpy(t.data(), data(), nbytes());
  return t;
}

std::vector<float> Tensor::to_vector() const {
  return defined() ? std::vector<float>(data(), data() + numel_) : std::vector<float>{};
}

void Tensor::fill(float value) { std::fill(data(), data() + numel_, value); }

void Tensor::add_(const Tensor& other) {
  TCNN_CHECK(shape_ == other.shape_, "add_: expected shape ", shape_.to_string(), ", got ",
             other.shape_.to_string());
  float* dst = data();
  const float* src = other.data();
  for (int64_t i = 0; i < numel_; ++i) dst[i] += src[i];
}

}  // namespace tinycnn::tensor
