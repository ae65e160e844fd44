// libFuzzer target: arbitrary bytes as a safetensors file.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.hpp"
#include "io/safetensors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    (void)tinycnn::io::parse_safetensors(
        std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
  } catch (const tinycnn::core::Error&) {
  }
  return 0;
}
