// libFuzzer target: config text -> depth-limited JSON -> parse_config -> shape trace of models
// whose weights stay small. Errors (core::Error) are the expected outcome for most inputs.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.hpp"
#include "io/json_text.hpp"
#include "model/cost_table.hpp"
#include "model/spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const auto spec = tinycnn::model::parse_config(
        tinycnn::io::parse_json_text(text, "fuzz", tinycnn::core::ErrorKind::Invalid));
    // Building initialises weights; keep the fuzzer to models of modest size.
    int64_t budget = 1 << 20;
    for (const auto& layer : spec.layers) {
      for (const char* key : {"out_channels", "out_features"}) {
        const tinycnn::model::Json& j = *layer.json;
        if (j.contains(key) && j[key].is_number_integer()) budget -= j[key].get<int64_t>();
      }
    }
    if (budget > 0 && spec.input.height * spec.input.width <= 4096) {
      (void)tinycnn::model::cost_table(spec, 1);
    }
  } catch (const tinycnn::core::Error&) {
  }
  return 0;
}
