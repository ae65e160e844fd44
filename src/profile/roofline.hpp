// The roofline: each measured direction of each layer as a point — arithmetic intensity (FLOPs
// per byte of the tensors it reads and writes, from the analytic costs) against the GFLOP/s it
// attained — under the machine's ceilings (the FMA peak; the triad's bandwidth from DRAM and
// from L2), as data and as a log-log SVG picture.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/spec.hpp"
#include "profile/conv_profile.hpp"
#include "profile/step_profile.hpp"
#include "profile/timing.hpp"

namespace tinycnn::profile {

struct RooflinePoint {
  std::string layer;      // a case's or a layer's name
  std::string kind;       // "conv2d", "batchnorm2d", "relu", "add" (a block's), ...
  std::string direction;  // "forward", "dinput", "dweight"; "backward" for the other layers
  std::string algorithm;  // conv: the algorithm that ran ("winograd"); else empty
  int64_t flops = 0;      // a convolution's: the direct convolution's, whatever ran
  int64_t bytes = 0;
  double ms = 0;             // median
  double intensity() const;  // FLOPs per byte
  double gflops() const;     // attained (Winograd's effective: direct FLOPs / time)
};

// The attainable GFLOP/s at `intensity` under a peak and a bandwidth: min(peak, bandwidth x I).
double roof_gflops(double peak_gflops, double bandwidth_gbps, double intensity);
// Whether a point at `intensity` sits left of the ridge (peak / bandwidth) of DRAM's roof.
bool memory_bound(const Ceilings& c, double intensity);

// Every fast algorithm's three directions for each case (naive is the reference, not a
// contender; a Winograd plan that declined the case is the implicit path's and is left out).
// The results must have been measured with ConvProfileOptions::directions.
std::vector<RooflinePoint> conv_roofline_points(const std::vector<ConvResult>& results);

// A model's step: each conv layer's three directions as its plan runs them (timed apart at
// `batch`), every other layer's own forward and backward from the step profile `p` (a residual
// block's own work is its add: the block's time less its branches').
std::vector<RooflinePoint> model_roofline_points(const model::ModelSpec& spec, const StepProfile& p,
                                                 int64_t batch, int warmup, int repeats,
                                                 int threads);

// The picture: points coloured by `colour_by` ("algorithm" or "kind"), marked by direction,
// under the three ceilings.
std::string render_roofline_svg(const std::string& title, const Ceilings& ceilings,
                                const std::vector<RooflinePoint>& points,
                                const std::string& colour_by);

}  // namespace tinycnn::profile
