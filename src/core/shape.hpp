// Shape: the dimensions of a tensor, outermost first (NCHW for images).
// Products are overflow-checked so that hostile sizes fail with an Error, not wrap around.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace tinycnn::core {

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  explicit Shape(std::vector<int64_t> dims);

  int64_t rank() const { return static_cast<int64_t>(dims_.size()); }
  int64_t operator[](int64_t axis) const;
  const std::vector<int64_t>& dims() const { return dims_; }
  // Number of elements; throws when a dimension is negative or the product overflows.
  int64_t numel() const;
  std::string to_string() const;  // "[2, 3, 4]"

  friend bool operator==(const Shape&, const Shape&) = default;

 private:
  std::vector<int64_t> dims_;
};

// a * b with an Error (naming `what`) instead of signed overflow.
int64_t checked_mul(int64_t a, int64_t b, const char* what);

}  // namespace tinycnn::core
