// Shape arithmetic with overflow checks.
#include "core/shape.hpp"

#include "core/error.hpp"

namespace tinycnn::core {

Shape::Shape(std::initializer_list<int64_t> dims) : dims_(dims) {}
Shape::Shape(std::vector<int64_t> dims) : dims_(std::move(dims)) {}

int64_t Shape::operator[](int64_t axis) const {
  TCNN_CHECK(axis >= 0 && axis < rank(), "shape ", to_string(), ": axis ", axis,
             " out of range (rank ", rank(), ")");
  return dims_[static_cast<size_t>(axis)];
}

int64_t checked_mul(int64_t a, int64_t b, const char* what) {
  int64_t result = 0;
  TCNN_CHECK(!__builtin_mul_overflow(a, b, &result), what, ": size ", a, " x ", b,
             " overflows 64 bits");
  return result;
}

int64_t Shape::numel() const {
  int64_t n = 1;
  for (int64_t d : dims_) {
    TCNN_CHECK(d >= 0, "shape ", to_string(), ": expected non-negative dimensions, got ", d);
    n = checked_mul(n, d, "shape");
  }
  return n;
}

std::string Shape::to_string() const {
  std::string out = "[";
  for (size_t i = 0; i < dims_.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(dims_[i]);
  }
  return out + "]";
}

}  // namespace tinycnn::core
