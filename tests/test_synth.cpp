// `sapnet synth`: a paired test set made from clean images and a seed, the same on every run.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "data/image.h"
#include "run_sapnet.h"
#include "shared_data.h"

namespace fs = std::filesystem;

namespace sapnet {
namespace {

using testing::run_sapnet;

std::string bytes_of(const fs::path &p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}

class Synth : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!image_io_available()) GTEST_SKIP() << "this build has no image codecs (OpenCV)";
    dir_ = fs::temp_directory_path() / ("sapnet-synth-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "clean");
    // Three smooth images of different sizes; the second is larger than --max-side.
    const int sizes[3][2] = {{64, 48}, {200, 90}, {40, 40}};
    for (int k = 0; k < 3; ++k) {
      RgbImage img(sizes[k][0], sizes[k][1]);
      for (int y = 0; y < img.height; ++y)
        for (int x = 0; x < img.width; ++x)
          for (int c = 0; c < 3; ++c)
            img.pixels[(size_t(y) * img.width + x) * 3 + c] =
                uint8_t(40 + (x + 2 * y + 30 * c) % 120);
      write_image((dir_ / "clean" / ("img" + std::to_string(k) + ".png")).string(), img);
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  testing::Result synth(const std::string &out, const std::string &flags) {
    return run_sapnet("synth '" + (dir_ / "clean").string() + "' -o '" + (dir_ / out).string() +
                      "' " + flags);
  }
  fs::path dir_;
};

TEST_F(Synth, WritesAPairedSetThatEvalScoresAndRemakesItExactly) {
  auto r = synth("a", "--seed 3 --max-side 100");
  ASSERT_EQ(r.status, 0) << r.out;
  for (const char *name : {"0001.png", "0002.png", "0003.png"}) {
    ASSERT_TRUE(fs::exists(dir_ / "a" / "input" / name)) << name;
    ASSERT_TRUE(fs::exists(dir_ / "a" / "target" / name)) << name;
  }
  // Targets are the clean images (shrunk to --max-side); inputs carry rain.
  const RgbImage target = read_image((dir_ / "a" / "target" / "0002.png").string());
  EXPECT_EQ(target.width, 100);
  EXPECT_EQ(target.height, 45);
  EXPECT_NE(bytes_of(dir_ / "a" / "input" / "0001.png"),
            bytes_of(dir_ / "a" / "target" / "0001.png"));

  // The rainy inputs score as rain does: far from the targets, but not noise.
  auto scored = run_sapnet("eval --identity --json '" + (dir_ / "a").string() + "'");
  ASSERT_EQ(scored.status, 0) << scored.out;
  const auto scores = testing::last_json_line(scored.out);
  EXPECT_EQ(scores["count"], 3);
  EXPECT_GT(scores["psnr"].get<double>(), 5.0);
  EXPECT_LT(scores["psnr"].get<double>(), 30.0);

  // The manifest names sources by file name only and records every image's rain.
  const auto manifest = nlohmann::json::parse(bytes_of(dir_ / "a" / "rain.json"));
  EXPECT_EQ(manifest["seed"], 3);
  ASSERT_EQ(manifest["pairs"].size(), 3u);
  EXPECT_EQ(manifest["pairs"][0]["source"], "img0.png");
  EXPECT_GE(manifest["pairs"][0]["rain"]["layers"].get<int>(), 2);  // heavy by default

  // Same seed: the same bytes; another seed or light rain: other rain.
  ASSERT_EQ(synth("b", "--seed 3 --max-side 100").status, 0);
  ASSERT_EQ(synth("c", "--seed 4 --max-side 100").status, 0);
  ASSERT_EQ(synth("d", "--seed 3 --max-side 100 --heavy-fraction 0").status, 0);
  const auto first = bytes_of(dir_ / "a" / "input" / "0001.png");
  EXPECT_EQ(first, bytes_of(dir_ / "b" / "input" / "0001.png"));
  EXPECT_NE(first, bytes_of(dir_ / "c" / "input" / "0001.png"));
  EXPECT_NE(first, bytes_of(dir_ / "d" / "input" / "0001.png"));
  EXPECT_EQ(nlohmann::json::parse(bytes_of(dir_ / "d" / "rain.json"))["pairs"][0]["rain"]["layers"],
            1);
}

TEST_F(Synth, NeverWritesIntoAnExistingSet_n) {
  ASSERT_EQ(synth("a", "--limit 1").status, 0);
  const auto before = bytes_of(dir_ / "a" / "input" / "0001.png");
  auto r = synth("a", "--limit 2 --seed 9");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("not empty"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir_ / "a" / "input" / "0002.png"));
  EXPECT_EQ(before, bytes_of(dir_ / "a" / "input" / "0001.png"));
}

// The heavy rain is Rain100H's kind of heavy: made over the clean images of Rain100H training
// pairs, it costs those images about what their real rain costs them (PSNR of the rainy inputs).
TEST_F(Synth, HeavyRainIsAsHeavyAsRain100H) {
  const std::string pairs = testing::shared_path("data/RainTrainH-sample12");
  if (pairs.empty()) GTEST_SKIP() << "../shared/data/RainTrainH-sample12 is absent";
  fs::create_directories(dir_ / "clean-h");
  for (auto &e : fs::directory_iterator(pairs))
    if (e.path().filename().string().rfind("norain-", 0) == 0)
      fs::create_symlink(e.path(), dir_ / "clean-h" / e.path().filename());
  auto made = run_sapnet("synth '" + (dir_ / "clean-h").string() + "' -o '" +
                         (dir_ / "heavy").string() + "' --max-side 0 --seed 1");
  ASSERT_EQ(made.status, 0) << made.out;
  auto score = [](const std::string &dir) {
    auto r = run_sapnet("eval --identity --json '" + dir + "'");
    EXPECT_EQ(r.status, 0) << r.out;
    return testing::last_json_line(r.out)["psnr"].get<double>();
  };
  const double real = score(pairs), ours = score((dir_ / "heavy").string());
  EXPECT_NEAR(ours, real, 2.0) << "synthesized heavy rain " << ours << " dB, Rain100H's " << real;
}

}  // namespace
}  // namespace sapnet
