// Int8 inference profile; see int8_profile.hpp.
#include "profile/int8_profile.hpp"

#include <algorithm>
#include <map>

#include "autograd/engine.hpp"
#include "core/rng.hpp"
#include "core/timer.hpp"
#include "nn/observe.hpp"
#include "profile/timing.hpp"

namespace tinycnn::profile {

namespace {
using Samples = std::map<std::string, std::vector<double>>;  // by layer name, ms per repeat

// One float forward, each layer's time by name (a block's includes its layers').
void time_float_layers(nn::Sequential& model, const tensor::Tensor& x, Samples* record) {
  std::map<std::string, core::Stopwatch> started;
  std::map<std::string, double> took;
  nn::ForwardHooks hooks;
  hooks.before = [&](const std::string& name, nn::Module&) { started[name].reset(); };
  hooks.after = [&](const std::string& name, nn::Module&, const autograd::Variable&,
                    const autograd::Variable&) { took[name] = started[name].seconds() * 1e3; };
  (void)nn::forward_observed(model, autograd::Variable(x), hooks);
  if (!record) return;
  for (const auto& [name, ms] : took) (*record)[name].push_back(ms);
}

// One int8 forward, each layer's time by name.
void time_int8_layers(const quant::QNet& net, const tensor::Tensor& x, Samples* record) {
  std::map<const quant::QLayer*, core::Stopwatch> started;
  std::map<std::string, double> took;
  quant::LayerClock clock;
  clock.start = [&](const quant::QLayer& l) { started[&l].reset(); };
  clock.end = [&](const quant::QLayer& l) { took[l.name] = started[&l].seconds() * 1e3; };
  (void)quant::run(net, x, {}, clock);
  if (!record) return;
  for (const auto& [name, ms] : took) (*record)[name].push_back(ms);
}

// The rows, pre-order, with the float layers' kinds each stands for.
void add_rows(const std::vector<quant::QLayer>& layers, int depth,
              const std::map<std::string, std::string>& kinds, const Samples& f, const Samples& q,
              std::vector<Int8LayerTiming>& rows) {
  for (const quant::QLayer& l : layers) {
    Int8LayerTiming row{.name = l.name, .covers = "", .depth = depth};
    for (const std::string& name : l.fused) {
      if (!row.covers.empty()) row.covers += " + ";
      const auto kind = kinds.find(name);
      row.covers += kind == kinds.end() ? name : kind->second;
      const auto t = f.find(name);
      if (t != f.end()) row.float_ms += median(t->second);
    }
    const auto t = q.find(l.name);
    if (t != q.end()) row.int8_ms = median(t->second);
    rows.push_back(row);
    add_rows(l.main, depth + 1, kinds, f, q, rows);
    add_rows(l.shortcut, depth + 1, kinds, f, q, rows);
  }
}
}  // namespace

Int8Profile profile_int8(nn::Sequential& model, const quant::QNet& net, const tensor::Shape& input,
                         int64_t batch, int warmup, int repeats, int threads) {
  model.set_training(false);
  autograd::NoGradGuard no_grad;
  std::vector<int64_t> dims{batch};
  for (const int64_t d : input.dims()) dims.push_back(d);
  core::Rng rng(7);
  const tensor::Tensor x = tensor::Tensor::randn(tensor::Shape(dims), rng);
  Samples f, q;
  for (int i = 0; i < warmup + repeats; ++i) {
    const bool timed = i >= warmup;
    time_float_layers(model, x, timed ? &f : nullptr);
    time_int8_layers(net, x, timed ? &q : nullptr);
  }
  Int8Profile p;
  p.repeats = repeats;
  std::map<std::string, std::string> kinds;
  nn::walk(model,
           [&](const std::string& name, nn::Module& layer, int) { kinds[name] = layer.type(); });
  add_rows(net.layers, 0, kinds, f, q, p.layers);
  const TimingStats whole_float =
      time_it([&] { (void)model.forward(autograd::Variable(x)); }, warmup, repeats, threads);
  const TimingStats whole_int8 =
      time_it([&] { (void)quant::run(net, x); }, warmup, repeats, threads);
  p.float_forward_ms = whole_float.median_ms;
  p.int8_forward_ms = whole_int8.median_ms;
  p.contention = whole_float.contention;
  p.contention += whole_int8.contention;
  return p;
}

}  // namespace tinycnn::profile
