// getrusage-based process facts.
#include "core/sysinfo.hpp"

#include <sys/resource.h>

namespace tinycnn::core {

int64_t peak_rss_bytes() {
  struct rusage usage {};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

}  // namespace tinycnn::core
