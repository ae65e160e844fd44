// How the CLI says that timings were taken while the machine was busy (profile/contention.hpp),
// and `profile --strict`'s refusal to report them.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "runtime/contention.hpp"

namespace tinycnn::cli {

// "3 timings marked * were taken while the machine was busy (...)": `worst` is the most shared
// measurement; `busy` how many were busy (0: only the FMA peak was).
std::string busy_text(int busy, const runtime::Contention& worst);

// The evidence in --json: {"busy", "runqueue_wait_ms", "wall_ms", "threads", "wait_share",
// "load_average"}.
nlohmann::ordered_json contention_json(const runtime::Contention& c);

// --strict: throws core::Error (Runtime) with `summary` unless it is empty.
void refuse_if_busy(const std::string& summary);

}  // namespace tinycnn::cli
