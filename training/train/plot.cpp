#include "train/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "error.h"

#if SAPNET_HAVE_OPENCV
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif

namespace sapnet {

#if SAPNET_HAVE_OPENCV
namespace {

// One panel: a polyline of `values` with min/max labels.
void panel(cv::Mat &img, cv::Rect box, const std::vector<double> &values, const std::string &title,
           cv::Scalar colour) {
  cv::rectangle(img, box, cv::Scalar(200, 200, 200));
  cv::putText(img, title, {box.x + 6, box.y + 18}, cv::FONT_HERSHEY_SIMPLEX, 0.5,
              cv::Scalar(40, 40, 40), 1, cv::LINE_AA);
  std::vector<double> finite;
  for (double v : values)
    if (std::isfinite(v)) finite.push_back(v);
  if (finite.empty()) return;
  const auto [lo_it, hi_it] = std::minmax_element(finite.begin(), finite.end());
  double lo = *lo_it, hi = *hi_it;
  if (hi - lo < 1e-12) hi = lo + 1;
  char label[64];
  std::snprintf(label, sizeof label, "%.4g .. %.4g", lo, hi);
  cv::putText(img, label, {box.x + box.width - 160, box.y + 18}, cv::FONT_HERSHEY_SIMPLEX, 0.45,
              cv::Scalar(90, 90, 90), 1, cv::LINE_AA);
  std::vector<cv::Point> pts;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) continue;
    const double fx = values.size() > 1 ? double(i) / (values.size() - 1) : 0.5;
    const double fy = (values[i] - lo) / (hi - lo);
    pts.emplace_back(box.x + 10 + int(fx * (box.width - 20)),
                     box.y + box.height - 10 - int(fy * (box.height - 40)));
  }
  cv::polylines(img, pts, false, colour, 2, cv::LINE_AA);
  for (auto &p : pts) cv::circle(img, p, 2, colour, cv::FILLED);
}

}  // namespace

void write_training_plot(const std::string &path, const std::vector<double> &loss,
                         const std::vector<double> &val_psnr) {
  cv::Mat img(360, 640, CV_8UC3, cv::Scalar(255, 255, 255));
  panel(img, {10, 10, 620, 160}, loss, "training loss per epoch", cv::Scalar(180, 60, 20));
  std::vector<double> psnr;
  for (double v : val_psnr)
    if (v > 0) psnr.push_back(v);
  panel(img, {10, 190, 620, 160}, psnr,
        psnr.empty() ? "validation PSNR (no --val)" : "validation PSNR (dB) per epoch",
        cv::Scalar(30, 140, 30));
  if (!cv::imwrite(path, img)) throw Error(path + ": cannot write plot");
}
#else
void write_training_plot(const std::string &, const std::vector<double> &,
                         const std::vector<double> &) {}
#endif

}  // namespace sapnet
