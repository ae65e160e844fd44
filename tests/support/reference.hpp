// Loads the PyTorch-computed reference cases in tests/reference/ (see its README).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tensor/tensor.hpp"

namespace tinycnn::testing {

class Reference {
 public:
  static Reference load(const std::string& name);  // "conv_3x3_pad1"
  bool has(const std::string& key) const { return json_.contains(key); }
  tensor::Tensor tensor(const std::string& key) const;
  const nlohmann::json& params() const { return json_.at("params"); }
  const nlohmann::json& json() const { return json_; }

 private:
  nlohmann::json json_;
};

std::vector<std::string> reference_names(const std::string& op);

}  // namespace tinycnn::testing
