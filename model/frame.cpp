#include "frame.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "error.h"

namespace sapnet {
namespace {

struct PackedLayout {
  int bpp, r, g, b;
};

PackedLayout packed_layout(PixelFormat f) {
  switch (f) {
    case PixelFormat::kRGB:
      return {3, 0, 1, 2};
    case PixelFormat::kBGR:
      return {3, 2, 1, 0};
    case PixelFormat::kRGBA:
    case PixelFormat::kRGBx:
      return {4, 0, 1, 2};
    case PixelFormat::kBGRA:
    case PixelFormat::kBGRx:
      return {4, 2, 1, 0};
    default:
      return {0, 0, 0, 0};
  }
}

inline uint8_t to_byte(float x, Rounding rounding = Rounding::kTruncate) {
  // Truncation after clamping, as uint8(255 * clamp(x, 0, 1)) in the authors' code; NaN maps to 0.
  const float v = 255.0f * x + (rounding == Rounding::kNearest ? 0.5f : 0.0f);
  return v >= 255.0f ? 255 : (v > 0.0f ? static_cast<uint8_t>(v) : 0);
}

inline float clamp255(float v) {
  return std::min(255.0f, std::max(0.0f, v));
}

// BT.601 limited range, the default colorimetry GStreamer gives SD/untagged YUV.
inline void yuv_to_rgb(int y, int u, int v, float *r, float *g, float *b) {
  const float c = 1.164383f * (y - 16), d = u - 128.0f, e = v - 128.0f;
  *r = clamp255(c + 1.596027f * e) / 255.0f;
  *g = clamp255(c - 0.391762f * d - 0.812968f * e) / 255.0f;
  *b = clamp255(c + 2.017232f * d) / 255.0f;
}

inline uint8_t round_byte(float v) {
  return static_cast<uint8_t>(clamp255(v) + 0.5f);
}

void yuv_to_planar(const FrameView &f, float *planar) {
  const size_t plane = size_t(f.width) * f.height;
  const bool nv12 = f.format == PixelFormat::kNV12;
  for (int y = 0; y < f.height; ++y) {
    const uint8_t *yrow = f.planes[0] + size_t(y) * f.strides[0];
    const uint8_t *urow = f.planes[1] + size_t(y / 2) * f.strides[1];
    const uint8_t *vrow = nv12 ? urow + 1 : f.planes[2] + size_t(y / 2) * f.strides[2];
    const int cstep = nv12 ? 2 : 1;
    float *r = planar + size_t(y) * f.width, *g = r + plane, *b = g + plane;
    for (int x = 0; x < f.width; ++x) {
      const int ci = (x / 2) * cstep;
      yuv_to_rgb(yrow[x], urow[ci], vrow[ci], r + x, g + x, b + x);
    }
  }
}

void planar_to_yuv(const float *planar, const FrameView &f, Rounding rounding) {
  const size_t plane = size_t(f.width) * f.height;
  const bool nv12 = f.format == PixelFormat::kNV12;
  auto rgb = [&](int x, int y, float *r, float *g, float *b) {
    const size_t i = size_t(y) * f.width + x;
    *r = to_byte(planar[i], rounding);  // the same rounding as the RGB outputs
    *g = to_byte(planar[i + plane], rounding);
    *b = to_byte(planar[i + 2 * plane], rounding);
  };
  for (int y = 0; y < f.height; ++y) {
    uint8_t *yrow = f.planes[0] + size_t(y) * f.strides[0];
    for (int x = 0; x < f.width; ++x) {
      float r, g, b;
      rgb(x, y, &r, &g, &b);
      yrow[x] = round_byte(16.0f + 0.256788f * r + 0.504129f * g + 0.097906f * b);
    }
  }
  // Chroma from the mean of each 2x2 block (or the part of it inside the image).
  for (int cy = 0; cy < (f.height + 1) / 2; ++cy) {
    uint8_t *urow = f.planes[1] + size_t(cy) * f.strides[1];
    uint8_t *vrow = nv12 ? urow + 1 : f.planes[2] + size_t(cy) * f.strides[2];
    const int cstep = nv12 ? 2 : 1;
    for (int cx = 0; cx < (f.width + 1) / 2; ++cx) {
      float sr = 0, sg = 0, sb = 0;
      int n = 0;
      for (int dy = 0; dy < 2; ++dy)
        for (int dx = 0; dx < 2; ++dx) {
          const int x = 2 * cx + dx, y = 2 * cy + dy;
          if (x >= f.width || y >= f.height) continue;
          float r, g, b;
          rgb(x, y, &r, &g, &b);
          sr += r, sg += g, sb += b, ++n;
        }
      sr /= n, sg /= n, sb /= n;
      urow[cx * cstep] = round_byte(128.0f - 0.148223f * sr - 0.290993f * sg + 0.439216f * sb);
      vrow[cx * cstep] = round_byte(128.0f + 0.439216f * sr - 0.367788f * sg - 0.071427f * sb);
    }
  }
}

}  // namespace

const char *pixel_format_name(PixelFormat f) {
  switch (f) {
    case PixelFormat::kRGB:
      return "RGB";
    case PixelFormat::kBGR:
      return "BGR";
    case PixelFormat::kRGBA:
      return "RGBA";
    case PixelFormat::kBGRA:
      return "BGRA";
    case PixelFormat::kRGBx:
      return "RGBx";
    case PixelFormat::kBGRx:
      return "BGRx";
    case PixelFormat::kNV12:
      return "NV12";
    case PixelFormat::kI420:
      return "I420";
  }
  return "?";
}

PixelFormat pixel_format_from_name(const std::string &name) {
  for (auto f : {PixelFormat::kRGB, PixelFormat::kBGR, PixelFormat::kRGBA, PixelFormat::kBGRA,
                 PixelFormat::kRGBx, PixelFormat::kBGRx, PixelFormat::kNV12, PixelFormat::kI420})
    if (name == pixel_format_name(f)) return f;
  throw Error("unsupported pixel format '" + name + "'");
}

int bytes_per_pixel(PixelFormat format) {
  return packed_layout(format).bpp;
}

void check_frame(const FrameView &f, const char *what) {
  if (f.width <= 0 || f.height <= 0)
    throw Error(std::string(what) + ": frame size " + std::to_string(f.width) + "x" +
                std::to_string(f.height) + " is empty");
  const int bpp = bytes_per_pixel(f.format);
  const int planes = bpp ? 1 : (f.format == PixelFormat::kNV12 ? 2 : 3);
  const int chroma_w = (f.width + 1) / 2;
  for (int p = 0; p < planes; ++p) {
    const int row =
        bpp ? f.width * bpp : (p == 0 ? f.width : (planes == 2 ? 2 * chroma_w : chroma_w));
    if (!f.planes[p] || f.strides[p] < row)
      throw Error(std::string(what) + ": plane " + std::to_string(p) +
                  " is missing or its stride " + std::to_string(f.strides[p]) +
                  " is shorter than a row (" + std::to_string(row) + " bytes)");
  }
}

namespace {

struct PlaneShape {
  int count = 0;
  size_t row_bytes[3] = {0, 0, 0};
  int rows[3] = {0, 0, 0};
};

PlaneShape plane_shape(PixelFormat format, int width, int height) {
  PlaneShape s;
  const int bpp = bytes_per_pixel(format);
  if (bpp) {
    s.count = 1;
    s.row_bytes[0] = size_t(width) * bpp;
    s.rows[0] = height;
    return s;
  }
  const int cw = (width + 1) / 2, ch = (height + 1) / 2;
  const bool nv12 = format == PixelFormat::kNV12;
  s.count = nv12 ? 2 : 3;
  s.row_bytes[0] = width;
  s.rows[0] = height;
  for (int p = 1; p < s.count; ++p) {
    s.row_bytes[p] = nv12 ? 2 * cw : cw;
    s.rows[p] = ch;
  }
  return s;
}

}  // namespace

size_t compact_frame_size(PixelFormat format, int width, int height) {
  const PlaneShape s = plane_shape(format, width, height);
  size_t total = 0;
  for (int p = 0; p < s.count; ++p) total += s.row_bytes[p] * s.rows[p];
  return total;
}

void copy_to_compact(const FrameView &f, uint8_t *compact) {
  const PlaneShape s = plane_shape(f.format, f.width, f.height);
  for (int p = 0; p < s.count; ++p)
    for (int y = 0; y < s.rows[p]; ++y, compact += s.row_bytes[p])
      std::memcpy(compact, f.planes[p] + size_t(y) * f.strides[p], s.row_bytes[p]);
}

void copy_from_compact(const uint8_t *compact, const FrameView &f) {
  const PlaneShape s = plane_shape(f.format, f.width, f.height);
  if (bytes_per_pixel(f.format) == 4) {  // keep the fourth byte of every pixel
    for (int y = 0; y < f.height; ++y, compact += s.row_bytes[0]) {
      uint8_t *row = f.planes[0] + size_t(y) * f.strides[0];
      for (int x = 0; x < f.width; ++x)
        for (int c = 0; c < 3; ++c) row[4 * x + c] = compact[4 * x + c];
    }
    return;
  }
  for (int p = 0; p < s.count; ++p)
    for (int y = 0; y < s.rows[p]; ++y, compact += s.row_bytes[p])
      std::memcpy(f.planes[p] + size_t(y) * f.strides[p], compact, s.row_bytes[p]);
}

void copy_alpha(const FrameView &from, const FrameView &to) {
  if (bytes_per_pixel(from.format) != 4 || bytes_per_pixel(to.format) != 4 ||
      from.planes[0] == to.planes[0])
    return;
  for (int y = 0; y < to.height; ++y) {
    const uint8_t *src = from.planes[0] + size_t(y) * from.strides[0] + 3;
    uint8_t *dst = to.planes[0] + size_t(y) * to.strides[0] + 3;
    for (int x = 0; x < to.width; ++x) dst[4 * x] = src[4 * x];
  }
}

void frame_to_planar_rgb(const FrameView &f, float *planar) {
  const PackedLayout l = packed_layout(f.format);
  if (!l.bpp) return yuv_to_planar(f, planar);
  const size_t plane = size_t(f.width) * f.height;
  constexpr float kScale = 1.0f / 255.0f;
  for (int y = 0; y < f.height; ++y) {
    const uint8_t *row = f.planes[0] + size_t(y) * f.strides[0];
    float *r = planar + size_t(y) * f.width, *g = r + plane, *b = g + plane;
    for (int x = 0; x < f.width; ++x, row += l.bpp) {
      r[x] = row[l.r] * kScale;
      g[x] = row[l.g] * kScale;
      b[x] = row[l.b] * kScale;
    }
  }
}

void planar_rgb_to_frame(const float *planar, const FrameView &f, Rounding rounding) {
  const PackedLayout l = packed_layout(f.format);
  if (!l.bpp) return planar_to_yuv(planar, f, rounding);
  const size_t plane = size_t(f.width) * f.height;
  for (int y = 0; y < f.height; ++y) {
    uint8_t *row = f.planes[0] + size_t(y) * f.strides[0];
    const float *r = planar + size_t(y) * f.width, *g = r + plane, *b = g + plane;
    for (int x = 0; x < f.width; ++x, row += l.bpp) {
      row[l.r] = to_byte(r[x], rounding);
      row[l.g] = to_byte(g[x], rounding);
      row[l.b] = to_byte(b[x], rounding);
    }
  }
}

}  // namespace sapnet
