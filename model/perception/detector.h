// Detection and segmentation with user-supplied TorchScript models, to measure what deraining does
// for downstream perception (the seed paper's Table 5). LibTorch stays behind pimpls: callers (the
// GStreamer elements, tools) include nothing of torch.
//
// Both classes take frames as FrameView (any format the Engine takes), convert them to RGB floats
// in [0, 1], bring them to the network's input size when one is set (stretched, or letterboxed:
// scaled keeping the aspect ratio and padded equally on both sides, as YOLOv5 expects; bilinear),
// normalise them as (x - mean) / std per channel and run the module under inference mode. A module
// whose forward takes a List[Tensor] (torchvision's detection models) gets [3 x H x W]; any other
// gets 1 x 3 x H x W.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "frame.h"

namespace sapnet {

// One detected object, in frame pixels (top-left corner, size).
struct Detection {
  float x = 0, y = 0, w = 0, h = 0;
  int class_id = 0;
  float score = 0;
};

// What the detector's forward returns.
//  kTorchvision: (boxes N x 4 as x1,y1,x2,y2; labels N; scores N) as a tuple or list, a dict
//    {boxes, labels, scores}, a list holding one such dict, or (losses, [dict]) as scripted
//    torchvision models return it. Boxes are in network-input pixels.
//  kYolo: a tensor 1 x N x (5 + classes) or N x (5 + classes) (or a tuple whose first element is
//    one): cx, cy, w, h in network-input pixels, objectness, then one score per class. A box's
//    score is objectness x class score: of its best class, or of every class (multi_label).
enum class DetectorOutput { kTorchvision, kYolo };

// How a frame is brought to the network's input size.
//  kStretch: resized to input_width x input_height (the aspect ratio may change).
//  kLetterbox: scaled by min(input_width / width, input_height / height) (up or down) to
//    round(width x scale) x round(height x scale), placed in the middle (left/top padding the
//    floor of half the spare pixels, as YOLOv5's letterbox()) and the border filled with
//    pad_value.
enum class ResizeMode { kStretch, kLetterbox };

// How frames become network input.
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

struct DetectorOptions : PerceptionInput {
  DetectorOutput output = DetectorOutput::kTorchvision;
  float score_threshold = 0.5f;  // boxes scoring less are dropped
  // Greedy class-wise non-maximum suppression: a box overlapping a better box of its class by more
  // than this IoU is dropped (applied to both output styles; 1 keeps everything).
  float nms_threshold = 0.5f;
  // YOLO: every class of a box scoring at least score_threshold is a candidate of its own (as
  // YOLOv5's evaluation does), instead of only the best class.
  bool multi_label = false;
  // The best this many after NMS are kept; 0: all.
  int max_detections = 0;
};

class Detector {
 public:
  // Loads the module. Throws sapnet::Error naming the file and the reason, or for bad options.
  explicit Detector(const DetectorOptions &options);
  ~Detector();
  Detector(const Detector &) = delete;
  Detector &operator=(const Detector &) = delete;

  // Detections of one frame, best first, boxes mapped back to frame pixels (through the letterbox
  // or the stretch) and clipped to the frame. Throws sapnet::Error
  // ("expected ..., got ...") when the module's output has an unexpected type or shape.
  std::vector<Detection> detect(const FrameView &frame);

  const DetectorOptions &options() const;
  std::string device() const;  // "cpu", "cuda:0"

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

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

// Intersection over union of two boxes (0 when either is empty).
float box_iou(const Detection &a, const Detection &b);

// Greedy class-wise non-maximum suppression: sorts by score (stable, best first) and drops every
// box whose IoU with a kept box of the same class exceeds iou_threshold.
std::vector<Detection> non_maximum_suppression(std::vector<Detection> boxes, float iou_threshold);

}  // namespace sapnet
