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

// Throws sapnet::Error naming the file when it is missing or cannot be decoded.
RgbImage read_image(const std::string &path);
// Writes PNG (or any format OpenCV knows by the extension); throws sapnet::Error naming the file.
void write_image(const std::string &path, const RgbImage &image);
// True when this build can decode image files.
bool image_io_available();
// True for the extensions read_image is expected to decode (png, jpg, jpeg, bmp, tif, tiff, webp,
// ppm).
bool has_image_extension(const std::string &path);

}  // namespace sapnet
