// Rng: a small seeded generator (xoshiro256**) whose whole state is four 64-bit words, so a
// checkpoint can save and restore it exactly. Normals come from Box-Muller on our own bits, so
// the same seed gives the same weights with every compiler and standard library.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace tinycnn::core {

class Rng {
 public:
  using State = std::array<uint64_t, 4>;

  explicit Rng(uint64_t seed);

  uint64_t next_u64();
  double uniform();                  // [0, 1)
  uint64_t uniform_int(uint64_t n);  // [0, n), unbiased; n > 0
  double normal(double mean, double stddev);
  // Gamma(shape, 1), shape > 0 (Marsaglia and Tsang 2000; below 1 by Gamma(shape + 1) *
  // U^(1/shape)); Beta(a, b) = X / (X + Y) of two Gammas. Each draw uses a variable number of
  // the generator's words.
  double gamma(double shape);
  double beta(double a, double b);
  // Fisher-Yates over `order` in place, from the back (the data order of every epoch).
  void shuffle(std::vector<int64_t>& order);

  const State& state() const { return state_; }
  void set_state(const State& state);

 private:
  State state_{};
};

}  // namespace tinycnn::core
