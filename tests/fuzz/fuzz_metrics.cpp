// libFuzzer target: arbitrary bytes as a metrics.jsonl file, parsed and drawn as `tinycnn plot`
// draws it (the reader validates every value; the chart must cope with whatever it accepts).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.hpp"
#include "run/curves.hpp"
#include "run/metrics_log.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    tinycnn::run::MetricsRun run{.label = "fuzz",
                                 .epochs = tinycnn::run::parse_metrics(text, "fuzz")};
    (void)tinycnn::run::render_curves({run, run});
  } catch (const tinycnn::core::Error&) {
  }
  return 0;
}
