// Group-norm op. Saves the input (already held by the graph) and each row's mean and inverse
// standard deviation; the normalised values are recomputed in backward.
#include "ops/groupnorm.hpp"

#include <vector>

#include "autograd/engine.hpp"
#include "core/error.hpp"
#include "kernels/groupnorm.hpp"
#include "ops/gradient_buffers.hpp"

namespace tinycnn::ops {

using tensor::Tensor;

namespace {
class GroupNormNode : public autograd::Node {
 public:
  GroupNormNode(const Variable& input, const Variable& weight, const Variable& bias,
                const kernels::GroupNormShape& shape, std::vector<double> mean,
                std::vector<double> invstd)
      : Node({input, weight, bias}),
        input_(input.data()),
        weight_(weight.defined() ? weight.data() : Tensor()),
        shape_(shape),
        mean_(std::move(mean)),
        invstd_(std::move(invstd)) {}
  const char* name() const override { return "groupnorm"; }
  std::vector<Tensor> backward(const Tensor& doutput) override {
    std::vector<Tensor> grads = gradient_buffers(inputs());  // input, weight, bias
    Tensor& dinput = grads[0];
    Tensor& dweight = grads[1];
    Tensor& dbias = grads[2];
    kernels::groupnorm_backward(shape_, input_.data(), doutput.data(), mean_.data(), invstd_.data(),
                                data_or_null(weight_), data_or_null(dinput), data_or_null(dweight),
                                data_or_null(dbias));
    return grads;
  }

 private:
  Tensor input_, weight_;
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
