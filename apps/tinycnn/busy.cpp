// Busy-machine wording; see busy.hpp.
#include "busy.hpp"

#include "core/error.hpp"
#include "format.hpp"

namespace tinycnn::cli {

std::string busy_text(int busy, const runtime::Contention& worst) {
  return (busy == 0
              ? std::string("the FMA peak was measured")
              : std::to_string(busy) +
                    (busy == 1 ? " timing marked * was" : " timings marked * were") + " taken") +
         " while the machine was busy (its threads waited up to " +
         fmt("%.0f", 100 * worst.wait_share()) + "% of the time for a core; load " +
         fmt("%.2f", worst.load_average) +
         "): other processes shared the cores, so these figures measure the sharing; run again "
         "on a quiet machine";
}

nlohmann::ordered_json contention_json(const runtime::Contention& c) {
  return {{"busy", c.busy()},
          {"runqueue_wait_ms", c.runqueue_wait_ms},
          {"wall_ms", c.wall_ms},
          {"threads", c.threads},
          {"wait_share", c.wait_share()},
          {"load_average", c.load_average}};
}

void refuse_if_busy(const std::string& summary) {
  TCNN_CHECK_RUNTIME(summary.empty(), "profile --strict: ", summary,
                     " (nothing is reported under --strict)");
}

}  // namespace tinycnn::cli
