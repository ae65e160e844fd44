// The convolution algorithms side by side: analytic FLOPs and bytes, measured latency (forward;
// backward = dinput + dweight + dbias), and every fast algorithm's agreement with the naive
// reference, which is checked before any time is measured (a mismatch is an error, not a
// footnote). Each algorithm is planned once per case, as a layer plans it, and the plan's kernels
// are reported beside the times.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kernels/conv2d.hpp"
#include "model/spec.hpp"
#include "profile/timing.hpp"
#include "runtime/contention.hpp"

namespace tinycnn::profile {

struct ConvCase {
  std::string name;
  kernels::Conv2dGeometry g;
};

// Analytic costs of one case (whole batch).
struct ConvCosts {
  int64_t flops_forward = 0;  // 2 * N*OC*OH*OW*(C/groups)*KH*KW
  int64_t weight_bytes = 0;
  int64_t activation_bytes = 0;  // the output tensor
  int64_t workspace_bytes = 0;   // textbook im2col matrix: N*C*KH*KW*OH*OW*4
};
ConvCosts conv_costs(const kernels::Conv2dGeometry& g);

struct AlgoResult {
  kernels::ConvAlgo algo = kernels::ConvAlgo::Naive;
  kernels::Precision precision = kernels::Precision::Float32;
  // "naive", "im2col", ... as the algorithm; a bf16 row's "implicit bf16".
  std::string label() const;
  // The kernel each direction ran, from the plan (kernels/conv_plan.hpp).
  std::string_view forward_kernel, dinput_kernel, dweight_kernel;
  std::string plan_summary;  // kernels::ConvPlan::summary()
  double forward_ms_median = 0, forward_ms_min = 0;
  double backward_ms_median = 0, backward_ms_min = 0;
  // The backward's two halves timed apart (ConvProfileOptions::directions; else 0): dinput
  // alone, and dweight with dbias.
  double dinput_ms_median = 0, dweight_ms_median = 0;
  int repeats = 0;
  double gflops_forward = 0;              // the direct convolution's FLOPs / the forward's time
  int64_t flops_forward_performed = 0;    // what the algorithm multiplies (Winograd: fewer)
  double error_bound = 0;                 // its results' allowed difference from naive's
  int64_t workspace_bytes = 0;            // textbook (0 for naive)
  int64_t workspace_bytes_allocated = 0;  // measured peak extra heap during forward / backward
  double speedup_forward = 0, speedup_backward = 0;  // naive time / this algorithm's time
  double max_abs_diff = 0, max_rel_diff = 0;         // against naive (0 for naive itself)
  runtime::Contention
      contention;  // over the forward and backward timings (busy: not to be trusted)
};

struct ConvResult {
  ConvCase c;
  ConvCosts costs;
  // kernels::kConvAlgos order, naive first; then, asked for, the bf16 row ("implicit bf16",
  // held against the naive loops on bfloat16-rounded operands).
  std::vector<AlgoResult> results;
  double max_abs_diff = 0, max_rel_diff = 0;             // over output, dinput, dweight, dbias
                                                         // (the worst fast algorithm vs naive)
  const AlgoResult* find(kernels::ConvAlgo algo) const;  // null when it was not measured
};

// Measures the peak of extra heap memory during a call; supplied by the program, which can
// count its allocations (a library cannot). Without one, the implementation's own figure is used.
struct HeapProbe {
  std::function<void()> reset_peak;
  std::function<int64_t()> peak_extra_bytes;
};

struct ConvProfileOptions {
  int warmup = 1;
  int repeats = 5;
  double naive_budget_seconds = 1.0;  // fewer naive repeats when one run takes longer
  int threads = 1;
  const HeapProbe* probe = nullptr;
  bool directions = false;  // also time dinput and dweight apart (the roofline's points)
  bool bf16 = false;        // add the bf16 row (training.precision bf16's kernels)
};

ConvResult profile_conv(const ConvCase& c, const ConvProfileOptions& options);

// Each direction of one planned convolution timed apart on random operands (the roofline of a
// model's step: each conv layer as it plans itself).
struct DirectionTimes {
  TimingStats forward, dinput, dweight;  // dweight: with dbias
};
DirectionTimes time_conv_directions(const kernels::ConvPlan& plan, const kernels::Conv2dGeometry& g,
                                    int warmup, int repeats, int threads);

// LeNet-5's two conv layers at batch 64, TinyTorch's analysis set (batch 1) and two larger layers.
std::vector<ConvCase> default_conv_cases();
// A model's conv layers as the kernels see them at `batch`, with each layer's algorithm.
struct ModelConv {
  std::string name;  // the layer's name in the model ("layers.3.layers.0")
  kernels::Conv2dGeometry g;
  kernels::ConvAlgo algo;
};
std::vector<ModelConv> model_convs(const model::ModelSpec& spec, int64_t batch);
// The conv layers of a model at `batch`, as profiling cases.
std::vector<ConvCase> model_conv_cases(const model::ModelSpec& spec, int64_t batch);
// One parameter ("size", "batch", "kernel", "channels") varied around 16->32, 3x3, 32x32,
// batch `batch` (8 by default; ignored when the batch itself is swept).
std::vector<ConvCase> sweep_cases(const std::string& parameter, int64_t batch = 8);
// The swept value of a case made by sweep_cases.
int64_t sweep_value(const std::string& parameter, const kernels::Conv2dGeometry& g);

}  // namespace tinycnn::profile
