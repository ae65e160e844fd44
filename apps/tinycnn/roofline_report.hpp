// The roofline's report for `profile --conv` and `profile --model` with --roofline FILE: the
// picture written to FILE, its points and ceilings in the JSON document, and a summary per
// group of points under the text table.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "profile/roofline.hpp"

namespace tinycnn::cli {

// "roofline" of the JSON document: the ceilings, the ridge, every point.
nlohmann::ordered_json roofline_json(const profile::Ceilings& c,
                                     const std::vector<profile::RooflinePoint>& points);
// The summary table: per (colour key, direction), the points' count, median intensity, GFLOP/s
// and share of the roof, their time, and which roof binds them. `group_by`: "algorithm" or
// "kind".
void print_roofline_summary(const profile::Ceilings& c,
                            const std::vector<profile::RooflinePoint>& points,
                            const std::string& group_by, const std::string& file);

}  // namespace tinycnn::cli
