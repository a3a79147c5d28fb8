// Semantic segmentation scores from a confusion matrix over label maps (one 8-bit class id per
// pixel, as Cityscapes' train-ID PNGs hold them).
//
// Conventions:
//  - Pixels whose ground truth is the ignore id (default 255) are not counted at all.
//  - A prediction of the ignore id on a counted pixel means "no class": a miss (false negative)
//    for the ground-truth class and a false positive for none.
//  - Any other id >= num_classes, in either map, is an error naming the file and the value.
//  - Per class c: TP = pixels of c predicted c, FN = pixels of c predicted otherwise, FP = pixels
//    of other classes predicted c.
//      pixel accuracy PA(c) = TP / (TP + FN)        NaN when c is absent from the ground truth
//      IoU(c)               = TP / (TP + FP + FN)   NaN when c is absent from both maps
//  - mPA is the mean of PA over the classes present in the ground truth; mIoU the mean of IoU
//    over the classes present in the ground truth or the prediction (a class predicted but absent
//    from the ground truth has IoU 0 and counts). Classes absent from both are left out.
//  - Overall pixel accuracy = correct pixels / counted pixels.
// All are NaN when nothing was counted.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace sapnet {

struct LabelMap {
  int width = 0, height = 0;
  std::vector<uint8_t> ids;  // width * height, rows packed
  std::string source;        // the file, for error messages (may be empty)

  LabelMap() = default;
  LabelMap(int w, int h, uint8_t fill = 0) : width(w), height(h), ids(size_t(w) * h, fill) {}
};

struct SegmentationScores {
  std::vector<double> pixel_accuracy;  // per class; NaN: absent from the ground truth
  std::vector<double> iou;             // per class; NaN: absent from both
  double overall_pixel_accuracy = 0;
  double mean_pixel_accuracy = 0;  // mPA
  double mean_iou = 0;             // mIoU
};

class ConfusionMatrix {
 public:
  // num_classes in [1, 255], ignore_id in [num_classes, 255]: an ignore id that is also a class
  // id is an error (sapnet::Error).
  explicit ConfusionMatrix(int num_classes, int ignore_id = 255);

  // Counts one pair of maps. Throws sapnet::Error when their sizes differ (naming both sources)
  // or a map holds an id >= num_classes other than the ignore id (naming its source and the
  // value); nothing is counted then.
  void add(const LabelMap &gt, const LabelMap &pred);

  int num_classes() const { return num_classes_; }
  int ignore_id() const { return ignore_id_; }
  // Pixels of ground-truth class `gt` predicted as `pred` (pred == num_classes(): the ignore id).
  uint64_t count(int gt, int pred) const { return counts_[size_t(gt) * (num_classes_ + 1) + pred]; }
  uint64_t counted_pixels() const { return counted_; }
  SegmentationScores scores() const;

 private:
  int num_classes_, ignore_id_;
  std::vector<uint64_t> counts_;  // num_classes x (num_classes + 1)
  uint64_t counted_ = 0;
};

// Reads a single-channel 8-bit label PNG. Throws sapnet::Error naming the file when it is
// missing, undecodable, in colour or not 8-bit, or when this build has no OpenCV.
LabelMap read_label_map(const std::string &path);

// Scores every *.png of gt_dir against the file of the same name in pred_dir (other files of
// pred_dir are not read). A missing prediction, a size mismatch or a bad id is an error naming
// the file(s); so is a gt_dir without PNGs. `on_image(done, total)`, when given, is called after
// each pair.
ConfusionMatrix score_label_folders(
    const std::string &gt_dir, const std::string &pred_dir, int num_classes, int ignore_id = 255,
    const std::function<void(size_t done, size_t total)> &on_image = nullptr);

// The 19 Cityscapes train-ID class names (road ... bicycle).
const std::vector<std::string> &cityscapes_class_names();

}  // namespace sapnet
