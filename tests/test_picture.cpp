// The comparison picture: crops, the grid layout, and `sapnet picture` end to end (its tiles are
// the input's and `sapnet derain`'s pixels at the same place).
#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "data/image.h"
#include "data/picture_grid.h"
#include "error.h"
#include "run_sapnet.h"
#include "shared_data.h"

namespace sapnet {
namespace {

using testing::run_sapnet;

RgbImage solid(int w, int h, uint8_t r, uint8_t g, uint8_t b) {
  RgbImage img(w, h);
  for (size_t i = 0; i < img.pixels.size(); i += 3) {
    img.pixels[i] = r;
    img.pixels[i + 1] = g;
    img.pixels[i + 2] = b;
  }
  return img;
}

RgbImage noise(int w, int h, unsigned seed) {
  RgbImage img(w, h);
  std::mt19937 rng(seed);
  for (auto &p : img.pixels) p = uint8_t(rng() & 0xff);
  return img;
}

const uint8_t *pixel(const RgbImage &img, int x, int y) {
  return &img.pixels[(size_t(y) * img.width + x) * 3];
}

TEST(Picture, CropTakesTheWindowAndCentresWhenAsked) {
  const RgbImage img = noise(50, 30, 1);
  const RgbImage c = crop_image(img, 7, 5, 20, 10);
  ASSERT_EQ(c.width, 20);
  ASSERT_EQ(c.height, 10);
  for (int y = 0; y < 10; ++y)
    for (int x = 0; x < 20; ++x)
      for (int k = 0; k < 3; ++k) ASSERT_EQ(pixel(c, x, y)[k], pixel(img, x + 7, y + 5)[k]);
  const RgbImage centred = crop_image(img, -1, -1, 20, 10);
  EXPECT_EQ(pixel(centred, 0, 0)[0], pixel(img, 15, 10)[0]);
  EXPECT_EQ(pixel(centred, 19, 9)[2], pixel(img, 34, 19)[2]);
  try {
    crop_image(img, 40, 0, 20, 10);
    FAIL() << "a crop past the right edge was accepted";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("50x30"), std::string::npos) << e.what();
  }
  EXPECT_THROW(crop_image(img, -1, -1, 60, 10), Error);
}

TEST(Picture, TilesLandInTheirCellsUnderATitleStrip) {
  PictureGrid grid;
  grid.column_titles = {"rainy", "derained", "third"};
  grid.row_titles = {"", ""};  // no row labels: every tile pixel stays the tile's
  for (int r = 0; r < 2; ++r) {
    std::vector<RgbImage> row;
    for (int c = 0; c < 3; ++c)
      row.push_back(solid(32, 20, uint8_t(40 * r + 10 * c + 1), uint8_t(200 - c), uint8_t(r)));
    grid.rows.push_back(row);
  }
  grid.gap = 3;
  const RgbImage pic = compose_picture(grid);
  ASSERT_EQ(pic.width, 3 * 32 + 4 * 3);
  ASSERT_EQ(pic.height, kPictureHeader + 2 * (20 + 3));
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 3; ++c) {
      const int left = 3 + c * (32 + 3), top = kPictureHeader + r * (20 + 3);
      for (int y : {top, top + 19})
        for (int x : {left, left + 31}) {
          const uint8_t *p = pixel(pic, x, y);
          EXPECT_EQ(p[0], 40 * r + 10 * c + 1) << r << "," << c;
          EXPECT_EQ(p[1], 200 - c);
          EXPECT_EQ(p[2], r);
        }
      // The gap to the left of each tile is background, not tile.
      EXPECT_NE(pixel(pic, left - 1, top + 10)[1], 200 - c);
    }
}

TEST(Picture, RaggedGridsAreRefused) {
  PictureGrid grid;
  grid.column_titles = {"a", "b"};
  grid.row_titles = {"x"};
  grid.rows = {{solid(8, 8, 0, 0, 0)}};
  EXPECT_THROW(compose_picture(grid), Error);  // one tile for two columns
  grid.rows = {{solid(8, 8, 0, 0, 0), solid(9, 8, 0, 0, 0)}};
  EXPECT_THROW(compose_picture(grid), Error);  // tiles of two sizes
  grid.rows = {{solid(8, 8, 0, 0, 0), solid(8, 8, 0, 0, 0)}};
  grid.row_titles = {};
  EXPECT_THROW(compose_picture(grid), Error);  // a row without its title
}

// Largest difference between `tile` and the window of `full` whose top-left corner is (x, y).
int max_difference(const RgbImage &tile, const RgbImage &full, int x, int y) {
  int worst = 0;
  for (int r = 0; r < tile.height; ++r)
    for (int c = 0; c < tile.width; ++c)
      for (int k = 0; k < 3; ++k)
        worst = std::max(worst,
                         std::abs(int(pixel(tile, c, r)[k]) - int(pixel(full, c + x, r + y)[k])));
  return worst;
}

TEST(Picture, CommandShowsTheInputAndEachExitAtTheSamePlace) {
  if (!image_io_available()) GTEST_SKIP() << "built without OpenCV";
  testing::TempDir tmp;
  write_image(tmp / "street.png", noise(96, 64, 2));
  auto r = run_sapnet("picture '" + tmp.path() + "/street.png@10,6' --crop 40x30 --exits 1 2 -o '" +
                      tmp.path() + "/pic.png'");
  ASSERT_EQ(r.status, 0) << r.out;
  const RgbImage pic = read_image(tmp / "pic.png");
  const int gap = PictureGrid{}.gap;
  ASSERT_EQ(pic.width, 3 * 40 + 4 * gap);
  ASSERT_EQ(pic.height, kPictureHeader + 30 + gap);

  const RgbImage input = read_image(tmp / "street.png");
  auto tile = [&](int column) {
    return crop_image(pic, gap + column * (40 + gap), kPictureHeader, 40, 30);
  };
  // The row title (the temporary folder's long name, cut to the tile) sits in the first tile's
  // bottom-left corner and nowhere else: compare the rows above it.
  EXPECT_EQ(max_difference(crop_image(tile(0), 0, 0, 40, 8), input, 10, 6), 0);
  for (int exit : {1, 2}) {
    const std::string out = tmp.path() + "/d" + std::to_string(exit);
    auto d = run_sapnet("derain '" + tmp.path() + "/street.png' --stages " + std::to_string(exit) +
                        " -o '" + out + "'");
    ASSERT_EQ(d.status, 0) << d.out;
    const RgbImage derained = read_image(out + "/street.png");
    // The float path of `derain` and the 8-bit frame path round apart by at most one level.
    EXPECT_LE(max_difference(tile(exit), derained, 10, 6), 1) << "exit " << exit;
    EXPECT_GT(max_difference(tile(exit), input, 10, 6), 1) << "exit " << exit << " left it as is";
  }
}

TEST(Picture, CommandErrorsNameTheCause) {
  if (!image_io_available()) GTEST_SKIP() << "built without OpenCV";
  testing::TempDir tmp;
  write_image(tmp / "small.png", noise(30, 20, 3));
  auto r = run_sapnet("picture '" + tmp.path() + "/small.png' --crop 40x30 -o '" + tmp.path() +
                      "/pic.png'");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("small.png"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("30x20"), std::string::npos) << r.out;
  r = run_sapnet("picture '" + tmp.path() + "/small.png' --crop 16x16 --exits 9 -o '" + tmp.path() +
                 "/pic.png'");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("--exits 9"), std::string::npos) << r.out;
  r = run_sapnet("picture '" + tmp.path() + "/missing.png' --crop 16x16 -o '" + tmp.path() +
                 "/pic.png'");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.out.find("missing.png"), std::string::npos) << r.out;
  EXPECT_FALSE(std::filesystem::exists(tmp / "pic.png"));
}

}  // namespace
}  // namespace sapnet
