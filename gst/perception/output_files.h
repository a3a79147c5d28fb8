// Shared by sapnetdetect and sapnetsegment: the "r,g,b" normalisation properties, class-name
// files, file-name patterns and the 8-bit label PNG writer (torch-free, GStreamer-free).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace sapnet::gst {

// "0.485,0.456,0.406" (commas and/or spaces) -> three floats; false for anything else.
bool parse_rgb_triplet(const std::string &text, std::array<float, 3> *out);
std::string rgb_triplet_string(const std::array<float, 3> &v);

// One class name per line (trailing spaces and CR dropped; empty lines kept as empty names so
// that line N stays class N). Throws sapnet::Error naming the file when it cannot be read.
std::vector<std::string> read_class_names(const std::string &path);
// The name of a class: names[id] when present and not empty, else "class-<id>".
std::string class_name(const std::vector<std::string> &names, int id);

// What a detector's class indices are called in a COCO results file.
struct CategoryMap {
  std::vector<int64_t> ids;        // ids[class index] = category_id
  std::vector<std::string> names;  // names[class index] ("" where unknown)
};
// Reads a class-to-category map: a COCO annotation file (JSON with `categories`, each with `id`
// and optionally `name`; class i is the i-th category in id order, as YOLO-style COCO models number
// them) or a text file with one category id per line (line N: class N). Throws sapnet::Error
// naming the file and what is wrong.
CategoryMap read_category_map(const std::string &path);

// "139,285 632" (commas and/or spaces) -> {139, 285, 632}. Throws sapnet::Error for anything
// that is not a list of integers.
std::vector<int64_t> parse_id_list(const std::string &text);

// `pattern` with its first printf-style integer conversion (%d, %05d, %u, ...) replaced by
// `index`; a pattern without one is returned as is. "%%" stands for '%'.
std::string format_location(const std::string &pattern, uint64_t index);

// Why `path` cannot be written ("" when it can): opens it for writing without truncating it, or,
// when it does not exist, creates it and removes it again. Nothing is left behind or changed.
std::string unwritable_reason(const std::string &path);

// Writes a single-channel 8-bit PNG (rows packed, width bytes each). Throws sapnet::Error naming
// the file on failure.
void write_gray_png(const std::string &path, const uint8_t *pixels, int width, int height);

}  // namespace sapnet::gst
