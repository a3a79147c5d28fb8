// Dataset layouts, image I/O errors.
#include <gtest/gtest.h>

#include <fstream>

#include "data/image.h"
#include "data/paired_folder.h"
#include "error.h"
#include "shared_data.h"

namespace fs = std::filesystem;

namespace sapnet {
namespace {

void touch(const std::string &path) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << "x";
}

TEST(PairedFolder, InputTargetLayoutPairsByNumberInNaturalOrder) {
  testing::TempDir dir;
  for (int n : {10, 2, 1}) {
    touch(dir / ("input/" + std::to_string(n) + ".png"));
    touch(dir / ("target/" + std::to_string(n) + ".png"));
  }
  auto pairs = find_pairs(dir.path());
  ASSERT_EQ(pairs.size(), 3u);
  EXPECT_EQ(fs::path(pairs[0].rainy).filename(), "1.png");
  EXPECT_EQ(fs::path(pairs[2].rainy).filename(), "10.png");
  EXPECT_EQ(fs::path(pairs[2].clean), fs::path(dir / "target/10.png"));
}

TEST(PairedFolder, PrenetLayoutAndPrefixedNames) {
  testing::TempDir flat, prefixed;
  for (int n : {3, 12}) {
    touch(flat / ("rain-" + std::to_string(n) + ".png"));
    touch(flat / ("norain-" + std::to_string(n) + ".png"));
    touch(prefixed / ("input/input" + std::to_string(n) + ".png"));
    touch(prefixed / ("label/norain" + std::to_string(n) + ".png"));
  }
  auto pairs = find_pairs(flat.path());
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(fs::path(pairs[1].clean).filename(), "norain-12.png");
  auto pairs2 = find_pairs(prefixed.path());
  ASSERT_EQ(pairs2.size(), 2u);
  EXPECT_EQ(fs::path(pairs2[0].clean).filename(), "norain3.png");
}

TEST(PairedFolder, JorderLayoutLeavesMasksAndStreakLayersOut) {
  testing::TempDir dir;
  for (int n : {1, 2})
    for (const char *kind : {"rain-", "norain-", "rainregion-", "rainstreak-"})
      touch(dir / (kind + std::to_string(n) + ".png"));
  auto pairs = find_pairs(dir.path());
  ASSERT_EQ(pairs.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(fs::path(pairs[i].rainy).filename(), "rain-" + std::to_string(i + 1) + ".png");
    EXPECT_EQ(fs::path(pairs[i].clean).filename(), "norain-" + std::to_string(i + 1) + ".png");
  }
}

TEST(PairedFolder, TwoCleanImagesWithOneNumberAreRefused_n) {
  testing::TempDir dir;
  touch(dir / "input/7.png");
  touch(dir / "target/7.png");
  touch(dir / "target/007.jpg");
  try {
    find_pairs(dir.path());
    FAIL() << "two clean images numbered 7 were accepted";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("007.jpg"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("number 7"), std::string::npos) << e.what();
  }
}

TEST(PairedFolder, MissingPartnerIsNamed_n) {
  testing::TempDir dir;
  touch(dir / "input/1.png");
  touch(dir / "input/2.png");
  touch(dir / "target/1.png");
  try {
    find_pairs(dir.path());
    FAIL() << "expected an error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("2.png"), std::string::npos) << e.what();
  }
  EXPECT_THROW(find_pairs(dir / "nope"), Error);
  testing::TempDir empty;
  EXPECT_THROW(find_pairs(empty.path()), Error);
}

TEST(ImageIo, CorruptImageIsNamed_n) {
  if (!image_io_available()) GTEST_SKIP() << "built without OpenCV";
  testing::TempDir dir;
  touch(dir / "bad.png");
  try {
    read_image(dir / "bad.png");
    FAIL() << "expected an error";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("bad.png"), std::string::npos) << e.what();
  }
}

TEST(ImageIo, PngRoundTripKeepsRgbOrder) {
  if (!image_io_available()) GTEST_SKIP() << "built without OpenCV";
  testing::TempDir dir;
  RgbImage img(3, 2);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<uint8_t>(i * 13);
  write_image(dir / "x.png", img);
  const RgbImage back = read_image(dir / "x.png");
  EXPECT_EQ(back.width, 3);
  EXPECT_EQ(back.pixels, img.pixels);
}

}  // namespace
}  // namespace sapnet
