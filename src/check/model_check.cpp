// The model's gradient check; see gradcheck.hpp.
#include "check/model_check.hpp"

#include <algorithm>
#include <cmath>

#include "autograd/engine.hpp"
#include "check/double_forward.hpp"
#include "check/finite_differences.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "kernels/pooling.hpp"
#include "nn/observe.hpp"
#include "nn/pooling.hpp"
#include "nn/simple_layers.hpp"
#include "ops/cross_entropy.hpp"
#include "ops/pooling.hpp"

namespace tinycnn::check {

namespace {
using autograd::Variable;
using tensor::Tensor;

// The piece a ReLU or max pool chose in the float forward: which outputs are positive, which
// input won each window.
void record_piece(nn::Module& layer, const Variable& in, const Variable& out, Pieces& pieces) {
  if (layer.kind() == nn::LayerKind::Relu) {
    auto& positive = pieces.relu_positive[&layer];
    positive.resize(static_cast<size_t>(out.data().numel()));
    for (int64_t i = 0; i < out.data().numel(); ++i) {
      positive[static_cast<size_t>(i)] = out.data()[i] > 0.0f;
    }
  } else if (layer.kind() == nn::LayerKind::MaxPool2d) {
    std::vector<float> values(static_cast<size_t>(out.data().numel()));
    auto& argmax = pieces.pool_argmax[&layer];
    argmax.resize(values.size());
    kernels::maxpool2d_forward(ops::pool2d_geometry(in.shape(), nn::as<nn::Pool2d>(layer).params()),
                               in.data().data(), values.data(), argmax.data());
  }
}

// Layers [first, end) of `net` on `x` in float, unfused, recording each ReLU's and max pool's
// piece.
Variable forward_recording(nn::Sequential& net, size_t first, const Variable& x, Pieces& pieces) {
  nn::ForwardHooks hooks;
  hooks.after = [&](const std::string&, nn::Module& layer, const Variable& in,
                    const Variable& out) { record_piece(layer, in, out, pieces); };
  return nn::forward_observed(net, x, hooks, first);
}

// The loss of layers [first, end) on `x`, in double (see double_forward.hpp).
double double_loss(nn::Sequential& net, size_t first, const Tensor& x,
                   const std::vector<int32_t>& labels, const Pieces* pieces) {
  DoubleBatch h = to_double(x);
  for (size_t j = first; j < net.size(); ++j) {
    h = forward_double(net.layer(j), std::move(h), pieces);
  }
  return mean_cross_entropy(h, labels);
}

TensorCheckReport check(const std::string& name, Tensor& values, const Tensor& analytic,
                        const check::Objective& objective, const ModelCheckOptions& o,
                        uint64_t seed) {
  const check::FiniteDifferences d = check::finite_differences(
      values, analytic, objective,
      {.eps = o.eps, .seed = seed, .refine_above = o.refine ? o.tolerance : 0.0});
  TensorCheckReport r;
  r.name = name;
  r.skipped = d.skipped;
  r.nonlinear = d.nonlinear;
  for (const auto& e : d.entries) {
    r.max_abs_error = std::max(r.max_abs_error, std::abs(e.analytic - e.numeric));
    r.max_rel_error = std::max(r.max_rel_error, check::relative_error(e.analytic, e.numeric));
    r.refined += e.nudge < o.eps ? 1 : 0;
    ++r.entries;
  }
  r.pass = r.max_rel_error <= o.tolerance;
  return r;
}
}  // namespace

ModelCheckReport check_model(nn::Sequential& net, const tensor::Shape& input,
                             const ModelCheckOptions& o) {
  TCNN_CHECK(o.batch >= 1 && o.batch <= 1024, "--batch: expected 1..1024, got ", o.batch);
  TCNN_CHECK(std::isfinite(o.eps) && o.eps > 0 && o.eps <= 1, "--eps: expected 0 < eps <= 1, got ",
             o.eps);
  const int64_t classes = net.output_shape(input)[0];
  core::Rng rng(o.seed);
  std::vector<int64_t> dims{o.batch};
  for (int64_t d : input.dims()) dims.push_back(d);
  const Tensor images = Tensor::randn(tensor::Shape(dims), rng);
  std::vector<int32_t> labels(static_cast<size_t>(o.batch));
  for (auto& l : labels) l = static_cast<int32_t>(rng.uniform_int(static_cast<uint64_t>(classes)));

  net.set_training(true);  // batch norm on batch statistics ...
  nn::walk(net, [](const std::string&, nn::Module& layer, int) {
    if (layer.kind() == nn::LayerKind::Dropout) layer.set_training(false);  // ... and no dropout
  });

  std::vector<Tensor> inputs{images};  // inputs[i]: layer i's input
  {
    autograd::NoGradGuard no_grad;
    for (size_t i = 0; i + 1 < net.size(); ++i) {
      inputs.push_back(net.layer(i).forward(Variable(inputs.back())).data().clone());
    }
  }
  ModelCheckReport report;
  for (size_t i = 0; i < net.size(); ++i) {
    nn::Module& layer = net.layer(i);
    Variable x(inputs[i].clone(), true);
    auto params = layer.parameters();
    for (auto& p : params) p.var.zero_grad();
    Pieces pieces;
    const Variable loss = ops::softmax_cross_entropy(forward_recording(net, i, x, pieces), labels);
    autograd::backward(loss);
    // The float forward and the double one agree (on the pieces they choose themselves) ...
    const double reference = double_loss(net, i, x.data(), labels, nullptr);
    const double measured = loss.data()[0];
    TCNN_CHECK_RUNTIME(std::abs(measured - reference) <= 1e-4 * std::max(1.0, std::abs(reference)),
                       "gradcheck: layer ", i, " (", layer.type(), "): the forward's loss ",
                       measured, " differs from the double-precision reference ", reference);
    // ... and the finite differences follow the float forward's piece.
    const check::Objective objective = [&](std::vector<uint8_t>*) {
      return double_loss(net, i, x.data(), labels, &pieces);
    };
    LayerCheckReport row{
        .index = i, .type = layer.type(), .description = layer.describe(), .checks = {}};
    const uint64_t seed = o.seed * 1000003u + i;
    row.checks.push_back(check("input", x.data(), x.grad().clone(), objective, o, seed));
    for (auto& p : params) {
      TCNN_CHECK(p.var.grad().defined(), "gradcheck: layer ", i, " (", layer.type(), "): ", p.name,
                 " received no gradient");
      row.checks.push_back(check(p.name, p.var.data(), p.var.grad().clone(), objective, o, seed));
    }
    for (const auto& c : row.checks) report.pass = report.pass && c.pass;
    report.layers.push_back(std::move(row));
  }
  return report;
}

}  // namespace tinycnn::check
