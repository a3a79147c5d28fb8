// Detected boxes and the class-wise non-maximum suppression both detector output styles share
// (torch-free).
#pragma once

#include <vector>

namespace sapnet {

// One detected object, in frame pixels (top-left corner, size).
struct Detection {
  float x = 0, y = 0, w = 0, h = 0;
  int class_id = 0;
  float score = 0;
};

// Intersection over union of two boxes (0 when either is empty).
float box_iou(const Detection &a, const Detection &b);

// Greedy class-wise non-maximum suppression: sorts by score (stable, best first) and drops every
// box whose IoU with a kept box of the same class exceeds iou_threshold.
std::vector<Detection> non_maximum_suppression(std::vector<Detection> boxes, float iou_threshold);

}  // namespace sapnet
