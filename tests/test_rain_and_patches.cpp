// The rain synthesizer and the patch sources (pairs, synthesized, packed), without LibTorch.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "data/patch_source.h"
#include "error.h"
#include "rain.h"
#include "shared_data.h"

namespace sapnet {
namespace {

std::vector<float> grey(int w, int h, float v = 0.4f) {
  return std::vector<float>(3 * w * h, v);
}

TEST(Rain, DeterministicForASeedAndDifferentAcrossSeeds) {
  RainParams p;
  p.density = 0.01;
  auto a = grey(64, 48), b = grey(64, 48), c = grey(64, 48);
  add_rain(a.data(), 64, 48, p, 7);
  add_rain(b.data(), 64, 48, p, 7);
  add_rain(c.data(), 64, 48, p, 8);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(Rain, StreaksOnlyBrightenAndDensityScalesCoverage) {
  auto coverage = [](double density) {
    RainParams p;
    p.density = density;
    auto img = grey(100, 100);
    add_rain(img.data(), 100, 100, p, 1);
    int brighter = 0;
    for (float v : img) {
      EXPECT_GE(v, 0.4f - 1e-6f);
      brighter += v > 0.41f;
    }
    return brighter;
  };
  EXPECT_EQ(coverage(0.0), 0);
  const int light = coverage(0.002), heavy = coverage(0.02);
  EXPECT_GT(light, 0);
  EXPECT_GT(heavy, 3 * light);
}

TEST(Rain, AdditiveRainAddsTheSameLightOverDarkAndBrightScreenLessOverBright) {
  // The same streaks (same params and seed) over a dark and a bright grey: additive rain raises
  // both by the same amount, screen rain raises the bright one by (1 - 0.7) / (1 - 0.2) of the
  // dark's.
  auto added_light = [](RainBlend blend, float background) {
    RainParams p;
    p.density = 0.01;
    p.opacity = 0.25;  // dark + streak stays below 1: no clipping
    p.blend = blend;
    auto img = grey(64, 64, background);
    add_rain(img.data(), 64, 64, p, 3);
    double sum = 0;
    for (float v : img) sum += v - background;
    return sum;
  };
  const double add_dark = added_light(RainBlend::kAdd, 0.2f),
               add_bright = added_light(RainBlend::kAdd, 0.7f);
  EXPECT_GT(add_dark, 1.0);
  EXPECT_NEAR(add_bright / add_dark, 1.0, 1e-3);
  const double screen_dark = added_light(RainBlend::kScreen, 0.2f),
               screen_bright = added_light(RainBlend::kScreen, 0.7f);
  EXPECT_NEAR(screen_dark / add_dark, 0.8, 1e-3);
  EXPECT_NEAR(screen_bright / screen_dark, 0.3 / 0.8, 1e-3);
}

TEST(Rain, AdditiveRainClipsAtWhite) {
  // 0.9 plus bright streaks passes 1 before the clip: the brightest pixels must land exactly on 1.
  RainParams p;
  p.density = 0.02;
  p.opacity = 1;
  auto img = grey(64, 64, 0.9f);
  add_rain(img.data(), 64, 64, p, 1);
  EXPECT_EQ(*std::max_element(img.begin(), img.end()), 1.0f);
}

TEST(Rain, TrainingParamsAreMostlyAdditiveAndValid) {
  std::mt19937_64 rng(11);
  int additive = 0;
  for (int i = 0; i < 1000; ++i) {
    const RainParams p = sample_rain_params(rng);
    EXPECT_NO_THROW(p.validate());
    additive += p.blend == RainBlend::kAdd;
  }
  EXPECT_GT(additive, 700);
  EXPECT_LT(additive, 900);
}

TEST(Rain, DeeperLayersAddDenserFainterStreaks) {
  auto covered = [](int layers) {
    RainParams p;
    p.density = 0.003;
    p.layers = layers;
    auto img = grey(120, 120, 0.2f);
    add_rain(img.data(), 120, 120, p, 3);
    int n = 0;
    for (float v : img) n += v > 0.21f;
    return n;
  };
  const int one = covered(1), three = covered(3);
  EXPECT_GT(one, 0);
  EXPECT_GT(three, 2 * one);  // layers 2 and 3 hold 2x and 3x the first layer's density
}

TEST(Rain, HazeVeilsAndLensDropsBlurTheScene) {
  // A checkerboard of 2-pixel squares: its local contrast survives streaks but not a drop.
  const int w = 96, h = 96;
  std::vector<float> board(3 * w * h);
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        board[(size_t(c) * h + y) * w + x] = ((x / 2 + y / 2) % 2) ? 0.8f : 0.2f;
  auto contrast = [&](const std::vector<float> &img) {
    double sum = 0;
    for (int y = 0; y < h; ++y)
      for (int x = 1; x < w; ++x)
        sum += std::abs(img[size_t(y) * w + x] - img[size_t(y) * w + x - 1]);
    return sum;
  };
  RainParams p;
  p.density = 0;
  p.drops = 20;  // per 10,000 pixels: about 18 drops here
  p.drop_radius = 8;
  auto dropped = board;
  add_rain(dropped.data(), w, h, p, 5);
  EXPECT_LT(contrast(dropped), 0.8 * contrast(board));

  RainParams veil;
  veil.density = 0;
  veil.haze = 0.5;
  auto dark = grey(32, 32, 0.0f);
  add_rain(dark.data(), 32, 32, veil, 1);
  EXPECT_NEAR(dark[0], 0.425f, 1e-5);  // halfway to the airlight (0.85)
}

TEST(Rain, TrainingRainIsHeavyAtTheAskedShareAndUnchangedWithoutIt) {
  std::mt19937_64 a(11), b(11);
  for (int i = 0; i < 50; ++i) {  // a fraction of 0 draws exactly what the light sampler draws
    const RainParams x = sample_training_rain(a, 0.0), y = sample_rain_params(b);
    EXPECT_EQ(x.density, y.density);
    EXPECT_EQ(x.layers, 1);
  }
  std::mt19937_64 rng(12);
  int heavy = 0;
  for (int i = 0; i < 1000; ++i) {
    const RainParams p = sample_training_rain(rng, 0.3);
    EXPECT_NO_THROW(p.validate());
    heavy += p.layers > 1;
  }
  EXPECT_GT(heavy, 240);
  EXPECT_LT(heavy, 360);
}

TEST(Rain, AngleTiltsTheStreaks) {
  // One long streak through the centre, no jitter: leaning right moves its bottom end right.
  RainParams p;
  p.density = 0.0;
  auto img = grey(64, 64, 0.0f);
  p.density = 1.0 / (64 + 40) / (64 + 40);  // about one streak
  p.length = 40;
  p.angle_jitter = 0;
  p.blur = 0;
  p.opacity = 1;
  p.angle = 30;
  int tries = 0;
  for (uint64_t seed = 0; seed < 50 && tries == 0; ++seed) {
    auto v = grey(64, 64, 0.0f);
    add_rain(v.data(), 64, 64, p, seed);
    // Centre of mass of the top half vs the bottom half of the lit pixels.
    double top_x = 0, top_n = 0, bottom_x = 0, bottom_n = 0;
    for (int y = 0; y < 64; ++y)
      for (int x = 0; x < 64; ++x)
        if (v[y * 64 + x] > 0.5f)
          (y < 32 ? top_x : bottom_x) += x, (y < 32 ? top_n : bottom_n) += 1;
    if (top_n > 3 && bottom_n > 3) {
      EXPECT_GT(bottom_x / bottom_n, top_x / top_n);
      ++tries;
    }
  }
  EXPECT_GT(tries, 0) << "no streak crossed the middle";
}

TEST(Rain, ParametersAreValidated_n) {
  RainParams p;
  p.opacity = 1.5;
  auto img = grey(4, 4);
  EXPECT_THROW(add_rain(img.data(), 4, 4, p, 0), Error);
  p = RainParams();
  p.angle = 90;
  EXPECT_THROW(p.validate(), Error);
}

std::vector<RgbImage> test_images() {
  std::vector<RgbImage> out;
  for (int k = 0; k < 2; ++k) {
    RgbImage img(50 + 10 * k, 40);
    for (size_t i = 0; i < img.pixels.size(); ++i)
      img.pixels[i] = static_cast<uint8_t>((i * (3 + k)) % 251);
    out.push_back(img);
  }
  return out;
}

TEST(PatchSources, SyntheticPatchesAreDeterministicAndRainy) {
  SourceOptions so;
  so.patch = 16;
  so.stride = 12;
  auto src = make_synthetic_source(test_images(), so, "test");
  EXPECT_GT(src->size(), 10u);
  std::vector<float> r1(3 * 256), c1(3 * 256), r2(3 * 256), c2(3 * 256);
  src->get(3, 42, r1.data(), c1.data());
  src->get(3, 42, r2.data(), c2.data());
  EXPECT_EQ(r1, r2);
  EXPECT_EQ(c1, c2);
  double diff = 0;
  for (int seed = 0; seed < 8; ++seed) {
    src->get(seed, seed, r1.data(), c1.data());
    for (size_t i = 0; i < r1.size(); ++i) diff += r1[i] - c1[i];
  }
  EXPECT_GT(diff, 0.0);  // rain adds light
}

TEST(PatchSources, PackRoundTripsPairsAndCleanOnly) {
  testing::TempDir dir;
  SourceOptions so;
  so.patch = 16;
  so.stride = 16;
  auto src = make_synthetic_source(test_images(), so, "test");
  write_pack(dir / "pairs.pack", *src, false);
  write_pack(dir / "clean.pack", *src, true);
  auto pairs = make_packed_source(dir / "pairs.pack");
  auto clean = make_packed_source(dir / "clean.pack");
  ASSERT_EQ(pairs->size(), src->size());
  ASSERT_EQ(clean->size(), src->size());
  EXPECT_LT(std::filesystem::file_size(dir / "clean.pack"),
            std::filesystem::file_size(dir / "pairs.pack"));
  // Seed 0 of the pack writer = the source's own patch i with seed i; a packed read with a seed
  // whose first draw is "no flip" must give back the same bytes (to 1/255).
  std::vector<float> r(3 * 256), c(3 * 256), pr(3 * 256), pc(3 * 256);
  src->get(1, 1, r.data(), c.data());
  bool compared = false;
  for (uint64_t seed = 0; seed < 16 && !compared; ++seed) {
    pairs->get(1, seed, pr.data(), pc.data());
    bool same = true;
    for (size_t i = 0; i < c.size(); ++i) same = same && std::abs(pc[i] - c[i]) < 0.6f / 255;
    if (!same) continue;
    for (size_t i = 0; i < r.size(); ++i) ASSERT_NEAR(pr[i], r[i], 0.6f / 255);
    compared = true;
  }
  EXPECT_TRUE(compared);
}

TEST(PatchSources, DamagedPackFile_n) {
  testing::TempDir dir;
  SourceOptions so;
  so.patch = 16;
  auto src = make_synthetic_source(test_images(), so, "test");
  write_pack(dir / "p.pack", *src, false);
  std::filesystem::resize_file(dir / "p.pack", std::filesystem::file_size(dir / "p.pack") - 100);
  try {
    make_packed_source(dir / "p.pack");
    FAIL();
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
  std::ofstream(dir / "x.pack") << "definitely not a pack file at all, no";
  EXPECT_THROW(make_packed_source(dir / "x.pack"), Error);
  EXPECT_THROW(make_packed_source(dir / "absent.pack"), Error);
}

TEST(PatchSources, CleanImagesShrinkToMaxSide) {
  if (!image_io_available()) GTEST_SKIP() << "built without OpenCV";
  testing::TempDir dir;
  write_image(dir / "wide.png", RgbImage(300, 120));
  write_image(dir / "small.png", RgbImage(50, 40));
  auto images = load_clean_images({dir.path()}, 1, false, 100);
  ASSERT_EQ(images.size(), 2u);
  for (auto &img : images) {
    EXPECT_LE(std::max(img.width, img.height), 100);
    if (img.width == 100) {
      EXPECT_EQ(img.height, 40);  // aspect kept
    }
  }
  EXPECT_THROW(load_clean_images({dir / "absent"}, 1, false), Error);
  EXPECT_TRUE(load_clean_images({dir / "absent"}, 1, true).empty());
}

TEST(PatchSources, BadImagesAreNamedOrSkipped_n) {
  if (!image_io_available()) GTEST_SKIP() << "built without OpenCV";
  testing::TempDir dir;
  std::filesystem::create_directories(dir / "input");
  std::filesystem::create_directories(dir / "target");
  RgbImage ok(40, 40), small(20, 20);
  write_image(dir / "input/1.png", ok);
  write_image(dir / "target/1.png", ok);
  write_image(dir / "input/2.png", ok);
  write_image(dir / "target/2.png", small);  // mismatched size
  std::ofstream(dir / "input/3.png") << "broken";
  write_image(dir / "target/3.png", ok);
  SourceOptions so;
  so.patch = 16;
  try {
    make_paired_source(find_pairs(dir.path()), so);
    FAIL();
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("2.png"), std::string::npos) << e.what();
  }
  so.skip_bad = true;
  auto src = make_paired_source(find_pairs(dir.path()), so);
  EXPECT_NE(src->describe().find("1 image pairs"), std::string::npos) << src->describe();
}

}  // namespace
}  // namespace sapnet
