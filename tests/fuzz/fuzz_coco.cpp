// libFuzzer target: the COCO readers (ground-truth annotations, detection results) and the
// evaluation of what they accept. The input is the annotation JSON, optionally followed by a NUL
// byte and the detections JSON.
#include <cstdint>
#include <string>

#include "error.h"
#include "metrics/detection_metrics.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const std::string input(reinterpret_cast<const char *>(data), size);
  const size_t split = input.find('\0');
  const std::string gt_text = input.substr(0, split);
  const std::string det_text = split == std::string::npos ? "[]" : input.substr(split + 1);
  sapnet::CocoGroundTruth gt;
  std::vector<sapnet::CocoDetection> detections;
  try {
    detections = sapnet::parse_coco_detections(det_text, "detections.json");
  } catch (const sapnet::Error &) {
    detections.clear();
  }
  try {
    gt = sapnet::parse_coco_ground_truth(gt_text, "gt.json");
  } catch (const sapnet::Error &) {
    return 0;
  }
  try {
    const auto summary = sapnet::evaluate_detections(gt, detections);
    (void)summary.stats();
  } catch (const sapnet::Error &) {
  }
  return 0;
}
