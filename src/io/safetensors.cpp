// safetensors reader and writer (float32, little-endian hosts).
#include "io/safetensors.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "io/atomic_file.hpp"
#include "io/json_text.hpp"

namespace tinycnn::io {

static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes little-endian");

namespace {
using Json = nlohmann::json;
constexpr uint64_t kMaxHeader = 100u << 20;  // the format's own limit is 100 MB

std::string read_all(const std::string& path) {
  std::error_code ec;
  TCNN_CHECK_RUNTIME(std::filesystem::is_regular_file(path, ec), path, ": no such file");
  std::ifstream in(path, std::ios::binary);
  TCNN_CHECK_RUNTIME(in.good(), path, ": cannot open for reading");
  const auto size = std::filesystem::file_size(path, ec);
  TCNN_CHECK_RUNTIME(!ec, path, ": cannot read its size");
  std::string bytes(size, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  TCNN_CHECK_RUNTIME(static_cast<uint64_t>(in.gcount()) == size, path, ": short read");
  return bytes;
}
}  // namespace

const tensor::Tensor* SafetensorsFile::find(const std::string& name) const {
  for (const auto& t : tensors) {
    if (t.name == name) return &t.tensor;
  }
  return nullptr;
}

namespace {
const char* dtype_name(IntType t) {
  switch (t) {
    case IntType::I64:
      return "I64";
    case IntType::I32:
      return "I32";
    case IntType::I8:
      return "I8";
  }
  return "I64";
}
uint64_t width_of(IntType t) { return t == IntType::I64 ? 8 : t == IntType::I32 ? 4 : 1; }

// The values in the file's little-endian bytes of `type` (each checked to fit).
void append_ints(const NamedInts& t, std::string& out) {
  const int64_t lo = t.type == IntType::I8    ? INT8_MIN
                     : t.type == IntType::I32 ? INT32_MIN
                                              : INT64_MIN;
  const int64_t hi = t.type == IntType::I8    ? INT8_MAX
                     : t.type == IntType::I32 ? INT32_MAX
                                              : INT64_MAX;
  for (const int64_t v : t.values) {
    TCNN_CHECK(v >= lo && v <= hi, "safetensors: ", t.name, " holds ", v, ", outside ",
               dtype_name(t.type));
    const auto bits = static_cast<uint64_t>(v);
    for (uint64_t b = 0; b < width_of(t.type); ++b) {
      out.push_back(static_cast<char>((bits >> (8 * b)) & 0xFF));
    }
  }
}
}  // namespace

const NamedInts* SafetensorsFile::find_ints(const std::string& name) const {
  for (const auto& t : ints) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                       const std::map<std::string, std::string>& metadata,
                       const std::vector<NamedInts>& ints) {
  nlohmann::ordered_json header;
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    TCNN_CHECK(!header.contains(t.name), "safetensors: duplicate tensor name ", t.name);
    header[t.name] = {{"dtype", "F32"},
                      {"shape", t.tensor.shape().dims()},
                      {"data_offsets", {offset, offset + t.tensor.nbytes()}}};
    offset += t.tensor.nbytes();
  }
  for (const auto& t : ints) {
    TCNN_CHECK(!header.contains(t.name), "safetensors: duplicate tensor name ", t.name);
    const uint64_t bytes = t.values.size() * width_of(t.type);
    header[t.name] = {{"dtype", dtype_name(t.type)},
                      {"shape", t.dims},
                      {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // align the data to 8 bytes
  std::string out(8, '\0');
  const uint64_t n = text.size();
  std::memcpy(out.data(), &n, 8);
  out += text;
  for (const auto& t : tensors) {
    out.append(reinterpret_cast<const char*>(t.tensor.data()), t.tensor.nbytes());
  }
  for (const auto& t : ints) append_ints(t, out);
  write_file_atomically(path, out);
}

SafetensorsFile read_safetensors(const std::string& path) {
  const std::string bytes = read_all(path);
  return parse_safetensors(bytes, path);
}

namespace {
// Where a tensor's bytes lie in the data section.
struct Span {
  uint64_t begin, end;
  std::string name;
};

void parse_metadata(const Json& entry, const std::string& path, SafetensorsFile& file) {
  TCNN_CHECK_RUNTIME(entry.is_object(), path, ": __metadata__ must be an object");
  for (const auto& [key, value] : entry.items()) {
    TCNN_CHECK_RUNTIME(value.is_string(), path, ": __metadata__.", key, " must be a string");
    file.metadata[key] = value.get<std::string>();
  }
}

std::vector<int64_t> parse_shape(const Json& shape, uint64_t data_size, const std::string& where,
                                 uint64_t& numel) {
  TCNN_CHECK_RUNTIME(shape.is_array() && shape.size() <= 8, where, ": bad shape");
  std::vector<int64_t> dims;
  numel = 1;
  for (const auto& d : shape) {
    TCNN_CHECK_RUNTIME(d.is_number_unsigned() && d.get<uint64_t>() <= (uint64_t{1} << 32), where,
                       ": bad shape ", shape.dump());
    numel *= d.get<uint64_t>();
    TCNN_CHECK_RUNTIME(numel <= data_size, where, ": shape ", shape.dump(),
                       " is larger than the file's data");
    dims.push_back(d.get<int64_t>());
  }
  return dims;
}

// One tensor entry of the header, checked against the data section, and its copy.
Span parse_tensor(const std::string& name, const Json& entry, std::string_view data,
                  const std::string& path, SafetensorsFile& file) {
  const std::string where = path + ": tensor " + name;
  TCNN_CHECK_RUNTIME(entry.is_object() && entry.contains("dtype") && entry.contains("shape") &&
                         entry.contains("data_offsets"),
                     where, ": expected dtype, shape and data_offsets");
  const Json& dtype = entry["dtype"];
  TCNN_CHECK_RUNTIME(dtype == "F32" || dtype == "I64" || dtype == "I32" || dtype == "I8", where,
                     ": expected dtype F32, I64, I32 or I8, got ", dtype.dump());
  const bool integer = dtype != "F32";
  const IntType type = dtype == "I8" ? IntType::I8 : dtype == "I32" ? IntType::I32 : IntType::I64;
  const uint64_t width = integer ? width_of(type) : 4;
  uint64_t numel = 0;
  const std::vector<int64_t> dims = parse_shape(entry["shape"], data.size(), where, numel);
  const Json& offsets = entry["data_offsets"];
  TCNN_CHECK_RUNTIME(offsets.is_array() && offsets.size() == 2 && offsets[0].is_number_unsigned() &&
                         offsets[1].is_number_unsigned(),
                     where, ": bad data_offsets");
  const uint64_t begin = offsets[0].get<uint64_t>(), end = offsets[1].get<uint64_t>();
  TCNN_CHECK_RUNTIME(begin <= end && end <= data.size(), where, ": data_offsets [", begin, ", ",
                     end, "] outside the data (", data.size(), " bytes)");
  TCNN_CHECK_RUNTIME(end - begin == numel * width, where, ": data_offsets span ", end - begin,
                     " bytes, shape needs ", numel * width);
  if (integer) {
    std::vector<int64_t> values(numel);
    const auto* bytes = reinterpret_cast<const unsigned char*>(data.data() + begin);
    for (uint64_t i = 0; i < numel; ++i) {
      uint64_t bits = 0;
      for (uint64_t b = 0; b < width; ++b) bits |= uint64_t{bytes[i * width + b]} << (8 * b);
      if (width < 8 && (bits >> (8 * width - 1)) & 1) bits |= ~uint64_t{0} << (8 * width);  // sign
      values[i] = static_cast<int64_t>(bits);
    }
    file.ints.push_back({name, dims, std::move(values), type});
    return {begin, end, name};
  }
  tensor::Tensor t = tensor::Tensor::empty(tensor::Shape(dims));
  if (numel) std::memcpy(t.data(), data.data() + begin, numel * 4);
  file.tensors.push_back({name, std::move(t)});
  return {begin, end, name};
}

// No two tensors share a byte (an empty tensor holds none, so it overlaps nothing).
void check_no_overlap(std::vector<Span> spans, const std::string& path) {
  std::erase_if(spans, [](const Span& s) { return s.begin == s.end; });
  std::sort(spans.begin(), spans.end(),
            [](const Span& a, const Span& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < spans.size(); ++i) {
    TCNN_CHECK_RUNTIME(spans[i].begin >= spans[i - 1].end, path, ": tensors ", spans[i - 1].name,
                       " and ", spans[i].name, " overlap");
  }
}
}  // namespace

SafetensorsFile parse_safetensors(std::string_view bytes, const std::string& path) {
  TCNN_CHECK_RUNTIME(bytes.size() >= 8, path, ": truncated: ", bytes.size(),
                     " bytes, expected at least the 8-byte header length");
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  TCNN_CHECK_RUNTIME(header_len <= kMaxHeader && header_len <= bytes.size() - 8, path,
                     ": header length ", header_len, " does not fit in the file (", bytes.size(),
                     " bytes)");
  const Json header =
      parse_json_text(bytes.substr(8, header_len), path + ": header", core::ErrorKind::Runtime);
  TCNN_CHECK_RUNTIME(header.is_object(), path, ": header must be a JSON object");
  const std::string_view data = bytes.substr(8 + header_len);

  SafetensorsFile file;
  std::vector<Span> spans;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      parse_metadata(entry, path, file);
    } else {
      spans.push_back(parse_tensor(name, entry, data, path, file));
    }
  }
  check_no_overlap(std::move(spans), path);
  return file;
}

}  // namespace tinycnn::io
