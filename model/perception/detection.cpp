#include "perception/detection.h"

#include <algorithm>
#include <map>

namespace sapnet {

float box_iou(const Detection &a, const Detection &b) {
  const float iw = std::min(a.x + a.w, b.x + b.w) - std::max(a.x, b.x);
  const float ih = std::min(a.y + a.h, b.y + b.h) - std::max(a.y, b.y);
  if (iw <= 0 || ih <= 0) return 0;
  const float inter = iw * ih;
  const float uni = a.w * a.h + b.w * b.h - inter;
  return uni > 0 ? inter / uni : 0;
}

std::vector<Detection> non_maximum_suppression(std::vector<Detection> boxes, float iou_threshold) {
  std::stable_sort(boxes.begin(), boxes.end(),
                   [](const Detection &a, const Detection &b) { return a.score > b.score; });
  // Boxes only suppress boxes of their own class: each class is suppressed on its own (in the
  // order above), which keeps thousands of low-scoring candidates of 80 classes fast.
  std::map<int, std::vector<size_t>> by_class;
  for (size_t i = 0; i < boxes.size(); ++i) by_class[boxes[i].class_id].push_back(i);
  std::vector<char> keep(boxes.size(), 0);
  std::vector<size_t> kept;
  for (const auto &entry : by_class) {
    kept.clear();
    for (size_t i : entry.second) {
      bool suppressed = false;
      for (size_t k : kept)
        if (box_iou(boxes[k], boxes[i]) > iou_threshold) {
          suppressed = true;
          break;
        }
      if (!suppressed) {
        kept.push_back(i);
        keep[i] = 1;
      }
    }
  }
  std::vector<Detection> out;
  for (size_t i = 0; i < boxes.size(); ++i)
    if (keep[i]) out.push_back(boxes[i]);
  return out;
}

}  // namespace sapnet
