// How frames become the input of a perception network (detector or segmenter): the TorchScript
// file, the device, the input size and resize mode, and the per-channel normalisation.
#pragma once

#include <array>
#include <string>

namespace sapnet {

// How a frame is brought to the network's input size.
//  kStretch: resized to input_width x input_height (the aspect ratio may change).
//  kLetterbox: scaled by min(input_width / width, input_height / height) (up or down) to
//    round(width x scale) x round(height x scale), placed in the middle (left/top padding the
//    floor of half the spare pixels, as YOLOv5's letterbox()) and the border filled with
//    pad_value.
enum class ResizeMode { kStretch, kLetterbox };

struct PerceptionInput {
  std::string model_path;
  std::string device = "cpu";  // "cpu", "cuda", "cuda:N" or "auto"
  int input_width = 0;         // 0: the frame's own width
  int input_height = 0;        // 0: the frame's own height
  ResizeMode resize = ResizeMode::kStretch;
  float pad_value = 114.f / 255;          // letterbox border, RGB in [0, 1] (before mean/std)
  std::array<float, 3> mean = {0, 0, 0};  // per RGB channel, on [0, 1] values
  std::array<float, 3> std = {1, 1, 1};
};

}  // namespace sapnet
