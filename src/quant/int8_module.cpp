// The int8 network as a model; see int8_module.hpp.
#include "quant/int8_module.hpp"

#include "core/error.hpp"

namespace tinycnn::quant {

namespace {
class Int8Network : public nn::Module {
 public:
  explicit Int8Network(QNet net) : net_(std::move(net)) {}
  nn::LayerKind kind() const override { return nn::LayerKind::Custom; }
  std::string type() const override { return "int8"; }
  nn::Shape output_shape(const nn::Shape& input) const override {
    TCNN_CHECK(input == net_.input, "int8: expected a ", net_.input.to_string(), " input, got ",
               input.to_string());
    return net_.layers.back().output;
  }

 protected:
  nn::Variable apply(const nn::Variable& input, const nn::StepContext&) override {
    return nn::Variable(run(net_, input.data()));
  }

 private:
  QNet net_;
};
}  // namespace

std::unique_ptr<nn::Sequential> as_model(QNet net) {
  auto model = std::make_unique<nn::Sequential>();
  model->add(std::make_unique<Int8Network>(std::move(net)));
  return model;
}

}  // namespace tinycnn::quant
