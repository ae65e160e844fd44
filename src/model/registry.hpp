// The one explicit table of layer types: for each config "type", the keys it accepts and a
// factory that reads them (strictly, with JSON paths in errors), infers in_channels /
// in_features from the input shape, and constructs the nn module. No self-registration.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "kernels/conv2d.hpp"
#include "model/json_reader.hpp"
#include "model/spec.hpp"
#include "nn/init.hpp"
#include "nn/module.hpp"
#include "nn/sequential.hpp"

namespace tinycnn::model {

struct LayerContext {
  const tensor::Shape& input;      // per-example input shape of this layer
  core::Rng& rng;                  // weight initialisation
  kernels::ConvAlgo default_algo;  // training.conv_algo unless the layer says "algo"
  kernels::Precision precision;    // training.precision: conv2d and linear
  nn::WeightInit init;             // training.weight_init
  uint64_t seed;                   // for layers with their own random stream (dropout)
  // Builds a block's branch from this layer's input into `into`; returns its output shape.
  std::function<tensor::Shape(const std::vector<LayerSpec>&, nn::Sequential& into)> build_branch;
};

using LayerFactory = std::unique_ptr<nn::Module> (*)(const ObjectReader&, const LayerContext&);

struct LayerType {
  std::string name;
  std::vector<std::string> keys;  // "type" included
  LayerFactory make;
};

const std::vector<LayerType>& layer_types();
// Throws (listing the known types) when `name` is unknown.
const LayerType& find_layer_type(const std::string& name, const std::string& path);

}  // namespace tinycnn::model
