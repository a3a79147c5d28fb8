// A torch-free view of a video frame or image in one of the pixel layouts the Engine accepts.
#pragma once

#include <cstdint>
#include <string>

#include "colorimetry.h"
#include "export.h"

namespace sapnet {

enum class PixelFormat { kRGB, kBGR, kRGBA, kBGRA, kRGBx, kBGRx, kNV12, kI420 };

// "RGB", "BGRx", "NV12", ... (GStreamer's names).
SAPNET_API const char *pixel_format_name(PixelFormat format);
// Throws sapnet::Error for an unknown name.
SAPNET_API PixelFormat pixel_format_from_name(const std::string &name);
// Bytes per pixel of a packed format; 0 for planar YUV.
SAPNET_API int bytes_per_pixel(PixelFormat format);

// Planes and row strides in bytes; packed formats use plane 0 only. NV12: Y, interleaved UV.
// I420: Y, U, V. Chroma planes of odd sizes round up, as GStreamer lays them out. `colorimetry`
// says how YUV bytes map to RGB (RGB formats ignore it).
struct FrameView {
  PixelFormat format = PixelFormat::kRGB;
  int width = 0;
  int height = 0;
  uint8_t *planes[3] = {nullptr, nullptr, nullptr};
  int strides[3] = {0, 0, 0};
  Colorimetry colorimetry;

  static FrameView packed(PixelFormat format, uint8_t *data, int width, int height,
                          int stride = 0) {
    FrameView v;
    v.format = format;
    v.width = width;
    v.height = height;
    v.planes[0] = data;
    v.strides[0] = stride ? stride : width * bytes_per_pixel(format);
    return v;
  }
};

// How floats become bytes: truncation matches the authors' test.py (and so the paper's scores);
// rounding keeps untouched pixels exact (the rain simulator).
enum class Rounding { kTruncate, kNearest };

// Frames to planar RGB floats in [0, 1] (3 x height x width, contiguous) and back, for callers
// that hold images as float planes. Both are thin wrappers over tensor_frame.h, the one colour
// conversion (defined in tensor_frame.cpp). Writing gives uint8(255 * clamp(x, 0, 1)), truncated
// by default; alpha and padding bytes of the destination are left as they are.
SAPNET_API void frame_to_planar_rgb(const FrameView &frame, float *planar);
SAPNET_API void planar_rgb_to_frame(const float *planar, const FrameView &frame,
                                    Rounding rounding = Rounding::kTruncate);

// The compact form of a frame: its planes back to back, rows unpadded (what a device uploads in
// one copy). Packed: height rows of width * bpp. NV12: Y (width x height), then interleaved UV
// (2 * ceil(width / 2) x ceil(height / 2)). I420: Y, U, V (chroma ceil(width / 2) x ceil(height /
// 2)).
SAPNET_API size_t compact_frame_size(PixelFormat format, int width, int height);
SAPNET_API void copy_to_compact(const FrameView &frame, uint8_t *compact);
// Writes compact bytes into the frame's planes. 4-byte formats get their fourth byte (alpha or
// padding) only when `fourth_byte` is true; otherwise it stays as it is.
SAPNET_API void copy_from_compact(const uint8_t *compact, const FrameView &frame,
                                  bool fourth_byte = false);

// Throws sapnet::Error when the view is unusable (null planes, non-positive size, short strides).
SAPNET_API void check_frame(const FrameView &frame, const char *what);

}  // namespace sapnet
