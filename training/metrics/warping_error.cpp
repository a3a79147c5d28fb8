#include "metrics/warping_error.h"

#include "error.h"

#if SAPNET_HAVE_OPENCV
#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>
#endif

namespace sapnet {

#if SAPNET_HAVE_OPENCV
namespace {

cv::Mat grey_of(const RgbImage &img) {
  cv::Mat rgb(img.height, img.width, CV_8UC3, const_cast<uint8_t *>(img.pixels.data()));
  cv::Mat grey;
  cv::cvtColor(rgb, grey, cv::COLOR_RGB2GRAY);
  return grey;
}

cv::Mat flow_between(const cv::Mat &from, const cv::Mat &to) {
  // DIS at its medium preset: dense, robust on small and large motion, fast on the CPU.
  auto dis = cv::DISOpticalFlow::create(cv::DISOpticalFlow::PRESET_MEDIUM);
  cv::Mat flow;
  dis->calc(from, to, flow);
  return flow;
}

}  // namespace

struct FrameMotion::Impl {
  cv::Mat map_x, map_y;  // where each pixel of `from` lies in `to` (CV_32F)
  cv::Mat visible;       // CV_8U, 1 where the forward-backward check passes
  double visible_count = 0;
};

FrameMotion::FrameMotion(const RgbImage &from, const RgbImage &to)
    : impl_(std::make_unique<Impl>()) {
  if (from.width != to.width || from.height != to.height)
    throw Error("motion between frames of different sizes (" + std::to_string(from.width) + "x" +
                std::to_string(from.height) + " and " + std::to_string(to.width) + "x" +
                std::to_string(to.height) + ")");
  const cv::Mat a = grey_of(from), b = grey_of(to);
  const cv::Mat forward = flow_between(a, b), backward = flow_between(b, a);
  const int w = from.width, h = from.height;
  impl_->map_x.create(h, w, CV_32F);
  impl_->map_y.create(h, w, CV_32F);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const auto f = forward.at<cv::Vec2f>(y, x);
      impl_->map_x.at<float>(y, x) = x + f[0];
      impl_->map_y.at<float>(y, x) = y + f[1];
    }
  // The backward flow seen from `from`: following a pixel there and back should return it.
  cv::Mat back_at_target;
  cv::remap(backward, back_at_target, impl_->map_x, impl_->map_y, cv::INTER_LINEAR,
            cv::BORDER_CONSTANT, cv::Scalar(1e6, 1e6));
  impl_->visible.create(h, w, CV_8U);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const auto f = forward.at<cv::Vec2f>(y, x);
      const auto g = back_at_target.at<cv::Vec2f>(y, x);
      const float sx = f[0] + g[0], sy = f[1] + g[1];
      const float mx = impl_->map_x.at<float>(y, x), my = impl_->map_y.at<float>(y, x);
      const bool inside = mx >= 0 && my >= 0 && mx <= w - 1 && my <= h - 1;
      const bool consistent = sx * sx + sy * sy <= 0.01f * (f.dot(f) + g.dot(g)) + 0.5f;
      const bool ok = inside && consistent;
      impl_->visible.at<uint8_t>(y, x) = ok;
      impl_->visible_count += ok;
    }
}

FrameMotion::~FrameMotion() = default;
FrameMotion::FrameMotion(FrameMotion &&) noexcept = default;
FrameMotion &FrameMotion::operator=(FrameMotion &&) noexcept = default;

double FrameMotion::visible_fraction() const {
  return impl_->visible_count / double(impl_->visible.total());
}

double FrameMotion::warping_error(const RgbImage &from, const RgbImage &to) const {
  const int w = impl_->visible.cols, h = impl_->visible.rows;
  if (from.width != w || from.height != h || to.width != w || to.height != h)
    throw Error("warping error: frames of " + std::to_string(from.width) + "x" +
                std::to_string(from.height) + " against motion measured at " + std::to_string(w) +
                "x" + std::to_string(h));
  if (impl_->visible_count == 0) return 0;
  cv::Mat target(h, w, CV_8UC3, const_cast<uint8_t *>(to.pixels.data())), warped;
  cv::remap(target, warped, impl_->map_x, impl_->map_y, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  double sum = 0;
  for (int y = 0; y < h; ++y) {
    const uint8_t *a = from.pixels.data() + size_t(y) * w * 3;
    const uint8_t *b = warped.ptr<uint8_t>(y);
    const uint8_t *m = impl_->visible.ptr<uint8_t>(y);
    for (int x = 0; x < w; ++x) {
      if (!m[x]) continue;
      for (int c = 0; c < 3; ++c) {
        const double d = (double(a[3 * x + c]) - b[3 * x + c]) / 255.0;
        sum += d * d;
      }
    }
  }
  return sum / impl_->visible_count;
}
#else
struct FrameMotion::Impl {};
FrameMotion::FrameMotion(const RgbImage &, const RgbImage &) {
  throw Error("the warping error needs a build with OpenCV (optical flow)");
}
FrameMotion::~FrameMotion() = default;
FrameMotion::FrameMotion(FrameMotion &&) noexcept = default;
FrameMotion &FrameMotion::operator=(FrameMotion &&) noexcept = default;
double FrameMotion::visible_fraction() const {
  return 0;
}
double FrameMotion::warping_error(const RgbImage &, const RgbImage &) const {
  return 0;
}
#endif

}  // namespace sapnet
