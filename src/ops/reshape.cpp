// Reshape op: no data is copied in either direction.
#include "ops/reshape.hpp"

#include "autograd/engine.hpp"
#include "core/error.hpp"

namespace tinycnn::ops {

using tensor::Shape;
using tensor::Tensor;

namespace {
class ReshapeNode : public autograd::Node {
 public:
  explicit ReshapeNode(const Variable& input) : Node({input}) {}
  const char* name() const override { return "reshape"; }
  std::vector<Tensor> backward(const Tensor& doutput) override {
    return {doutput.reshape(inputs()[0].shape())};
  }
};
}  // namespace

Variable reshape(const Variable& input, const Shape& shape) {
  Tensor output = input.data().reshape(shape);
  std::shared_ptr<autograd::Node> node;
  if (autograd::should_record({&input})) node = std::make_shared<ReshapeNode>(input);
  return autograd::make_result(std::move(output), std::move(node));
}

Variable flatten(const Variable& input) {
  const Shape& s = input.shape();
  TCNN_CHECK(s.rank() >= 1, "flatten: expected a batch dimension, got ", s.to_string());
  const int64_t batch = s[0];
  return reshape(input, {batch, batch == 0 ? 0 : s.numel() / batch});
}

}  // namespace tinycnn::ops
