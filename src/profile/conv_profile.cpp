// Conv profiling: agreement check first, then timing; naive repeats are capped by a time budget.
#include "profile/conv_profile.hpp"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "core/shape.hpp"
#include "kernels/conv2d.hpp"
#include "model/builder.hpp"
#include "nn/conv2d.hpp"
#include "profile/timing.hpp"
#include "tensor/tensor.hpp"

namespace tinycnn::profile {

using core::checked_mul;
using kernels::Conv2dGeometry;
using kernels::ConvAlgo;
using tensor::Tensor;

ConvCosts conv_costs(const Conv2dGeometry& g) {
  const int64_t out =
      checked_mul(checked_mul(g.batch, g.out_channels, "conv"), g.out_h() * g.out_w(), "conv");
  ConvCosts c;
  c.flops_forward = checked_mul(2 * out, g.col_rows(), "conv flops");
  c.weight_bytes = g.weight_numel() * 4;
  c.activation_bytes = out * 4;
  c.workspace_bytes =
      checked_mul(checked_mul(g.batch, g.in_channels * g.kernel_h * g.kernel_w, "workspace"),
                  g.out_h() * g.out_w() * 4, "workspace");
  return c;
}

namespace {
struct Operands {
  Tensor input, weight, bias, doutput;
  explicit Operands(const Conv2dGeometry& g) {
    core::Rng rng(1234);
    input = Tensor::randn({g.batch, g.in_channels, g.in_h, g.in_w}, rng);
    weight = Tensor::randn({g.out_channels, g.in_per_group(), g.kernel_h, g.kernel_w}, rng);
    bias = Tensor::randn({g.out_channels}, rng);
    doutput = Tensor::randn({g.batch, g.out_channels, g.out_h(), g.out_w()}, rng);
  }
};

struct Gradients {
  Tensor output, dinput, dweight, dbias;
  explicit Gradients(const Operands& op)
      : output(Tensor::empty(op.doutput.shape())),
        dinput(Tensor::empty(op.input.shape())),
        dweight(Tensor::empty(op.weight.shape())),
        dbias(Tensor::empty(op.bias.shape())) {}
  void forward(const kernels::ConvPlan& plan, const Conv2dGeometry& g, const Operands& op) {
    kernels::conv2d_forward(plan, g, op.input.data(), op.weight.data(), op.bias.data(),
                            output.data());
  }
  void backward(const kernels::ConvPlan& plan, const Conv2dGeometry& g, const Operands& op) {
    kernels::conv2d_backward(plan, g, op.input.data(), op.weight.data(), op.doutput.data(),
                             dinput.data(), dweight.data(), dbias.data());
  }
  void backward_dinput(const kernels::ConvPlan& plan, const Conv2dGeometry& g, const Operands& op) {
    kernels::conv2d_backward(plan, g, op.input.data(), op.weight.data(), op.doutput.data(),
                             dinput.data(), nullptr, nullptr);
  }
  void backward_dweight(const kernels::ConvPlan& plan, const Conv2dGeometry& g,
                        const Operands& op) {
    kernels::conv2d_backward(plan, g, op.input.data(), op.weight.data(), op.doutput.data(), nullptr,
                             dweight.data(), dbias.data());
  }
};

void compare(const Tensor& fast, const Tensor& ref, double& max_abs, double& max_ref) {
  for (int64_t i = 0; i < ref.numel(); ++i) {
    max_abs = std::max(max_abs, static_cast<double>(std::abs(fast[i] - ref[i])));
    max_ref = std::max(max_ref, static_cast<double>(std::abs(ref[i])));
  }
}

AlgoResult measure(ConvAlgo algo, kernels::Precision precision, const ConvCase& c,
                   const Operands& op, Gradients& out, const ConvProfileOptions& o) {
  const Conv2dGeometry& g = c.g;
  const kernels::ConvPlan plan = kernels::plan_conv2d(algo, g, precision);  // once, as a layer
  AlgoResult r;
  r.algo = algo;  // as asked: the plan summary says what ran when Winograd declined
  r.precision = precision;
  r.forward_kernel = plan.forward_kernel();
  r.dinput_kernel = plan.dinput_kernel();
  r.dweight_kernel = plan.dweight_kernel();
  r.plan_summary = plan.summary();
  int repeats = o.repeats;
  if (algo == ConvAlgo::Naive) {
    // One timed run decides how many fit in the budget (the naive loops are slow by design).
    const TimingStats probe = time_it([&] { out.forward(plan, g, op); }, 0, 1);
    const int fit = static_cast<int>(o.naive_budget_seconds * 1e3 / std::max(probe.min_ms, 1e-3));
    repeats = std::clamp(fit, 1, o.repeats);
  }
  const TimingStats fwd = time_it([&] { out.forward(plan, g, op); }, o.warmup, repeats, o.threads);
  const TimingStats bwd = time_it([&] { out.backward(plan, g, op); }, o.warmup, repeats, o.threads);
  r.contention = fwd.contention;
  r.contention += bwd.contention;
  if (o.directions) {
    const TimingStats dinput =
        time_it([&] { out.backward_dinput(plan, g, op); }, o.warmup, repeats, o.threads);
    const TimingStats dweight =
        time_it([&] { out.backward_dweight(plan, g, op); }, o.warmup, repeats, o.threads);
    r.dinput_ms_median = dinput.median_ms;
    r.dweight_ms_median = dweight.median_ms;
    r.contention += dinput.contention;
    r.contention += dweight.contention;
  }
  r.forward_ms_median = fwd.median_ms;
  r.forward_ms_min = fwd.min_ms;
  r.backward_ms_median = bwd.median_ms;
  r.backward_ms_min = bwd.min_ms;
  r.repeats = repeats;
  const ConvCosts costs = conv_costs(g);
  r.gflops_forward =
      fwd.median_ms > 0 ? static_cast<double>(costs.flops_forward) / (fwd.median_ms * 1e6) : 0;
  r.flops_forward_performed = plan.forward_flops_performed(g.batch);
  r.error_bound = plan.error_bound();
  r.workspace_bytes = algo == ConvAlgo::Im2col ? costs.workspace_bytes : 0;
  if (o.probe) {
    o.probe->reset_peak();
    out.forward(plan, g, op);
    int64_t peak = o.probe->peak_extra_bytes();
    o.probe->reset_peak();
    out.backward(plan, g, op);
    r.workspace_bytes_allocated = std::max(peak, o.probe->peak_extra_bytes());
  } else {
    const kernels::ConvWorkspace ws = plan.workspace(g.batch, o.threads);
    r.workspace_bytes_allocated = std::max(ws.forward, ws.backward);
  }
  return r;
}

struct Agreement {
  double max_abs = 0, max_rel = 0;
};

// The largest difference between a fast algorithm's results and the reference's, relative to
// the reference's largest magnitude; an error above the plan's bound.
Agreement check_agreement(const kernels::ConvPlan& plan, std::string_view algo, const ConvCase& c,
                          const Gradients& fast, const Gradients& naive) {
  double max_abs = 0, max_ref = 0;
  compare(fast.output, naive.output, max_abs, max_ref);
  compare(fast.dinput, naive.dinput, max_abs, max_ref);
  compare(fast.dweight, naive.dweight, max_abs, max_ref);
  compare(fast.dbias, naive.dbias, max_abs, max_ref);
  const double rel = max_ref > 0 ? max_abs / max_ref : max_abs;
  TCNN_CHECK_RUNTIME(rel <= plan.error_bound(), c.name, ": naive and ", algo,
                     " disagree: max relative difference ", rel, " (absolute ", max_abs,
                     "), expected <= ", plan.error_bound());
  return {max_abs, rel};
}
}  // namespace

std::string AlgoResult::label() const {
  std::string name(kernels::to_string(algo));
  if (precision == kernels::Precision::Bf16) name += " bf16";
  return name;
}

const AlgoResult* ConvResult::find(ConvAlgo algo) const {
  for (const auto& r : results) {
    if (r.algo == algo && r.precision == kernels::Precision::Float32) return &r;
  }
  return nullptr;
}

ConvResult profile_conv(const ConvCase& c, const ConvProfileOptions& o) {
  c.g.check();
  ConvResult result;
  result.c = c;
  result.costs = conv_costs(c.g);
  const Operands op(c.g);
  Gradients naive(op), fast(op);

  // Agreement first: nothing is timed unless the algorithms compute the same thing.
  const kernels::ConvPlan reference = kernels::plan_conv2d(ConvAlgo::Naive, c.g);
  naive.forward(reference, c.g, op);
  naive.backward(reference, c.g, op);
  std::vector<std::pair<ConvAlgo, Agreement>> algos;
  for (ConvAlgo algo : kernels::kConvAlgos) {
    Agreement agreement;
    if (algo != ConvAlgo::Naive) {
      const kernels::ConvPlan plan = kernels::plan_conv2d(algo, c.g);
      fast.forward(plan, c.g, op);
      fast.backward(plan, c.g, op);
      agreement = check_agreement(plan, kernels::to_string(algo), c, fast, naive);
    }
    algos.emplace_back(algo, agreement);
    result.max_abs_diff = std::max(result.max_abs_diff, agreement.max_abs);
    result.max_rel_diff = std::max(result.max_rel_diff, agreement.max_rel);
  }

  for (const auto& [algo, agreement] : algos) {
    AlgoResult r = measure(algo, kernels::Precision::Float32, c, op,
                           algo == ConvAlgo::Naive ? naive : fast, o);
    r.max_abs_diff = agreement.max_abs;
    r.max_rel_diff = agreement.max_rel;
    result.results.push_back(r);
  }
  if (o.bf16) {
    // Against its own reference: the naive loops on bfloat16-rounded operands (not timed).
    const kernels::Precision bf16 = kernels::Precision::Bf16;
    const kernels::ConvPlan bf16_reference = kernels::plan_conv2d(ConvAlgo::Naive, c.g, bf16);
    naive.forward(bf16_reference, c.g, op);
    naive.backward(bf16_reference, c.g, op);
    const kernels::ConvPlan plan = kernels::plan_conv2d(ConvAlgo::Implicit, c.g, bf16);
    fast.forward(plan, c.g, op);
    fast.backward(plan, c.g, op);
    const Agreement agreement = check_agreement(plan, "implicit bf16", c, fast, naive);
    AlgoResult r = measure(ConvAlgo::Implicit, bf16, c, op, fast, o);
    r.max_abs_diff = agreement.max_abs;
    r.max_rel_diff = agreement.max_rel;
    result.results.push_back(r);
  }
  const AlgoResult& ref = result.results.front();
  for (auto& r : result.results) {
    r.speedup_forward = ref.forward_ms_median / r.forward_ms_median;
    r.speedup_backward = ref.backward_ms_median / r.backward_ms_median;
  }
  return result;
}

DirectionTimes time_conv_directions(const kernels::ConvPlan& plan, const Conv2dGeometry& g,
                                    int warmup, int repeats, int threads) {
  TCNN_CHECK(plan.fits(g), "time_conv_directions: the geometry is not the plan's");
  const Operands op(g);
  Gradients out(op);
  DirectionTimes t;
  t.forward = time_it([&] { out.forward(plan, g, op); }, warmup, repeats, threads);
  t.dinput = time_it([&] { out.backward_dinput(plan, g, op); }, warmup, repeats, threads);
  t.dweight = time_it([&] { out.backward_dweight(plan, g, op); }, warmup, repeats, threads);
  return t;
}

namespace {
ConvCase make_case(std::string name, int64_t n, int64_t c, int64_t hw, int64_t oc, int64_t k,
                   int64_t pad) {
  return {std::move(name),
          {.batch = n,
           .in_channels = c,
           .in_h = hw,
           .in_w = hw,
           .out_channels = oc,
           .kernel_h = k,
           .kernel_w = k,
           .pad_h = pad,
           .pad_w = pad}};
}
}  // namespace

std::vector<ConvCase> default_conv_cases() {
  return {make_case("lenet5.conv1", 64, 1, 28, 6, 5, 2),
          make_case("lenet5.conv2", 64, 6, 14, 16, 5, 0),
          make_case("tinytorch.3to8_16x16_k3", 1, 3, 16, 8, 3, 1),
          make_case("tinytorch.3to12_24x24_k3", 1, 3, 24, 12, 3, 1),
          make_case("tinytorch.3to16_32x32_k3", 1, 3, 32, 16, 3, 1),
          make_case("tinytorch.3to8_16x16_k5", 1, 3, 16, 8, 5, 2),
          make_case("large.16to32_32x32_k3_b8", 8, 16, 32, 32, 3, 1),
          make_case("large.64to64_56x56_k3_b8", 8, 64, 56, 64, 3, 1)};
}

std::vector<ModelConv> model_convs(const model::ModelSpec& spec, int64_t batch) {
  std::vector<ModelConv> convs;
  model::build_model(spec, [&](const model::LayerSite& site, nn::Module& layer,
                               const tensor::Shape& in, const tensor::Shape&) {
    if (layer.kind() != nn::LayerKind::Conv2d) return;
    const auto& conv = nn::as<nn::Conv2d>(layer);
    convs.push_back({site.name, conv.geometry(in, batch), conv.options().algo});
  });
  return convs;
}

std::vector<ConvCase> model_conv_cases(const model::ModelSpec& spec, int64_t batch) {
  std::vector<ConvCase> cases;
  for (const auto& conv : model_convs(spec, batch)) {
    cases.push_back({spec.name + "." + conv.name, conv.g});
  }
  return cases;
}

std::vector<ConvCase> sweep_cases(const std::string& parameter, int64_t batch) {
  std::vector<ConvCase> cases;
  auto add = [&](int64_t n, int64_t c, int64_t hw, int64_t k) {
    ConvCase one = make_case("", n, c, hw, parameter == "channels" ? c : 32, k, k / 2);
    one.name = parameter + "=" + std::to_string(sweep_value(parameter, one.g));
    cases.push_back(std::move(one));
  };
  if (parameter == "size") {
    for (int64_t hw : {8, 16, 24, 32, 48, 64}) add(batch, 16, hw, 3);
  } else if (parameter == "batch") {
    for (int64_t n : {1, 2, 4, 8, 16, 32}) add(n, 16, 32, 3);
  } else if (parameter == "kernel") {
    for (int64_t k : {1, 3, 5, 7, 9}) add(batch, 16, 32, k);
  } else if (parameter == "channels") {
    for (int64_t c : {4, 8, 16, 32, 64}) add(batch, c, 32, 3);
  } else {
    TCNN_CHECK(false, "conv sweep: expected the parameter size, batch, kernel or channels, got '",
               parameter, "'");
  }
  return cases;
}

int64_t sweep_value(const std::string& parameter, const Conv2dGeometry& g) {
  if (parameter == "size") return g.in_h;
  if (parameter == "batch") return g.batch;
  if (parameter == "kernel") return g.kernel_h;
  return g.in_channels;
}

}  // namespace tinycnn::profile
