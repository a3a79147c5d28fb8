// The warping error (Lai et al. 2018) and `sapnet eval-video`: motion is followed, flicker and
// rain that moves unlike the scene are counted, frames out of step are refused.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "data/image.h"
#include "error.h"
#include "metrics/warping_error.h"
#include "run_sapnet.h"

namespace fs = std::filesystem;

namespace sapnet {
namespace {

using testing::run_sapnet;

// A window of a smooth, aperiodic texture, moved by (dx, dy) pixels per frame: a camera pan.
RgbImage panned(int frame, int dx = 2, int dy = 1, int w = 96, int h = 72) {
  RgbImage img(w, h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const double u = x + frame * dx, v = y + frame * dy;
      const double t = std::sin(u * 0.21) * std::cos(v * 0.17) +
                       0.5 * std::sin((u + 2 * v) * 0.09) + 0.3 * std::cos(u * 0.05 - v * 0.13);
      for (int c = 0; c < 3; ++c)
        img.pixels[(size_t(y) * w + x) * 3 + c] = uint8_t(std::lround(120 + 55 * t + 10 * c));
    }
  return img;
}

RgbImage brighter(RgbImage img, int by) {
  for (auto &p : img.pixels) p = uint8_t(std::min(255, p + by));
  return img;
}

TEST(WarpingError, FollowsAPanAndCountsABrightnessJumpExactly) {
  if (!image_io_available()) GTEST_SKIP() << "this build has no OpenCV";
  const RgbImage a = panned(0), b = panned(1);
  const FrameMotion motion(a, b);
  EXPECT_GT(motion.visible_fraction(), 0.8);
  // The scene itself, warped along its own motion, nearly matches (interpolation only) ...
  const double steady = motion.warping_error(a, b);
  EXPECT_LT(steady, 2e-4);
  // ... while the unwarped frames differ a lot: the flow is really followed.
  EXPECT_GT(FrameMotion(a, a).warping_error(a, b), 20 * steady + 1e-3);
  // A uniform jump of 10 levels in every channel costs 3 (10/255)^2 on every visible pixel.
  const double jump = motion.warping_error(a, brighter(b, 10));
  EXPECT_NEAR(jump - steady, 3 * std::pow(10 / 255.0, 2), 4e-4);
}

TEST(WarpingError, ARefusesFramesOfAnotherSize_n) {
  if (!image_io_available()) GTEST_SKIP() << "this build has no OpenCV";
  EXPECT_THROW(FrameMotion(panned(0), panned(1, 2, 1, 64, 48)), Error);
  const FrameMotion motion(panned(0), panned(1));
  EXPECT_THROW(motion.warping_error(panned(0, 2, 1, 64, 48), panned(1, 2, 1, 64, 48)), Error);
}

class EvalVideo : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!image_io_available()) GTEST_SKIP() << "this build has no image codecs (OpenCV)";
    dir_ = fs::temp_directory_path() / ("sapnet-eval-video-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "clean");
    fs::create_directories(dir_ / "flicker");
    // The "rainy" clip flickers: every other frame 12 levels brighter.
    for (int k = 0; k < 4; ++k) {
      const std::string name = "f" + std::to_string(k) + ".png";
      write_image((dir_ / "clean" / name).string(), panned(k));
      write_image((dir_ / "flicker" / name).string(), k % 2 ? brighter(panned(k), 12) : panned(k));
    }
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::string path(const std::string &name) const { return "'" + (dir_ / name).string() + "'"; }
  fs::path dir_;
};

TEST_F(EvalVideo, ScoresTheInputTheOutputAndTheCleanClip) {
  auto r = run_sapnet("eval-video " + path("flicker") + " --clean " + path("clean") +
                      " --identity --json --plot " + path("plot.png"));
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = testing::last_json_line(r.out);
  EXPECT_EQ(j["frames"], 4);
  EXPECT_EQ(j["flow_from"], "clean");
  ASSERT_EQ(j["rainy"]["per_frame"]["warping_error"].size(), 3u);
  ASSERT_EQ(j["rainy"]["per_frame"]["psnr"].size(), 4u);
  // Without a model the output is the input.
  EXPECT_EQ(j["rainy"]["warping_error"], j["derained"]["warping_error"]);
  // Each step of the flicker costs about 3 (12/255)^2; the clean clip is steady.
  const double flicker = j["rainy"]["warping_error"], clean = j["clean"]["warping_error"];
  EXPECT_NEAR(flicker - clean, 3 * std::pow(12 / 255.0, 2), 1e-3);
  EXPECT_LT(clean, 2e-4);
  // Frame 0 is unchanged: infinite PSNR is not averaged into a finite mean by accident.
  EXPECT_TRUE(j["rainy"]["per_frame"]["psnr"][0].is_null() ||
              !std::isfinite(j["rainy"]["per_frame"]["psnr"][0].get<double>()));
  EXPECT_TRUE(fs::file_size(dir_ / "plot.png") > 1000);
}

TEST_F(EvalVideo, WithoutACleanClipTheOutputAloneIsScored) {
  auto r = run_sapnet("eval-video " + path("flicker") + " --identity --json");
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = testing::last_json_line(r.out);
  EXPECT_EQ(j["flow_from"], "output");
  EXPECT_FALSE(j.contains("rainy"));
  EXPECT_GT(j["derained"]["warping_error"].get<double>(), 1e-3);
}

TEST_F(EvalVideo, ClipsOutOfStepAreRefused_n) {
  fs::remove(dir_ / "clean" / "f3.png");
  auto r =
      run_sapnet("eval-video " + path("flicker") + " --clean " + path("clean") + " --identity");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("ends after 3 frame(s)"), std::string::npos) << r.out;
  auto one = run_sapnet("eval-video " + path("flicker") + " --identity --limit 1");
  EXPECT_EQ(one.status, 1) << one.out;
  EXPECT_NE(one.out.find("at least 2 frames"), std::string::npos) << one.out;
}

}  // namespace
}  // namespace sapnet
