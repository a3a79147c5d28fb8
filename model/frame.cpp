#include "frame.h"

#include <cstring>

#include "error.h"

namespace sapnet {

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
  switch (format) {
    case PixelFormat::kRGB:
    case PixelFormat::kBGR:
      return 3;
    case PixelFormat::kNV12:
    case PixelFormat::kI420:
      return 0;
    default:
      return 4;
  }
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

void copy_from_compact(const uint8_t *compact, const FrameView &f, bool fourth_byte) {
  const PlaneShape s = plane_shape(f.format, f.width, f.height);
  if (bytes_per_pixel(f.format) == 4 && !fourth_byte) {  // keep the fourth byte of every pixel
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

}  // namespace sapnet
