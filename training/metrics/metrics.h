// Image quality as the seed paper's tables measure it: on 8-bit RGB, peak 255, per image.
#pragma once

#include "data/image.h"

namespace sapnet {

// 10 log10(255^2 / MSE) over all pixels and channels; +inf for identical images.
double psnr(const RgbImage &a, const RgbImage &b);

// Throws sapnet::Error ("WxH is smaller than the 11x11 that SSIM needs") for an image smaller
// than SSIM's window: checked by `ssim`, and up front where a late failure would lose work.
void require_ssim_size(int width, int height);

// Gaussian-window SSIM (11 taps, sigma 1.5, K1 0.01, K2 0.03) per RGB channel over the 'valid'
// region (windows fully inside the image), averaged over channels. Throws sapnet::Error for images
// smaller than the window or of different sizes.
double ssim(const RgbImage &a, const RgbImage &b);

}  // namespace sapnet
