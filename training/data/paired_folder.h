// Finds (rainy, clean) image pairs in a dataset folder, in the layouts deraining datasets use:
//   input/N.png + target/N.png   Rain100L/H test sets (also rain|rainy, gt|label|norain folders)
//   rain-N.png + norain-N.png    PReNet's training layout, one folder
// Files pair by the number in their names, or by their names when they hold none.
#pragma once

#include <string>
#include <vector>

namespace sapnet {

struct ImagePair {
  std::string rainy, clean;
};

// Sorted by number (then name). Throws sapnet::Error when the folder is missing, has no recognised
// layout, or holds a rainy image with no clean partner (named in the message).
std::vector<ImagePair> find_pairs(const std::string &folder);

// Image files of a folder (non-recursive) or the file itself, in natural order.
std::vector<std::string> list_images(const std::string &path);

// The name a model card gives a dataset or file: its last path component, never a machine's path
// ("." and "dir/" are named by the folder they stand for).
std::string dataset_name(const std::string &path);

}  // namespace sapnet
