// sapnet eval-segment: per-class IoU and pixel accuracy, mIoU and mPA of predicted label maps
// against ground-truth label maps (8-bit PNGs of class ids, paired by file name).
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "error.h"
#include "metrics/segmentation_metrics.h"
#include "perception/label_files.h"
#include "train/progress.h"

namespace sapnet::cli {
namespace {

struct EvalSegmentArgs {
  std::string gt, pred, class_names;
  int num_classes = 0;
  int ignore = 255;
  bool json = false;
};

std::vector<std::string> class_names(const EvalSegmentArgs &args) {
  std::vector<std::string> names;
  if (!args.class_names.empty()) {
    names = read_class_names(args.class_names);
    if (static_cast<int>(names.size()) != args.num_classes)
      throw Error(args.class_names + ": " + std::to_string(names.size()) +
                  " class names, expected " + std::to_string(args.num_classes) + " (one per line)");
    for (int c = 0; c < args.num_classes; ++c) names[c] = class_name(names, c);  // empty lines
    return names;
  }
  if (args.num_classes == static_cast<int>(cityscapes_class_names().size()))
    return cityscapes_class_names();
  for (int c = 0; c < args.num_classes; ++c) names.push_back("class " + std::to_string(c));
  return names;
}

// NaN (undefined) becomes JSON null.
nlohmann::json number_or_null(double v) {
  return std::isnan(v) ? nlohmann::json() : nlohmann::json(v);
}

void print_percent(double v) {
  if (std::isnan(v))
    std::printf(" %8s", "-");
  else
    std::printf(" %8.2f", 100 * v);
}

void run_eval_segment(const EvalSegmentArgs &args) {
  const std::vector<std::string> names = class_names(args);
  std::unique_ptr<Progress> progress;
  size_t images = 0;
  const ConfusionMatrix cm = score_label_folders(
      args.gt, args.pred, args.num_classes, args.ignore, [&](size_t done, size_t total) {
        if (!progress) progress = std::make_unique<Progress>("eval-segment", total);
        progress->update(done);
        images = done;
      });
  if (progress) progress->finish();
  const SegmentationScores s = cm.scores();
  if (args.json) {
    nlohmann::json iou = nlohmann::json::array(), pa = nlohmann::json::array();
    for (int c = 0; c < args.num_classes; ++c) {
      iou.push_back(number_or_null(s.iou[c]));
      pa.push_back(number_or_null(s.pixel_accuracy[c]));
    }
    const nlohmann::json out = {{"mIoU", number_or_null(s.mean_iou)},
                                {"mPA", number_or_null(s.mean_pixel_accuracy)},
                                {"pixel_accuracy", number_or_null(s.overall_pixel_accuracy)},
                                {"classes", names},
                                {"IoU", iou},
                                {"PA", pa},
                                {"images", images},
                                {"pixels", cm.counted_pixels()}};
    std::printf("%s\n", out.dump().c_str());
    return;
  }
  std::printf("%zu images, %llu pixels scored (ground truth %d ignored)\n\n", images,
              static_cast<unsigned long long>(cm.counted_pixels()), args.ignore);
  std::printf("%-4s %-20s %8s %8s\n", "id", "class", "IoU %", "PA %");
  for (int c = 0; c < args.num_classes; ++c) {
    std::printf("%-4d %-20s", c, names[c].c_str());
    print_percent(s.iou[c]);
    print_percent(s.pixel_accuracy[c]);
    std::printf("%s\n", std::isnan(s.iou[c])              ? "   (absent from both)"
                        : std::isnan(s.pixel_accuracy[c]) ? "   (not in ground truth)"
                                                          : "");
  }
  std::printf("\n%-25s", "mIoU");
  print_percent(s.mean_iou);
  std::printf("\n%-25s", "mPA");
  print_percent(s.mean_pixel_accuracy);
  std::printf("\n%-25s", "pixel accuracy");
  print_percent(s.overall_pixel_accuracy);
  std::printf("\n");
}

}  // namespace

void add_eval_segment(CLI::App &app) {
  auto args = std::make_shared<EvalSegmentArgs>();
  auto *cmd = app.add_subcommand(
      "eval-segment",
      "Per-class IoU and pixel accuracy, mIoU and mPA of label-map PNGs (paired by file name). "
      "mIoU averages the classes present in the ground truth or the prediction, mPA those in "
      "the ground truth");
  cmd->add_option("--gt", args->gt, "Folder of ground-truth label PNGs (8-bit class ids)")
      ->required();
  cmd->add_option("--pred", args->pred, "Folder of predicted label PNGs, same file names")
      ->required();
  cmd->add_option("--num-classes", args->num_classes, "Number of classes (ids 0..N-1)")
      ->required()
      ->check(CLI::Range(1, 255));
  cmd->add_option("--ignore", args->ignore,
                  "Ground-truth id not scored (a predicted one counts as a miss)")
      ->capture_default_str()
      ->check(CLI::Range(0, 255));
  cmd->add_option("--class-names", args->class_names,
                  "File with one class name per line (default: Cityscapes' train-ID names when N "
                  "is 19)");
  cmd->add_flag("--json", args->json,
                "Print one JSON object {mIoU, mPA, pixel_accuracy, classes, IoU, PA, images}");
  cmd->callback([args] { run_eval_segment(*args); });
}

}  // namespace sapnet::cli
