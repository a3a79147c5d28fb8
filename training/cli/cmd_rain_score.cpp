// sapnet rain-score: the per-frame rain score sapnetderain's skip-dry and rain meta use
// (Engine::rain_score), over videos or folders of frames, to choose a dry-threshold and to see how
// well the score tells dry from rainy frames.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "data/video_reader.h"
#include "error.h"
#include "model_options.h"
#include "rain_gate.h"
#include "train/progress.h"

namespace sapnet::cli {
namespace {

struct RainScoreArgs {
  ModelOptions model;
  std::vector<std::string> clips;
  double threshold = kDefaultDryThreshold;
  size_t limit = 0;
  int max_side = 0;
  bool json = false;
};

struct ClipScores {
  std::string path;
  std::vector<double> scores;
  double seconds = 0;  // scoring time, decoding excluded
};

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[size_t(q * (v.size() - 1) + 0.5)];
}

void run_rain_score(const RainScoreArgs &args) {
  auto engine = args.model.make_engine();
  std::vector<ClipScores> clips;
  for (const auto &path : args.clips) {
    VideoReader video(path, args.max_side);
    ClipScores c{path, {}, 0};
    const size_t total =
        args.limit ? std::min(args.limit, video.frame_count()) : video.frame_count();
    Progress progress("rain-score " + path, total);
    RgbImage frame;
    while ((!args.limit || c.scores.size() < args.limit) && video.next(frame)) {
      const auto t0 = std::chrono::steady_clock::now();
      c.scores.push_back(engine->rain_score(frame.view()));
      c.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      progress.update(c.scores.size());
    }
    progress.finish();
    if (c.scores.empty()) throw Error(path + ": no frames");
    clips.push_back(std::move(c));
  }
  auto over = [&](const ClipScores &c) {
    return std::count_if(c.scores.begin(), c.scores.end(),
                         [&](double s) { return s >= args.threshold; });
  };
  if (args.json) {
    nlohmann::json out = {{"threshold", args.threshold}, {"clips", nlohmann::json::array()}};
    for (const auto &c : clips)
      out["clips"].push_back({{"clip", c.path},
                              {"frames", c.scores.size()},
                              {"min", quantile(c.scores, 0)},
                              {"median", quantile(c.scores, 0.5)},
                              {"max", quantile(c.scores, 1)},
                              {"rainy_frames", over(c)},
                              {"ms_per_frame", 1000 * c.seconds / c.scores.size()},
                              {"scores", c.scores}});
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("%-40s %7s %7s %7s %7s %13s %9s\n", "clip", "frames", "min", "median", "max",
              "over thresh.", "ms/frame");
  for (const auto &c : clips)
    std::printf("%-40s %7zu %7.2f %7.2f %7.2f %6ld (%3.0f%%) %9.1f\n", c.path.c_str(),
                c.scores.size(), quantile(c.scores, 0), quantile(c.scores, 0.5),
                quantile(c.scores, 1), long(over(c)), 100.0 * over(c) / c.scores.size(),
                1000 * c.seconds / c.scores.size());
}

}  // namespace

void add_rain_score(CLI::App &app) {
  auto args = std::make_shared<RainScoreArgs>();
  auto *cmd = app.add_subcommand(
      "rain-score",
      "Per-frame rain score (what sapnetderain's skip-dry and rain meta measure: the mean "
      "absolute rain layer the first stage finds on the frame shrunk to 128 px, in 8-bit "
      "levels) of videos or folders of frames: min, median, max and the frames at or over "
      "--threshold");
  args->model.add_to(*cmd);
  cmd->add_option("clips", args->clips, "Videos or folders of frames")->required();
  cmd->add_option("--threshold", args->threshold,
                  "Count frames scoring at least this (sapnetderain's dry-threshold)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 255.0));
  cmd->add_option("--limit", args->limit, "At most this many frames per clip (0: all)");
  cmd->add_option("--max-side", args->max_side, "Shrink frames to this longer side first (0: no)")
      ->check(CLI::Range(0, 100000));
  cmd->add_flag("--json", args->json, "JSON with every frame's score instead of the table");
  cmd->callback([args] { run_rain_score(*args); });
}

}  // namespace sapnet::cli
