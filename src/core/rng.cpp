// xoshiro256** seeded through splitmix64 (the generator authors' recommended seeding).
#include "core/rng.hpp"

#include <cmath>
#include <numbers>
#include <utility>

#include "core/error.hpp"

namespace tinycnn::core {

namespace {
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

Rng::Rng(uint64_t seed) {
  for (auto& word : state_) word = splitmix64(seed);
}

void Rng::set_state(const State& state) {
  TCNN_CHECK(state[0] | state[1] | state[2] | state[3], "rng state: expected a non-zero state");
  state_ = state;
}

uint64_t Rng::next_u64() {
  const uint64_t result = rotl(state_[1] * 5, 7) * 9;
  const uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = rotl(state_[3], 45);
  return result;
}

double Rng::uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

uint64_t Rng::uniform_int(uint64_t n) {
  TCNN_CHECK(n > 0, "uniform_int: expected n > 0, got 0");
  // Rejection sampling: drop the top partial block so every value is equally likely.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  uint64_t x = next_u64();
  while (x >= limit) x = next_u64();
  return x % n;
}

void Rng::shuffle(std::vector<int64_t>& order) {
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[uniform_int(i)]);
}

double Rng::normal(double mean, double stddev) {
  // Box-Muller; u1 is kept away from 0 so log() stays finite.
  const double u1 = 1.0 - uniform();
  const double u2 = uniform();
  const double radius = std::sqrt(-2.0 * std::log(u1));
  return mean + stddev * radius * std::cos(2.0 * std::numbers::pi * u2);
}

double Rng::gamma(double shape) {
  TCNN_CHECK(shape > 0 && std::isfinite(shape), "gamma: expected a shape > 0, got ", shape);
  if (shape < 1) {
    const double boost = std::pow(1.0 - uniform(), 1.0 / shape);  // U in (0, 1]
    return gamma(shape + 1) * boost;
  }
  const double d = shape - 1.0 / 3.0, c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x = 0, v = 0;
    do {
      x = normal(0.0, 1.0);
      v = 1.0 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const double u = 1.0 - uniform();  // (0, 1]
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
    if (std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
  }
}

double Rng::beta(double a, double b) {
  const double x = gamma(a), y = gamma(b);
  return x + y > 0 ? x / (x + y) : 0.5;  // both underflow only for tiny shapes
}

}  // namespace tinycnn::core
