// Line plots as PNG (OpenCV drawing): the training plot (loss and validation PSNR per epoch) and
// per-frame figures of the video evaluation.
#pragma once

#include <string>
#include <vector>

namespace sapnet {

struct PlotSeries {
  std::string name;            // shown in the panel's legend (empty: no legend)
  std::vector<double> values;  // non-finite values are skipped
};

// One panel: its series share the axes.
struct PlotPanel {
  std::string title;
  std::vector<PlotSeries> series;
};

// Panels stacked top to bottom, 640 px wide. Writes nothing (and says nothing) in builds without
// OpenCV; throws sapnet::Error on write failure.
void write_plot(const std::string &path, const std::vector<PlotPanel> &panels);

// The training plot: loss and validation PSNR per epoch (epochs without validation are 0).
void write_training_plot(const std::string &path, const std::vector<double> &loss,
                         const std::vector<double> &val_psnr);

}  // namespace sapnet
