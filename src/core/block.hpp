// The even split of `count` items into `parts` contiguous blocks: block i is
// [count * i / parts, count * (i + 1) / parts). Threads, slices, ranks and evaluation parts all
// split this way, so a given count and number of parts always cut at the same places.
#pragma once

#include <cstdint>

namespace tinycnn::core {

// Below this many floats an elementwise pass is faster on one thread than waking a second.
inline constexpr int64_t kParallelMinElements = int64_t{1} << 15;

struct Block {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};

constexpr Block block(int64_t count, int64_t i, int64_t parts) {
  return {count * i / parts, count * (i + 1) / parts};
}

}  // namespace tinycnn::core
