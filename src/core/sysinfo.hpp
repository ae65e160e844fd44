// Facts about the running process that reports quote, and its one memory policy.
#pragma once

#include <cstdint>
#include <string>

namespace tinycnn::core {

// Peak resident set size of this process so far, in bytes (getrusage ru_maxrss).
int64_t peak_rss_bytes();

// The CPU's model name from /proc/cpuinfo ("unknown" where there is none).
std::string cpu_model();

// Keep freed memory in the process (glibc mallopt; call once, first thing in main). A training
// step frees and reallocates tensors of the same sizes every step; by default glibc returns
// large blocks to the OS (mmap / trim), so every step page-faults them back in, which costs
// more than the arithmetic on them (docs/performance.md).
void keep_freed_memory();

}  // namespace tinycnn::core
