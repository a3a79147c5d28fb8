// Dataset layouts, image I/O errors.
#include <gtest/gtest.h>

#include <fstream>

#include "data/image.h"
#include "data/jpeg_markers.h"
#include "data/paired_folder.h"
#include "error.h"
#include "shared_data.h"

#if SAPNET_HAVE_OPENCV
#include <opencv2/imgcodecs.hpp>
#endif

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

// Rainy names with a second number: JORDER's scale suffix ("x2") and DDN's Rain1400, fourteen
// rains over each clean image ("12_3" is rain 3 over image 12). Pairing by the last number paired
// every "x2" file with clean image 2.
TEST(PairedFolder, ASecondNumberInARainyNameKeepsItsPartner_n) {
  testing::TempDir jorder, ddn;
  for (const char *n : {"001", "002", "003"}) {
    touch(jorder / ("input/norain-" + std::string(n) + "x2.png"));
    touch(jorder / ("target/norain-" + std::string(n) + ".png"));
  }
  auto pairs = find_pairs(jorder.path());
  ASSERT_EQ(pairs.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(fs::path(pairs[i].rainy).filename(), "norain-00" + std::to_string(i + 1) + "x2.png");
    EXPECT_EQ(fs::path(pairs[i].clean).filename(), "norain-00" + std::to_string(i + 1) + ".png");
  }
  for (const char *n : {"2_14", "1_2", "2_1", "1_1"})
    touch(ddn / ("rain/" + std::string(n) + ".jpg"));
  for (const char *n : {"1", "2"}) touch(ddn / ("norain/" + std::string(n) + ".jpg"));
  pairs = find_pairs(ddn.path());
  ASSERT_EQ(pairs.size(), 4u);
  const char *order[][2] = {
      {"1_1.jpg", "1.jpg"}, {"1_2.jpg", "1.jpg"}, {"2_1.jpg", "2.jpg"}, {"2_14.jpg", "2.jpg"}};
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(fs::path(pairs[i].rainy).filename(), order[i][0]);
    EXPECT_EQ(fs::path(pairs[i].clean).filename(), order[i][1]);
  }
}

// Two numbers on both sides pair by both ("2020_12" with "2020_12", not with "2020_13").
TEST(PairedFolder, NamesWithTwoNumbersPairByBoth) {
  testing::TempDir dir;
  for (const char *n : {"2020_0012", "2020_0013"}) {
    touch(dir / ("input/rain_" + std::string(n) + ".png"));
    touch(dir / ("target/clean_" + std::string(n) + ".png"));
  }
  const auto pairs = find_pairs(dir.path());
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(fs::path(pairs[1].clean).filename(), "clean_2020_0013.png");
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

// Marker bytes of a small JPEG: a start, an EXIF segment holding a thumbnail (its own start and
// end markers), a scan whose data holds a stuffed 0xFF and a restart marker, the end.
std::vector<uint8_t> marker_walk_sample() {
  return {0xFF, 0xD8,                                                  // start of image
          0xFF, 0xE1, 0x00, 0x08, 0xFF, 0xD8, 0x01, 0xFF, 0xD9, 0x00,  // APP1 with a thumbnail
          0xFF, 0xDA, 0x00, 0x04, 0x01, 0x00,                          // scan header
          0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD3, 0x56,                    // entropy-coded data
          0xFF, 0xD9};                                                 // end of image
}

TEST(JpegMarkers, EndMarkerFoundPastThumbnailsAndBeforeTrailers) {
  std::vector<uint8_t> bytes = marker_walk_sample();
  EXPECT_TRUE(jpeg_reaches_end_marker(bytes.data(), bytes.size()));
  // A phone maker's trailer, even one that holds marker-like bytes, is after the end.
  const std::vector<uint8_t> trailer = {'S', 'E', 'F', 'T', 0xFF, 0xD8, 0x07, 0x00};
  bytes.insert(bytes.end(), trailer.begin(), trailer.end());
  EXPECT_TRUE(jpeg_reaches_end_marker(bytes.data(), bytes.size()));
}

TEST(JpegMarkers, FilesCutShortAreFound_n) {
  const std::vector<uint8_t> bytes = marker_walk_sample();
  // Every cut, including one inside the thumbnail right after its end marker and one padded with
  // zeros (what some copy tools leave), misses the end marker.
  for (size_t cut = 0; cut + 1 < bytes.size(); ++cut) {
    std::vector<uint8_t> head(bytes.begin(), bytes.begin() + long(cut));
    EXPECT_FALSE(jpeg_reaches_end_marker(head.data(), head.size())) << "cut at " << cut;
    head.resize(head.size() + 64, 0);
    EXPECT_FALSE(jpeg_reaches_end_marker(head.data(), head.size())) << "padded cut at " << cut;
  }
}

#if SAPNET_HAVE_OPENCV
std::vector<uint8_t> jpeg_of(int width, int height) {
  cv::Mat img(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) img.at<cv::Vec3b>(y, x) = {uint8_t(x * 7), uint8_t(y * 7), 90};
  std::vector<uint8_t> bytes;
  cv::imencode(".jpg", img, bytes);
  return bytes;
}

void write_bytes(const std::string &path, const std::vector<uint8_t> &bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char *>(bytes.data()), long(bytes.size()));
}

// Phones write metadata (Samsung) or a whole video (motion photos) after the end marker.
TEST(ImageIo, JpegWithATrailerIsRead_n) {
  testing::TempDir dir;
  std::vector<uint8_t> bytes = jpeg_of(32, 24);
  for (int i = 0; i < 200; ++i) bytes.push_back(uint8_t(i % 250 + 1));
  write_bytes(dir / "phone.jpg", bytes);
  const RgbImage img = read_image(dir / "phone.jpg");
  EXPECT_EQ(img.width, 32);
  EXPECT_EQ(img.height, 24);
  EXPECT_EQ(read_planar_image(dir / "phone.jpg").width, 32);
}

// A portrait photo stored sideways with EXIF orientation 6 (turn 90 degrees clockwise) is read
// upright by both readers (eval's and derain's).
TEST(ImageIo, JpegExifOrientationIsApplied_n) {
  testing::TempDir dir;
  std::vector<uint8_t> bytes = jpeg_of(32, 16);
  const std::vector<uint8_t> exif = {
      0xFF, 0xE1, 0x00, 0x22, 'E',  'x',  'i',  'f',  0x00, 0x00,  // APP1, 34 bytes
      'I',  'I',  0x2A, 0x00, 0x08, 0x00, 0x00, 0x00,              // little-endian TIFF, IFD at 8
      0x01, 0x00,                                                  // one entry
      0x12, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00,  // orientation 6
      0x00, 0x00, 0x00, 0x00};                                                 // no next IFD
  bytes.insert(bytes.begin() + 2, exif.begin(), exif.end());
  write_bytes(dir / "portrait.jpg", bytes);
  const RgbImage img = read_image(dir / "portrait.jpg");
  EXPECT_EQ(img.width, 16);
  EXPECT_EQ(img.height, 32);
  const PlanarImage planar = read_planar_image(dir / "portrait.jpg");
  EXPECT_EQ(planar.width, 16);
  EXPECT_EQ(planar.height, 32);
}

// An image write that cannot finish leaves the previous file as it was.
TEST(ImageIo, FailedWriteKeepsThePreviousFile_n) {
  testing::TempDir dir;
  RgbImage img(4, 4);
  write_image(dir / "x.png", img);
  const auto size = fs::file_size(dir / "x.png");
  EXPECT_THROW(write_image(dir / "x.nosuchformat", img), Error);
  EXPECT_FALSE(fs::exists(dir / "x.nosuchformat"));
  fs::create_directory(dir / "x.png.tmp");  // the temporary file cannot be made
  EXPECT_THROW(write_image(dir / "x.png", RgbImage(9, 9)), Error);
  EXPECT_EQ(fs::file_size(dir / "x.png"), size);
}
#endif

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
