// Facts about the running process that reports quote.
#pragma once

#include <cstdint>

namespace tinycnn::core {

// Peak resident set size of this process so far, in bytes (getrusage ru_maxrss).
int64_t peak_rss_bytes();

}  // namespace tinycnn::core
