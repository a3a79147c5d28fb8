// Colour conversion between compact frame bytes (see compact_frame_size) and the network's float
// layout, as tensor operations: they run wherever the tensors live, so the CUDA path converts on
// the GPU. The arithmetic is frame.cpp's (BT.601 limited range for YUV, 2x2 chroma means, the same
// truncation), so both paths agree to within one level.
#pragma once

#include <torch/types.h>

#include "frame.h"

namespace sapnet {

// bytes: uint8, compact_frame_size(format, width, height) elements. Returns 1 x 3 x height x width
// RGB in [0, 1] as `dtype`, channels-last when asked.
torch::Tensor compact_to_rgb(const torch::Tensor &bytes, PixelFormat format, int width, int height,
                             torch::ScalarType dtype, bool channels_last);

// Writes 1 x 3 x height x width RGB (any float type) into `bytes` (uint8, compact layout) in place.
// 4-byte formats get only their colour bytes.
void rgb_to_compact(const torch::Tensor &rgb, PixelFormat format, int width, int height,
                    torch::Tensor &bytes, Rounding rounding = Rounding::kTruncate);

}  // namespace sapnet
