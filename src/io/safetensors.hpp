// safetensors files: 8-byte little-endian header length N, N bytes of JSON header
// ({"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
//   "__metadata__": {"key": "value"}}), then the raw little-endian data.
// tinycnn reads and writes F32 tensors and integer ones: I64 (counters such as batch norm's
// num_batches_tracked, usually of shape []), I32 and I8 (a quantized model's biases and weights),
// held widened to int64 in memory. Reading validates everything against the file size
// before allocating: header bounds, JSON, dtype, shapes, offsets (in range, exact size, no
// overlap), names; failures are ErrorKind::Runtime naming the file.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "tensor/tensor.hpp"

namespace tinycnn::io {

struct NamedTensor {
  std::string name;
  tensor::Tensor tensor;
};

// An integer tensor's type in the file.
enum class IntType { I64, I32, I8 };

struct NamedInts {
  std::string name;
  std::vector<int64_t> dims;  // [] for a scalar
  std::vector<int64_t> values;
  IntType type = IntType::I64;  // writing: each value must fit it
};

struct SafetensorsFile {
  std::vector<NamedTensor> tensors;  // F32, sorted by name
  std::vector<NamedInts> ints;       // I64, I32, I8, sorted by name
  std::map<std::string, std::string> metadata;

  const tensor::Tensor* find(const std::string& name) const;
  const NamedInts* find_ints(const std::string& name) const;
};

// Writes atomically (see atomic_file.hpp): readers see the old file or the new, never a part.
void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata,
                       const std::vector<NamedInts>& ints = {});
SafetensorsFile read_safetensors(const std::string& path);
// The same from bytes already in memory; `what` names them in errors.
SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& what);

}  // namespace tinycnn::io
