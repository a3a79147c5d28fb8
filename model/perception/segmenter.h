// sapnet::Segmenter: a semantic segmenter exported to TorchScript, behind a torch-free header.
// Frames become network input as perception_input.h says (see torchscript_runner.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "frame.h"
#include "perception/perception_input.h"

namespace sapnet {

// One class id per pixel, rows packed (width bytes each).
struct ClassMap {
  int width = 0, height = 0;
  int num_classes = 0;  // channels of the network's logits
  std::vector<uint8_t> ids;
};

// The segmenter's forward returns logits 1 x C x H x W (C <= 256), or a dict holding them under
// "out" (torchvision's segmentation models).
class Segmenter {
 public:
  // Loads the module. Throws sapnet::Error naming the file and the reason, or for bad options.
  explicit Segmenter(const PerceptionInput &options);
  ~Segmenter();
  Segmenter(const Segmenter &) = delete;
  Segmenter &operator=(const Segmenter &) = delete;

  // The argmax of the logits, resized to the frame's size (nearest; with a letterbox, of the part
  // of the logits that covers the frame). Throws sapnet::Error
  // ("expected ..., got ...") for an output of an unexpected type or shape.
  ClassMap segment(const FrameView &frame);

  const PerceptionInput &options() const;
  std::string device() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sapnet
