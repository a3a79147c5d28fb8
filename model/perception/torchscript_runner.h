// Internal to model/perception (includes LibTorch): a TorchScript module on its device and the
// conversion of frames into its input, shared by Detector and Segmenter.
//
// Frames (any format the Engine takes) become RGB floats in [0, 1], are brought to the network's
// input size when one is set (stretched, or letterboxed; bilinear), normalised as (x - mean) / std
// per channel and run under inference mode. A module whose forward takes a List[Tensor]
// (torchvision's detection models) gets [3 x H x W]; any other gets 1 x 3 x H x W.
#pragma once

#include <torch/script.h>

#include <string>
#include <vector>

#include "frame.h"
#include "perception/perception_input.h"

namespace sapnet::perception {

// "[2 x 5] Float": a tensor's shape and type, for error messages.
std::string shape_of(const torch::Tensor &t);
// What an IValue is, for error messages: a tensor's shape, a container's element kinds.
std::string describe(const c10::IValue &v);

// Where the frame lies in the network input: input pixel = frame pixel x scale + pad, over
// content_w x content_h pixels of the in_w x in_h input.
struct InputGeometry {
  int in_w = 0, in_h = 0;
  int content_w = 0, content_h = 0;
  int pad_x = 0, pad_y = 0;
  double scale_x = 1, scale_y = 1;
};

class TorchScriptRunner {
 public:
  // Loads the module; `what` ("detector", "segmenter") names it in errors. Throws sapnet::Error.
  TorchScriptRunner(const PerceptionInput &options, const char *what);

  // The frame as network input, on the device; sets where the frame lies in it.
  c10::IValue input(const FrameView &frame, InputGeometry *g);
  c10::IValue run(c10::IValue in) { return module_.forward({std::move(in)}); }

  const PerceptionInput &options() const { return options_; }
  std::string device() const { return device_.str(); }

 private:
  PerceptionInput options_;
  torch::Device device_{torch::kCPU};
  torch::jit::Module module_;
  bool list_input_ = false;
  std::vector<float> planar_;  // the frame as planar RGB, reused
};

}  // namespace sapnet::perception
