// COCO bounding-box evaluation: the twelve summary numbers of pycocotools' COCOeval (iouType
// 'bbox', default parameters), computed the same way.
//
// Ground truth is a COCO annotation file: `images` (each with `id`), `categories` (each with `id`,
// optionally `name`) and `annotations` (each with `image_id`, `category_id`, `bbox` [x, y, w, h],
// `area`, and `iscrowd`, taken as 0 when absent). Detections are a COCO results list:
// [{image_id, category_id, bbox, score}, ...].
//
// The rules, as COCOeval applies them:
//  - Per category and image: detections sorted by score (stable), at most 100 kept; GT sorted
//    so that ignored ones (crowd, or `area` outside the area range) come last.
//  - IoU of boxes; against a crowd GT the union is the detection's own area. At each IoU
//    threshold .50:.05:.95 a detection takes the best still unmatched GT with IoU >= threshold,
//    preferring GT that is not ignored; crowd GT can take several detections.
//  - A detection matched to an ignored GT, or unmatched with w*h outside the area range, is
//    ignored: neither a true nor a false positive.
//  - Over all images of a category, precision made monotone from the right and sampled at the
//    recall thresholds 0:.01:1 (the first point whose recall reaches each threshold, 0 beyond the
//    last). AP is the mean of these samples over thresholds and categories; a category with no
//    (non-ignored) GT in the area range gives -1 and is left out. AR is the final recall, averaged
//    the same way.
//  - Categories and images are those of the ground truth: detections of other categories are not
//    scored; a detection on an image that the ground truth does not list is an error.
// One difference: pycocotools treats a GT annotation with `id` 0 as "no match"; here ids are not
// used (nor needed) for matching.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace sapnet {

struct CocoBox {
  double x = 0, y = 0, w = 0, h = 0;
};

struct CocoCategory {
  int64_t id = 0;
  std::string name;
};

struct CocoGroundTruthBox {
  int64_t image_id = 0, category_id = 0;
  CocoBox bbox;
  double area = 0;  // the annotation's `area` field (for a mask, less than w*h)
  bool crowd = false;
};

struct CocoGroundTruth {
  std::vector<int64_t> image_ids;
  std::vector<CocoCategory> categories;
  std::vector<CocoGroundTruthBox> boxes;
};

struct CocoDetection {
  int64_t image_id = 0, category_id = 0;
  CocoBox bbox;
  double score = 0;
};

// The summary numbers; -1 where undefined (no ground truth in that area range).
struct DetectionSummary {
  double ap = -1, ap50 = -1, ap75 = -1;                  // IoU .50:.95, .50, .75; area all
  double ap_small = -1, ap_medium = -1, ap_large = -1;   // IoU .50:.95
  double ar1 = -1, ar10 = -1, ar100 = -1;                // at most 1, 10, 100 per image
  double ar_small = -1, ar_medium = -1, ar_large = -1;   // at most 100 per image
  std::vector<CocoCategory> categories;                  // sorted by id
  std::vector<double> category_ap;                       // IoU .50:.95, area all, -1: no GT
  size_t images = 0, ground_truths = 0, detections = 0;  // those scored

  // In the order of COCOeval.stats.
  std::array<double, 12> stats() const;
};

// Parse COCO JSON text; `source` (a file name) starts every error message. Throws sapnet::Error
// for invalid JSON and for a missing or mistyped key, naming it and the entry.
CocoGroundTruth parse_coco_ground_truth(const std::string &text, const std::string &source);
std::vector<CocoDetection> parse_coco_detections(const std::string &text,
                                                 const std::string &source);
// The same from files; a missing or unreadable file is an error naming it.
CocoGroundTruth read_coco_ground_truth(const std::string &path);
std::vector<CocoDetection> read_coco_detections(const std::string &path);

// Throws sapnet::Error when a detection's image_id is not an image of the ground truth.
DetectionSummary evaluate_detections(const CocoGroundTruth &gt,
                                     const std::vector<CocoDetection> &detections);

// Reads both files and evaluates; errors name the file they concern.
DetectionSummary evaluate_detection_files(const std::string &annotations_path,
                                          const std::string &detections_path);

}  // namespace sapnet
