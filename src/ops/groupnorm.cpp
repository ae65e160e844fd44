// Group-norm op. Saves the input (already held by the graph) and each row's mean and inverse
// standard deviation; the normalised values are recomputed in backward.
#include "ops/groupnorm.hpp"

#include <vector>

#include "autograd/engine.hpp"
#include "core/error.hpp"
#include "kernels/groupnorm.hpp"

namespace tinycnn::ops {

using tensor::Tensor;

namespace {
class GroupNormNode : public autograd::Node {
 public:
  GroupNormNode(const Variable& input, const Variable& weight, const Variable& bias,
                const kernels::GroupNormShape& shape, std::vector<double> mean,
                std::vector<double> invstd)
      : Node({input, weight, bias}),
        shape_(shape),
        mean_(std::move(mean)),
        invstd_(std::move(invstd)) {}
  const char* name() const override { return "groupnorm"; }
  std::vector<Tensor> backward(const Tensor& doutput) override {
    const Variable& input = inputs()[0];
    const Variable& weight = inputs()[1];
    const Variable& bias = inputs()[2];
    Tensor dinput, dweight, dbias;
    if (input.requires_grad()) dinput = Tensor::empty(input.shape());
    if (weight.requires_grad()) dweight = Tensor::empty(weight.shape());
    if (bias.requires_grad()) dbias = Tensor::empty(bias.shape());
    const auto data_or_null = [](Tensor& t) { return t.defined() ? t.data() : nullptr; };
    kernels::groupnorm_backward(shape_, input.data().data(), doutput.data(), mean_.data(),
                                invstd_.data(), weight.defined() ? weight.data().data() : nullptr,
                                data_or_null(dinput), data_or_null(dweight), data_or_null(dbias));
    return {dinput, dweight, dbias};
  }

 private:
  kernels::GroupNormShape shape_;
  std::vector<double> mean_, invstd_;
};
}  // namespace

Variable group_norm(const Variable& input, const Variable& weight, const Variable& bias,
                    const GroupNormParams& params) {
  const tensor::Shape& in = input.shape();
  TCNN_CHECK(in.rank() >= 2, "group norm: expected an input [N, C, ...], got ", in.to_string());
  const int64_t channels = in[1], example = in.numel() / in[0];
  TCNN_CHECK(params.groups >= 1 && channels % params.groups == 0, "group norm: ", params.groups,
             " groups do not divide ", channels, " channels");
  const kernels::GroupNormShape shape{.batch = in[0],
                                      .groups = params.groups,
                                      .group_size = example / params.groups,
                                      .affine_repeat = params.per_element ? 1 : example / channels};
  for (const Variable* p : {&weight, &bias}) {
    TCNN_CHECK(!p->defined() || p->data().numel() == shape.affine_size(),
               "group norm: a parameter of ", p->data().numel(), " values, expected ",
               shape.affine_size());
  }
  const auto rows = static_cast<size_t>(shape.batch * shape.groups);
  std::vector<double> mean(rows), invstd(rows);
  kernels::groupnorm_statistics(shape, input.data().data(), params.eps, mean.data(), invstd.data());
  Tensor output = Tensor::empty(in);
  kernels::groupnorm_normalize(shape, input.data().data(), mean.data(), invstd.data(),
                               weight.defined() ? weight.data().data() : nullptr,
                               bias.defined() ? bias.data().data() : nullptr, output.data());
  std::shared_ptr<autograd::Node> node;
  if (autograd::should_record({&input, &weight, &bias})) {
    node = std::make_shared<GroupNormNode>(input, weight, bias, shape, std::move(mean),
                                           std::move(invstd));
  }
  return autograd::make_result(std::move(output), std::move(node));
}

}  // namespace tinycnn::ops
