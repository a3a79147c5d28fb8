#include "image.h"

#include <algorithm>
#include <filesystem>

#include "error.h"

#if SAPNET_HAVE_OPENCV
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#endif

namespace sapnet {

bool has_image_extension(const std::string &path) {
  std::string ext = std::filesystem::path(path).extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  for (const char *known : {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm"})
    if (ext == known) return true;
  return false;
}

#if SAPNET_HAVE_OPENCV

bool image_io_available() {
  return true;
}

RgbImage read_image(const std::string &path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error(path + ": no such image file");
  cv::Mat bgr;
  try {
    bgr = cv::imread(path, cv::IMREAD_COLOR);
  } catch (const cv::Exception &e) {
    throw Error(path + ": cannot decode image (" + e.msg + ")");
  }
  if (bgr.empty()) throw Error(path + ": cannot decode image (corrupt or unsupported format)");
  RgbImage img(bgr.cols, bgr.rows);
  cv::Mat rgb(bgr.rows, bgr.cols, CV_8UC3, img.pixels.data());
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return img;
}

void write_image(const std::string &path, const RgbImage &image) {
  cv::Mat rgb(image.height, image.width, CV_8UC3, const_cast<uint8_t *>(image.pixels.data()));
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  bool ok = false;
  try {
    ok = cv::imwrite(path, bgr);
  } catch (const cv::Exception &e) {
    throw Error(path + ": cannot write image (" + e.msg + ")");
  }
  if (!ok) throw Error(path + ": cannot write image");
}

#else

bool image_io_available() {
  return false;
}

RgbImage read_image(const std::string &path) {
  throw Error(path + ": this build has no image decoder (configure with OpenCV)");
}

void write_image(const std::string &path, const RgbImage &) {
  throw Error(path + ": this build has no image encoder (configure with OpenCV)");
}

#endif

}  // namespace sapnet
