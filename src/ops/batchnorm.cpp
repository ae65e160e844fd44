// Batch-norm op. Saves the input and the per-channel mean and inverse standard deviation; the
// normalised values are recomputed in backward. With a fused ReLU it also keeps the ReLU's mask
// (a bit per value), not its output.
#include "ops/batchnorm.hpp"

#include <cmath>
#include <vector>

#include "autograd/engine.hpp"
#include "core/error.hpp"
#include "kernels/batchnorm.hpp"
#include "ops/gradient_buffers.hpp"

namespace tinycnn::ops {

using tensor::Tensor;

namespace {
class BatchNormNode : public autograd::Node {
 public:
  BatchNormNode(const Variable& input, const Variable& weight, const Variable& bias,
                const kernels::BatchNormShape& shape, std::vector<double> mean,
                std::vector<double> invstd, const BatchNormParams& params,
                const runtime::StepContext& ctx, int64_t count, kernels::ReluMask relu)
      : Node({input, weight, bias}),
        input_(input.data()),
        weight_(weight.defined() ? weight.data() : Tensor()),
        shape_(shape),
        mean_(std::move(mean)),
        invstd_(std::move(invstd)),
        params_(params),
        ctx_(ctx),
        count_(count),
        relu_(std::move(relu)) {}
  const char* name() const override { return params_.relu ? "batchnorm_relu" : "batchnorm"; }
  std::vector<Tensor> backward(const Tensor& doutput) override {
    std::vector<Tensor> grads = gradient_buffers(inputs());  // input, weight, bias
    Tensor& dinput = grads[0];
    Tensor& dweight = grads[1];
    Tensor& dbias = grads[2];
    const float* x = input_.data();
    const kernels::ReluMask* relu = relu_.defined() ? &relu_ : nullptr;
    std::vector<double> sums;  // this slice's: sum dy per channel, then sum dy * xhat
    kernels::batchnorm_backward_sums(shape_, x, doutput.data(), mean_, invstd_, relu, sums);
    const auto channels = static_cast<int64_t>(mean_.size());
    for (int64_t c = 0; c < channels; ++c) {
      if (dbias.defined()) dbias[c] = static_cast<float>(sums[static_cast<size_t>(c)]);
      if (dweight.defined())
        dweight[c] = static_cast<float>(sums[static_cast<size_t>(channels + c)]);
    }
    if (!dinput.defined()) return grads;
    if (params_.training) ctx_.sum(sums);  // the whole batch's, for the statistics' share of dx
    kernels::batchnorm_backward_dx(shape_, x, doutput.data(), mean_, invstd_, data_or_null(weight_),
                                   params_.training, count_, sums, relu, dinput.data());
    return grads;
  }

 private:
  Tensor input_, weight_;
  kernels::BatchNormShape shape_;
  std::vector<double> mean_, invstd_;
  BatchNormParams params_;
  runtime::StepContext ctx_;  // the step's collective: the graph lives no longer than the step
  int64_t count_;
  kernels::ReluMask relu_;  // with a fused ReLU: its mask
};
// The whole batch's per-channel mean and biased variance: the kernels' sums over this slice,
// summed with the other slices' through the step's collective. Returns the values per channel.
int64_t batch_statistics(const kernels::BatchNormShape& shape, const float* x,
                         const runtime::StepContext& ctx, std::vector<double>& mean,
                         std::vector<double>& var) {
  const auto channels = static_cast<size_t>(shape.channels);
  std::vector<double> sums(channels + 1);  // per channel, then the count behind them
  kernels::batchnorm_sums(shape, x, sums.data());
  sums[channels] = static_cast<double>(shape.batch * shape.spatial);
  ctx.sum(sums);
  mean.assign(sums.begin(), sums.begin() + static_cast<std::ptrdiff_t>(channels));
  for (double& m : mean) m /= sums[channels];
  var.resize(channels);
  kernels::batchnorm_square_sums(shape, x, mean, var.data());
  ctx.sum(var);
  for (double& v : var) v /= sums[channels];
  return static_cast<int64_t>(sums[channels]);
}

// The running statistics move towards the batch's (the variance unbiased), as PyTorch's.
void update_running(BatchNormRunning& running, double momentum, const std::vector<double>& mean,
                    const std::vector<double>& var, int64_t count) {
  const double m = momentum;
  const double unbiased = static_cast<double>(count) / static_cast<double>(count - 1);
  for (size_t c = 0; c < mean.size(); ++c) {
    float& rm = running.mean.data()[c];
    float& rv = running.var.data()[c];
    rm = static_cast<float>((1 - m) * rm + m * mean[c]);
    rv = static_cast<float>((1 - m) * rv + m * var[c] * unbiased);
  }
  if (running.batches_tracked) ++*running.batches_tracked;
}
}  // namespace

Variable batch_norm(const Variable& input, const Variable& weight, const Variable& bias,
                    BatchNormRunning& running, const BatchNormParams& params,
                    const runtime::StepContext& ctx) {
  const tensor::Shape& in = input.shape();
  TCNN_CHECK(in.rank() == 2 || in.rank() == 4,
             "batch norm: expected input [N, C, H, W] or [N, F], got ", in.to_string());
  const kernels::BatchNormShape shape{
      .batch = in[0], .channels = in[1], .spatial = in.rank() == 4 ? in[2] * in[3] : 1};
  const auto channels = static_cast<size_t>(shape.channels);
  TCNN_CHECK(running.mean.numel() == shape.channels && running.var.numel() == shape.channels,
             "batch norm: running statistics of ", running.mean.numel(), " channels, input has ",
             shape.channels);
  for (const Variable* p : {&weight, &bias}) {
    TCNN_CHECK(!p->defined() || p->data().numel() == shape.channels, "batch norm: a parameter of ",
               p->data().numel(), " values for ", shape.channels, " channels");
  }
  std::vector<double> mean, var;
  int64_t count = shape.batch * shape.spatial;
  if (params.training) {
    count = batch_statistics(shape, input.data().data(), ctx, mean, var);
    TCNN_CHECK(count > 1, "batch norm: expected more than 1 value per channel when training, got ",
               count, " (input ", in.to_string(), ")");
    if (ctx.leads()) update_running(running, params.momentum, mean, var, count);
  } else {
    mean.assign(running.mean.data(), running.mean.data() + shape.channels);
    var.assign(running.var.data(), running.var.data() + shape.channels);
  }
  std::vector<double> invstd(channels);
  for (size_t c = 0; c < channels; ++c) invstd[c] = 1.0 / std::sqrt(var[c] + params.eps);
  Tensor output = Tensor::empty(in);
  const bool record = autograd::should_record({&input, &weight, &bias});
  kernels::ReluMask mask;
  if (record && params.relu) mask = kernels::ReluMask(shape.batch * shape.channels, shape.spatial);
  kernels::batchnorm_normalize(shape, input.data().data(), mean, invstd,
                               weight.defined() ? weight.data().data() : nullptr,
                               bias.defined() ? bias.data().data() : nullptr, output.data(),
                               params.relu, mask.defined() ? &mask : nullptr);
  std::shared_ptr<autograd::Node> node;
  if (record) {
    node = std::make_shared<BatchNormNode>(input, weight, bias, shape, std::move(mean),
                                           std::move(invstd), params, ctx, count, std::move(mask));
  }
  return autograd::make_result(std::move(output), std::move(node));
}

}  // namespace tinycnn::ops
