// Counts this program's heap bytes in use (global operator new / delete), so `profile` can
// report the measured peak of extra memory an algorithm allocates during one call.
#pragma once

#include <cstdint>

namespace tinycnn::cli {

void heap_reset_peak();
int64_t heap_peak_extra_bytes();  // peak in use since the last reset, minus the use at reset

}  // namespace tinycnn::cli
