// Small text-formatting helpers for the CLI's tables.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tinycnn::cli {

std::string with_commas(int64_t value);             // 1234567 -> "1,234,567"
std::string human_bytes(int64_t bytes);             // 246824 -> "241.0 KiB"
std::string fmt(const char* format, double value);  // printf of one number: fmt("%.1f", x)

// A plain text table: columns padded to their widest cell; `right` marks right-aligned columns.
class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header, std::vector<bool> right = {});
  void add(std::vector<std::string> row);
  std::string render() const;

 private:
  std::vector<std::vector<std::string>> rows_;
  std::vector<bool> right_;
};

}  // namespace tinycnn::cli
