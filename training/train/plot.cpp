#include "train/plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "data/image.h"
#include "error.h"

#if SAPNET_HAVE_OPENCV
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif

namespace sapnet {

#if SAPNET_HAVE_OPENCV
namespace {

const cv::Scalar kColours[] = {{180, 60, 20}, {30, 140, 30}, {20, 60, 200}, {150, 40, 150}};

// One panel: a polyline per series over the panel's common range, min/max labels, a legend.
void draw_panel(cv::Mat &img, cv::Rect box, const PlotPanel &panel) {
  cv::rectangle(img, box, cv::Scalar(200, 200, 200));
  cv::putText(img, panel.title, {box.x + 6, box.y + 18}, cv::FONT_HERSHEY_SIMPLEX, 0.5,
              cv::Scalar(40, 40, 40), 1, cv::LINE_AA);
  double lo = INFINITY, hi = -INFINITY;
  for (auto &s : panel.series)
    for (double v : s.values)
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (lo > hi) return;
  if (hi - lo < 1e-12) hi = lo + 1;
  char label[64];
  std::snprintf(label, sizeof label, "%.4g .. %.4g", lo, hi);
  cv::putText(img, label, {box.x + box.width - 160, box.y + 18}, cv::FONT_HERSHEY_SIMPLEX, 0.45,
              cv::Scalar(90, 90, 90), 1, cv::LINE_AA);
  for (size_t k = 0; k < panel.series.size(); ++k) {
    const auto &values = panel.series[k].values;
    const cv::Scalar colour = kColours[k % std::size(kColours)];
    std::vector<cv::Point> pts;
    for (size_t i = 0; i < values.size(); ++i) {
      if (!std::isfinite(values[i])) continue;
      const double fx = values.size() > 1 ? double(i) / (values.size() - 1) : 0.5;
      const double fy = (values[i] - lo) / (hi - lo);
      pts.emplace_back(box.x + 10 + int(fx * (box.width - 20)),
                       box.y + box.height - 10 - int(fy * (box.height - 56)));
    }
    cv::polylines(img, pts, false, colour, 2, cv::LINE_AA);
    if (values.size() <= 60)
      for (auto &p : pts) cv::circle(img, p, 2, colour, cv::FILLED);
    if (!panel.series[k].name.empty())
      cv::putText(img, panel.series[k].name, {box.x + 6 + int(k) * 140, box.y + 36},
                  cv::FONT_HERSHEY_SIMPLEX, 0.45, colour, 1, cv::LINE_AA);
  }
}

}  // namespace

void write_plot(const std::string &path, const std::vector<PlotPanel> &panels) {
  const int panel_height = 160, gap = 20;
  cv::Mat img(int(panels.size()) * (panel_height + gap) + gap / 2, 640, CV_8UC3,
              cv::Scalar(255, 255, 255));
  for (size_t i = 0; i < panels.size(); ++i)
    draw_panel(img, {10, 10 + int(i) * (panel_height + gap), 620, panel_height}, panels[i]);
  RgbImage rgb(img.cols, img.rows);
  cv::cvtColor(img, cv::Mat(img.rows, img.cols, CV_8UC3, rgb.pixels.data()), cv::COLOR_BGR2RGB);
  write_image(path, rgb);  // all or nothing: a run stopped while plotting keeps the last plot
}
#else
void write_plot(const std::string &, const std::vector<PlotPanel> &) {}
#endif

void write_training_plot(const std::string &path, const std::vector<double> &loss,
                         const std::vector<double> &val_psnr) {
  std::vector<double> psnr;
  for (double v : val_psnr)
    if (v > 0) psnr.push_back(v);
  write_plot(path, {{"training loss per epoch", {{"", loss}}},
                    {psnr.empty() ? "validation PSNR (no --val)" : "validation PSNR (dB) per epoch",
                     {{"", psnr}}}});
}

}  // namespace sapnet
