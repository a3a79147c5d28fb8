// libFuzzer target: the label readers of segmentation scoring, the class-name and category-map
// readers (model/perception) and sapnetdetect's image-ids parser. The input is written to a file
// and read as each; a label map that loads is scored against itself.
#include <cstdint>

#include "error.h"
#include "fuzz_common.h"
#include "metrics/segmentation_metrics.h"
#include "perception/label_files.h"
#include "property_parsing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string &path = sapnet::fuzz::input_file(data, size, ".png");
  try {
    const auto names = sapnet::read_class_names(path);
    for (int id = -1; id <= static_cast<int>(names.size()); ++id)
      (void)sapnet::class_name(names, id);
  } catch (const sapnet::Error &) {
  }
  try {
    (void)sapnet::read_category_map(path);
  } catch (const sapnet::Error &) {
  }
  try {
    (void)sapnet::gst::parse_id_list(std::string(reinterpret_cast<const char *>(data), size));
  } catch (const sapnet::Error &) {
  }
  try {
    const sapnet::LabelMap map = sapnet::read_label_map(path);
    sapnet::ConfusionMatrix matrix(19);
    matrix.add(map, map);
    (void)matrix.scores();
  } catch (const sapnet::Error &) {
  }
  return 0;
}
