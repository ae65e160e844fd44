// libFuzzer target: arbitrary bytes as an int8 model file (the safetensors reader, then the
// int8 reader: its metadata, the config, every tensor's dtype, shape and range).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/error.hpp"
#include "io/safetensors.hpp"
#include "quant/int8_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const tinycnn::io::SafetensorsFile f = tinycnn::io::parse_safetensors(
        std::string_view(reinterpret_cast<const char*>(data), size), "fuzz");
    (void)tinycnn::quant::int8_from(f, "fuzz");
  } catch (const tinycnn::core::Error&) {
  }
  return 0;
}
