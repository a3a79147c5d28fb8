#include "data/video_reader.h"

#include <algorithm>
#include <filesystem>
#include <vector>

#include "data/paired_folder.h"
#include "error.h"

#if SAPNET_HAVE_OPENCV
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#endif

namespace sapnet {

#if SAPNET_HAVE_OPENCV
struct VideoReader::Impl {
  int max_side = 0;
  std::vector<std::string> images;  // a folder's frames; empty for a video file
  size_t next_image = 0;
  cv::VideoCapture capture;
};

VideoReader::VideoReader(const std::string &path, int max_side)
    : path_(path), impl_(std::make_unique<Impl>()) {
  impl_->max_side = max_side;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    impl_->images = list_images(path);
    if (impl_->images.empty()) throw Error(path + ": no images in this folder");
    return;
  }
  if (!std::filesystem::is_regular_file(path, ec)) throw Error(path + ": no such file or folder");
  if (!impl_->capture.open(path)) throw Error(path + ": cannot open video");
}

VideoReader::~VideoReader() = default;

bool VideoReader::next(RgbImage &frame) {
  if (!impl_->images.empty()) {
    if (impl_->next_image == impl_->images.size()) return false;
    frame = read_image(impl_->images[impl_->next_image++]);
  } else {
    cv::Mat bgr;
    if (!impl_->capture.read(bgr) || bgr.empty()) return false;
    frame = RgbImage(bgr.cols, bgr.rows);
    cv::Mat rgb(bgr.rows, bgr.cols, CV_8UC3, frame.pixels.data());
    cv::cvtColor(bgr, rgb, bgr.channels() == 1 ? cv::COLOR_GRAY2RGB : cv::COLOR_BGR2RGB);
  }
  frame = shrink_image(std::move(frame), impl_->max_side);
  return true;
}

size_t VideoReader::frame_count() const {
  if (!impl_->images.empty()) return impl_->images.size();
  const double n = impl_->capture.get(cv::CAP_PROP_FRAME_COUNT);
  return n > 0 ? size_t(n) : 0;
}
#else
struct VideoReader::Impl {};
VideoReader::VideoReader(const std::string &path, int) : path_(path) {
  throw Error(path + ": reading videos needs a build with OpenCV");
}
VideoReader::~VideoReader() = default;
bool VideoReader::next(RgbImage &) {
  return false;
}
size_t VideoReader::frame_count() const {
  return 0;
}
#endif

}  // namespace sapnet
