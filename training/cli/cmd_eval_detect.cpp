// sapnet eval-detect: COCO bounding-box AP of a detection results file, as pycocotools reports it.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "metrics/detection_metrics.h"

namespace sapnet::cli {
namespace {

struct EvalDetectArgs {
  std::string annotations, detections;
  bool json = false;
};

// One line of COCOeval.summarize().
void print_line(bool precision, const char *iou, const char *area, int max_dets, double value) {
  std::printf(" %-18s %s @[ IoU=%-9s | area=%6s | maxDets=%3d ] = %0.3f\n",
              precision ? "Average Precision" : "Average Recall", precision ? "(AP)" : "(AR)", iou,
              area, max_dets, value);
}

void run_eval_detect(const EvalDetectArgs &args) {
  const DetectionSummary s = evaluate_detection_files(args.annotations, args.detections);
  if (args.json) {
    nlohmann::json per_category = nlohmann::json::object();
    for (size_t k = 0; k < s.categories.size(); ++k) {
      const CocoCategory &c = s.categories[k];
      per_category[c.name.empty() ? std::to_string(c.id) : c.name] = s.category_ap[k];
    }
    const nlohmann::json out = {{"AP", s.ap},
                                {"AP50", s.ap50},
                                {"AP75", s.ap75},
                                {"APs", s.ap_small},
                                {"APm", s.ap_medium},
                                {"APl", s.ap_large},
                                {"AR1", s.ar1},
                                {"AR10", s.ar10},
                                {"AR100", s.ar100},
                                {"ARs", s.ar_small},
                                {"ARm", s.ar_medium},
                                {"ARl", s.ar_large},
                                {"images", s.images},
                                {"annotations", s.ground_truths},
                                {"detections", s.detections},
                                {"per_category", per_category}};
    std::printf("%s\n", out.dump().c_str());
    return;
  }
  std::printf("%zu images, %zu categories, %zu annotations, %zu detections\n", s.images,
              s.categories.size(), s.ground_truths, s.detections);
  print_line(true, "0.50:0.95", "all", 100, s.ap);
  print_line(true, "0.50", "all", 100, s.ap50);
  print_line(true, "0.75", "all", 100, s.ap75);
  print_line(true, "0.50:0.95", "small", 100, s.ap_small);
  print_line(true, "0.50:0.95", "medium", 100, s.ap_medium);
  print_line(true, "0.50:0.95", "large", 100, s.ap_large);
  print_line(false, "0.50:0.95", "all", 1, s.ar1);
  print_line(false, "0.50:0.95", "all", 10, s.ar10);
  print_line(false, "0.50:0.95", "all", 100, s.ar100);
  print_line(false, "0.50:0.95", "small", 100, s.ar_small);
  print_line(false, "0.50:0.95", "medium", 100, s.ar_medium);
  print_line(false, "0.50:0.95", "large", 100, s.ar_large);
  std::printf("\n%-8s %-24s %s\n", "id", "category", "AP");
  for (size_t k = 0; k < s.categories.size(); ++k) {
    const double ap = s.category_ap[k];
    if (ap < 0)
      std::printf("%-8lld %-24s %s\n", static_cast<long long>(s.categories[k].id),
                  s.categories[k].name.c_str(), "-  (no ground truth)");
    else
      std::printf("%-8lld %-24s %.3f\n", static_cast<long long>(s.categories[k].id),
                  s.categories[k].name.c_str(), ap);
  }
}

}  // namespace

void add_eval_detect(CLI::App &app) {
  auto args = std::make_shared<EvalDetectArgs>();
  auto *cmd = app.add_subcommand(
      "eval-detect",
      "COCO bounding-box AP/AR of detections (pycocotools' COCOeval summary; -1: no ground truth)");
  cmd->add_option("--annotations", args->annotations,
                  "Ground truth, COCO format (images, annotations, categories)")
      ->required();
  cmd->add_option("--detections", args->detections,
                  "Detections, COCO results format [{image_id, category_id, bbox, score}]")
      ->required();
  cmd->add_flag("--json", args->json,
                "Print one JSON object {AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, "
                "ARl, per_category, ...}");
  cmd->callback([args] { run_eval_detect(*args); });
}

}  // namespace sapnet::cli
