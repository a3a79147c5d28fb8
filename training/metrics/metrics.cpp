#include "metrics/metrics.h"

#include <array>
#include <cmath>
#include <limits>

#include "error.h"

namespace sapnet {
namespace {

void check_same_size(const RgbImage &a, const RgbImage &b) {
  if (a.width != b.width || a.height != b.height)
    throw Error("images differ in size: " + std::to_string(a.width) + "x" +
                std::to_string(a.height) + " vs " + std::to_string(b.width) + "x" +
                std::to_string(b.height));
}

constexpr int kWindow = 11;

std::array<double, kWindow> gaussian_window() {
  std::array<double, kWindow> w{};
  double sum = 0;
  for (int i = 0; i < kWindow; ++i) {
    const double d = i - kWindow / 2;
    w[i] = std::exp(-d * d / (2 * 1.5 * 1.5));
    sum += w[i];
  }
  for (auto &v : w) v /= sum;
  return w;
}

// Separable Gaussian filter of one channel over the valid region (out: (h-10) x (w-10)).
void filter_valid(const std::vector<double> &in, int w, int h, std::vector<double> &out) {
  static const auto g = gaussian_window();
  const int ow = w - kWindow + 1, oh = h - kWindow + 1;
  std::vector<double> rows(size_t(h) * ow);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < ow; ++x) {
      double s = 0;
      for (int k = 0; k < kWindow; ++k) s += g[k] * in[size_t(y) * w + x + k];
      rows[size_t(y) * ow + x] = s;
    }
  out.assign(size_t(oh) * ow, 0.0);
  for (int y = 0; y < oh; ++y)
    for (int k = 0; k < kWindow; ++k) {
      const double gk = g[k];
      const double *src = &rows[size_t(y + k) * ow];
      double *dst = &out[size_t(y) * ow];
      for (int x = 0; x < ow; ++x) dst[x] += gk * src[x];
    }
}

double ssim_channel(const RgbImage &a, const RgbImage &b, int c) {
  const int w = a.width, h = a.height;
  const size_t n = size_t(w) * h;
  std::vector<double> x(n), y(n), xx(n), yy(n), xy(n);
  for (size_t i = 0; i < n; ++i) {
    x[i] = a.pixels[3 * i + c];
    y[i] = b.pixels[3 * i + c];
    xx[i] = x[i] * x[i];
    yy[i] = y[i] * y[i];
    xy[i] = x[i] * y[i];
  }
  std::vector<double> mx, my, mxx, myy, mxy;
  filter_valid(x, w, h, mx);
  filter_valid(y, w, h, my);
  filter_valid(xx, w, h, mxx);
  filter_valid(yy, w, h, myy);
  filter_valid(xy, w, h, mxy);
  const double c1 = std::pow(0.01 * 255, 2), c2 = std::pow(0.03 * 255, 2);
  double total = 0;
  for (size_t i = 0; i < mx.size(); ++i) {
    const double vx = mxx[i] - mx[i] * mx[i], vy = myy[i] - my[i] * my[i],
                 cxy = mxy[i] - mx[i] * my[i];
    total += ((2 * mx[i] * my[i] + c1) * (2 * cxy + c2)) /
             ((mx[i] * mx[i] + my[i] * my[i] + c1) * (vx + vy + c2));
  }
  return total / mx.size();
}

}  // namespace

double psnr(const RgbImage &a, const RgbImage &b) {
  check_same_size(a, b);
  double se = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) {
    const double d = double(a.pixels[i]) - b.pixels[i];
    se += d * d;
  }
  if (se == 0) return std::numeric_limits<double>::infinity();
  const double mse = se / a.pixels.size();
  return 10.0 * std::log10(255.0 * 255.0 / mse);
}

void require_ssim_size(int width, int height) {
  if (width < kWindow || height < kWindow)
    throw Error(std::to_string(width) + "x" + std::to_string(height) + " is smaller than the " +
                std::to_string(kWindow) + "x" + std::to_string(kWindow) + " that SSIM needs");
}

double ssim(const RgbImage &a, const RgbImage &b) {
  check_same_size(a, b);
  require_ssim_size(a.width, a.height);
  return (ssim_channel(a, b, 0) + ssim_channel(a, b, 1) + ssim_channel(a, b, 2)) / 3.0;
}

}  // namespace sapnet
