// Reference case loader.
#include "support/reference.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace tinycnn::testing {

namespace {
std::filesystem::path reference_dir() { return TINYCNN_TEST_REFERENCE_DIR; }
}  // namespace

Reference Reference::load(const std::string& name) {
  const auto path = reference_dir() / (name + ".json");
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open reference " + path.string());
  Reference ref;
  ref.json_ = nlohmann::json::parse(in);
  return ref;
}

tensor::Tensor Reference::tensor(const std::string& key) const {
  const auto& t = json_.at(key);
  std::vector<int64_t> dims = t.at("shape").get<std::vector<int64_t>>();
  std::vector<double> values = t.at("data").get<std::vector<double>>();
  std::vector<float> floats(values.begin(), values.end());
  return tensor::Tensor::from_vector(tensor::Shape(dims), floats);
}

std::vector<std::string> reference_names(const std::string& op) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(reference_dir())) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    const auto j = nlohmann::json::parse(in);
    if (j.at("op") == op) names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace tinycnn::testing
