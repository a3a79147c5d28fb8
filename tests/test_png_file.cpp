// The libpng reader and writer (images in builds without OpenCV) agree with OpenCV's codecs and
// name the file they cannot read.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "data/image.h"
#include "data/png_file.h"
#include "error.h"
#include "shared_data.h"

#if SAPNET_HAVE_OPENCV
#include <opencv2/imgcodecs.hpp>
#endif

namespace fs = std::filesystem;

namespace sapnet {
namespace {

class PngFile : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!png_io_available()) GTEST_SKIP() << "this build has no libpng";
    if (!image_io_available()) GTEST_SKIP() << "no OpenCV to compare with";
  }
  testing::TempDir dir_;
  std::string path(const std::string &name) const { return dir_.path() + "/" + name; }
};

RgbImage pattern(int w, int h) {
  RgbImage img(w, h);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = uint8_t((i * 37 + i / 7) % 256);
  return img;
}

TEST_F(PngFile, ReadsWhatOpenCvWritesAndTheOtherWayRound) {
  const RgbImage img = pattern(37, 21);  // odd sizes: rows not a multiple of 4 bytes
  write_image(path("cv.png"), img);
  EXPECT_EQ(read_png(path("cv.png")).pixels, img.pixels);
  write_png(path("png.png"), img);
  const RgbImage back = read_image(path("png.png"));
  EXPECT_EQ(back.width, 37);
  EXPECT_EQ(back.height, 21);
  EXPECT_EQ(back.pixels, img.pixels);
}

TEST_F(PngFile, ReadsTheDatasetsPngsAsOpenCvDoes) {
  const std::string dir = testing::shared_path("data/Rain100L/input");
  if (dir.empty()) GTEST_SKIP() << "../shared/data/Rain100L is absent";
  int checked = 0;
  for (auto &e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".png" || checked == 3) continue;
    EXPECT_EQ(read_png(e.path().string()).pixels, read_image(e.path().string()).pixels) << e.path();
    ++checked;
  }
  EXPECT_EQ(checked, 3);
}

#if SAPNET_HAVE_OPENCV
// A 16-bit PNG without a gAMA or sRGB chunk (what OpenCV writes) and an RGBA PNG with transparent
// pixels read as OpenCV reads them: mid-grey stays 128 (not 188, libpng's linear-light default),
// and colour under alpha 0 is kept (not blended onto black).
TEST_F(PngFile, SixteenBitAndAlphaReadAsOpenCvReadsThem_n) {
  cv::Mat deep(4, 6, CV_16UC3, cv::Scalar(32896, 32896, 32896));
  deep.at<cv::Vec3w>(1, 2) = {65535, 0, 257 * 40};
  cv::imwrite(path("deep.png"), deep);
  cv::Mat rgba(4, 6, CV_8UC4, cv::Scalar(200, 150, 100, 0));
  rgba.at<cv::Vec4b>(2, 3) = {10, 20, 30, 255};
  cv::imwrite(path("alpha.png"), rgba);
  for (const char *name : {"deep.png", "alpha.png"}) {
    const RgbImage mine = read_png(path(name)), theirs = read_image(path(name));
    EXPECT_EQ(mine.pixels, theirs.pixels) << name;
  }
  EXPECT_EQ(read_png(path("deep.png")).pixels[0], 128);
  EXPECT_EQ(read_png(path("alpha.png")).pixels[0], 100);  // R of BGR (200, 150, 100)
}

// Label maps (8-bit grey, class ids) come through libpng byte for byte, as OpenCV reads them.
TEST_F(PngFile, GreyLabelMapsReadByteForByte) {
  cv::Mat ids(5, 7, CV_8U);
  for (int i = 0; i < ids.rows * ids.cols; ++i) ids.data[i] = uint8_t((i * 53) % 256);
  cv::imwrite(path("labels.png"), ids);
  int w = 0, h = 0;
  const std::vector<uint8_t> grey = read_png_grey(path("labels.png"), &w, &h);
  EXPECT_EQ(w, 7);
  EXPECT_EQ(h, 5);
  EXPECT_EQ(grey, std::vector<uint8_t>(ids.data, ids.data + ids.total()));
}
#endif

// A write that cannot finish (here: into a folder that is not there) leaves no file, and one that
// replaces a file does so whole.
TEST_F(PngFile, WritesAreAllOrNothing_n) {
  EXPECT_THROW(write_png(path("no/such/dir/x.png"), pattern(4, 4)), Error);
  EXPECT_FALSE(fs::exists(path("no")));
  write_png(path("x.png"), pattern(8, 8));
  write_png(path("x.png"), pattern(5, 3));
  EXPECT_EQ(read_png(path("x.png")).width, 5);
  EXPECT_FALSE(fs::exists(path("x.png.tmp")));
}

TEST_F(PngFile, DamagedAndMissingFilesAreNamed_n) {
  write_png(path("a.png"), pattern(16, 16));
  std::ifstream in(path("a.png"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::ofstream(path("cut.png"), std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  std::ofstream(path("text.png")) << "not a png";
  for (const char *name : {"cut.png", "text.png", "missing.png"}) {
    try {
      read_png(path(name));
      ADD_FAILURE() << name << " was read";
    } catch (const Error &e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace sapnet
