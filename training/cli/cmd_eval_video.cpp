// sapnet eval-video: per-frame PSNR/SSIM and temporal stability (the warping error of Lai et al.,
// ECCV 2018) of a derained video, against its clean original when there is one.
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

#include "commands.h"
#include "data/video_reader.h"
#include "error.h"
#include "metrics/metrics.h"
#include "metrics/warping_error.h"
#include "model_options.h"
#include "temporal_smoother.h"
#include "train/plot.h"
#include "train/progress.h"

namespace sapnet::cli {
namespace {

struct EvalVideoArgs {
  ModelOptions model;
  std::string rainy, clean, plot;
  bool identity = false;
  bool json = false;
  size_t limit = 0;
  int max_side = 0;
  TemporalSmoothing temporal{0.0f};  // off unless --temporal
};

// Per-frame figures of one version of the clip (rainy input, derained output or clean original).
struct Track {
  std::vector<double> psnr, ssim;  // against the clean frame (empty without one)
  std::vector<double> warp;        // frame t against frame t-1 warped, t >= 1
};

double mean(const std::vector<double> &v) {
  if (v.empty()) return NAN;
  double s = 0;
  for (double x : v) s += x;
  return s / v.size();
}

nlohmann::json summary(const Track &t) {
  nlohmann::json j = {{"warping_error", mean(t.warp)}};
  if (!t.psnr.empty()) j["psnr"] = mean(t.psnr), j["ssim"] = mean(t.ssim);
  return j;
}

void check_same_size(const RgbImage &a, const RgbImage &b, const std::string &what, size_t frame) {
  if (a.width != b.width || a.height != b.height)
    throw Error(what + ": frame " + std::to_string(frame) + " is " + std::to_string(b.width) + "x" +
                std::to_string(b.height) + ", the rainy frame " + std::to_string(a.width) + "x" +
                std::to_string(a.height));
}

void run_eval_video(const EvalVideoArgs &args) {
  VideoReader rainy_video(args.rainy, args.max_side);
  std::optional<VideoReader> clean_video;
  if (!args.clean.empty()) clean_video.emplace(args.clean, args.max_side);
  std::unique_ptr<Engine> engine;
  if (!args.identity) engine = args.model.make_engine();
  // What sapnetderain's temporal mode does to the output, so that its effect can be measured.
  TemporalSmoother smoother(args.temporal);

  size_t total = rainy_video.frame_count();
  if (args.limit && (total == 0 || total > args.limit)) total = args.limit;
  Progress progress("eval-video", total);
  Track rainy, derained, clean;
  RgbImage rainy_frame, out_frame, clean_frame, prev_rainy, prev_out, prev_clean;
  size_t frames = 0;
  while ((!args.limit || frames < args.limit) && rainy_video.next(rainy_frame)) {
    if (clean_video) {
      if (!clean_video->next(clean_frame))
        throw Error(args.clean + " ends after " + std::to_string(frames) + " frame(s), before " +
                    args.rainy);
      check_same_size(rainy_frame, clean_frame, args.clean, frames);
    }
    out_frame = rainy_frame;
    if (engine) engine->process(out_frame.view(), out_frame.view());
    if (args.temporal.strength > 0) smoother.apply(out_frame.view());
    if (clean_video) {
      rainy.psnr.push_back(psnr(rainy_frame, clean_frame));
      rainy.ssim.push_back(ssim(rainy_frame, clean_frame));
      derained.psnr.push_back(psnr(out_frame, clean_frame));
      derained.ssim.push_back(ssim(out_frame, clean_frame));
    }
    if (frames > 0) {
      // The motion comes from the clean video when there is one (every version is judged against
      // the same motion), else from the output itself.
      const FrameMotion motion =
          clean_video ? FrameMotion(prev_clean, clean_frame) : FrameMotion(prev_out, out_frame);
      derained.warp.push_back(motion.warping_error(prev_out, out_frame));
      if (clean_video) {
        rainy.warp.push_back(motion.warping_error(prev_rainy, rainy_frame));
        clean.warp.push_back(motion.warping_error(prev_clean, clean_frame));
      }
    }
    std::swap(prev_rainy, rainy_frame);
    std::swap(prev_out, out_frame);
    std::swap(prev_clean, clean_frame);
    ++frames;
    char note[64] = "";
    if (!derained.psnr.empty()) std::snprintf(note, sizeof note, "psnr %.2f", derained.psnr.back());
    progress.update(frames, note);
  }
  progress.finish();
  if (frames < 2) throw Error(args.rainy + ": the warping error needs at least 2 frames");

  const char *output_name = engine ? "derained" : "output (no model)";
  nlohmann::json result = {{"frames", frames}, {"flow_from", clean_video ? "clean" : "output"}};
  result["derained"] = summary(derained);
  result["derained"]["per_frame"] = {{"warping_error", derained.warp}};
  if (clean_video) {
    result["rainy"] = summary(rainy);
    result["clean"] = summary(clean);
    result["rainy"]["per_frame"] = {
        {"psnr", rainy.psnr}, {"ssim", rainy.ssim}, {"warping_error", rainy.warp}};
    result["derained"]["per_frame"]["psnr"] = derained.psnr;
    result["derained"]["per_frame"]["ssim"] = derained.ssim;
    result["clean"]["per_frame"] = {{"warping_error", clean.warp}};
  }
  if (!args.plot.empty()) {
    std::vector<PlotPanel> panels;
    if (clean_video)
      panels.push_back(
          {"PSNR (dB) per frame", {{"rainy", rainy.psnr}, {output_name, derained.psnr}}});
    PlotPanel warp{"warping error per frame (x 1000)", {}};
    auto scaled = [](std::vector<double> v) {
      for (double &x : v) x *= 1000;
      return v;
    };
    if (clean_video) warp.series.push_back({"rainy", scaled(rainy.warp)});
    warp.series.push_back({output_name, scaled(derained.warp)});
    if (clean_video) warp.series.push_back({"clean", scaled(clean.warp)});
    panels.push_back(warp);
    write_plot(args.plot, panels);
  }
  if (args.json) {
    std::printf("%s\n", result.dump().c_str());
    return;
  }
  std::printf("%zu frames; motion from the %s frames; warping error x 1000 (lower is steadier)\n",
              frames, clean_video ? "clean" : "output");
  std::printf("%-20s %9s %8s %14s\n", "", "PSNR", "SSIM", "warping error");
  auto row = [&](const char *name, const Track &t) {
    if (t.psnr.empty())
      std::printf("%-20s %9s %8s %14.4f\n", name, "-", "-", 1000 * mean(t.warp));
    else
      std::printf("%-20s %9.2f %8.4f %14.4f\n", name, mean(t.psnr), mean(t.ssim),
                  1000 * mean(t.warp));
  };
  if (clean_video) row("rainy", rainy);
  row(output_name, derained);
  if (clean_video) row("clean", clean);
}

}  // namespace

void add_eval_video(CLI::App &app) {
  auto args = std::make_shared<EvalVideoArgs>();
  auto *cmd = app.add_subcommand(
      "eval-video",
      "Temporal stability of a derained video: the warping error (Lai et al., ECCV 2018; DIS "
      "optical flow, occlusions masked) of the rainy input, the output and the clean original, "
      "and per-frame PSNR/SSIM against it");
  cmd->add_option("rainy", args->rainy, "Rainy video file or folder of frames (name order)")
      ->required();
  cmd->add_option("--clean", args->clean,
                  "Its clean original (video or folder, same frames); without it, the warping "
                  "error of the output alone, with the motion measured on the output");
  cmd->add_flag("--identity", args->identity, "Score the rainy input itself (no model)");
  cmd->add_flag("--json", args->json, "Print one JSON object (means and per-frame figures)");
  cmd->add_option("--plot", args->plot, "Write the per-frame figures as a PNG plot");
  cmd->add_option("--limit", args->limit, "Use only the first N frames (0 = all)");
  cmd->add_option("--max-side", args->max_side,
                  "Shrink frames so that the longer side is at most this (0 = as they are)")
      ->check(CLI::Range(0, 65536));
  cmd->add_option("--temporal", args->temporal.strength,
                  "Steady the output as sapnetderain's temporal mode does: the share of the "
                  "previous output a still pixel keeps (0 = off)")
      ->check(CLI::Range(0.0, 0.95));
  cmd->add_option("--temporal-still", args->temporal.still,
                  "Largest change (8-bit levels) of a pixel that counts as still")
      ->capture_default_str();
  cmd->add_option("--temporal-moving", args->temporal.moving,
                  "Smallest change that counts as motion (the new frame is taken as it is)")
      ->capture_default_str();
  cmd->add_option("--temporal-camera", args->temporal.camera_motion,
                  "Share of moving pixels above which the camera counts as moving (the frame is "
                  "taken as it is)")
      ->capture_default_str();
  args->model.add_to(*cmd);
  cmd->callback([args] {
    args->temporal.validate();
    run_eval_video(*args);
  });
}

}  // namespace sapnet::cli
