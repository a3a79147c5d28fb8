// The training plot: loss and validation PSNR per epoch, as a PNG (OpenCV drawing).
#pragma once

#include <string>
#include <vector>

namespace sapnet {

// Writes nothing (and says nothing) in builds without OpenCV; throws sapnet::Error on write
// failure.
void write_training_plot(const std::string &path, const std::vector<double> &loss,
                         const std::vector<double> &val_psnr);

}  // namespace sapnet
