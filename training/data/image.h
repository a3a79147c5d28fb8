// An owned 8-bit RGB image and its file I/O (OpenCV's codecs; absent in builds without OpenCV).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "frame.h"

namespace sapnet {

struct RgbImage {
  int width = 0, height = 0;
  std::vector<uint8_t> pixels;  // width * height * 3, rows packed

  RgbImage() = default;
  RgbImage(int w, int h) : width(w), height(h), pixels(size_t(w) * h * 3) {}
  FrameView view() { return FrameView::packed(PixelFormat::kRGB, pixels.data(), width, height); }
  FrameView view() const {
    return FrameView::packed(PixelFormat::kRGB, const_cast<uint8_t *>(pixels.data()), width,
                             height);
  }
};

// An image with what a file may hold beyond 8-bit RGB: planar float RGB in [0, 1] (3 planes), an
// alpha plane when the file has one, and the file's bits per channel (8 or 16), so that it can be
// written back as it came.
struct PlanarImage {
  int width = 0, height = 0;
  int bits = 8;
  std::vector<float> rgb;    // 3 x height x width
  std::vector<float> alpha;  // height x width, or empty
};

// Throws sapnet::Error naming the file when it is missing, cannot be decoded or is truncated.
RgbImage read_image(const std::string &path);
PlanarImage read_planar_image(const std::string &path);
// PNG keeps alpha and 16 bits; 8-bit colour is uint8(255 * clamp(x, 0, 1)) truncated, as `eval`
// makes bytes (16 bits and alpha are rounded). Throws sapnet::Error naming the file.
void write_planar_image(const std::string &path, const PlanarImage &image);
// Writes PNG (or any format OpenCV knows by the extension); throws sapnet::Error naming the file.
void write_image(const std::string &path, const RgbImage &image);
// Area-averaged downscale so that the longer side is at most `max_side` (0, or an image already
// that small: unchanged). Builds without OpenCV return the image unchanged.
RgbImage shrink_image(RgbImage image, int max_side);
// True when this build can decode image files.
bool image_io_available();
// True for the extensions read_image is expected to decode (png, jpg, jpeg, bmp, tif, tiff, webp,
// ppm).
bool has_image_extension(const std::string &path);

// The file name's extension in lower case (".png" for "IMG_1.PNG"): phones and cameras write
// upper-case names.
std::string lowercase_extension(const std::string &path);

}  // namespace sapnet
