// The text forms of the perception elements' list-valued properties (torch-free).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace sapnet::gst {

// "0.485,0.456,0.406" (commas and/or spaces) -> three floats (mean, std); false for anything else.
bool parse_rgb_triplet(const std::string &text, std::array<float, 3> *out);

// "139,285 632" (commas and/or spaces) -> {139, 285, 632} (image-ids). Throws sapnet::Error for
// anything that is not a list of integers.
std::vector<int64_t> parse_id_list(const std::string &text);

}  // namespace sapnet::gst
