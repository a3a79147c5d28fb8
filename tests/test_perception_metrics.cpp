// Detection (COCO bbox AP) and segmentation (confusion matrix, mPA, mIoU) scores: hand-computed
// cases, a random case against pycocotools, and the `sapnet eval-detect` / `eval-segment` commands.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "error.h"
#include "metrics/detection_metrics.h"
#include "metrics/segmentation_metrics.h"
#include "run_sapnet.h"
#include "shared_data.h"

#if SAPNET_HAVE_OPENCV
#include <opencv2/imgcodecs.hpp>
#endif

namespace sapnet {
namespace {

constexpr double kTol = 1e-12;

CocoGroundTruthBox gt_box(int64_t image, int64_t category, CocoBox b, bool crowd = false) {
  CocoGroundTruthBox g;
  g.image_id = image;
  g.category_id = category;
  g.bbox = b;
  g.area = b.w * b.h;
  g.crowd = crowd;
  return g;
}

CocoDetection det(int64_t image, int64_t category, CocoBox b, double score) {
  CocoDetection d;
  d.image_id = image;
  d.category_id = category;
  d.bbox = b;
  d.score = score;
  return d;
}

CocoGroundTruth ground_truth(std::vector<int64_t> images, std::vector<int64_t> categories,
                             std::vector<CocoGroundTruthBox> boxes) {
  CocoGroundTruth gt;
  gt.image_ids = std::move(images);
  for (int64_t c : categories) gt.categories.push_back({c, "c" + std::to_string(c)});
  gt.boxes = std::move(boxes);
  return gt;
}

template <typename F>
std::string error_of(F &&f) {
  try {
    f();
  } catch (const Error &e) {
    return e.what();
  }
  return "(no sapnet::Error thrown)";
}

// --- Detection ----------------------------------------------------------------------------------

// Areas: 100x100 = 10000 is large (> 96^2), 50x50 = 2500 medium, 20x20 = 400 small.
TEST(CocoEval, PerfectDetectionsScoreOne) {
  const CocoBox large{0, 0, 100, 100}, small{200, 200, 20, 20}, medium{10, 10, 50, 50};
  const auto gt =
      ground_truth({1, 2}, {1}, {gt_box(1, 1, large), gt_box(1, 1, small), gt_box(2, 1, medium)});
  const auto s = evaluate_detections(
      gt, {det(1, 1, large, 0.9), det(1, 1, small, 0.8), det(2, 1, medium, 0.7)});
  for (double v : {s.ap, s.ap50, s.ap75, s.ap_small, s.ap_medium, s.ap_large, s.ar10, s.ar100,
                   s.ar_small, s.ar_medium, s.ar_large})
    EXPECT_NEAR(v, 1.0, kTol);
  // One detection per image finds 2 of the 3 boxes.
  EXPECT_NEAR(s.ar1, 2.0 / 3, kTol);
  EXPECT_EQ(s.images, 2u);
  EXPECT_EQ(s.ground_truths, 3u);
  EXPECT_EQ(s.detections, 3u);
  ASSERT_EQ(s.category_ap.size(), 1u);
  EXPECT_NEAR(s.category_ap[0], 1.0, kTol);
}

TEST(CocoEval, NoDetectionsScoreZero) {
  const auto gt = ground_truth({1}, {1}, {gt_box(1, 1, {0, 0, 100, 100})});
  const auto s = evaluate_detections(gt, {});
  EXPECT_EQ(s.ap, 0);
  EXPECT_EQ(s.ap50, 0);
  EXPECT_EQ(s.ap_large, 0);
  EXPECT_EQ(s.ar100, 0);
  EXPECT_EQ(s.ap_small, -1);  // no small ground truth
  EXPECT_EQ(s.ap_medium, -1);
}

TEST(CocoEval, NoGroundTruthIsUndefined) {
  const auto gt = ground_truth({1}, {1}, {});
  for (const auto &dets :
       {std::vector<CocoDetection>{}, std::vector<CocoDetection>{det(1, 1, {0, 0, 10, 10}, 0.5)}})
    for (double v : evaluate_detections(gt, dets).stats()) EXPECT_EQ(v, -1);
  for (double v : evaluate_detections(ground_truth({}, {}, {}), {}).stats()) EXPECT_EQ(v, -1);
}

TEST(CocoEval, CategoryWithoutGroundTruthIsLeftOut) {
  const CocoBox b{0, 0, 40, 40};
  const auto gt = ground_truth({1}, {2, 1}, {gt_box(1, 1, b)});
  // Category 2 has only a false positive; category 7 is not in the ground truth: not scored.
  const auto s = evaluate_detections(
      gt, {det(1, 1, b, 0.5), det(1, 2, {50, 50, 10, 10}, 0.9), det(1, 7, {0, 0, 5, 5}, 0.9)});
  EXPECT_NEAR(s.ap, 1.0, kTol);
  EXPECT_EQ(s.detections, 2u);
  ASSERT_EQ(s.categories.size(), 2u);
  EXPECT_EQ(s.categories[0].id, 1);
  EXPECT_EQ(s.categories[1].id, 2);
  EXPECT_NEAR(s.category_ap[0], 1.0, kTol);
  EXPECT_EQ(s.category_ap[1], -1);
}

TEST(CocoEval, DetectionsInACrowdRegionAreIgnored) {
  const CocoBox person{0, 0, 50, 50}, crowd{100, 100, 200, 200};
  const auto gt = ground_truth({1}, {1}, {gt_box(1, 1, person), gt_box(1, 1, crowd, true)});
  // Two 10x10 boxes inside the crowd region: IoU = intersection / detection area = 1. The crowd
  // region takes both, and both are ignored, though they outscore the true positive.
  const std::vector<CocoDetection> dets = {det(1, 1, {120, 120, 10, 10}, 0.9),
                                           det(1, 1, {150, 150, 10, 10}, 0.8),
                                           det(1, 1, person, 0.5)};
  auto s = evaluate_detections(gt, dets);
  EXPECT_NEAR(s.ap, 1.0, kTol);
  EXPECT_EQ(s.ground_truths, 2u);
  // Were the region an ordinary box, they would be false positives.
  auto plain = gt;
  plain.boxes[1].crowd = false;
  EXPECT_LT(evaluate_detections(plain, dets).ap, 0.5);

  // Half inside the region: intersection 50 / detection area 100 = IoU 0.5, so ignored at IoU
  // .50 and a false positive (scored above the true positive) at the nine higher thresholds,
  // where precision is 1/2 at every recall: AP = (1 + 9 * 0.5) / 10 = 0.55.
  s = evaluate_detections(gt, {det(1, 1, {95, 100, 10, 10}, 0.95), det(1, 1, person, 0.5)});
  EXPECT_NEAR(s.ap50, 1.0, kTol);
  EXPECT_NEAR(s.ap75, 0.5, kTol);
  EXPECT_NEAR(s.ap, 0.55, kTol);
}

TEST(CocoEval, ACountedBoxIsPreferredOverACrowdRegion) {
  // The detection has IoU 0.68 with the box (68 / 100) and 1 with the crowd region around both.
  // Up to the .65 threshold it matches the box (a true positive); from .70 on only the region
  // (ignored), leaving the box unfound: AP = 4 / 10.
  const CocoBox d{0, 0, 10, 10};
  const auto gt =
      ground_truth({1}, {1}, {gt_box(1, 1, {0, 0, 100, 100}, true), gt_box(1, 1, {0, 0, 10, 6.8})});
  const auto s = evaluate_detections(gt, {det(1, 1, d, 0.9)});
  EXPECT_NEAR(s.ap, 0.4, kTol);
  EXPECT_NEAR(s.ar100, 0.4, kTol);
}

TEST(CocoEval, AreaRangesIgnoreWhatLiesOutside) {
  // A large and a small box found exactly, and a small (10x10) false positive scored highest.
  const CocoBox large{0, 0, 100, 100}, small{200, 200, 20, 20};
  const auto gt = ground_truth({1}, {1}, {gt_box(1, 1, large), gt_box(1, 1, small)});
  const auto s = evaluate_detections(
      gt, {det(1, 1, large, 0.6), det(1, 1, {300, 300, 10, 10}, 0.9), det(1, 1, small, 0.7)});
  // all: FP, TP, TP -> precision 0, 1/2, 2/3 at recall 0, 1/2, 1; made monotone 2/3 throughout.
  EXPECT_NEAR(s.ap, 2.0 / 3, kTol);
  // large: the small box is ignored, so are the detection that found it and the unmatched small
  // false positive (outside the range): one true positive, AP 1.
  EXPECT_NEAR(s.ap_large, 1.0, kTol);
  // small: the large box and its detection are ignored; the false positive counts: FP, TP -> 1/2.
  EXPECT_NEAR(s.ap_small, 0.5, kTol);
  EXPECT_EQ(s.ap_medium, -1);
  EXPECT_NEAR(s.ar_large, 1.0, kTol);

  // The range is decided by the annotation's `area` (a mask's), not by the box.
  auto masked = gt_box(1, 1, large);
  masked.area = 2000;
  const auto m = evaluate_detections(ground_truth({1}, {1}, {masked}), {det(1, 1, large, 0.5)});
  EXPECT_NEAR(m.ap_medium, 1.0, kTol);
  EXPECT_EQ(m.ap_large, -1);
}

// Three separate boxes A, B, C; detections: exact hits on A and B and one false positive F.
class ScoreOrder : public ::testing::Test {
 protected:
  const CocoBox a{0, 0, 40, 40}, b{100, 0, 40, 40}, c{200, 0, 40, 40}, f{300, 300, 40, 40};
  const CocoGroundTruth gt =
      ground_truth({1}, {1}, {gt_box(1, 1, a), gt_box(1, 1, b), gt_box(1, 1, c)});
};

TEST_F(ScoreOrder, HundredOnePointInterpolation) {
  // Order A, F, B: recall 1/3, 1/3, 2/3; precision 1, 1/2, 2/3, made monotone from the right:
  // 1, 2/3, 2/3. The 101 recall thresholds r = 0, .01, ..., 1 take the precision at the first
  // point whose recall reaches r: r <= .33 (34 thresholds) -> 1; .34 <= r <= .66 (33) -> 2/3;
  // r >= .67 (34) -> 0 (never reached). AP = (34 + 33 * 2/3) / 101 = 56 / 101 at every IoU.
  const auto s = evaluate_detections(gt, {det(1, 1, a, 0.9), det(1, 1, f, 0.8), det(1, 1, b, 0.7)});
  EXPECT_NEAR(s.ap, 56.0 / 101, kTol);
  EXPECT_NEAR(s.ap50, 56.0 / 101, kTol);
  EXPECT_NEAR(s.ar100, 2.0 / 3, kTol);
}

TEST_F(ScoreOrder, ScoresDecideTheCurve) {
  // A, B, F: precision 1, 1, 2/3 at recall 1/3, 2/3, 2/3 -> 1 for r <= .66 (67 thresholds):
  // AP = 67 / 101.
  auto s = evaluate_detections(gt, {det(1, 1, a, 0.9), det(1, 1, b, 0.8), det(1, 1, f, 0.7)});
  EXPECT_NEAR(s.ap, 67.0 / 101, kTol);
  // F, A, B: precision 0, 1/2, 2/3 at recall 0, 1/3, 2/3 -> monotone 2/3 for r <= .66:
  // AP = 67 * (2/3) / 101 = 134 / 303.
  s = evaluate_detections(gt, {det(1, 1, a, 0.8), det(1, 1, b, 0.7), det(1, 1, f, 0.9)});
  EXPECT_NEAR(s.ap, 134.0 / 303, kTol);
  // Equal scores keep the input order (a stable sort): F listed first behaves as above.
  s = evaluate_detections(gt, {det(1, 1, f, 0.5), det(1, 1, a, 0.5), det(1, 1, b, 0.5)});
  EXPECT_NEAR(s.ap, 134.0 / 303, kTol);
}

TEST(CocoEval, OnlyTheHundredBestPerImageCount) {
  // 100 false positives outscore the exact hit, which is then dropped: AP 0.
  const CocoBox b{0, 0, 20, 20};
  std::vector<CocoDetection> dets = {det(1, 1, b, 0.1)};
  for (int i = 0; i < 100; ++i) dets.push_back(det(1, 1, {500, 500, 20, 20}, 0.5));
  EXPECT_EQ(evaluate_detections(ground_truth({1}, {1}, {gt_box(1, 1, b)}), dets).ap, 0);
  dets.pop_back();
  EXPECT_GT(evaluate_detections(ground_truth({1}, {1}, {gt_box(1, 1, b)}), dets).ap, 0);
}

TEST(CocoEval, DetectionOnAnUnknownImage_n) {
  const auto gt = ground_truth({1, 2}, {1}, {});
  const auto msg = error_of([&] { evaluate_detections(gt, {det(42, 1, {0, 0, 1, 1}, 1)}); });
  EXPECT_NE(msg.find("image_id 42"), std::string::npos) << msg;
}

TEST(CocoEval, NumberOverflowIsInvalidJson_n) {
  // nlohmann::json reports it as out_of_range, not as a parse error.
  auto msg = error_of([] { parse_coco_detections(R"([{"score": 1e400}])", "dets.json"); });
  EXPECT_NE(msg.find("dets.json: not valid JSON"), std::string::npos) << msg;
  msg = error_of([] { parse_coco_ground_truth(R"({"images": [{"id": 1e999}]})", "gt.json"); });
  EXPECT_NE(msg.find("gt.json: not valid JSON"), std::string::npos) << msg;
}

TEST(CocoEval, BadJsonNamesFileAndKey_n) {
  auto msg = error_of([] { parse_coco_ground_truth("{\"images\": [", "gt.json"); });
  EXPECT_NE(msg.find("gt.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("JSON"), std::string::npos) << msg;

  msg = error_of([] {
    parse_coco_ground_truth(
        R"({"images": [{"id": 1}], "categories": [{"id": 1}],
            "annotations": [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1]}]})",
        "gt.json");
  });
  EXPECT_NE(msg.find("gt.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("annotations[0]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'area'"), std::string::npos) << msg;

  msg = error_of([] { parse_coco_ground_truth(R"({"images": []})", "gt.json"); });
  EXPECT_NE(msg.find("'categories'"), std::string::npos) << msg;

  msg = error_of([] {
    parse_coco_detections(R"([{"image_id": 1, "category_id": 1, "bbox": [0, 0, 1]}])", "dt.json");
  });
  EXPECT_NE(msg.find("dt.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'bbox'"), std::string::npos) << msg;

  msg = error_of([] { parse_coco_detections(R"({"annotations": []})", "dt.json"); });
  EXPECT_NE(msg.find("dt.json"), std::string::npos) << msg;

  msg = error_of([] { read_coco_ground_truth("/nonexistent/instances.json"); });
  EXPECT_NE(msg.find("/nonexistent/instances.json"), std::string::npos) << msg;
}

TEST(CocoEval, ParsesCocoFiles) {
  const auto gt = parse_coco_ground_truth(
      R"({"images": [{"id": 3, "file_name": "a.jpg"}], "categories": [{"id": 5, "name": "car"}],
          "annotations": [{"id": 1, "image_id": 3, "category_id": 5, "bbox": [1, 2, 3.5, 4],
                           "area": 14, "iscrowd": 1},
                          {"id": 2, "image_id": 3, "category_id": 5, "bbox": [0, 0, 1, 1],
                           "area": 1}]})",
      "gt.json");
  ASSERT_EQ(gt.boxes.size(), 2u);
  EXPECT_EQ(gt.image_ids, std::vector<int64_t>{3});
  EXPECT_EQ(gt.categories[0].name, "car");
  EXPECT_EQ(gt.boxes[0].bbox.w, 3.5);
  EXPECT_TRUE(gt.boxes[0].crowd);
  EXPECT_FALSE(gt.boxes[1].crowd);  // iscrowd absent: 0
  const auto dt = parse_coco_detections(
      R"([{"image_id": 3, "category_id": 5, "bbox": [1, 2, 3, 4], "score": 0.25}])", "dt.json");
  ASSERT_EQ(dt.size(), 1u);
  EXPECT_EQ(dt[0].score, 0.25);
}

// Written by tests/reference/coco_reference.py (seed 20240611, pycocotools 2.0.11, numpy 2.4):
// five images listed out of id order, categories 1-3 plus 4 without ground truth, two crowd
// regions with detections inside, boxes of every area range (one GT of area exactly 32^2), GT
// areas below their boxes, duplicate and mislabelled detections, tied scores across images.
const char *kReferenceGt = R"json({"images":[{"id":7},{"id":3},{"id":12},{"id":5},{"id":9}],
"categories":[{"id":1,"name":"person"},{"id":2,"name":"car"},{"id":3,"name":"bicycle"},{"id":4,"name":"bus"}],
"annotations":[
{"image_id":7,"category_id":3,"bbox":[424.6,156.9,79.3,54.5],"area":2622.7,"iscrowd":0,"id":1},
{"image_id":7,"category_id":3,"bbox":[27.7,157.2,84.5,41.0],"area":2493.7,"iscrowd":0,"id":2},
{"image_id":7,"category_id":2,"bbox":[206.2,111.6,8.7,4.8],"area":30.1,"iscrowd":0,"id":3},
{"image_id":7,"category_id":1,"bbox":[320.1,192.1,125.2,216.9],"area":20360.4,"iscrowd":0,"id":4},
{"image_id":7,"category_id":3,"bbox":[226.5,173.9,28.6,18.9],"area":504.6,"iscrowd":0,"id":5},
{"image_id":3,"category_id":3,"bbox":[304.7,106.0,182.4,198.2],"area":26448.4,"iscrowd":0,"id":6},
{"image_id":3,"category_id":1,"bbox":[454.4,132.5,143.4,179.9],"area":23625.2,"iscrowd":0,"id":7},
{"image_id":3,"category_id":2,"bbox":[618.5,375.9,18.7,8.7],"area":160.5,"iscrowd":0,"id":8},
{"image_id":3,"category_id":1,"bbox":[517.0,130.9,73.3,88.6],"area":5304.6,"iscrowd":0,"id":9},
{"image_id":3,"category_id":1,"bbox":[74.5,71.9,200.0,150.0],"area":15000.0,"iscrowd":1,"id":10},
{"image_id":12,"category_id":2,"bbox":[385.5,287.2,20.2,15.8],"area":202.6,"iscrowd":0,"id":11},
{"image_id":12,"category_id":3,"bbox":[45.4,94.3,58.6,55.1],"area":2574.2,"iscrowd":0,"id":12},
{"image_id":12,"category_id":1,"bbox":[29.9,305.4,122.3,134.2],"area":13491.6,"iscrowd":0,"id":13},
{"image_id":12,"category_id":2,"bbox":[149.1,196.8,195.9,196.5],"area":24194.3,"iscrowd":0,"id":14},
{"image_id":12,"category_id":2,"bbox":[1.4,210.4,111.7,183.5],"area":13668.5,"iscrowd":0,"id":15},
{"image_id":12,"category_id":1,"bbox":[44.3,177.6,200.0,150.0],"area":15000.0,"iscrowd":1,"id":16},
{"image_id":5,"category_id":2,"bbox":[304.9,358.6,78.0,57.2],"area":2835.7,"iscrowd":0,"id":17},
{"image_id":5,"category_id":2,"bbox":[251.4,162.1,62.8,43.7],"area":1858.4,"iscrowd":0,"id":18},
{"image_id":5,"category_id":1,"bbox":[47.8,342.8,189.3,129.6],"area":22439.6,"iscrowd":0,"id":19},
{"image_id":5,"category_id":1,"bbox":[135.8,178.8,67.6,86.2],"area":4490.5,"iscrowd":0,"id":20},
{"image_id":5,"category_id":3,"bbox":[481.6,389.2,25.1,25.2],"area":490.6,"iscrowd":0,"id":21},
{"image_id":9,"category_id":1,"bbox":[505.8,307.0,28.1,11.3],"area":216.1,"iscrowd":0,"id":22},
{"image_id":9,"category_id":3,"bbox":[129.2,286.5,134.2,122.0],"area":10099.4,"iscrowd":0,"id":23},
{"image_id":9,"category_id":1,"bbox":[472.3,444.5,20.1,6.6],"area":87.5,"iscrowd":0,"id":24},
{"image_id":5,"category_id":2,"bbox":[100.0,100.0,32.0,32.0],"area":1024.0,"iscrowd":0,"id":25}
]})json";

const char *kReferenceDt = R"json([
{"image_id":3,"category_id":1,"bbox":[139.0,76.6,48.6,46.3],"score":0.81},
{"image_id":3,"category_id":1,"bbox":[181.7,155.0,55.8,54.5],"score":0.82},
{"image_id":12,"category_id":1,"bbox":[173.8,213.2,48.5,47.2],"score":0.45},
{"image_id":12,"category_id":1,"bbox":[137.8,182.8,49.6,23.8],"score":0.66},
{"image_id":7,"category_id":3,"bbox":[419.9,153.2,87.7,52.8],"score":0.95},
{"image_id":7,"category_id":2,"bbox":[205.8,112.1,8.2,4.2],"score":0.78},
{"image_id":7,"category_id":2,"bbox":[205.9,111.1,10.7,5.1],"score":0.88},
{"image_id":7,"category_id":1,"bbox":[332.7,182.9,135.1,214.9],"score":0.69},
{"image_id":7,"category_id":1,"bbox":[224.2,171.7,30.8,19.2],"score":0.99},
{"image_id":3,"category_id":3,"bbox":[300.5,90.7,203.4,214.5],"score":0.67},
{"image_id":3,"category_id":1,"bbox":[335.1,63.0,200.4,159.3],"score":0.9},
{"image_id":3,"category_id":1,"bbox":[459.4,132.3,142.5,190.0],"score":0.51},
{"image_id":3,"category_id":2,"bbox":[617.8,376.5,20.0,8.7],"score":0.98},
{"image_id":3,"category_id":3,"bbox":[516.4,138.7,72.9,88.5],"score":0.3},
{"image_id":12,"category_id":2,"bbox":[387.5,286.5,22.3,15.2],"score":0.89},
{"image_id":12,"category_id":3,"bbox":[43.3,89.9,63.6,58.3],"score":0.46},
{"image_id":12,"category_id":1,"bbox":[36.5,290.6,127.8,118.4],"score":0.71},
{"image_id":12,"category_id":1,"bbox":[2.7,320.5,131.8,166.2],"score":0.96},
{"image_id":12,"category_id":2,"bbox":[156.9,196.0,207.3,183.4],"score":0.36},
{"image_id":12,"category_id":2,"bbox":[113.8,169.3,216.7,221.9],"score":0.45},
{"image_id":12,"category_id":2,"bbox":[4.0,227.8,108.1,184.6],"score":0.43},
{"image_id":5,"category_id":2,"bbox":[298.1,354.7,71.1,51.9],"score":0.56},
{"image_id":5,"category_id":2,"bbox":[255.3,167.1,62.0,40.8],"score":0.4},
{"image_id":5,"category_id":2,"bbox":[259.1,171.0,55.6,52.5],"score":0.57},
{"image_id":5,"category_id":1,"bbox":[143.1,169.1,64.9,75.9],"score":0.97},
{"image_id":5,"category_id":3,"bbox":[483.1,386.4,22.2,25.2],"score":0.3},
{"image_id":9,"category_id":3,"bbox":[114.9,297.7,145.7,107.4],"score":0.47},
{"image_id":9,"category_id":1,"bbox":[472.1,444.9,21.9,6.3],"score":0.95},
{"image_id":5,"category_id":1,"bbox":[97.6,99.4,30.6,31.4],"score":0.38},
{"image_id":5,"category_id":2,"bbox":[99.5,92.8,34.7,25.1],"score":0.51},
{"image_id":7,"category_id":3,"bbox":[305.3,20.5,40.3,71.4],"score":0.17},
{"image_id":3,"category_id":2,"bbox":[208.0,372.9,12.9,22.4],"score":0.46},
{"image_id":3,"category_id":1,"bbox":[226.3,109.5,76.0,82.8],"score":0.33},
{"image_id":12,"category_id":1,"bbox":[524.2,68.9,57.5,73.0],"score":0.15},
{"image_id":5,"category_id":1,"bbox":[217.8,342.8,45.5,53.6],"score":0.88},
{"image_id":5,"category_id":2,"bbox":[332.9,239.8,13.4,23.8],"score":0.53},
{"image_id":5,"category_id":1,"bbox":[159.4,128.7,68.7,61.4],"score":0.43},
{"image_id":9,"category_id":2,"bbox":[530.8,347.1,16.1,17.9],"score":0.31},
{"image_id":9,"category_id":2,"bbox":[290.4,192.1,11.4,15.6],"score":0.73}
])json";

// COCOeval(gt, dt, 'bbox').stats for the files above.
constexpr std::array<double, 12> kPycocotoolsStats = {
    0.2958365067275958,  0.5779113625648278,  0.31964744093456965, 0.28718371837183715,
    0.23476347634763478, 0.463982398239824,   0.26011904761904764, 0.41845238095238096,
    0.41845238095238096, 0.35833333333333334, 0.27777777777777773, 0.5666666666666667};

TEST(CocoEval, MatchesPycocotoolsOnARandomCase) {
  const auto s = evaluate_detections(parse_coco_ground_truth(kReferenceGt, "gt.json"),
                                     parse_coco_detections(kReferenceDt, "dt.json"));
  const auto stats = s.stats();
  for (size_t i = 0; i < stats.size(); ++i)
    EXPECT_NEAR(stats[i], kPycocotoolsStats[i], kTol) << "stats[" << i << "]";
  EXPECT_EQ(s.images, 5u);
  EXPECT_EQ(s.ground_truths, 25u);
  EXPECT_EQ(s.detections, 39u);
  ASSERT_EQ(s.category_ap.size(), 4u);
  EXPECT_EQ(s.category_ap[3], -1);  // "bus": no ground truth
}

// --- Segmentation -------------------------------------------------------------------------------

LabelMap labels(int w, int h, std::vector<uint8_t> ids, std::string source = "") {
  LabelMap m(w, h);
  m.ids = std::move(ids);
  m.source = std::move(source);
  return m;
}

TEST(Segmentation, TinyConfusionMatrixByHand) {
  // gt   0 0 1      pred 0 1 1
  //      1 2 2           1 2 0
  // class 0: TP 1, FN 1, FP 1 -> PA 1/2, IoU 1/3
  // class 1: TP 2, FN 0, FP 1 -> PA 1,   IoU 2/3
  // class 2: TP 1, FN 1, FP 0 -> PA 1/2, IoU 1/2
  // overall 4/6; mPA = 2/3; mIoU = (1/3 + 2/3 + 1/2) / 3 = 1/2.
  ConfusionMatrix cm(3);
  cm.add(labels(3, 2, {0, 0, 1, 1, 2, 2}), labels(3, 2, {0, 1, 1, 1, 2, 0}));
  EXPECT_EQ(cm.count(0, 1), 1u);
  EXPECT_EQ(cm.count(2, 0), 1u);
  EXPECT_EQ(cm.counted_pixels(), 6u);
  const auto s = cm.scores();
  EXPECT_NEAR(s.pixel_accuracy[0], 0.5, kTol);
  EXPECT_NEAR(s.pixel_accuracy[1], 1.0, kTol);
  EXPECT_NEAR(s.pixel_accuracy[2], 0.5, kTol);
  EXPECT_NEAR(s.iou[0], 1.0 / 3, kTol);
  EXPECT_NEAR(s.iou[1], 2.0 / 3, kTol);
  EXPECT_NEAR(s.iou[2], 0.5, kTol);
  EXPECT_NEAR(s.overall_pixel_accuracy, 4.0 / 6, kTol);
  EXPECT_NEAR(s.mean_pixel_accuracy, 2.0 / 3, kTol);
  EXPECT_NEAR(s.mean_iou, 0.5, kTol);

  // A second image accumulates into the same matrix: 2 more correct pixels of class 2.
  cm.add(labels(2, 1, {2, 2}), labels(2, 1, {2, 2}));
  EXPECT_NEAR(cm.scores().iou[2], 3.0 / 4, kTol);
  EXPECT_NEAR(cm.scores().overall_pixel_accuracy, 6.0 / 8, kTol);
}

TEST(Segmentation, IgnorePixels) {
  // Ground truth 255: not counted whatever the prediction. Prediction 255 on a counted pixel:
  // a miss for the ground-truth class, a false positive for none.
  ConfusionMatrix cm(2);
  cm.add(labels(4, 1, {255, 255, 0, 1}), labels(4, 1, {0, 1, 0, 255}));
  EXPECT_EQ(cm.counted_pixels(), 2u);
  EXPECT_EQ(cm.count(1, 2), 1u);
  const auto s = cm.scores();
  EXPECT_NEAR(s.iou[0], 1.0, kTol);
  EXPECT_NEAR(s.iou[1], 0.0, kTol);
  EXPECT_NEAR(s.pixel_accuracy[1], 0.0, kTol);
  EXPECT_NEAR(s.overall_pixel_accuracy, 0.5, kTol);
  EXPECT_NEAR(s.mean_iou, 0.5, kTol);

  ConfusionMatrix other(2, 100);  // another ignore id
  other.add(labels(2, 1, {100, 0}), labels(2, 1, {1, 0}));
  EXPECT_NEAR(other.scores().mean_iou, 1.0, kTol);  // class 1 absent from both counted pixels

  ConfusionMatrix none(2);  // nothing counted
  none.add(labels(1, 1, {255}), labels(1, 1, {0}));
  EXPECT_TRUE(std::isnan(none.scores().mean_iou));
  EXPECT_TRUE(std::isnan(none.scores().overall_pixel_accuracy));
}

TEST(Segmentation, PredictedClassMissingFromGroundTruthCountsWithIouZero) {
  // gt 0 0 0 0, pred 0 0 0 1: class 0 IoU 3/4 PA 3/4; class 1 IoU 0 (counts), PA NaN (left out).
  ConfusionMatrix cm(2);
  cm.add(labels(4, 1, {0, 0, 0, 0}), labels(4, 1, {0, 0, 0, 1}));
  const auto s = cm.scores();
  EXPECT_EQ(s.iou[1], 0);
  EXPECT_TRUE(std::isnan(s.pixel_accuracy[1]));
  EXPECT_NEAR(s.mean_iou, 3.0 / 8, kTol);
  EXPECT_NEAR(s.mean_pixel_accuracy, 3.0 / 4, kTol);
}

TEST(Segmentation, ClassAbsentFromBothIsLeftOut) {
  // Class 2 appears nowhere: NaN, and the means are those of classes 0 and 1.
  ConfusionMatrix cm(3);
  cm.add(labels(2, 1, {0, 1}), labels(2, 1, {0, 0}));
  const auto s = cm.scores();
  EXPECT_TRUE(std::isnan(s.iou[2]));
  EXPECT_TRUE(std::isnan(s.pixel_accuracy[2]));
  EXPECT_NEAR(s.iou[0], 0.5, kTol);
  EXPECT_EQ(s.iou[1], 0);
  EXPECT_NEAR(s.mean_iou, 0.25, kTol);
  EXPECT_NEAR(s.mean_pixel_accuracy, 0.5, kTol);
}

TEST(Segmentation, BadIdsAndSizes_n) {
  ConfusionMatrix cm(3);
  auto msg = error_of([&] { cm.add(labels(2, 1, {0, 7}, "gt/a.png"), labels(2, 1, {0, 0})); });
  EXPECT_NE(msg.find("gt/a.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("7"), std::string::npos) << msg;
  msg = error_of([&] { cm.add(labels(2, 1, {0, 1}), labels(2, 1, {200, 0}, "pred/a.png")); });
  EXPECT_NE(msg.find("pred/a.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("200"), std::string::npos) << msg;
  msg = error_of([&] { cm.add(labels(2, 1, {0, 1}, "g.png"), labels(1, 2, {0, 1}, "p.png")); });
  EXPECT_NE(msg.find("g.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("p.png"), std::string::npos) << msg;
  EXPECT_EQ(cm.counted_pixels(), 0u);          // nothing of a rejected pair is counted
  EXPECT_THROW(ConfusionMatrix(3, 2), Error);  // the ignore id is a class id
  EXPECT_THROW(ConfusionMatrix(0), Error);
}

#if SAPNET_HAVE_OPENCV
void write_labels(const std::string &path, const LabelMap &m) {
  const cv::Mat mat(m.height, m.width, CV_8UC1, const_cast<uint8_t *>(m.ids.data()));
  ASSERT_TRUE(cv::imwrite(path, mat)) << path;
}
#endif

// gt/a.png, gt/b.png and predictions for both (plus one without ground truth, not read): the
// hand-computed case of TinyConfusionMatrixByHand split over two files.
void write_label_folders(const testing::TempDir &tmp) {
#if SAPNET_HAVE_OPENCV
  std::filesystem::create_directories(tmp / "gt");
  std::filesystem::create_directories(tmp / "pred");
  write_labels(tmp / "gt/a.png", labels(3, 1, {0, 0, 1}));
  write_labels(tmp / "pred/a.png", labels(3, 1, {0, 1, 1}));
  write_labels(tmp / "gt/b.png", labels(3, 1, {1, 2, 2}));
  write_labels(tmp / "pred/b.png", labels(3, 1, {1, 2, 0}));
  write_labels(tmp / "pred/extra.png", labels(1, 1, {9}));
#else
  (void)tmp;
#endif
}

TEST(Segmentation, ScoresLabelFolders) {
#if !SAPNET_HAVE_OPENCV
  GTEST_SKIP() << "built without OpenCV";
#else
  testing::TempDir tmp;
  write_label_folders(tmp);
  size_t seen = 0;
  const auto cm =
      score_label_folders(tmp / "gt", tmp / "pred", 3, 255, [&](size_t done, size_t total) {
        EXPECT_EQ(total, 2u);
        seen = done;
      });
  EXPECT_EQ(seen, 2u);
  EXPECT_NEAR(cm.scores().mean_iou, 0.5, kTol);
  EXPECT_NEAR(cm.scores().overall_pixel_accuracy, 4.0 / 6, kTol);
  EXPECT_EQ(read_label_map(tmp / "gt/b.png").ids, (std::vector<uint8_t>{1, 2, 2}));
#endif
}

TEST(Segmentation, LabelFolderErrorsNameTheFile_n) {
#if !SAPNET_HAVE_OPENCV
  GTEST_SKIP() << "built without OpenCV";
#else
  testing::TempDir tmp;
  write_label_folders(tmp);
  // A missing prediction.
  write_labels(tmp / "gt/c.png", labels(1, 1, {0}));
  auto msg = error_of([&] { score_label_folders(tmp / "gt", tmp / "pred", 3); });
  EXPECT_NE(msg.find("c.png"), std::string::npos) << msg;
  // Different sizes name both files.
  write_labels(tmp / "pred/c.png", labels(2, 1, {0, 0}));
  msg = error_of([&] { score_label_folders(tmp / "gt", tmp / "pred", 3); });
  EXPECT_NE(msg.find(tmp / "gt/c.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find(tmp / "pred/c.png"), std::string::npos) << msg;
  // A value that is no class.
  write_labels(tmp / "pred/c.png", labels(1, 1, {3}));
  msg = error_of([&] { score_label_folders(tmp / "gt", tmp / "pred", 3); });
  EXPECT_NE(msg.find("pred/c.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("value 3"), std::string::npos) << msg;
  // A colour PNG.
  cv::Mat colour(2, 2, CV_8UC3, cv::Scalar(1, 2, 3));
  ASSERT_TRUE(cv::imwrite(tmp / "colour.png", colour));
  msg = error_of([&] { read_label_map(tmp / "colour.png"); });
  EXPECT_NE(msg.find("colour.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("colour"), std::string::npos) << msg;
  // Missing and empty folders.
  msg = error_of([&] { score_label_folders(tmp / "nope", tmp / "pred", 3); });
  EXPECT_NE(msg.find("nope"), std::string::npos) << msg;
  std::filesystem::create_directories(tmp / "empty");
  msg = error_of([&] { score_label_folders(tmp / "empty", tmp / "pred", 3); });
  EXPECT_NE(msg.find("empty"), std::string::npos) << msg;
#endif
}

TEST(Segmentation, HostileLabelHeadersAreRefusedBeforeDecoding_n) {
#if !SAPNET_HAVE_OPENCV
  GTEST_SKIP() << "built without OpenCV";
#else
  testing::TempDir tmp;
  // A PNG signature and IHDR chunk (no image data follows: the header alone must be refused).
  auto header = [&](const std::string &name, uint32_t w, uint32_t h, int depth, int colour) {
    std::string png("\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", 16);
    for (uint32_t v : {w, h})
      for (int k = 3; k >= 0; --k) png += static_cast<char>(v >> (8 * k));
    png += {static_cast<char>(depth), static_cast<char>(colour), 0, 0, 0};
    std::ofstream(tmp / name, std::ios::binary) << png << std::string(16, '\0');
    return error_of([&] { read_label_map(tmp / name); });
  };
  // 10^10 pixels promised: OpenCV would allocate them before decoding.
  auto msg = header("huge.png", 100000, 100000, 8, 0);
  EXPECT_NE(msg.find("huge.png: a label map of 100000x100000 pixels"), std::string::npos) << msg;
  msg = header("deep.png", 2, 2, 16, 0);
  EXPECT_NE(msg.find("deep.png: not 8-bit"), std::string::npos) << msg;
  msg = header("palette.png", 2, 2, 8, 3);
  EXPECT_NE(msg.find("palette.png: a colour image"), std::string::npos) << msg;
  // A grey PGM of 30000 x 30000 (900 MB once decoded) is not a PNG.
  std::ofstream(tmp / "big.png", std::ios::binary) << "P5 30000 30000 255\n"
                                                   << std::string(64, 'x');
  msg = error_of([&] { read_label_map(tmp / "big.png"); });
  EXPECT_NE(msg.find("big.png: not a PNG file"), std::string::npos) << msg;
#endif
}

// --- The commands -------------------------------------------------------------------------------

using testing::last_json_line;
using testing::run_sapnet;

std::string quoted(const std::string &path) {
  return "'" + path + "'";
}

#define SAPNET_REQUIRE_EXE() \
  if (!std::getenv("SAPNET_EXE")) GTEST_SKIP() << "SAPNET_EXE is not set (run through meson test)"

TEST(EvalCommands, Help) {
  SAPNET_REQUIRE_EXE();
  for (const char *sub : {"eval-detect", "eval-segment"}) {
    const auto r = run_sapnet(std::string(sub) + " --help");
    EXPECT_EQ(r.status, 0) << sub << r.out;
    EXPECT_NE(r.out.find("Usage"), std::string::npos) << sub << r.out;
  }
  EXPECT_NE(run_sapnet("eval-detect").status, 0);  // --annotations and --detections are required
}

TEST(EvalCommands, EvalDetectMatchesPycocotools) {
  SAPNET_REQUIRE_EXE();
  testing::TempDir tmp;
  std::ofstream(tmp / "gt.json") << kReferenceGt;
  std::ofstream(tmp / "dt.json") << kReferenceDt;
  const std::string args = "eval-detect --annotations " + quoted(tmp / "gt.json") +
                           " --detections " + quoted(tmp / "dt.json");
  auto r = run_sapnet(args + " --json");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = last_json_line(r.out);
  EXPECT_NEAR(j["AP"].get<double>(), kPycocotoolsStats[0], kTol);
  EXPECT_NEAR(j["AP50"].get<double>(), kPycocotoolsStats[1], kTol);
  EXPECT_NEAR(j["AP75"].get<double>(), kPycocotoolsStats[2], kTol);
  EXPECT_NEAR(j["APs"].get<double>(), kPycocotoolsStats[3], kTol);
  EXPECT_NEAR(j["APm"].get<double>(), kPycocotoolsStats[4], kTol);
  EXPECT_NEAR(j["APl"].get<double>(), kPycocotoolsStats[5], kTol);
  EXPECT_NEAR(j["AR100"].get<double>(), kPycocotoolsStats[8], kTol);
  EXPECT_EQ(j["per_category"]["bus"], -1);

  r = run_sapnet(args);  // COCO's summary lines
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] "
                       "= 0.296"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] "
                       "= 0.567"),
            std::string::npos)
      << r.out;
}

TEST(EvalCommands, EvalDetectErrorsNameTheFile_n) {
  SAPNET_REQUIRE_EXE();
  testing::TempDir tmp;
  std::ofstream(tmp / "gt.json") << kReferenceGt;
  std::ofstream(tmp / "broken.json") << "{\"images\": [";
  std::ofstream(tmp / "elsewhere.json")
      << R"([{"image_id": 99, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}])";
  auto r = run_sapnet("eval-detect --annotations " + quoted(tmp / "broken.json") +
                      " --detections " + quoted(tmp / "gt.json"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("broken.json"), std::string::npos) << r.out;
  r = run_sapnet("eval-detect --annotations " + quoted(tmp / "gt.json") + " --detections " +
                 quoted(tmp / "missing.json"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("missing.json"), std::string::npos) << r.out;
  r = run_sapnet("eval-detect --annotations " + quoted(tmp / "gt.json") + " --detections " +
                 quoted(tmp / "elsewhere.json"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("elsewhere.json"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("image_id 99"), std::string::npos) << r.out;
}

TEST(EvalCommands, EvalSegmentJson) {
  SAPNET_REQUIRE_EXE();
  if (!SAPNET_HAVE_OPENCV) GTEST_SKIP() << "built without OpenCV";
  testing::TempDir tmp;
  write_label_folders(tmp);
  std::ofstream(tmp / "names.txt") << "sky\nroad\ncar\n";
  auto r =
      run_sapnet("eval-segment --gt " + quoted(tmp / "gt") + " --pred " + quoted(tmp / "pred") +
                 " --num-classes 3 --class-names " + quoted(tmp / "names.txt") + " --json");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = last_json_line(r.out);
  EXPECT_NEAR(j["mIoU"].get<double>(), 0.5, kTol);
  EXPECT_NEAR(j["mPA"].get<double>(), 2.0 / 3, kTol);
  EXPECT_NEAR(j["pixel_accuracy"].get<double>(), 4.0 / 6, kTol);
  EXPECT_EQ(j["images"], 2);
  EXPECT_EQ(j["classes"], (nlohmann::json{"sky", "road", "car"}));
  ASSERT_EQ(j["IoU"].size(), 3u);
  EXPECT_NEAR(j["IoU"][1].get<double>(), 2.0 / 3, kTol);
  EXPECT_NEAR(j["PA"][0].get<double>(), 0.5, kTol);

  // The table; 19 classes are named as Cityscapes' train ids, absent ones shown as such.
  r = run_sapnet("eval-segment --gt " + quoted(tmp / "gt") + " --pred " + quoted(tmp / "pred") +
                 " --num-classes 19");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("sidewalk"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bicycle"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("mIoU"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("50.00"), std::string::npos) << r.out;  // mIoU in percent
}

TEST(EvalCommands, EvalSegmentErrorsNameTheFile_n) {
  SAPNET_REQUIRE_EXE();
  if (!SAPNET_HAVE_OPENCV) GTEST_SKIP() << "built without OpenCV";
  testing::TempDir tmp;
  write_label_folders(tmp);
  const std::string dirs = " --gt " + quoted(tmp / "gt") + " --pred " + quoted(tmp / "pred");
  std::ofstream(tmp / "two.txt") << "sky\nroad\n";
  auto r = run_sapnet("eval-segment" + dirs + " --num-classes 3 --class-names " +
                      quoted(tmp / "two.txt"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("two.txt"), std::string::npos) << r.out;
  r = run_sapnet("eval-segment" + dirs + " --num-classes 2");  // class id 2 in the maps
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find(".png"), std::string::npos) << r.out;
  std::filesystem::remove(tmp / "pred/b.png");
  r = run_sapnet("eval-segment" + dirs + " --num-classes 3");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("b.png"), std::string::npos) << r.out;
}

// --class-names goes through the one class-name reader (model/perception/label_files.h): CRs,
// trailing spaces and empty lines at the end are dropped, and line N names class N, so an empty
// line inside the file is a name of its own (it no longer shifts the classes after it).
TEST(EvalCommands, EvalSegmentClassNamesFollowTheLabelsFileRules) {
  SAPNET_REQUIRE_EXE();
  if (!SAPNET_HAVE_OPENCV) GTEST_SKIP() << "built without OpenCV";
  testing::TempDir tmp;
  write_label_folders(tmp);
  const std::string dirs = " --gt " + quoted(tmp / "gt") + " --pred " + quoted(tmp / "pred");
  std::ofstream(tmp / "dos.txt") << "sky \r\nroad\r\ncar  \r\n\r\n\n";
  auto r = run_sapnet("eval-segment" + dirs + " --num-classes 3 --json --class-names " +
                      quoted(tmp / "dos.txt"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(last_json_line(r.out)["classes"], (nlohmann::json{"sky", "road", "car"}));
  std::ofstream(tmp / "gap.txt") << "sky\n\nroad\n";
  r = run_sapnet("eval-segment" + dirs + " --num-classes 3 --json --class-names " +
                 quoted(tmp / "gap.txt"));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(last_json_line(r.out)["classes"], (nlohmann::json{"sky", "class-1", "road"}));
  std::ofstream(tmp / "gap4.txt") << "sky\n\nroad\ncar\n";
  r = run_sapnet("eval-segment" + dirs + " --num-classes 3 --class-names " +
                 quoted(tmp / "gap4.txt"));
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("4 class names, expected 3"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace sapnet
