// The 1-D transforms of Winograd's F(2x2,3x3) and F(4x4,3x3) (conv/winograd.hpp): B^T, G and
// A^T of Lavin & Gray's minimal filtering, for interpolation points 0, 1, -1, infinity and
// 0, 1, -1, 2, -2, infinity. Written out term by term: the zeros of the matrices cost nothing.
#pragma once

namespace tinycnn::kernels::winograd {

// The 1-D transforms of each tile size, on values of any type T (floats or vectors): B^T d
// (a values of a column or row of input), G g (the 3 taps of a filter row or column) and A^T m
// (a values of a GEMM result). Their 2-D forms apply them to the columns, then to the rows.
template <int M>
struct Transform;

template <>
struct Transform<2> {
  static constexpr int kA = 4;
  template <class T>
  static void input(const T* d, T* r) {
    r[0] = d[0] - d[2];
    r[1] = d[1] + d[2];
    r[2] = d[2] - d[1];
    r[3] = d[1] - d[3];
  }
  template <class T>
  static void filter(const T* g, T* u) {
    u[0] = g[0];
    u[1] = 0.5f * (g[0] + g[1] + g[2]);
    u[2] = 0.5f * (g[0] - g[1] + g[2]);
    u[3] = g[2];
  }
  template <class T>
  static void output(const T* m, T* y) {
    y[0] = m[0] + m[1] + m[2];
    y[1] = m[1] - m[2] - m[3];
  }
};

template <>
struct Transform<4> {
  static constexpr int kA = 6;
  template <class T>
  static void input(const T* d, T* r) {
    r[0] = 4.0f * d[0] - 5.0f * d[2] + d[4];
    r[1] = d[3] + d[4] - 4.0f * (d[1] + d[2]);
    r[2] = d[4] - d[3] + 4.0f * (d[1] - d[2]);
    r[3] = d[4] - d[2] + 2.0f * (d[3] - d[1]);
    r[4] = d[4] - d[2] - 2.0f * (d[3] - d[1]);
    r[5] = 4.0f * d[1] - 5.0f * d[3] + d[5];
  }
  template <class T>
  static void filter(const T* g, T* u) {
    u[0] = g[0] / 4.0f;
    u[1] = -(g[0] + g[1] + g[2]) / 6.0f;
    u[2] = -(g[0] - g[1] + g[2]) / 6.0f;
    u[3] = g[0] / 24.0f + g[1] / 12.0f + g[2] / 6.0f;
    u[4] = g[0] / 24.0f - g[1] / 12.0f + g[2] / 6.0f;
    u[5] = g[2];
  }
  template <class T>
  static void output(const T* m, T* y) {
    const T s12 = m[1] + m[2], d12 = m[1] - m[2], s34 = m[3] + m[4], d34 = m[3] - m[4];
    y[0] = m[0] + s12 + s34;
    y[1] = d12 + 2.0f * d34;
    y[2] = s12 + 4.0f * s34;
    y[3] = d12 + 8.0f * d34 + m[5];
  }
};

}  // namespace tinycnn::kernels::winograd
