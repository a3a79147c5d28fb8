// Image quality as the seed paper's tables measure it: on 8-bit RGB, peak 255, per image.
#pragma once

#include "data/image.h"

namespace sapnet {

// 10 log10(255^2 / MSE) over all pixels and channels; +inf for identical images.
double psnr(const RgbImage &a, const RgbImage &b);

// The side of SSIM's window: the smallest image `ssim` scores.
inline constexpr int kSsimWindow = 11;

// Gaussian-window SSIM (11 taps, sigma 1.5, K1 0.01, K2 0.03) per RGB channel over the 'valid'
// region (windows fully inside the image), averaged over channels. Throws sapnet::Error for images
// smaller than the window or of different sizes.
double ssim(const RgbImage &a, const RgbImage &b);

}  // namespace sapnet
