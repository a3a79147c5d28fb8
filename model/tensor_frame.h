// The one colour conversion of the project: frame bytes to the network's RGB tensor and back, as
// tensor operations, so that it runs wherever the tensors live (the CPU reads and writes the
// frame's own memory; the CUDA path converts on the GPU). YUV follows the frame's colorimetry
// (colorimetry.h) with nearest-neighbour chroma upsampling and 2x2 chroma means; bytes come from
// floats as uint8(255 * clamp(x, 0, 1)), truncated as the authors' test.py.
#pragma once

#include <torch/types.h>

#include "frame.h"

namespace sapnet {

// A frame's planes as uint8 tensors (views, no copies), on any device. Packed formats use
// `packed` (height x width x bytes per pixel); NV12 and I420 use y (height x width) and u, v
// (ceil(height / 2) x ceil(width / 2)).
struct FramePlanes {
  PixelFormat format = PixelFormat::kRGB;
  Colorimetry colorimetry;
  int width = 0, height = 0;
  torch::Tensor packed, y, u, v;
};

// Views of a frame's own memory on the CPU, strides as the frame has them.
FramePlanes frame_planes(const FrameView &frame);
// The same for a frame whose planes are memory of `device` (e.g. CUDA device pointers).
FramePlanes frame_planes(const FrameView &frame, const torch::Device &device);
// Views of compact bytes (see compact_frame_size), e.g. a frame uploaded to the GPU in one copy.
FramePlanes compact_planes(const torch::Tensor &bytes, PixelFormat format, int width, int height,
                           const Colorimetry &colorimetry = {});

// Writes the frame as RGB in [0, 1] into `rgb`: 1 x 3 x height x width, any floating type and
// memory format (channels-last for the network), on the planes' device.
void decode_frame(const FramePlanes &in, torch::Tensor &rgb);

// Writes `rgb` (1 x 3 x height x width, any floating type and layout) into the frame's bytes. The
// fourth byte of a 4-byte format comes from `alpha_from` when that is a 4-byte frame too (alpha is
// carried through); otherwise it is left as it is.
void encode_frame(const torch::Tensor &rgb, const FramePlanes &out,
                  const FramePlanes *alpha_from = nullptr, Rounding rounding = Rounding::kTruncate);

}  // namespace sapnet
