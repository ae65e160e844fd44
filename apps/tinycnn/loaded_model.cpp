// A model for inference from a float checkpoint or an int8 file; see loaded_model.hpp.
#include "loaded_model.hpp"

#include "core/error.hpp"
#include "model/builder.hpp"
#include "quant/int8_module.hpp"
#include "run/checkpoint.hpp"

namespace tinycnn::cli {

quant::Int8Model load_int8_of(const model::ModelSpec& spec, const std::string& checkpoint) {
  quant::Int8Model q = quant::load_int8(checkpoint);
  const bool same =
      q.spec.source && spec.source &&
      q.spec.source->value("input", model::Json()) == spec.source->value("input", model::Json()) &&
      q.spec.source->value("layers", model::Json()) == spec.source->value("layers", model::Json());
  TCNN_CHECK_RUNTIME(same, checkpoint, ": an int8 model of another config (", q.spec.name,
                     "): its input and layers differ from ", spec.name, "'s");
  return q;
}

LoadedModel load_for_inference(const model::ModelSpec& spec, const std::string& checkpoint) {
  LoadedModel m;
  if (quant::is_int8_file(checkpoint)) {
    quant::Int8Model q = load_int8_of(spec, checkpoint);
    m.classes = std::move(q.classes);
    m.net = quant::as_model(std::move(q.net));
    m.int8 = true;
    return m;
  }
  m.net = model::build_model(spec);
  m.classes = run::load_checkpoint(checkpoint, *m.net, nullptr).classes;
  return m;
}

}  // namespace tinycnn::cli
