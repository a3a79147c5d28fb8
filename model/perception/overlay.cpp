#include "perception/overlay.h"

#include <algorithm>

#include "error.h"

namespace sapnet {
namespace {

// Byte offsets of R, G, B inside a packed pixel.
void rgb_offsets(PixelFormat f, int *r, int *g, int *b) {
  const bool bgr = f == PixelFormat::kBGR || f == PixelFormat::kBGRA || f == PixelFormat::kBGRx;
  *r = bgr ? 2 : 0, *g = 1, *b = bgr ? 0 : 2;
}

bool is_yuv(PixelFormat f) {
  return f == PixelFormat::kNV12 || f == PixelFormat::kI420;
}

// BT.601 limited range, as frame.cpp converts.
uint8_t luma(Rgb c) {
  return static_cast<uint8_t>(16.5f + 0.256788f * c[0] + 0.504129f * c[1] + 0.097906f * c[2]);
}
uint8_t chroma_u(Rgb c) {
  return static_cast<uint8_t>(128.5f - 0.148223f * c[0] - 0.290993f * c[1] + 0.439216f * c[2]);
}
uint8_t chroma_v(Rgb c) {
  return static_cast<uint8_t>(128.5f + 0.439216f * c[0] - 0.367788f * c[1] - 0.071427f * c[2]);
}

inline uint8_t mix(uint8_t p, uint8_t c, float alpha) {
  return static_cast<uint8_t>((1 - alpha) * p + alpha * c + 0.5f);
}

// Sets the pixels of [x0, x1) x [y0, y1) (already clipped) to the colour.
void fill(const FrameView &f, int x0, int y0, int x1, int y1, Rgb c) {
  if (x0 >= x1 || y0 >= y1) return;
  if (is_yuv(f.format)) {
    const uint8_t yv = luma(c);
    for (int y = y0; y < y1; ++y)
      std::fill(f.planes[0] + size_t(y) * f.strides[0] + x0,
                f.planes[0] + size_t(y) * f.strides[0] + x1, yv);
    return;
  }
  const int bpp = bytes_per_pixel(f.format);
  int r, g, b;
  rgb_offsets(f.format, &r, &g, &b);
  for (int y = y0; y < y1; ++y) {
    uint8_t *p = f.planes[0] + size_t(y) * f.strides[0] + size_t(x0) * bpp;
    for (int x = x0; x < x1; ++x, p += bpp) p[r] = c[0], p[g] = c[1], p[b] = c[2];
  }
}

}  // namespace

Rgb class_colour(int class_id) {
  // Spread the bits of the id over the high bits of the three channels, so that neighbouring ids
  // get very different colours.
  Rgb c = {0, 0, 0};
  unsigned id = static_cast<unsigned>(class_id);
  for (int shift = 7; id && shift >= 0; --shift, id >>= 3)
    for (int ch = 0; ch < 3; ++ch) c[ch] |= ((id >> ch) & 1u) << shift;
  return c;
}

void draw_box(const FrameView &frame, int x, int y, int w, int h, Rgb colour, int thickness,
              int tab) {
  check_frame(frame, "overlay");
  const int x0 = std::max(x, 0), y0 = std::max(y, 0);
  const int x1 = std::min(x + w, frame.width), y1 = std::min(y + h, frame.height);
  if (x0 >= x1 || y0 >= y1 || thickness <= 0) return;
  const int t = thickness;
  fill(frame, x0, y0, x1, std::min(y0 + t, y1), colour);  // top
  fill(frame, x0, std::max(y1 - t, y0), x1, y1, colour);  // bottom
  fill(frame, x0, y0, std::min(x0 + t, x1), y1, colour);  // left
  fill(frame, std::max(x1 - t, x0), y0, x1, y1, colour);  // right
  if (tab > 0) fill(frame, x0, y0, std::min(x0 + tab, x1), std::min(y0 + tab, y1), colour);
}

void blend_class_map(const FrameView &f, const uint8_t *ids, float alpha) {
  check_frame(f, "overlay");
  if (!ids) throw Error("overlay: no class map");
  alpha = std::clamp(alpha, 0.0f, 1.0f);
  std::array<Rgb, 256> colours;
  for (int c = 0; c < 256; ++c) colours[c] = class_colour(c);
  if (!is_yuv(f.format)) {
    const int bpp = bytes_per_pixel(f.format);
    int r, g, b;
    rgb_offsets(f.format, &r, &g, &b);
    for (int y = 0; y < f.height; ++y) {
      uint8_t *p = f.planes[0] + size_t(y) * f.strides[0];
      const uint8_t *id = ids + size_t(y) * f.width;
      for (int x = 0; x < f.width; ++x, p += bpp) {
        const Rgb &c = colours[id[x]];
        p[r] = mix(p[r], c[0], alpha), p[g] = mix(p[g], c[1], alpha), p[b] = mix(p[b], c[2], alpha);
      }
    }
    return;
  }
  for (int y = 0; y < f.height; ++y) {
    uint8_t *p = f.planes[0] + size_t(y) * f.strides[0];
    const uint8_t *id = ids + size_t(y) * f.width;
    for (int x = 0; x < f.width; ++x) p[x] = mix(p[x], luma(colours[id[x]]), alpha);
  }
  const bool nv12 = f.format == PixelFormat::kNV12;
  const int step = nv12 ? 2 : 1;
  for (int cy = 0; cy < (f.height + 1) / 2; ++cy) {
    uint8_t *u = f.planes[1] + size_t(cy) * f.strides[1];
    uint8_t *v = nv12 ? u + 1 : f.planes[2] + size_t(cy) * f.strides[2];
    const uint8_t *id = ids + size_t(2 * cy) * f.width;
    for (int cx = 0; cx < (f.width + 1) / 2; ++cx) {
      const Rgb &c = colours[id[2 * cx]];
      u[cx * step] = mix(u[cx * step], chroma_u(c), alpha);
      v[cx * step] = mix(v[cx * step], chroma_v(c), alpha);
    }
  }
}

}  // namespace sapnet
