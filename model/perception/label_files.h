// The files that name a perception model's classes: class-name lists (the detect element's
// labels-file, `sapnet eval-segment --class-names`) and class-to-COCO-category maps. The one
// reader of each (torch-free, GStreamer-free).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sapnet {

// One class name per line: line N names class N. Trailing spaces and CRs are dropped, empty lines
// inside the file are kept as empty names (so numbering never shifts) and empty lines at its end
// are dropped. Throws sapnet::Error naming the file when it cannot be read.
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

}  // namespace sapnet
