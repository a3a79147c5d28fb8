#include "tensor_frame.h"

#include <torch/nn/functional/pooling.h>

namespace sapnet {
namespace {

// Where R, G and B sit in a packed pixel.
struct ChannelOrder {
  int index[3];
};

ChannelOrder channel_order(PixelFormat f) {
  const bool blue_first =
      f == PixelFormat::kBGR || f == PixelFormat::kBGRA || f == PixelFormat::kBGRx;
  return blue_first ? ChannelOrder{{2, 1, 0}} : ChannelOrder{{0, 1, 2}};
}

// Nearest-neighbour chroma upsampling to the luma size, as float. Expand and reshape, not
// repeat_interleave: that one may synchronise with the host, which a CUDA graph capture forbids.
torch::Tensor upsample_chroma(const torch::Tensor &c, int64_t w, int64_t h) {
  const int64_t ch = c.size(0), cw = c.size(1);
  return c.to(torch::kFloat)
      .view({ch, 1, cw, 1})
      .expand({ch, 2, cw, 2})
      .reshape({2 * ch, 2 * cw})
      .narrow(0, 0, h)
      .narrow(1, 0, w);
}

void decode_yuv(const FramePlanes &in, const torch::Tensor &rgb) {
  const YuvCoefficients k = yuv_coefficients(in.colorimetry);
  auto y = in.y.to(torch::kFloat).sub_(k.y_offset).div_(k.y_scale);
  auto u = upsample_chroma(in.u, in.width, in.height).sub_(128.0f).div_(k.c_scale);
  auto v = upsample_chroma(in.v, in.width, in.height).sub_(128.0f).div_(k.c_scale);
  auto r = rgb[0][0], g = rgb[0][1], b = rgb[0][2];
  torch::add_out(r, y, v, k.rv);
  torch::add_out(g, y, u, k.gu).add_(v, k.gv);
  torch::add_out(b, y, u, k.bu);
  rgb.clamp_(0, 1);
}

// q: 3 x height x width byte levels (whole numbers in 0..255).
void encode_yuv(const torch::Tensor &q, const FramePlanes &out) {
  const YuvCoefficients k = yuv_coefficients(out.colorimetry);
  const float ys = k.y_scale / 255.0f;
  auto rounded = [](torch::Tensor t) { return t.clamp_(0, 255).add_(0.5f); };
  out.y.copy_(
      rounded((q[0] * (ys * k.kr)).add_(q[1], ys * k.kg).add_(q[2], ys * k.kb).add_(k.y_offset)));
  // Chroma from the mean of each 2x2 block, or of its part inside the frame.
  namespace F = torch::nn::functional;
  const auto mean =
      F::avg_pool2d(q.unsqueeze(0),
                    F::AvgPool2dFuncOptions(2).stride(2).ceil_mode(true).count_include_pad(false))
          .squeeze(0);
  const float us = k.c_scale / (255.0f * k.bu), vs = k.c_scale / (255.0f * k.rv);
  out.u.copy_(rounded(
      (mean[2] * (us * (1 - k.kb))).add_(mean[0], -us * k.kr).add_(mean[1], -us * k.kg).add_(128)));
  out.v.copy_(rounded(
      (mean[0] * (vs * (1 - k.kr))).add_(mean[1], -vs * k.kg).add_(mean[2], -vs * k.kb).add_(128)));
}

}  // namespace

FramePlanes frame_planes(const FrameView &f) {
  return frame_planes(f, torch::kCPU);
}

FramePlanes frame_planes(const FrameView &f, const torch::Device &device) {
  FramePlanes p;
  p.format = f.format;
  p.colorimetry = f.colorimetry;
  p.width = f.width;
  p.height = f.height;
  const int64_t w = f.width, h = f.height, cw = (w + 1) / 2, ch = (h + 1) / 2;
  const auto bytes = torch::TensorOptions().dtype(torch::kUInt8).device(device);
  if (const int bpp = bytes_per_pixel(f.format)) {
    p.packed = torch::from_blob(f.planes[0], {h, w, bpp}, {f.strides[0], bpp, 1}, bytes);
    return p;
  }
  p.y = torch::from_blob(f.planes[0], {h, w}, {f.strides[0], 1}, bytes);
  if (f.format == PixelFormat::kNV12) {
    auto uv = torch::from_blob(f.planes[1], {ch, cw, 2}, {f.strides[1], 2, 1}, bytes);
    p.u = uv.select(2, 0);
    p.v = uv.select(2, 1);
  } else {
    p.u = torch::from_blob(f.planes[1], {ch, cw}, {f.strides[1], 1}, bytes);
    p.v = torch::from_blob(f.planes[2], {ch, cw}, {f.strides[2], 1}, bytes);
  }
  return p;
}

FramePlanes compact_planes(const torch::Tensor &bytes, PixelFormat format, int width, int height,
                           const Colorimetry &colorimetry) {
  FramePlanes p;
  p.format = format;
  p.colorimetry = colorimetry;
  p.width = width;
  p.height = height;
  const int64_t w = width, h = height, cw = (w + 1) / 2, ch = (h + 1) / 2;
  if (const int bpp = bytes_per_pixel(format)) {
    p.packed = bytes.narrow(0, 0, h * w * bpp).view({h, w, bpp});
    return p;
  }
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

void decode_frame(const FramePlanes &in, torch::Tensor &rgb) {
  if (!in.packed.defined()) return decode_yuv(in, rgb);
  // One strided copy per channel straight from the pixels (any stride, any channel order).
  const ChannelOrder order = channel_order(in.format);
  for (int c = 0; c < 3; ++c) rgb[0][c].copy_(in.packed.select(2, order.index[c]));
  rgb.div_(255.0f);
}

void encode_frame(const torch::Tensor &rgb, const FramePlanes &out, const FramePlanes *alpha_from,
                  Rounding rounding) {
  // uint8(255 * clamp(x, 0, 1)), truncated or rounded, NaN as 0. The float to byte copy truncates.
  auto q = rgb[0].to(torch::kFloat).mul(255.0f);
  if (rounding == Rounding::kNearest) q.add_(0.5f);
  q.nan_to_num_(0.0, 255.0, 0.0).clamp_(0, 255);
  if (!out.packed.defined()) return encode_yuv(q.floor_(), out);
  const ChannelOrder order = channel_order(out.format);
  for (int c = 0; c < 3; ++c) out.packed.select(2, order.index[c]).copy_(q[c]);
  if (alpha_from && alpha_from->packed.defined() && alpha_from->packed.size(2) == 4 &&
      out.packed.size(2) == 4 && alpha_from->packed.data_ptr() != out.packed.data_ptr())
    out.packed.select(2, 3).copy_(alpha_from->packed.select(2, 3));
}

void frame_to_planar_rgb(const FrameView &frame, float *planar) {
  auto rgb = torch::from_blob(planar, {1, 3, frame.height, frame.width}, torch::kFloat);
  decode_frame(frame_planes(frame), rgb);
}

void planar_rgb_to_frame(const float *planar, const FrameView &frame, Rounding rounding) {
  const auto rgb = torch::from_blob(const_cast<float *>(planar), {1, 3, frame.height, frame.width},
                                    torch::kFloat);
  encode_frame(rgb, frame_planes(frame), nullptr, rounding);
}

}  // namespace sapnet
