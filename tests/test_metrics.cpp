// PSNR/SSIM against hand-computed cases and scikit-image's values for real pairs.
#include <gtest/gtest.h>

#include <cmath>

#include "error.h"
#include "metrics/metrics.h"
#include "shared_data.h"

namespace sapnet {
namespace {

RgbImage ramp(int w, int h, int offset) {
  RgbImage img(w, h);
  for (size_t i = 0; i < img.pixels.size(); ++i)
    img.pixels[i] = static_cast<uint8_t>((i * 7 + offset) % 200);
  return img;
}

TEST(Psnr, KnownMeanSquaredError) {
  RgbImage a(4, 4), b(4, 4);
  for (auto &p : b.pixels) p = 10;  // MSE = 100
  EXPECT_NEAR(psnr(a, b), 10 * std::log10(255.0 * 255.0 / 100.0), 1e-9);
  EXPECT_TRUE(std::isinf(psnr(a, a)));
}

TEST(Ssim, IdenticalIsOneAndDifferentIsLess) {
  const auto a = ramp(20, 16, 0), b = ramp(20, 16, 3);
  EXPECT_NEAR(ssim(a, a), 1.0, 1e-12);
  EXPECT_LT(ssim(a, b), 0.999);
}

TEST(Ssim, ConstantImagesFollowTheLuminanceTerm) {
  // Flat images: variances are zero, so SSIM = (2 m1 m2 + C1) / (m1^2 + m2^2 + C1).
  RgbImage a(12, 12), b(12, 12);
  for (auto &p : a.pixels) p = 100;
  for (auto &p : b.pixels) p = 120;
  const double c1 = std::pow(0.01 * 255, 2);
  EXPECT_NEAR(ssim(a, b), (2 * 100.0 * 120 + c1) / (100.0 * 100 + 120.0 * 120 + c1), 1e-9);
}

TEST(Metrics, SizeMismatchAndTinyImages_n) {
  EXPECT_THROW(psnr(RgbImage(4, 4), RgbImage(4, 5)), Error);
  EXPECT_THROW(ssim(RgbImage(10, 20), RgbImage(10, 20)), Error);
}

// scikit-image 0.19: mean over channels of structural_similarity(gaussian_weights=True, sigma=1.5,
// use_sample_covariance=False, data_range=255) and peak_signal_noise_ratio(data_range=255).
TEST(Metrics, MatchScikitImageOnRain100L) {
  SAPNET_REQUIRE_SHARED(dir, "data/Rain100L");
  if (!image_io_available()) GTEST_SKIP() << "built without OpenCV (the pairs are PNGs)";
  struct Ref {
    int n;
    double psnr, ssim;
  };
  for (const Ref r : {Ref{1, 25.966049429521338, 0.8507033800632519},
                      Ref{37, 22.861844770956292, 0.7662725744887467}}) {
    const auto rainy = read_image(dir + "/input/" + std::to_string(r.n) + ".png");
    const auto clean = read_image(dir + "/target/" + std::to_string(r.n) + ".png");
    EXPECT_NEAR(psnr(rainy, clean), r.psnr, 1e-9) << r.n;
    EXPECT_NEAR(ssim(rainy, clean), r.ssim, 1e-9) << r.n;
  }
}

}  // namespace
}  // namespace sapnet
