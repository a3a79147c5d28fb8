// A torch-free view of a video frame or image in one of the pixel layouts the Engine accepts.
#pragma once

#include <cstdint>
#include <string>

namespace sapnet {

enum class PixelFormat { kRGB, kBGR, kRGBA, kBGRA, kRGBx, kBGRx, kNV12, kI420 };

// "RGB", "BGRx", "NV12", ... (GStreamer's names).
const char *pixel_format_name(PixelFormat format);
// Throws sapnet::Error for an unknown name.
PixelFormat pixel_format_from_name(const std::string &name);
// Bytes per pixel of a packed format; 0 for planar YUV.
int bytes_per_pixel(PixelFormat format);

// Planes and row strides in bytes; packed formats use plane 0 only. NV12: Y, interleaved UV.
// I420: Y, U, V. Chroma planes of odd sizes round up, as GStreamer lays them out.
struct FrameView {
  PixelFormat format = PixelFormat::kRGB;
  int width = 0;
  int height = 0;
  uint8_t *planes[3] = {nullptr, nullptr, nullptr};
  int strides[3] = {0, 0, 0};

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

// Converts a frame to planar RGB floats in [0, 1] (3 x height x width, contiguous).
void frame_to_planar_rgb(const FrameView &frame, float *planar);
// How floats become bytes: truncation matches the authors' test.py (and so the paper's scores);
// rounding keeps untouched pixels exact (the rain simulator).
enum class Rounding { kTruncate, kNearest };

// Writes planar RGB floats into a frame: uint8(255 * clamp(x, 0, 1)), truncated by default. Alpha
// and padding bytes of the destination are left as they are.
void planar_rgb_to_frame(const float *planar, const FrameView &frame,
                         Rounding rounding = Rounding::kTruncate);

// Copies the fourth byte (alpha or padding) of every pixel from `from` to `to` when both are 4-byte
// packed formats (all of them keep it last); does nothing otherwise.
void copy_alpha(const FrameView &from, const FrameView &to);

// The compact form of a frame: its planes back to back, rows unpadded (what a device uploads in
// one copy). Packed: height rows of width * bpp. NV12: Y (width x height), then interleaved UV
// (2 * ceil(width / 2) x ceil(height / 2)). I420: Y, U, V (chroma ceil(width / 2) x ceil(height /
// 2)).
size_t compact_frame_size(PixelFormat format, int width, int height);
void copy_to_compact(const FrameView &frame, uint8_t *compact);
// Writes compact bytes into the frame's planes. 4-byte formats get only their colour bytes: alpha
// and padding stay as they are.
void copy_from_compact(const uint8_t *compact, const FrameView &frame);

// Throws sapnet::Error when the view is unusable (null planes, non-positive size, short strides).
void check_frame(const FrameView &frame, const char *what);

}  // namespace sapnet
