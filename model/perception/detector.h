// sapnet::Detector: an object detector exported to TorchScript, behind a torch-free header, to
// measure what deraining does for downstream perception (the seed paper's Table 5). Frames become
// network input as perception_input.h says (see torchscript_runner.h).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "frame.h"
#include "perception/detection.h"
#include "perception/perception_input.h"

namespace sapnet {

// What the detector's forward returns.
//  kTorchvision: (boxes N x 4 as x1,y1,x2,y2; labels N; scores N) as a tuple or list, a dict
//    {boxes, labels, scores}, a list holding one such dict, or (losses, [dict]) as scripted
//    torchvision models return it. Boxes are in network-input pixels.
//  kYolo: a tensor 1 x N x (5 + classes) or N x (5 + classes) (or a tuple whose first element is
//    one): cx, cy, w, h in network-input pixels, objectness, then one score per class. A box's
//    score is objectness x class score: of its best class, or of every class (multi_label).
enum class DetectorOutput { kTorchvision, kYolo };

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

}  // namespace sapnet
