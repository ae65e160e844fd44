// Pooling ops. Max pooling saves only the argmax indices (int32, one per output), not the input.
#include "ops/pooling.hpp"

#include <vector>

#include "autograd/engine.hpp"
#include "core/error.hpp"
#include "kernels/pooling.hpp"

namespace tinycnn::ops {

using tensor::Shape;
using tensor::Tensor;

namespace {
class MaxPool2dNode : public autograd::Node {
 public:
  MaxPool2dNode(const Variable& input, const kernels::Pool2dGeometry& g,
                std::vector<int32_t> argmax)
      : Node({input}), geometry_(g), argmax_(std::move(argmax)) {}
  const char* name() const override { return "maxpool2d"; }
  std::vector<Tensor> backward(const Tensor& doutput) override {
    Tensor dinput = Tensor::empty(inputs()[0].shape());
    kernels::maxpool2d_backward(geometry_, doutput.data(), argmax_.data(), dinput.data());
    return {dinput};
  }

 private:
  kernels::Pool2dGeometry geometry_;
  std::vector<int32_t> argmax_;
};

class AvgPool2dNode : public autograd::Node {
 public:
  AvgPool2dNode(const Variable& input, const kernels::Pool2dGeometry& g)
      : Node({input}), geometry_(g) {}
  const char* name() const override { return "avgpool2d"; }
  std::vector<Tensor> backward(const Tensor& doutput) override {
    Tensor dinput = Tensor::empty(inputs()[0].shape());
    kernels::avgpool2d_backward(geometry_, doutput.data(), dinput.data());
    return {dinput};
  }

 private:
  kernels::Pool2dGeometry geometry_;
};
}  // namespace

kernels::Pool2dGeometry pool2d_geometry(const Shape& input, const Pool2dParams& p) {
  TCNN_CHECK(input.rank() == 4, "pool2d: expected input [N, C, H, W], got ", input.to_string());
  kernels::Pool2dGeometry g{.batch = input[0],
                            .channels = input[1],
                            .in_h = input[2],
                            .in_w = input[3],
                            .kernel_h = p.kernel_h,
                            .kernel_w = p.kernel_w,
                            .stride_h = p.stride_h,
                            .stride_w = p.stride_w,
                            .pad_h = p.pad_h,
                            .pad_w = p.pad_w};
  g.check();
  return g;
}

Variable maxpool2d(const Variable& input, const Pool2dParams& params) {
  const kernels::Pool2dGeometry g = pool2d_geometry(input.shape(), params);
  Tensor output = Tensor::empty({g.batch, g.channels, g.out_h(), g.out_w()});
  std::vector<int32_t> argmax(static_cast<size_t>(output.numel()));
  kernels::maxpool2d_forward(g, input.data().data(), output.data(), argmax.data());
  std::shared_ptr<autograd::Node> node;
  if (autograd::should_record({&input})) {
    node = std::make_shared<MaxPool2dNode>(input, g, std::move(argmax));
  }
  return autograd::make_result(std::move(output), std::move(node));
}

Variable avgpool2d(const Variable& input, const Pool2dParams& params) {
  const kernels::Pool2dGeometry g = pool2d_geometry(input.shape(), params);
  Tensor output = Tensor::empty({g.batch, g.channels, g.out_h(), g.out_w()});
  kernels::avgpool2d_forward(g, input.data().data(), output.data());
  std::shared_ptr<autograd::Node> node;
  if (autograd::should_record({&input})) node = std::make_shared<AvgPool2dNode>(input, g);
  return autograd::make_result(std::move(output), std::move(node));
}

}  // namespace tinycnn::ops
