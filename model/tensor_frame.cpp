#include "tensor_frame.h"

#include <torch/nn/functional/pooling.h>

namespace sapnet {
namespace {

bool blue_first(PixelFormat f) {
  return f == PixelFormat::kBGR || f == PixelFormat::kBGRA || f == PixelFormat::kBGRx;
}

struct YuvPlanes {
  torch::Tensor y, u, v;  // uint8 views into the compact bytes
};

YuvPlanes yuv_planes(const torch::Tensor &bytes, PixelFormat format, int64_t w, int64_t h) {
  const int64_t cw = (w + 1) / 2, ch = (h + 1) / 2;
  YuvPlanes p;
  p.y = bytes.narrow(0, 0, h * w).view({h, w});
  if (format == PixelFormat::kNV12) {
    auto uv = bytes.narrow(0, h * w, ch * cw * 2).view({ch, cw, 2});
    p.u = uv.select(2, 0);
    p.v = uv.select(2, 1);
  } else {
    p.u = bytes.narrow(0, h * w, ch * cw).view({ch, cw});
    p.v = bytes.narrow(0, h * w + ch * cw, ch * cw).view({ch, cw});
  }
  return p;
}

// Nearest-neighbour chroma upsampling, as frame.cpp reads chroma at (x / 2, y / 2). Expand and
// reshape, not repeat_interleave: that one may synchronise with the host, which a CUDA graph
// capture forbids.
torch::Tensor upsample_chroma(const torch::Tensor &c, int64_t w, int64_t h) {
  const int64_t ch = c.size(0), cw = c.size(1);
  return c.to(torch::kFloat)
      .view({ch, 1, cw, 1})
      .expand({ch, 2, cw, 2})
      .reshape({2 * ch, 2 * cw})
      .narrow(0, 0, h)
      .narrow(1, 0, w);
}

}  // namespace

torch::Tensor compact_to_rgb(const torch::Tensor &bytes, PixelFormat format, int width, int height,
                             torch::ScalarType dtype, bool channels_last) {
  const int64_t w = width, h = height;
  const int bpp = bytes_per_pixel(format);
  torch::Tensor rgb;  // 3 x h x w, float32
  if (bpp) {
    auto px = bytes.narrow(0, 0, h * w * bpp).view({h, w, bpp}).narrow(2, 0, 3);
    if (blue_first(format)) px = px.flip(2);
    rgb = px.permute({2, 0, 1}).to(torch::kFloat).mul_(1.0f / 255.0f);
  } else {
    const YuvPlanes p = yuv_planes(bytes, format, w, h);
    auto c = p.y.to(torch::kFloat).sub_(16).mul_(1.164383f);
    auto d = upsample_chroma(p.u, w, h).sub_(128), e = upsample_chroma(p.v, w, h).sub_(128);
    auto r = (c + e * 1.596027f).clamp_(0, 255).div_(255.0f);
    auto g = (c - d * 0.391762f - e * 0.812968f).clamp_(0, 255).div_(255.0f);
    auto b = (c + d * 2.017232f).clamp_(0, 255).div_(255.0f);
    rgb = torch::stack({r, g, b});
  }
  return rgb.unsqueeze(0).to(dtype).contiguous(channels_last ? torch::MemoryFormat::ChannelsLast
                                                             : torch::MemoryFormat::Contiguous);
}

void rgb_to_compact(const torch::Tensor &rgb, PixelFormat format, int width, int height,
                    torch::Tensor &bytes, Rounding rounding) {
  const int64_t w = width, h = height;
  // uint8(255 * clamp(x, 0, 1)), truncated or rounded, NaN as 0: frame.cpp's to_byte.
  auto q = rgb.to(torch::kFloat).squeeze(0).mul(255.0f);
  if (rounding == Rounding::kNearest) q.add_(0.5f);
  q = q.nan_to_num(0.0, 255.0, 0.0).clamp_(0, 255).floor_();
  const int bpp = bytes_per_pixel(format);
  if (bpp) {
    auto px = bytes.narrow(0, 0, h * w * bpp).view({h, w, bpp}).narrow(2, 0, 3);
    px.copy_((blue_first(format) ? q.flip(0) : q).permute({1, 2, 0}));
    return;
  }
  auto round_byte = [](torch::Tensor v) { return v.clamp_(0, 255).add_(0.5f).floor_(); };
  const YuvPlanes p = yuv_planes(bytes, format, w, h);
  auto r = q[0], g = q[1], b = q[2];
  p.y.copy_(round_byte(r * 0.256788f + 16.0f + g * 0.504129f + b * 0.097906f));
  // Chroma from the mean of each 2x2 block, or of its part inside the frame.
  namespace F = torch::nn::functional;
  auto mean =
      F::avg_pool2d(q.unsqueeze(0),
                    F::AvgPool2dFuncOptions(2).stride(2).ceil_mode(true).count_include_pad(false))
          .squeeze(0);
  auto sr = mean[0], sg = mean[1], sb = mean[2];
  p.u.copy_(round_byte(128.0f - sr * 0.148223f - sg * 0.290993f + sb * 0.439216f));
  p.v.copy_(round_byte(sr * 0.439216f + 128.0f - sg * 0.367788f - sb * 0.071427f));
}

}  // namespace sapnet
