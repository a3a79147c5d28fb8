#include "metrics/segmentation_metrics.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "data/png_file.h"
#include "error.h"

#if SAPNET_HAVE_OPENCV
#include <opencv2/imgcodecs.hpp>
#endif

namespace fs = std::filesystem;

namespace sapnet {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void check_ids(const LabelMap &map, int num_classes, int ignore_id, const char *role) {
  for (size_t i = 0; i < map.ids.size(); ++i) {
    const int id = map.ids[i];
    if (id < num_classes || id == ignore_id) continue;
    const std::string name = map.source.empty() ? role : map.source;
    throw Error(name + ": label value " + std::to_string(id) + " at (" +
                std::to_string(i % map.width) + ", " + std::to_string(i / map.width) +
                ") is neither a class id (0.." + std::to_string(num_classes - 1) +
                ") nor the ignore id " + std::to_string(ignore_id));
  }
}

double mean_of_defined(const std::vector<double> &values) {
  double sum = 0;
  size_t n = 0;
  for (double v : values)
    if (!std::isnan(v)) {
      sum += v;
      ++n;
    }
  return n ? sum / n : kNaN;
}

bool is_png(const fs::path &p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return ext == ".png";
}

}  // namespace

ConfusionMatrix::ConfusionMatrix(int num_classes, int ignore_id)
    : num_classes_(num_classes), ignore_id_(ignore_id) {
  if (num_classes < 1 || num_classes > 255)
    throw Error("number of classes must be in 1..255, not " + std::to_string(num_classes));
  if (ignore_id < num_classes || ignore_id > 255)
    throw Error("ignore id must be in " + std::to_string(num_classes) +
                "..255 (not a class id), not " + std::to_string(ignore_id));
  counts_.assign(size_t(num_classes) * (num_classes + 1), 0);
}

void ConfusionMatrix::add(const LabelMap &gt, const LabelMap &pred) {
  if (gt.width != pred.width || gt.height != pred.height)
    throw Error(
        (gt.source.empty() ? "ground truth" : gt.source) + " (" + std::to_string(gt.width) + "x" +
        std::to_string(gt.height) + ") and " + (pred.source.empty() ? "prediction" : pred.source) +
        " (" + std::to_string(pred.width) + "x" + std::to_string(pred.height) + ") differ in size");
  check_ids(gt, num_classes_, ignore_id_, "ground truth");
  check_ids(pred, num_classes_, ignore_id_, "prediction");
  const size_t row = num_classes_ + 1;
  for (size_t i = 0; i < gt.ids.size(); ++i) {
    const int g = gt.ids[i];
    if (g == ignore_id_) continue;
    const int p = pred.ids[i] == ignore_id_ ? num_classes_ : pred.ids[i];
    ++counts_[g * row + p];
    ++counted_;
  }
}

SegmentationScores ConfusionMatrix::scores() const {
  const int n = num_classes_;
  std::vector<uint64_t> gt_total(n, 0), pred_total(n, 0);
  uint64_t correct = 0;
  for (int g = 0; g < n; ++g) {
    for (int p = 0; p <= n; ++p) {
      gt_total[g] += count(g, p);
      if (p < n) pred_total[p] += count(g, p);
    }
    correct += count(g, g);
  }
  SegmentationScores s;
  for (int c = 0; c < n; ++c) {
    const double tp = static_cast<double>(count(c, c));
    const double fn = static_cast<double>(gt_total[c]) - tp;
    const double fp = static_cast<double>(pred_total[c]) - tp;
    s.pixel_accuracy.push_back(gt_total[c] ? tp / (tp + fn) : kNaN);
    s.iou.push_back(tp + fp + fn > 0 ? tp / (tp + fp + fn) : kNaN);
  }
  s.overall_pixel_accuracy = counted_ ? static_cast<double>(correct) / counted_ : kNaN;
  s.mean_pixel_accuracy = mean_of_defined(s.pixel_accuracy);
  s.mean_iou = mean_of_defined(s.iou);
  return s;
}

namespace {

// What a label map's PNG header promises, checked before decoding: OpenCV would allocate the
// whole image first (gigabytes for a few bytes of hostile header), and decode a colour or
// 16-bit PNG only for it to be refused.
void check_png_header(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  unsigned char h[33] = {};
  f.read(reinterpret_cast<char *>(h), sizeof h);
  static const unsigned char kSignature[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (f.gcount() < 33 || !std::equal(kSignature, kSignature + 8, h) ||
      std::string(reinterpret_cast<const char *>(h + 12), 4) != "IHDR")
    throw Error(path + ": not a PNG file (label maps are 8-bit grey PNGs)");
  auto be32 = [&](int i) {
    return uint32_t(h[i]) << 24 | h[i + 1] << 16 | h[i + 2] << 8 | h[i + 3];
  };
  const uint64_t width = be32(16), height = be32(20);
  const int depth = h[24], colour = h[25];
  constexpr uint64_t kMaxPixels = uint64_t(1) << 28;  // 16384 x 16384
  if (width == 0 || height == 0 || width * height > kMaxPixels)
    throw Error(path + ": a label map of " + std::to_string(width) + "x" + std::to_string(height) +
                " pixels (at most " + std::to_string(kMaxPixels) + " are read)");
  if (colour != 0)
    throw Error(path + ": a colour image (PNG colour type " + std::to_string(colour) +
                "), not a label map: save class ids as one 8-bit grey channel (a palette PNG "
                "decodes as colour)");
  if (depth != 8) throw Error(path + ": not 8-bit; a label map holds one byte per pixel");
}

}  // namespace

#if SAPNET_HAVE_OPENCV

LabelMap read_label_map(const std::string &path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw Error(path + ": no such label file");
  check_png_header(path);
  cv::Mat m;
  try {
    m = cv::imread(path, cv::IMREAD_UNCHANGED);
  } catch (const cv::Exception &e) {
    throw Error(path + ": cannot decode label map (" + e.msg + ")");
  }
  if (m.empty()) throw Error(path + ": cannot decode label map (corrupt or unsupported format)");
  if (m.channels() != 1)
    throw Error(path + ": a colour image (" + std::to_string(m.channels()) +
                " channels), not a label map: save class ids as one 8-bit grey channel (a "
                "palette PNG decodes as colour)");
  if (m.depth() != CV_8U) throw Error(path + ": not 8-bit; a label map holds one byte per pixel");
  LabelMap map(m.cols, m.rows);
  map.source = path;
  for (int y = 0; y < m.rows; ++y)
    std::copy_n(m.ptr<uint8_t>(y), m.cols, map.ids.begin() + size_t(y) * m.cols);
  return map;
}

#else

// Builds without OpenCV (the GPU machine) read label maps with libpng.
LabelMap read_label_map(const std::string &path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw Error(path + ": no such label file");
  check_png_header(path);
  int width = 0, height = 0;
  std::vector<uint8_t> ids = read_png_grey(path, &width, &height);
  LabelMap map(width, height);
  map.source = path;
  map.ids = std::move(ids);
  return map;
}

#endif

ConfusionMatrix score_label_folders(const std::string &gt_dir, const std::string &pred_dir,
                                    int num_classes, int ignore_id,
                                    const std::function<void(size_t, size_t)> &on_image) {
  std::error_code ec;
  if (!fs::is_directory(gt_dir, ec)) throw Error(gt_dir + ": no such ground-truth folder");
  if (!fs::is_directory(pred_dir, ec)) throw Error(pred_dir + ": no such prediction folder");
  std::vector<std::string> names;
  for (auto &e : fs::directory_iterator(gt_dir))
    if (e.is_regular_file() && is_png(e.path())) names.push_back(e.path().filename().string());
  if (names.empty()) throw Error(gt_dir + ": no label PNGs");
  std::sort(names.begin(), names.end());
  ConfusionMatrix matrix(num_classes, ignore_id);
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string gt = (fs::path(gt_dir) / names[i]).string();
    const std::string pred = (fs::path(pred_dir) / names[i]).string();
    if (!fs::is_regular_file(pred, ec)) throw Error(pred + ": missing prediction for " + gt);
    matrix.add(read_label_map(gt), read_label_map(pred));
    if (on_image) on_image(i + 1, names.size());
  }
  return matrix;
}

const std::vector<std::string> &cityscapes_class_names() {
  static const std::vector<std::string> names = {
      "road",         "sidewalk",   "building", "wall",       "fence",  "pole",  "traffic light",
      "traffic sign", "vegetation", "terrain",  "sky",        "person", "rider", "car",
      "truck",        "bus",        "train",    "motorcycle", "bicycle"};
  return names;
}

}  // namespace sapnet
