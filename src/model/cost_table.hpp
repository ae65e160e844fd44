// The shape and cost table behind `tinycnn shapes`: per layer, the shapes, the output-size
// arithmetic, parameters, MACs, activation and im2col workspace bytes, receptive field and jump,
// and a convolution's plan.
// Analytic only: nothing is run. Costs are for the whole batch; params are per model. A residual
// block's row holds its branches' rows; its params, MACs and activation bytes are theirs summed
// (plus its own output for the activations), its receptive field and jump the larger branch's.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels/conv_plan.hpp"
#include "model/spec.hpp"
#include "nn/layer_kind.hpp"
#include "nn/spatial.hpp"
#include "tensor/tensor.hpp"

namespace tinycnn::model {

// Work of one direction: FLOPs (a multiply-add is two) and the bytes of the tensors it reads and
// writes, each counted once (what the caches save or lose beyond that is not counted).
struct Traffic {
  int64_t flops = 0, bytes = 0;
};

struct LayerCost {
  size_t index = 0;  // in its list (the model's, or a block's branch)
  std::string name;  // "layers.3.shortcut.0", the checkpoint's prefix
  int depth = 0;     // 0 for the model's own layers
  nn::LayerKind kind = nn::LayerKind::Custom;
  std::string type;                        // "conv2d"
  std::string description;                 // "conv2d(1->6, k=5x5, p=2x2)"
  tensor::Shape input, output;             // per example
  std::vector<nn::SpatialDim> arithmetic;  // height and width, for conv and pooling
  int64_t params = 0;
  int64_t macs = 0;              // batch
  int64_t activation_bytes = 0;  // batch: the output tensor
  int64_t workspace_bytes = 0;   // batch: textbook im2col matrix (conv only)
  int64_t receptive_field = 1;   // along the height axis, in input pixels
  int64_t jump = 1;              // cumulative stride
  // Conv only: a dense layer mapping the same input to the same output, and (groups == 1)
  // a depthwise-separable replacement (depthwise KxK + pointwise 1x1).
  int64_t dense_params = 0;
  int64_t separable_params = 0;
  int64_t separable_macs = 0;               // batch
  std::vector<LayerCost> layers, shortcut;  // a residual block's branches
  // Conv only: the plan the layer makes for this input (the algorithm and kernel of each
  // direction, what the backward keeps, the scratch).
  std::shared_ptr<const kernels::ConvPlan> plan = nullptr;
  // The layer's own work per direction, batch (a block's: the add where its branches meet; a
  // conv's: its plan's forward, and dinput + dweight). The roofline's intensities.
  Traffic forward, backward;
};

struct CostTable {
  std::string name;
  int64_t batch = 1;
  tensor::Shape input;
  std::vector<LayerCost> layers;  // the model's own layers; blocks hold theirs
  std::string error;              // set when a layer is impossible; layers holds those before it

  int64_t total_params() const;
  int64_t total_macs() const;
  int64_t total_activation_bytes() const;
};

// Every row, parents before their blocks' rows (pre-order), for tables of all layers.
std::vector<const LayerCost*> flatten_rows(const std::vector<LayerCost>& rows);

// Never throws for a bad layer (it records the error); throws for batch < 1.
CostTable cost_table(const ModelSpec& spec, int64_t batch);

}  // namespace tinycnn::model
