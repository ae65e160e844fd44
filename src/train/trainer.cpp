// A training run set up: the config checked against the memory it will take, the model built
// (or resumed, or initialised from a checkpoint), the data loaded, the out dir held; then the
// epochs (loop.cpp) run on one held team of threads. Every process training together sets up
// on its own and they agree before any of them trains.
#include "train/trainer.hpp"

#include <omp.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "cluster/group.hpp"
#include "core/error.hpp"
#include "kernels/bf16.hpp"
#include "kernels/conv2d.hpp"
#include "model/builder.hpp"
#include "model/cost_table.hpp"
#include "run/checkpoint.hpp"
#include "run/run_dir.hpp"
#include "run/run_files.hpp"
#include "runtime/team.hpp"
#include "train/dataset.hpp"
#include "train/log.hpp"
#include "train/loop.hpp"
#include "train/memory_check.hpp"
#include "train/optimizer_config.hpp"

namespace tinycnn::train {

namespace {
// The state to start from: a resumed checkpoint's whole state, or the weights of an init
// checkpoint (or the model as built) with the data-order RNG fresh.
run::TrainState start_state(const RunOptions& options, nn::Sequential& model,
                            optim::Optimizer& optimizer, core::Rng& data_rng) {
  run::TrainState state;
  if (!options.resume.empty()) {
    state = run::load_checkpoint(options.resume, model, &optimizer);
    data_rng.set_state(state.rng);
    log_info(core::concat("resuming from ", options.resume, " at epoch ", state.epoch, ", step ",
                          state.step));
    return state;
  }
  if (!options.init.empty()) {
    run::load_checkpoint(options.init, model, nullptr);
    log_info(core::concat("initialised weights from ", options.init));
  }
  state.rng = data_rng.state();
  return state;
}

// Batches per epoch: the last one smaller, or dropped with training.drop_last.
int64_t batches_per_epoch(const model::TrainingSpec& t, int64_t examples) {
  if (!t.drop_last) return (examples + t.batch_size - 1) / t.batch_size;
  TCNN_CHECK(examples >= t.batch_size, "training.drop_last: the ", examples,
             " training examples make no full batch of ", t.batch_size);
  return examples / t.batch_size;
}

// The fewest examples a batch of an epoch holds: the last one's, unless it is dropped.
int64_t smallest_batch(const model::TrainingSpec& t, int64_t examples) {
  const int64_t remainder = examples % t.batch_size;
  return std::min(examples, t.drop_last || remainder == 0 ? t.batch_size : remainder);
}

// Batch norm needs more than one value per channel in a training step: refused before any
// step runs when the smallest batch of an epoch would give it one, naming the layer.
void check_batch_norm_batches(const model::ModelSpec& spec, int64_t examples) {
  const model::TrainingSpec& t = spec.training;
  const int64_t smallest = smallest_batch(t, examples);
  const model::CostTable trace = model::cost_table(spec, 1);
  for (const model::LayerCost* row : model::flatten_rows(trace.layers)) {
    if (row->kind != nn::LayerKind::BatchNorm2d && row->kind != nn::LayerKind::BatchNorm1d)
      continue;
    const int64_t per_example = row->input.rank() == 3 ? row->input[1] * row->input[2] : 1;
    TCNN_CHECK(smallest * per_example > 1, row->name, " (", row->type, "): ",
               smallest == t.batch_size || smallest == examples
                   ? "every batch holds one example"
                   : "the last batch of each epoch holds one example (" + std::to_string(examples) +
                         " training examples, batch_size " + std::to_string(t.batch_size) + ")",
               " of a ", row->input.to_string(),
               " input, and batch norm needs more than one value per channel in training; set "
               "training.drop_last to true or change batch_size");
  }
}

// A data set's size, labels, class names and pixels as one number (FNV-1a).
uint64_t fingerprint(const data::Dataset& d) {
  uint64_t h = 1469598103934665603ull;
  const auto mix = [&h](const uint8_t* bytes, size_t n) {
    for (size_t i = 0; i < n; ++i) h = (h ^ bytes[i]) * 1099511628211ull;
  };
  const int64_t size = d.size();
  mix(reinterpret_cast<const uint8_t*>(&size), sizeof size);
  for (const std::string& name : d.classes()) {
    mix(reinterpret_cast<const uint8_t*>(name.data()), name.size() + 1);
  }
  for (int64_t i = 0; i < size; ++i) {
    const int32_t label = d.label(i);
    mix(reinterpret_cast<const uint8_t*>(&label), sizeof label);
  }
  mix(d.image(0), static_cast<size_t>(size * d.image_bytes()));
  return h;
}

// The ranks train one model on one data set: each must have read the same examples (ranks
// given different --data would reach the gradient sums out of step). One error line names
// the split; every rank stops.
void check_same_data(cluster::Group& group, Step& step, const data::Dataset& d,
                     const std::string& split) {
  if (group.size() == 1) return;
  const uint64_t size = static_cast<uint64_t>(d.size()), mine = fingerprint(d);
  const uint64_t fewest = group.min(size), most = group.max(size);
  const bool same = fewest == most && group.min(mine) == group.max(mine);
  step.require(same, [&] {
    return core::concat("the ranks read different ", split, " sets (", d.source(), ": ",
                        fewest == most ? core::concat(size, " examples each, but not the same ones")
                                       : core::concat(fewest, " to ", most, " examples"),
                        "): every rank must read the same data; check --data and "
                        "training.data_dir on each");
  });
}

// One log line: what the convolutions run, as their plans say ("convolutions (conv_algo auto):
// 12 winograd F(4x4,3x3), 9 implicit"), in the order the kernels first appear; empty for a
// model without convolutions.
std::string convolutions_line(const model::ModelSpec& spec) {
  std::vector<std::pair<std::string, int>> counts;
  const model::CostTable trace = model::cost_table(spec, 1);  // outlives the rows it points into
  for (const model::LayerCost* row : model::flatten_rows(trace.layers)) {
    if (!row->plan) continue;
    const std::string what = row->plan->winograd ? std::string(row->plan->forward_kernel())
                                                 : std::string(kernels::to_string(row->plan->algo));
    auto it =
        std::find_if(counts.begin(), counts.end(), [&](const auto& c) { return c.first == what; });
    if (it == counts.end()) {
      counts.emplace_back(what, 1);
    } else {
      ++it->second;
    }
  }
  const bool bf16 = spec.training.precision == kernels::Precision::Bf16;
  std::string line =
      core::concat("convolutions (conv_algo ", kernels::to_string(spec.training.conv_algo),
                   bf16 ? ", precision bf16" : "", "):");
  for (size_t i = 0; i < counts.size(); ++i) {
    line += core::concat(i ? ", " : " ", counts[i].second, " ", counts[i].first);
  }
  return line;
}

// Everything a run needs before its first step; made on every rank before they agree.
struct Setup {
  std::unique_ptr<nn::Sequential> model;
  int64_t num_classes = 0;
  std::unique_ptr<optim::Optimizer> optimizer;
  std::unique_ptr<run::RunDir> out_dir;  // rank 0's: the one writer holds the out dir
  run::RunFiles files;
  core::Rng data_rng{0};
  run::TrainState state;
  data::Dataset train_set, test_set;
  int64_t batches = 0;
};

std::unique_ptr<Setup> prepare(const model::ModelSpec& spec, const RunOptions& options,
                               const cluster::Group& group) {
  const model::TrainingSpec& t = spec.training;
  TCNN_CHECK(options.resume.empty() || options.init.empty(),
             "training: expected a checkpoint to resume from or one to take initial weights "
             "from, not both");
  check_memory(estimate_memory(spec, Purpose::Training, t.batch_size,
                               split_bytes(t.dataset, t.data_dir, Split::Train) +
                                   split_bytes(t.dataset, t.data_dir, Split::Test)),
               "training " + spec.name);
  auto s = std::make_unique<Setup>();
  s->model = model::build_model(spec);
  s->num_classes = s->model->output_shape(model::input_shape(spec))[0];
  s->optimizer = make_optimizer(t.optimizer, s->model->parameters());
  if (group.rank() == 0) {
    s->out_dir = std::make_unique<run::RunDir>(options.out_dir);  // held until the run returns
    if (options.resume.empty()) s->out_dir->require_fresh(options.replace);
  }
  s->files = run::RunFiles::in(s->out_dir ? s->out_dir->dir() : options.out_dir);
  s->data_rng = core::Rng(t.seed + 1);
  s->state = start_state(options, *s->model, *s->optimizer, s->data_rng);
  s->train_set = load_split(spec, t.data_dir, Split::Train, s->num_classes, options.limit_train);
  s->test_set = load_split(spec, t.data_dir, Split::Test, s->num_classes, options.limit_test);
  s->batches = batches_per_epoch(t, s->train_set.size());
  check_batch_norm_batches(spec, s->train_set.size());
  const int64_t smallest = smallest_batch(t, s->train_set.size());
  TCNN_CHECK(smallest >= group.size(), "training.batch_size: ", group.size(),
             " ranks need at least one example each in every batch, but a batch ", "holds ",
             smallest);
  if (const std::string line = convolutions_line(spec); group.rank() == 0 && !line.empty()) {
    log_info(line);
  }
  if (t.precision == kernels::Precision::Bf16 && group.rank() == 0) {
    if (kernels::bf16_native()) {
      log_info(core::concat("precision bf16: products on ", kernels::bf16_path_name()));
    } else {
      log_warn(
          core::concat("precision bf16: this CPU (or build) has no AVX512-BF16; the "
                       "products run on the ",
                       kernels::bf16_path_name(), ", slower than float32"));
    }
  }
  return s;
}
}  // namespace

TrainResult run_training(const model::ModelSpec& spec, const RunOptions& options,
                         const TrainCallbacks& callbacks) {
  const model::TrainingSpec& t = spec.training;
  cluster::Group& group = cluster::world();
  // Every process validates and loads before any collective; a failure is reported once.
  std::unique_ptr<Setup> s;
  std::exception_ptr failure;
  try {
    s = prepare(spec, options, group);
  } catch (...) {
    failure = std::current_exception();
  }
  cluster::agree(group, failure);

  Step step(spec, *s->model, omp_get_max_threads(), group);
  check_same_data(group, step, s->train_set, "training");
  check_same_data(group, step, s->test_set, "test");
  const Loop loop{.t = t,
                  .options = options,
                  .callbacks = callbacks,
                  .files = s->files,
                  .model = *s->model,
                  .optimizer = *s->optimizer,
                  .step = step,
                  .train_set = s->train_set,
                  .test_set = s->test_set,
                  .norm = normalization(t),
                  .augment = augmentation(t),
                  .num_classes = s->num_classes,
                  .batches = s->batches};
  // One team of threads for the whole run: its threads wait for each step by the policy of
  // runtime/team.hpp instead of OpenMP's.
  TrainResult result;
  runtime::Team::hold(step.threads(), [&] { result = run_epochs(loop, s->state, s->data_rng); });
  return result;
}

}  // namespace tinycnn::train
